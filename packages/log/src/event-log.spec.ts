import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { SCHEMA_VERSION } from '@mteperm/events';
import { FileEventLog } from './file-event-log';
import { LogError } from './errors';
import { MtelogDigest, newLogHeader } from './log-digest';
import { parseSegment } from './segment';
import type { EventLog } from './types';
import { frame, logImage, sampleEnvelopes, tempDir } from '../test/helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const opts = { profile: 'v2', producer: 'test 1.0' } as const;

async function collect(log: EventLog, from?: bigint): Promise<Array<{ offset: number; seq: bigint; bytes: Buffer }>> {
  const out = [];
  for await (const r of log.read(from)) out.push({ offset: r.offset, seq: r.seq, bytes: Buffer.from(r.bytes) });
  return out;
}

describe('MtelogDigest: the .mtelog sha256 of a log, whatever backend holds it', () => {
  it('equals the sha256 of the file the file writer writes for the same records', async () => {
    const envs = sampleEnvelopes(500);
    const file = tmp.file('digest.mtelog');
    const log = FileEventLog.create(file, opts);
    const digest = new MtelogDigest(log.header);
    for (const e of envs) {
      log.append(e);
      digest.add(e);
    }
    await log.close();
    expect(digest.records).toBe(500);
    expect(digest.hex()).toBe(createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
    expect(newLogHeader(opts)).toEqual({ formatVersion: 2, schemaVersion: SCHEMA_VERSION, ...opts });
  });
});

describe('parseSegment: records of one JetStream segment, checked like the file reader', () => {
  const envs = sampleEnvelopes(12);
  const payload = Buffer.concat(envs.slice(4).map(frame)); // events 5..12

  it('splits a segment into its records with seqs dense from the first', () => {
    const p = parseSegment(payload, 5, 1 << 20);
    expect(p.damage).toBeUndefined();
    expect(p.records.map((r) => r.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Buffer.from(payload.subarray(p.records[3]!.start, p.records[3]!.end)).equals(Buffer.from(envs[7]!))).toBe(true);
    expect(p.records[1]!.at).toBe(frame(envs[4]!).length);
  });

  it('reports a checksum mismatch at the damaged record, after the intact ones', () => {
    const bad = Buffer.from(payload);
    const at = frame(envs[4]!).length + frame(envs[5]!).length;
    bad[at + 2] = bad[at + 2]! ^ 0xff;
    const p = parseSegment(bad, 5, 1 << 20);
    expect(p.records.map((r) => r.seq)).toEqual([5, 6]);
    expect(p.damage).toMatchObject({ code: 'MTEPERM_LOG_CRC', at });
  });

  it('reports a cut record as torn, and a seq that does not follow as MTEPERM_LOG_SEQ', () => {
    expect(parseSegment(payload.subarray(0, payload.length - 3), 5, 1 << 20).damage).toMatchObject({ code: 'MTEPERM_LOG_TORN' });
    expect(parseSegment(payload, 4, 1 << 20)).toMatchObject({ records: [], damage: { code: 'MTEPERM_LOG_SEQ', at: 0, reason: 'record has seq 5 where 4 was expected (seq is dense from 1)' } });
  });
});

describe('FileEventLog: the .mtelog file behind the EventLog interface', () => {
  it('appends, closes, and reads back every record from a seq with the file offsets', async () => {
    const envs = sampleEnvelopes(50);
    const file = tmp.file('el.mtelog');
    const w = FileEventLog.create(file, opts);
    for (const e of envs) w.append(e);
    await w.close();
    const r = FileEventLog.open(file);
    expect(r.header).toMatchObject(opts);
    const image = logImage(envs, { schemaVersion: SCHEMA_VERSION, ...opts });
    const all = await collect(r);
    expect(all.map((x) => x.seq)).toEqual(envs.map((_, i) => BigInt(i + 1)));
    expect(all.map((x) => x.offset)).toEqual(image.bounds.map((b) => b.start));
    expect(all[49]!.bytes.equals(Buffer.from(envs[49]!))).toBe(true);
    expect((await collect(r, 41n)).map((x) => Number(x.seq))).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
    const kinds = [];
    for await (const e of r.envelopes(50n)) kinds.push(e.seq);
    expect(kinds).toEqual([50n]);
    expect(r.damage).toBeUndefined();
    expect(() => r.append(envs[0]!)).toThrow(LogError);
    await r.close();
  });

  it('reports a torn tail as damage with its byte offset', async () => {
    const envs = sampleEnvelopes(10);
    const file = tmp.file('torn.mtelog');
    const image = logImage(envs, { schemaVersion: SCHEMA_VERSION, ...opts });
    fs.writeFileSync(file, image.bytes.subarray(0, image.markAt - 2));
    const r = FileEventLog.open(file);
    expect((await collect(r)).length).toBe(9);
    expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_TORN', offset: image.bounds[9]!.start });
    await r.close();
  });

  it('abort leaves no log behind', async () => {
    const file = tmp.file('aborted.mtelog');
    const w = FileEventLog.create(file, opts);
    w.append(sampleEnvelopes(1)[0]!);
    await w.abort();
    expect(fs.existsSync(file)).toBe(false);
  });
});
