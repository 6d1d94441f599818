import * as fs from 'node:fs';
import { decodeEnvelopeAt, EventCodecError } from '@mteperm/events';
import type { Envelope } from '@mteperm/events';
import { decodeEndMark, END_MARK_BYTES, END_MARK_TAG } from './end-mark';
import type { LogEndMark } from './end-mark';
import { framedLength, PARSED_DAMAGE, PARSED_SHORT, RecordParser } from './framing';
import { LogError, logDamage } from './errors';
import type { LogDamage, LogDamageCode } from './errors';
import { DEFAULT_MAX_RECORD_BYTES, hex32, readLogHeader } from './format';
import type { LogHeader } from './format';
import type { EventLogReader, LogRecord } from './types';

export interface LogReaderOptions {
  /** Size of the read buffer; memory use stays at this whatever the log length. Default 64 KiB. */
  readonly chunkBytes?: number;
  /** Records longer than this are damage (a corrupted length must not make the reader allocate it). Default 16 MiB. */
  readonly maxRecordBytes?: number;
}

/** What a full pass over a log found. */
export interface LogSummary {
  /** Intact records. */
  readonly records: number;
  /** seq of the last intact record, 0n for none. */
  readonly lastSeq: bigint;
  /** End of the intact prefix: the file length when there is no damage. */
  readonly endOffset: number;
  readonly damage: LogDamage | undefined;
  /** The end mark (format 2 logs), if the pass reached an intact one. */
  readonly endMark: LogEndMark | undefined;
}

const RECORD = 0;
const NEED = 1;
const DONE = 2;

/**
 * One pass over the records: a window [start, end) of a fixed chunk buffer that refills from the
 * file at `filePos`. Records are parsed in place; only a record cut by the chunk's end is copied
 * (moved to the chunk's front), and only a record longer than the chunk gets a buffer of its own.
 */
class Cursor {
  buf: Buffer;
  start = 0;
  end = 0;
  /** File offset of buf[end]. */
  filePos: number;
  eof = false;
  private need = 0;
  private expected = 1;
  // The record just parsed.
  recOffset = 0;
  seq = 0;
  bStart = 0;
  bEnd = 0;
  damage: LogDamage | undefined;
  /** The end mark, once read (format 2); nothing may follow it. */
  endMark: LogEndMark | undefined;
  private readonly parser: RecordParser;

  constructor(
    private readonly chunk: Buffer,
    dataOffset: number,
    private readonly file: string,
    maxRecordBytes: number,
    private readonly fileSize: () => number,
    private readonly onBuffer: (bytes: number) => void,
    /** Format 2 logs end with an end mark; format 1 logs just end. */
    private readonly endMarked: boolean,
  ) {
    this.buf = chunk;
    this.filePos = dataOffset;
    this.parser = new RecordParser(maxRecordBytes, 'file');
  }

  /** Parses the next record: RECORD (fields set), NEED (call prepare/commit), or DONE (end or damage). */
  step(): number {
    const buf = this.buf;
    const s = this.start;
    const end = this.end;
    if (s === end) {
      if (!this.eof) {
        this.need = 1;
        return NEED;
      }
      if (this.endMarked && this.endMark === undefined) {
        // A cut on a record boundary looks like a shorter log; only the end mark tells them apart.
        return this.fail('MTEPERM_LOG_UNFINISHED', `the log ends without its end mark after ${this.expected - 1} records: its writer did not finish (MTEPERM_LOG_UNFINISHED)`);
      }
      return DONE;
    }
    if (this.endMark !== undefined) return this.fail('MTEPERM_LOG_END', 'bytes follow the end mark');
    if (this.endMarked && buf[s] === END_MARK_TAG) return this.stepEndMark();
    const p = this.parser;
    const r = p.parse(buf, s, end, this.expected);
    if (r === PARSED_SHORT) return this.short(p.need, p.reason);
    if (r === PARSED_DAMAGE) return this.fail(p.code, p.reason);
    const seq = p.seq;
    const i = p.start;
    const be = p.end;
    this.expected++;
    this.recOffset = this.filePos - (end - s);
    this.seq = seq;
    this.bStart = i;
    this.bEnd = be;
    this.start = be + 4;
    return RECORD;
  }

  private stepEndMark(): number {
    if (this.end - this.start < END_MARK_BYTES) return this.short(END_MARK_BYTES, 'end mark is cut off by the end of the file');
    const at = this.filePos - (this.end - this.start);
    const m = decodeEndMark(this.buf, this.start, at);
    if ('crc' in m) return this.fail('MTEPERM_LOG_CRC', `end mark checksum mismatch (stored ${hex32(m.crc.stored)}, computed ${hex32(m.crc.computed)})`);
    if (m.events !== this.expected - 1) return this.fail('MTEPERM_LOG_END', `end mark counts ${m.events} records where the log holds ${this.expected - 1}`);
    this.endMark = m;
    this.start += END_MARK_BYTES;
    return this.step();
  }

  /** Makes room for `need` bytes from `start`; returns how many bytes to read into buf at `end` (0: none can come). */
  prepare(): number {
    const have = this.end - this.start;
    if (have === 0) {
      // Nothing pending: start over at the chunk's front so the read is as large as it can be.
      this.buf = this.chunk;
      this.start = this.end = 0;
    }
    if (this.start + this.need > this.buf.length) {
      if (this.need <= this.chunk.length) {
        // The record straddles the chunk's end: move its head to the front.
        if (this.buf === this.chunk) this.chunk.copyWithin(0, this.start, this.end);
        else this.buf.copy(this.chunk, 0, this.start, this.end);
        this.buf = this.chunk;
      } else {
        // Longer than the chunk. Check the file really holds it before allocating (a torn tail
        // or a damaged length would otherwise cost up to maxRecordBytes).
        if (this.filePos - have + this.need > this.fileSize()) return 0;
        const big = Buffer.allocUnsafe(this.need);
        this.buf.copy(big, 0, this.start, this.end);
        this.buf = big;
        this.onBuffer(big.length);
      }
      this.start = 0;
      this.end = have;
    }
    return this.buf.length - this.end;
  }

  commit(n: number): void {
    if (n === 0) this.eof = true;
    this.end += n;
    this.filePos += n;
  }

  private short(need: number, reason: string): number {
    if (this.eof) return this.fail('MTEPERM_LOG_TORN', reason);
    this.need = need;
    return NEED;
  }

  private fail(code: LogDamageCode, reason: string): number {
    this.damage = logDamage(code, this.file, this.filePos - (this.end - this.start), reason);
    return DONE;
  }
}

/**
 * Streaming reader of a .mtelog file (FORMAT.md). Opening reads and checks the header (a refusal
 * throws LogError). Each iteration makes one pass in constant memory (one chunk buffer) and yields
 * every intact record up to the first damage; the damage, if any, is then in `damage`.
 */
export class LogFileReader implements EventLogReader {
  readonly header: LogHeader;
  /** Offset of the first record (the header length). */
  readonly dataOffset: number;
  private fd: number;
  private readonly chunkBytes: number;
  private readonly maxRecordBytes: number;
  private lastDamage: LogDamage | undefined;
  private lastEndMark: LogEndMark | undefined;
  private peak = 0;

  constructor(
    /** The log file, as the caller named it (used in every message). */
    readonly path: string,
    options: LogReaderOptions = {},
  ) {
    this.chunkBytes = Math.max(options.chunkBytes ?? 64 * 1024, 16);
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.fd = io(path, 0, 'open', () => fs.openSync(path, 'r'));
    try {
      const fd = this.fd;
      // A folder opens on Linux and fails only at the first read (a raw EISDIR): name it instead.
      if (fs.fstatSync(fd).isDirectory()) throw new LogError('MTEPERM_LOG_IO', path, 0, 'is a folder, not a log file');
      const h = readLogHeader((buf, off, len, pos) => io(path, pos, 'read', () => readFull(fd, buf, off, len, pos)), path);
      this.header = h.header;
      this.dataOffset = h.dataOffset;
    } catch (e) {
      fs.closeSync(this.fd);
      throw e;
    }
  }

  /** Damage found by the last pass that ran to its end; undefined when the log was intact. */
  get damage(): LogDamage | undefined {
    return this.lastDamage;
  }

  /** The end mark found by the last pass that ran to its end (format 2); undefined before, for format 1, or when missing. */
  get endMark(): LogEndMark | undefined {
    return this.lastEndMark;
  }

  /** Largest buffer any pass has held: the chunk size unless a single record was longer. */
  get peakBufferBytes(): number {
    return this.peak;
  }

  /** Intact records with seq >= fromSeq, synchronously (fast replay). `bytes` is valid until the next step. */
  *records(fromSeq = 1n): IterableIterator<LogRecord> {
    const c = this.cursor();
    const from = Number(fromSeq);
    while (this.nextSync(c)) if (c.seq >= from) yield recordAt(c);
  }

  /** Decoded envelopes with seq >= fromSeq, synchronously. */
  *envelopes(fromSeq = 1n): IterableIterator<Envelope> {
    const c = this.cursor();
    const from = Number(fromSeq);
    while (this.nextSync(c)) {
      if (c.seq < from) continue;
      const e = this.decode(c);
      if (e === undefined) return;
      yield e;
    }
  }

  /** Intact records with seq >= fromSeq, reading with non-blocking I/O. */
  async *recordsAsync(fromSeq = 1n): AsyncIterableIterator<LogRecord> {
    const c = this.cursor();
    const from = Number(fromSeq);
    while (await this.nextAsync(c)) if (c.seq >= from) yield recordAt(c);
  }

  /** Decoded envelopes with seq >= fromSeq, reading with non-blocking I/O. */
  async *envelopesAsync(fromSeq = 1n): AsyncIterableIterator<Envelope> {
    const c = this.cursor();
    const from = Number(fromSeq);
    while (await this.nextAsync(c)) {
      if (c.seq < from) continue;
      const e = this.decode(c);
      if (e === undefined) return;
      yield e;
    }
  }

  /** Advances to the next intact record (true), reading chunks as needed; false at the end or damage. */
  private nextSync(c: Cursor): boolean {
    for (;;) {
      const r = this.stepOrEnd(c);
      if (r !== undefined) return r;
      this.fillSync(c);
    }
  }

  private async nextAsync(c: Cursor): Promise<boolean> {
    for (;;) {
      const r = this.stepOrEnd(c);
      if (r !== undefined) return r;
      await this.fillAsync(c);
    }
  }

  /** One cursor step: true at a record, false at the end or damage (noted), undefined when it needs a chunk. */
  private stepOrEnd(c: Cursor): boolean | undefined {
    const s = c.step();
    if (s === RECORD) return true;
    if (s === NEED) return undefined;
    this.lastDamage = c.damage;
    this.lastEndMark = c.endMark;
    return false;
  }


  /** One full pass checking framing, checksums and seq (not decoding): how much of the log is intact. */
  verify(): LogSummary {
    let records = 0;
    let lastSeq = 0n;
    let endOffset = this.dataOffset;
    for (const r of this.records()) {
      records++;
      lastSeq = r.seq;
      endOffset = r.offset + framedLength(r.bytes.length);
    }
    if (this.lastEndMark !== undefined) endOffset = this.lastEndMark.offset + END_MARK_BYTES;
    return { records, lastSeq, endOffset, damage: this.lastDamage, endMark: this.lastEndMark };
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private cursor(): Cursor {
    if (this.fd < 0) throw new LogError('MTEPERM_LOG_CLOSED', this.path, this.dataOffset, 'log reader is closed');
    this.lastDamage = undefined;
    this.lastEndMark = undefined;
    const chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.peak = Math.max(this.peak, chunk.length);
    return new Cursor(chunk, this.dataOffset, this.path, this.maxRecordBytes, () => fs.fstatSync(this.fd).size, (n) => {
      this.peak = Math.max(this.peak, n);
    }, this.header.formatVersion >= 2);
  }

  private fillSync(c: Cursor): void {
    const want = c.prepare();
    c.commit(want === 0 ? 0 : io(this.path, c.filePos, 'read', () => fs.readSync(this.fd, c.buf, c.end, want, c.filePos)));
  }

  private async fillAsync(c: Cursor): Promise<void> {
    const want = c.prepare();
    let n = 0;
    if (want > 0) {
      try {
        n = await readAsync(this.fd, c.buf, c.end, want, c.filePos);
      } catch (e) {
        throw new LogError('MTEPERM_LOG_IO', this.path, c.filePos, `cannot read: ${(e as Error).message}`, { cause: e });
      }
    }
    c.commit(n);
  }

  // A record that passed its CRC but does not decode was written broken; it ends the readable prefix.
  private decode(c: Cursor): Envelope | undefined {
    try {
      return decodeEnvelopeAt(c.buf, c.bStart, c.bEnd);
    } catch (e) {
      if (!(e instanceof EventCodecError)) throw e;
      this.lastDamage = logDamage('MTEPERM_LOG_DECODE', this.path, c.recOffset, `record does not decode: ${e.message}`);
      return undefined;
    }
  }
}

/** Opens a log for reading; throws LogError when the file is not a log this build can read. */
export function openLogReader(file: string, options?: LogReaderOptions): LogFileReader {
  return new LogFileReader(file, options);
}

function readFull(fd: number, buf: Buffer, off: number, len: number, pos: number): number {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, buf, off + done, len - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function readAsync(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function io<T>(file: string, offset: number, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new LogError('MTEPERM_LOG_IO', file, offset, `cannot ${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** The record the cursor stands on, as a view into the reader's chunk. */
function recordAt(c: Cursor): LogRecord {
  return { offset: c.recOffset, seq: BigInt(c.seq), bytes: c.buf.subarray(c.bStart, c.bEnd) };
}
