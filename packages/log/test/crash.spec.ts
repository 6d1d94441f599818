/**
 * Log integrity under crashes and concurrent reading (issue 11; ARCHITECTURE "Events and log":
 * "Writes are appended and flushed per batch; a torn tail is detected on open and reported; the
 * readable prefix is never lost"; FORMAT.md). A child process writes with the real LogFileWriter
 * (TypeScript sources, through swc) and is SIGKILLed at random points; every record it reported
 * flushed must read back byte for byte, nothing damaged may be yielded, and a torn tail must be
 * reported at the offset where the intact prefix ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openLogReader } from '../src/reader';
import { tempDir } from './helpers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { recordEnvelope } = require('./crash/records.cjs') as { recordEnvelope: (i: number) => Uint8Array };

const CRASH = path.join(__dirname, 'crash');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface Child {
  readonly proc: ChildProcess;
  /** The file being written (the temporary file in atomic mode). */
  writing: string;
  /** Records the child reported flushed, and the log size then. */
  flushed: number;
  flushedSize: number;
  reports: number;
  exited: Promise<NodeJS.Signals | null>;
}

/** Starts the writer child; it stops at `max` records (bounded size) and sleeps `pauseMs` after each flush. */
function startWriter(file: string, batchBytes: number, atomic: boolean, every: number, max = 20_000, pauseMs = 0): Promise<Child> {
  const args = [file, String(batchBytes), atomic ? '1' : '0', String(every), String(max), String(pauseMs)];
  const proc = spawn(process.execPath, ['--conditions=@mteperm/source', '-r', path.join(CRASH, 'ts-register.cjs'), path.join(CRASH, 'writer-child.cjs'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const child: Child = { proc, writing: '', flushed: 0, flushedSize: 0, reports: 0, exited: new Promise((res) => proc.on('exit', (_c, sig) => res(sig))) };
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [tag, a, b] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (tag === 'T') {
          child.writing = a!;
          resolve(child);
        } else if (tag === 'F') {
          child.flushed = Number(a);
          child.flushedSize = Number(b);
          child.reports++;
        }
      }
    });
    proc.on('error', reject);
  });
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
}

const expected: Buffer[] = [];
const expectedRecord = (i: number): Buffer => (expected[i] ??= Buffer.from(recordEnvelope(i)));
const framedLength = (len: number): number => (len < 0x80 ? 1 : len < 0x4000 ? 2 : 3) + len + 4;

/** Reads the whole log in one pass: every record must be record i (dense seq, exact bytes). */
function readBack(file: string) {
  const r = openLogReader(file);
  try {
    let n = 0;
    let endOffset = r.dataOffset;
    let bad: number | undefined;
    for (const rec of r.records()) {
      n++;
      if (rec.seq !== BigInt(n) || !expectedRecord(n).equals(rec.bytes)) bad ??= n;
      endOffset = rec.offset + framedLength(rec.bytes.length);
    }
    expect(bad).toBeUndefined();
    return { records: n, endOffset, damage: r.damage, size: fs.statSync(file).size };
  } finally {
    r.close();
  }
}

/** Figures for the README (printed with MTEPERM_PROPS_REPORT=1). */
const figures = { kills: 0, tornTails: 0, cleanEnds: 0, recordsRecovered: 0, recordsFlushedBeforeKill: 0, truncationOffsets: 0, readerPasses: 0 };
afterAll(() => {
  if (process.env['MTEPERM_PROPS_REPORT'] === '1') process.stdout.write(`log crash figures: ${JSON.stringify(figures)}\n`);
});

// Kill schedules: batch buffer size × how many flush reports to wait for (0: a random delay instead).
const KILLS: ReadonlyArray<{ batch: number; every: number; after: number; atomic: boolean }> = [
  { batch: 16, every: 1, after: 3, atomic: false }, // every record bigger than the batch: 3 writes per record
  { batch: 16, every: 1, after: 0, atomic: false },
  { batch: 256, every: 3, after: 17, atomic: false },
  { batch: 256, every: 5, after: 0, atomic: false },
  { batch: 4096, every: 10, after: 40, atomic: false },
  { batch: 4096, every: 7, after: 0, atomic: true }, // atomic mode: the temporary file is what survives
  { batch: 65536, every: 50, after: 25, atomic: false },
  { batch: 65536, every: 200, after: 0, atomic: false },
  { batch: 1024, every: 1, after: 200, atomic: true },
  { batch: 16, every: 2, after: 0, atomic: true },
];

describe('the writer survives SIGKILL at any point (ARCHITECTURE "Events and log", FORMAT.md)', () => {
  it.each(KILLS.map((k, i) => [i, k] as const))('kill %i (%j): every flushed record reads back exactly, a torn tail is reported at its offset', async (i, k) => {
    const file = tmp.file(`kill-${i}.mtelog`);
    const child = await startWriter(file, k.batch, k.atomic, k.every);
    if (k.after > 0) await until(() => child.reports >= k.after, 10_000);
    else await new Promise((r) => setTimeout(r, 20 + ((i * 37) % 60)));
    child.proc.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    figures.kills++;
    // Atomic mode never renamed: the target does not exist, the temporary file holds the records.
    if (k.atomic) expect(fs.existsSync(file)).toBe(false);
    const got = readBack(child.writing);
    figures.recordsRecovered += got.records;
    figures.recordsFlushedBeforeKill += child.flushed;
    expect(got.records).toBeGreaterThanOrEqual(child.flushed);
    expect(got.endOffset).toBeGreaterThanOrEqual(child.flushedSize);
    if (got.endOffset === got.size) {
      // A kill between batches leaves whole records but no end mark (format 2): unfinished, never intact.
      figures.cleanEnds++;
      expect(got.damage).toMatchObject({ code: 'MTEPERM_LOG_UNFINISHED', offset: got.endOffset });
    } else {
      figures.tornTails++;
      expect(got.damage).toMatchObject({ code: 'MTEPERM_LOG_TORN', offset: got.endOffset });
      expect(got.damage!.message).toBe(`${child.writing}: byte ${got.endOffset}: ${got.damage!.reason}`);
    }
  });

  it('a log cut at every byte offset yields exactly the records wholly before the cut, and names the cut record\'s offset', async () => {
    const file = tmp.file('whole.mtelog');
    const child = await startWriter(file, 512, false, 1, 14);
    await until(() => child.flushed >= 14, 10_000);
    child.proc.kill('SIGKILL');
    await child.exited;
    const whole = fs.readFileSync(file);
    // Record boundaries, from an intact read of the first 30 records.
    const ends: number[] = [];
    const r = openLogReader(file);
    const header = r.dataOffset;
    for (const rec of r.records()) {
      ends.push(rec.offset + framedLength(rec.bytes.length));
    }
    r.close();
    expect(ends).toHaveLength(14);
    const end30 = ends[13]!;
    const cut = tmp.file('cut.mtelog');
    for (let off = header; off <= end30; off++) {
      fs.writeFileSync(cut, whole.subarray(0, off));
      const got = readBack(cut);
      const whole_ = ends.filter((e) => e <= off).length;
      expect(got.records).toBe(whole_);
      const prefixEnd = whole_ === 0 ? header : ends[whole_ - 1]!;
      expect(got.endOffset).toBe(prefixEnd);
      // A cut on a record boundary is an unfinished log (format 2: no end mark), inside a record a torn one.
      if (off === prefixEnd) expect(got.damage).toMatchObject({ code: 'MTEPERM_LOG_UNFINISHED', offset: prefixEnd });
      else expect(got.damage).toMatchObject({ code: 'MTEPERM_LOG_TORN', offset: prefixEnd });
      figures.truncationOffsets++;
    }
    expect(figures.truncationOffsets).toBe(end30 - header + 1);
  });
});

describe('a reader of a growing log sees only whole records (ARCHITECTURE "Events and log")', () => {
  it('while a child appends, repeated passes yield dense, byte-exact records, never fewer than the last pass, and report only a torn tail', async () => {
    const file = tmp.file('growing.mtelog');
    const child = await startWriter(file, 300, false, 3, 6_000, 1);
    await until(() => child.reports >= 1, 10_000);
    let last = 0;
    let passes = 0;
    let torn = 0;
    const end = Date.now() + 1500;
    try {
      while (Date.now() < end) {
        const got = readBack(file);
        expect(got.records).toBeGreaterThanOrEqual(last);
        if (got.damage !== undefined) {
          torn++;
          // Only the end can be incomplete: a record being written (or no end mark yet), never a bad checksum or length.
          expect(['MTEPERM_LOG_TORN', 'MTEPERM_LOG_UNFINISHED']).toContain(got.damage.code);
          expect(got.damage.offset).toBe(got.endOffset);
        }
        last = got.records;
        passes++;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    figures.readerPasses += passes;
    expect(passes).toBeGreaterThan(10);
    expect(last).toBeGreaterThan(100);
    // The final state after the kill still holds at least every flushed record.
    expect(readBack(file).records).toBeGreaterThanOrEqual(child.flushed);
    void torn;
  }, 20_000);
});
