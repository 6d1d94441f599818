import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeEnvelope, encodeEnvelope, NO_VCPU } from '@mteperm/events';
import { SAMPLE_EVENT_LIST, thrownCode } from '@mteperm/events/testing';
import { LogError } from './errors';
import { openLogReader } from './reader';
import { logSink, openLogWriter } from './writer';
import { endMark, frame, logImage, sampleEnvelopes, tempDir, TEST_HEADER, TEST_HEADER_BYTES } from '../test/helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const opts = { profile: 'v2', producer: 'test 1.0' } as const;

const codeOf = (f: () => unknown): string | undefined => thrownCode(f, LogError);

describe('LogFileWriter', () => {
  it('round-trips every sample event through a file, decoded equal to the original', () => {
    const file = tmp.file('samples.mtelog');
    const w = openLogWriter(file, opts);
    SAMPLE_EVENT_LIST.forEach((event, i) => w.append(encodeEnvelope({ seq: BigInt(i + 1), vm: 7, vcpu: NO_VCPU, causation: BigInt(i) }, event)));
    expect(w.records).toBe(SAMPLE_EVENT_LIST.length);
    w.close();
    const r = openLogReader(file);
    const back = [...r.envelopes()];
    expect(r.damage).toBeUndefined();
    expect(back.map((e) => e.type)).toEqual(SAMPLE_EVENT_LIST.map((e) => e.type));
    back.forEach((e, i) => {
      expect(e.seq).toBe(BigInt(i + 1));
      expect(e.causation).toBe(BigInt(i));
      expect(e.vm).toBe(7);
      expect(e.data).toEqual(SAMPLE_EVENT_LIST[i]!.data);
    });
    r.close();
  });

  it('writes exactly the FORMAT.md image: header, then varint length | envelope | CRC32C LE per record', () => {
    const file = tmp.file('image.mtelog');
    const envs = sampleEnvelopes(40);
    const w = openLogWriter(file, { ...opts, batchBytes: 100 });
    envs.forEach((e) => w.append(e));
    w.close();
    expect(fs.readFileSync(file).equals(logImage(envs, TEST_HEADER).bytes)).toBe(true);
  });

  it('frames a record longer than the batch buffer (2-byte and 3-byte length varints)', () => {
    const file = tmp.file('large.mtelog');
    const big = encodeEnvelope({ seq: 1n, vm: 0, vcpu: 0, causation: 0n }, { type: 'KvmRunFailed', data: { gpa: 0n, ret: -14, reason: 'x'.repeat(300) } });
    const huge = encodeEnvelope({ seq: 2n, vm: 0, vcpu: 0, causation: 0n }, { type: 'KvmRunFailed', data: { gpa: 0n, ret: -14, reason: 'y'.repeat(20_000) } });
    const w = openLogWriter(file, { ...opts, batchBytes: 64 });
    w.append(big);
    w.append(huge);
    w.close();
    expect(fs.readFileSync(file).equals(logImage([big, huge]).bytes)).toBe(true);
  });

  it('writes a batch only when the next record does not fit the batch buffer', () => {
    const file = tmp.file('batch.mtelog');
    const envs = sampleEnvelopes(6);
    const sizes = envs.map((e) => frame(e).length);
    const five = sizes.slice(0, 5).reduce((a, b) => a + b);
    const w = openLogWriter(file, { ...opts, batchBytes: five, flushIntervalMs: 0, atomic: false });
    const onDisk = () => fs.statSync(file).size;
    expect(onDisk()).toBe(TEST_HEADER_BYTES); // the header is written at open
    for (let i = 0; i < 5; i++) w.append(envs[i]!);
    expect(onDisk()).toBe(TEST_HEADER_BYTES);
    w.append(envs[5]!); // does not fit: the five before it go out as one write
    expect(onDisk()).toBe(TEST_HEADER_BYTES + five);
    expect(w.size).toBe(TEST_HEADER_BYTES + five + sizes[5]!);
    w.flush();
    expect(onDisk()).toBe(TEST_HEADER_BYTES + five + sizes[5]!);
    w.close();
  });

  it('writes a pending batch on the time bound without a flush call', async () => {
    const file = tmp.file('timer.mtelog');
    const [e1, e2] = sampleEnvelopes(2);
    const w = openLogWriter(file, { ...opts, flushIntervalMs: 10, atomic: false });
    w.append(e1!);
    expect(fs.statSync(file).size).toBe(TEST_HEADER_BYTES);
    await new Promise((r) => setTimeout(r, 60));
    expect(fs.statSync(file).size).toBe(TEST_HEADER_BYTES + frame(e1!).length);
    // the same timer is re-armed for the next batch
    w.append(e2!);
    await new Promise((r) => setTimeout(r, 60));
    expect(fs.statSync(file).size).toBe(TEST_HEADER_BYTES + frame(e1!).length + frame(e2!).length);
    w.close();
  });

  describe('atomic replace', () => {
    it('leaves the old log intact until close, keeps every flushed record readable in the temp file, then renames', () => {
      const file = tmp.file('replace.mtelog');
      fs.writeFileSync(file, 'old content');
      const envs = sampleEnvelopes(50);
      const w = openLogWriter(file, { ...opts, flushIntervalMs: 0 });
      expect(path.dirname(w.writingPath)).toBe(path.dirname(file));
      expect(path.basename(w.writingPath)).toMatch(/^\.replace\.mtelog\.\d+\.\d+\.tmp$/);
      envs.slice(0, 30).forEach((e) => w.append(e));
      w.flush();
      envs.slice(30).forEach((e) => w.append(e)); // still in the batch: what a crash now would lose
      expect(fs.readFileSync(file, 'utf8')).toBe('old content');

      // What a process that died here leaves: every flushed record reads back, and no end mark (unfinished).
      const r = openLogReader(w.writingPath);
      expect([...r.records()].map((x) => x.seq)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i + 1)));
      expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_UNFINISHED', offset: fs.statSync(w.writingPath).size });
      r.close();

      w.close();
      expect(fs.existsSync(w.writingPath)).toBe(false);
      expect(fs.readFileSync(file).equals(logImage(envs).bytes)).toBe(true);
    });

    it('abort() removes the temp file and keeps the old log', () => {
      const file = tmp.file('abort.mtelog');
      fs.writeFileSync(file, 'old content');
      const w = openLogWriter(file, opts);
      sampleEnvelopes(3).forEach((e) => w.append(e));
      w.flush();
      w.abort();
      expect(fs.existsSync(w.writingPath)).toBe(false);
      expect(fs.readFileSync(file, 'utf8')).toBe('old content');
    });

    it('two writers to one target use distinct temp files', () => {
      const file = tmp.file('two.mtelog');
      const a = openLogWriter(file, opts);
      const b = openLogWriter(file, opts);
      expect(a.writingPath).not.toBe(b.writingPath);
      a.abort();
      b.abort();
    });
  });

  it('refuses an empty record, an oversized record and use after close, with codes', () => {
    const file = tmp.file('refuse.mtelog');
    const w = openLogWriter(file, { ...opts, maxRecordBytes: 100 });
    expect(codeOf(() => w.append(new Uint8Array(0)))).toBe(`MTEPERM_LOG_LENGTH: ${file}: byte 32: record length 0 is outside 1..100`);
    expect(codeOf(() => w.append(new Uint8Array(101)))).toBe(`MTEPERM_LOG_LENGTH: ${file}: byte 32: record length 101 is outside 1..100`);
    w.close();
    // After close the log is its header and its 45-byte end mark.
    expect(codeOf(() => w.append(sampleEnvelopes(1)[0]!))).toBe(`MTEPERM_LOG_CLOSED: ${file}: byte 77: log writer is closed`);
    expect(codeOf(() => w.close())).toBe(`MTEPERM_LOG_CLOSED: ${file}: byte 77: log writer is closed`);
  });

  it('refuses a producer string over 255 bytes', () => {
    expect(codeOf(() => openLogWriter(tmp.file('p.mtelog'), { profile: 'v1', producer: 'é'.repeat(128) }))).toBe(
      `MTEPERM_LOG_HEADER: ${tmp.file('p.mtelog')}: byte 19: producer is 256 bytes of UTF-8; at most 255`,
    );
  });

  it('logSink appends every bytes argument it receives, as the bus sink', () => {
    const file = tmp.file('sink.mtelog');
    const w = openLogWriter(file, opts);
    const sink = logSink(w);
    const envs = sampleEnvelopes(5);
    envs.forEach((b) => sink(b, decodeEnvelope(b)));
    w.close();
    expect(fs.readFileSync(file).equals(logImage(envs).bytes)).toBe(true);
  });

  // FORMAT.md "End mark": the count and the digest of a closing StateHashRecorded, for any batch size.
  it.each([16, 64, 65536])('ends the log with an end mark carrying the last StateHashRecorded digest (batch %i)', (batchBytes) => {
    const file = tmp.file(`mark-${batchBytes}.mtelog`);
    const sha = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const envs = [...sampleEnvelopes(7), encodeEnvelope({ seq: 8n, vm: 0, vcpu: NO_VCPU, causation: 0n }, { type: 'StateHashRecorded', data: { sha256: sha, events: 8n } })];
    const w = openLogWriter(file, { ...opts, batchBytes, flushIntervalMs: 0 });
    envs.forEach((e) => w.append(e));
    w.close();
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(bytes.length - 45).equals(endMark(8, sha))).toBe(true);
    const r = openLogReader(file);
    expect([...r.records()].length).toBe(8);
    expect(r.damage).toBeUndefined();
    expect(r.endMark).toEqual({ events: 8, stateSha256: Buffer.from(sha).toString('hex'), offset: bytes.length - 45 });
    r.close();
  });
});
