import * as fs from 'node:fs';
import fc from 'fast-check';
import { encodeEnvelope } from '@mteperm/events';
import { LogError } from './errors';
import type { LogDamage } from './errors';
import { openLogReader } from './reader';
import type { LogFileReader } from './reader';
import { openLogWriter } from './writer';
import { endMark, frame, logImage, propsRuns, sampleEnvelopes, tempDir, TEST_HEADER, TEST_HEADER_BYTES } from '../test/helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface Pass {
  records: { offset: number; seq: bigint; bytes: Buffer }[];
  damage: LogDamage | undefined;
}

function readSync(r: LogFileReader): Pass {
  // bytes is a view valid until the next step: copy while iterating.
  const records: Pass['records'] = [];
  for (const x of r.records()) records.push({ offset: x.offset, seq: x.seq, bytes: Buffer.from(x.bytes) });
  return { records, damage: r.damage };
}

async function readAsync(r: LogFileReader): Promise<Pass> {
  const records: Pass['records'] = [];
  for await (const x of r.recordsAsync()) records.push({ offset: x.offset, seq: x.seq, bytes: Buffer.from(x.bytes) });
  return { records, damage: r.damage };
}

function withFile<T>(name: string, bytes: Uint8Array, f: (file: string) => T): T {
  const file = tmp.file(name);
  fs.writeFileSync(file, bytes);
  return f(file);
}

describe('LogFileReader', () => {
  const envs = sampleEnvelopes(6);
  const { bytes: image, bounds, markAt } = logImage(envs);
  // The records without the end mark: what a test appends damage to.
  const records = image.subarray(0, markAt);

  it('yields every record with its offset and seq, and no damage, for an intact log', () => {
    withFile('intact.mtelog', image, (file) => {
      const r = openLogReader(file);
      const pass = readSync(r);
      expect(pass.damage).toBeUndefined();
      expect(pass.records.map((x) => x.offset)).toEqual(bounds.map((b) => b.start));
      expect(pass.records[0]!.offset).toBe(TEST_HEADER_BYTES);
      expect(pass.records.map((x) => x.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
      pass.records.forEach((x, i) => expect(x.bytes.equals(Buffer.from(envs[i]!))).toBe(true));
      expect(r.verify()).toEqual({ records: 6, lastSeq: 6n, endOffset: image.length, damage: undefined, endMark: { events: 6, stateSha256: null, offset: markAt } });
      r.close();
    });
  });

  it('on a torn tail at every byte offset: yields the records wholly before the cut, none after, and the damage offset', () => {
    const file = tmp.file('torn.mtelog');
    // Five small records and one with a 2-byte length prefix, so a cut can also fall inside a prefix.
    const long = encodeEnvelope({ seq: 6n, vm: 0, vcpu: 0, causation: 0n }, { type: 'KvmRunFailed', data: { gpa: 6n, ret: -14, reason: 'r'.repeat(150) } });
    const { bytes: image, bounds, markAt } = logImage([...sampleEnvelopes(5), long]);
    expect(bounds.map((b) => (image[b.start]! & 0x80) !== 0)).toEqual([false, false, false, false, false, true]);
    for (let cut = 0; cut <= image.length; cut++) {
      fs.writeFileSync(file, image.subarray(0, cut));
      if (cut < TEST_HEADER_BYTES) {
        expect(() => openLogReader(file)).toThrow(expect.objectContaining({ code: 'MTEPERM_LOG_TORN', offset: cut }));
        continue;
      }
      const r = openLogReader(file, { chunkBytes: 16 });
      const pass = readSync(r);
      r.close();
      const whole = bounds.filter((b) => b.end <= cut);
      expect(pass.records.map((x) => x.offset)).toEqual(whole.map((b) => b.start));
      const partial = bounds.find((b) => b.start < cut && cut < b.end);
      if (cut === image.length) {
        expect(pass.damage).toBeUndefined();
      } else if (cut > markAt) {
        expect(pass.damage).toMatchObject({ code: 'MTEPERM_LOG_TORN', offset: markAt, reason: 'end mark is cut off by the end of the file' });
      } else if (partial === undefined) {
        // FORMAT.md "End mark": a cut on a record boundary (or after the header) is an unfinished log, not a shorter one.
        expect(pass.damage).toMatchObject({ code: 'MTEPERM_LOG_UNFINISHED', offset: cut });
      } else {
        expect(pass.damage?.code).toBe('MTEPERM_LOG_TORN');
        expect(pass.damage?.offset).toBe(partial.start);
        expect(pass.damage?.message).toBe(
          cut === partial.start + 1 && (image[partial.start]! & 0x80) !== 0 // a 2-byte length prefix cut after its first byte
            ? `${file}: byte ${partial.start}: record length prefix is cut off by the end of the file`
            : `${file}: byte ${partial.start}: record of ${partial.end - partial.start} bytes is cut off by the end of the file`,
        );
      }
    }
  });

  it('reports a CRC mismatch at the damaged record and keeps the records before it', () => {
    const bad = Buffer.from(image);
    const at = bounds[2]!.start + 5;
    bad[at] ^= 0x01;
    withFile('crc.mtelog', bad, (file) => {
      const r = openLogReader(file);
      const pass = readSync(r);
      expect(pass.records.map((x) => x.seq)).toEqual([1n, 2n]);
      const stored = bad.readUInt32LE(bounds[2]!.end - 4).toString(16).padStart(8, '0');
      expect(pass.damage).toMatchObject({ code: 'MTEPERM_LOG_CRC', offset: bounds[2]!.start });
      expect(pass.damage?.message).toMatch(new RegExp(`^${escape(file)}: byte ${bounds[2]!.start}: record checksum mismatch \\(stored 0x${stored}, computed 0x[0-9a-f]{8}\\)$`));
      r.close();
    });
  });

  it('reports a seq gap as damage at the record that breaks the dense order', () => {
    const e = (seq: bigint) => encodeEnvelope({ seq, vm: 0, vcpu: 0, causation: 0n }, { type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } });
    const { bytes, bounds: b } = logImage([e(1n), e(2n), e(4n), e(5n)]);
    withFile('gap.mtelog', bytes, (file) => {
      const r = openLogReader(file);
      const pass = readSync(r);
      expect(pass.records.map((x) => x.seq)).toEqual([1n, 2n]);
      expect(pass.damage).toEqual({
        code: 'MTEPERM_LOG_SEQ',
        file,
        offset: b[2]!.start,
        reason: 'record has seq 4 where 3 was expected (seq is dense from 1)',
        message: `${file}: byte ${b[2]!.start}: record has seq 4 where 3 was expected (seq is dense from 1)`,
      });
      r.close();
    });
  });

  it('reports a zero length and a length beyond the bound as MTEPERM_LOG_LENGTH', () => {
    // Format 1 has no end mark, so a zero length is a bad length there; in format 2 it starts the end mark.
    const v1 = logImage(envs, { ...TEST_HEADER, formatVersion: 1 }).bytes;
    expect(v1.length).toBe(markAt);
    withFile('zero.mtelog', Buffer.concat([v1, Buffer.alloc(64)]), (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records.length).toBe(6);
      expect(r.damage?.message).toBe(`${file}: byte ${markAt}: record length 0 is outside 1..16777216`);
      r.close();
    });
    withFile('zero2.mtelog', Buffer.concat([records, Buffer.alloc(64)]), (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records.length).toBe(6);
      expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_CRC', offset: markAt });
      r.close();
    });
    // 0x80 0x80 0x80 0x10 = 2^25 (32 MiB): refused before any allocation
    withFile('long.mtelog', Buffer.concat([records, Buffer.from([0x80, 0x80, 0x80, 0x10, 1, 2, 3])]), (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records.length).toBe(6);
      expect(r.damage?.message).toBe(`${file}: byte ${markAt}: record length 33554432 is outside 1..16777216`);
      expect(r.peakBufferBytes).toBe(64 * 1024);
      r.close();
    });
  });

  it('reports a CRC-valid record that is not an envelope: malformed wire in records(), undecodable in envelopes()', () => {
    // [0x08] is a seq tag without its value; [0x08, 0x03] is seq 3 with no event body.
    const malformed = Buffer.concat([records, frame(Uint8Array.of(0x08))]);
    withFile('malformed.mtelog', malformed, (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records.length).toBe(6);
      expect(r.damage?.message).toBe(`${file}: byte ${markAt}: record is not a protobuf envelope (malformed wire data)`);
      r.close();
    });
    const bodiless = logImage([...envs, Uint8Array.of(0x08, 0x07, 0x28, 0x01)]).bytes;
    withFile('bodiless.mtelog', bodiless, (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records.length).toBe(7); // framing, CRC and seq are all fine
      expect(r.damage).toBeUndefined();
      const decoded = [...r.envelopes()];
      expect(decoded.length).toBe(6);
      expect(r.damage?.code).toBe('MTEPERM_LOG_DECODE');
      expect(r.damage?.offset).toBe(markAt);
      expect(r.damage?.message).toMatch(new RegExp(`^${escape(file)}: byte ${markAt}: record does not decode: `));
      r.close();
    });
  });

  it('reads from a given seq on', async () => {
    await withFile('from.mtelog', image, async (file) => {
      const r = openLogReader(file);
      expect([...r.records(4n)].map((x) => x.seq)).toEqual([4n, 5n, 6n]);
      expect([...r.envelopes(5n)].map((x) => x.seq)).toEqual([5n, 6n]);
      const seqs: bigint[] = [];
      for await (const e of r.envelopesAsync(6n)) seqs.push(e.seq);
      expect(seqs).toEqual([6n]);
      r.close();
    });
  });

  it('reads records longer than the chunk (own buffer) and records straddling chunks (moved), both intact', () => {
    const long = (seq: bigint, n: number) =>
      encodeEnvelope({ seq, vm: 0, vcpu: 0, causation: 0n }, { type: 'KvmRunFailed', data: { gpa: seq, ret: -14, reason: 'r'.repeat(n) } });
    const list = [long(1n, 10), long(2n, 300), long(3n, 20), long(4n, 5000), long(5n, 7)];
    withFile('long-records.mtelog', logImage(list).bytes, (file) => {
      for (const chunkBytes of [16, 64, 301, 4096, 65536]) {
        const r = openLogReader(file, { chunkBytes });
        const pass = readSync(r);
        expect(pass.damage).toBeUndefined();
        pass.records.forEach((x, i) => expect(x.bytes.equals(Buffer.from(list[i]!))).toBe(true));
        expect(r.peakBufferBytes).toBe(Math.max(chunkBytes, ...list.map((e) => frame(e).length).filter((n) => n > chunkBytes)));
        r.close();
      }
    });
  });

  it('does not allocate a torn oversized record: the file is checked first', () => {
    const list = [encodeEnvelope({ seq: 1n, vm: 0, vcpu: 0, causation: 0n }, { type: 'KvmRunFailed', data: { gpa: 1n, ret: -14, reason: 'r'.repeat(100_000) } })];
    const { bytes, markAt: end } = logImage(list);
    withFile('torn-big.mtelog', bytes.subarray(0, end - 1), (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records).toEqual([]);
      expect(r.damage?.code).toBe('MTEPERM_LOG_TORN');
      expect(r.peakBufferBytes).toBe(64 * 1024);
      r.close();
    });
  });

  it('async and sync readers agree, on intact and damaged logs', async () => {
    const damaged = Buffer.from(image);
    damaged[bounds[4]!.start + 3] ^= 0xff;
    for (const [name, bytes] of [['agree-ok.mtelog', image], ['agree-bad.mtelog', damaged], ['agree-torn.mtelog', image.subarray(0, image.length - 2)]] as const) {
      const file = tmp.file(name);
      fs.writeFileSync(file, bytes);
      const r = openLogReader(file, { chunkBytes: 32 });
      const a = readSync(r);
      const b = await readAsync(r);
      expect(b).toEqual(a);
      r.close();
    }
  });

  it('refuses iteration after close with MTEPERM_LOG_CLOSED', () => {
    withFile('closed.mtelog', image, (file) => {
      const r = openLogReader(file);
      r.close();
      expect(() => [...r.records()]).toThrow(new LogError('MTEPERM_LOG_CLOSED', file, TEST_HEADER_BYTES, 'log reader is closed'));
    });
  });

  it('reads a 200k-record log in constant memory: never more than its 64 KiB chunk', () => {
    const file = tmp.file('big.mtelog');
    const w = openLogWriter(file, { profile: 'baseline', producer: 'test 1.0', fsync: false });
    const data = { type: 'AccessCompleted', data: { gpa: 0x80001000n, op: 'write', pa: 0x840001000n, tags_ignored: false } } as const;
    for (let i = 1; i <= 200_000; i++) w.append(encodeEnvelope({ seq: BigInt(i), vm: 1, vcpu: i & 1, causation: BigInt(i - 1) }, data));
    w.close();
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(100 * 64 * 1024); // the log is far larger than the chunk
    const r = openLogReader(file, { chunkBytes: 64 * 1024 });
    let n = 0;
    let last = 0n;
    for (const rec of r.records()) {
      n++;
      last = rec.seq;
    }
    expect(n).toBe(200_000);
    expect(last).toBe(200_000n);
    expect(r.damage).toBeUndefined();
    expect(r.peakBufferBytes).toBe(64 * 1024);
    r.close();
  });
});

describe('LogFileReader: the end mark (FORMAT.md "End mark", format 2)', () => {
  const envs = sampleEnvelopes(4);
  it('reads a format-1 log without an end mark as complete (the old format)', () => {
    const { bytes } = logImage(envs, { ...TEST_HEADER, formatVersion: 1 });
    withFile('v1.mtelog', bytes, (file) => {
      const r = openLogReader(file);
      expect(r.header.formatVersion).toBe(1);
      expect(readSync(r).records.length).toBe(4);
      expect(r.damage).toBeUndefined();
      expect(r.endMark).toBeUndefined();
      r.close();
    });
  });

  it('reports a header-only format-2 file as unfinished at its data offset', () => {
    withFile('header-only.mtelog', logImage([]).bytes.subarray(0, TEST_HEADER_BYTES), (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records).toEqual([]);
      expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_UNFINISHED', offset: TEST_HEADER_BYTES });
      r.close();
    });
  });

  it('carries the state hash and refuses a wrong count or bytes after the mark', () => {
    const hash = Buffer.alloc(32, 0xcd);
    const { bytes, markAt } = logImage(envs, TEST_HEADER, { stateHash: hash });
    withFile('mark.mtelog', bytes, (file) => {
      const r = openLogReader(file);
      expect(readSync(r).records.length).toBe(4);
      expect(r.endMark).toEqual({ events: 4, stateSha256: 'cd'.repeat(32), offset: markAt });
      r.close();
    });
    withFile('mark-count.mtelog', Buffer.concat([bytes.subarray(0, markAt), endMark(5)]), (file) => {
      const r = openLogReader(file);
      readSync(r);
      expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_END', offset: markAt, reason: 'end mark counts 5 records where the log holds 4' });
      r.close();
    });
    withFile('mark-after.mtelog', Buffer.concat([bytes, Buffer.of(1)]), (file) => {
      const r = openLogReader(file);
      readSync(r);
      expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_END', offset: bytes.length, reason: 'bytes follow the end mark' });
      r.close();
    });
  });
});

describe('LogFileReader properties (damage never costs an intact record, never passes a damaged one)', () => {
  const numRuns = propsRuns();
  const logArb = fc.record({
    kinds: fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
    chunkBytes: fc.constantFrom(16, 37, 256, 65536),
  });

  /**
   * `damageAt` is the first damaged byte (a flip) or, with `truncated`, the length the file was cut
   * to. Format 2 (FORMAT.md "End mark"): a cut exactly at a record boundary is an unfinished log
   * (MTEPERM_LOG_UNFINISHED at the cut), and damage to the end mark is reported at the mark.
   */
  function expectPrefix(file: string, envs: Uint8Array[], bounds: { start: number; end: number }[], damageAt: number, chunkBytes: number, truncated = false, markAt = -1, size = -1): void {
    const r = openLogReader(file, { chunkBytes });
    const pass = readSync(r);
    const whole = bounds.filter((b) => b.end <= damageAt);
    expect(pass.records.length).toBe(whole.length);
    pass.records.forEach((x, i) => {
      expect(x.offset).toBe(bounds[i]!.start);
      expect(x.bytes.equals(Buffer.from(envs[i]!))).toBe(true);
    });
    const hit = bounds.find((b) => (truncated ? b.start < damageAt : b.start <= damageAt) && damageAt < b.end);
    if (hit !== undefined) expect(pass.damage?.offset).toBe(hit.start);
    else if (truncated && damageAt === size) expect(pass.damage).toBeUndefined();
    else if (truncated && damageAt <= markAt) expect(pass.damage).toMatchObject({ code: 'MTEPERM_LOG_UNFINISHED', offset: damageAt });
    else expect(pass.damage?.offset).toBe(markAt);
    // The decoding pass agrees.
    expect([...r.envelopes()].length).toBe(whole.length);
    r.close();
  }

  it('truncating exactly at the end of the header or of a record is an unfinished log (format 2), not a shorter intact one', () => {
    const file = tmp.file('cut-at-header.mtelog');
    const envs = sampleEnvelopes(3, (i) => i);
    const { bytes, bounds, markAt } = logImage(envs);
    fs.writeFileSync(file, bytes.subarray(0, bounds[0]!.start));
    expectPrefix(file, envs, bounds, bounds[0]!.start, 16, true, markAt, bytes.length);
    fs.writeFileSync(file, bytes.subarray(0, bounds[1]!.start));
    expectPrefix(file, envs, bounds, bounds[1]!.start, 16, true, markAt, bytes.length);
  });

  it('truncating at any point', () => {
    const file = tmp.file('prop-cut.mtelog');
    fc.assert(
      fc.property(logArb, fc.double({ min: 0, max: 1, noNaN: true }), ({ kinds, chunkBytes }, at) => {
        const envs = sampleEnvelopes(kinds.length, (i) => kinds[i]!);
        const { bytes, bounds, markAt } = logImage(envs);
        const cut = Math.floor(at * bytes.length);
        fs.writeFileSync(file, bytes.subarray(0, cut));
        if (cut < TEST_HEADER_BYTES) {
          expect(() => openLogReader(file)).toThrow(expect.objectContaining({ code: 'MTEPERM_LOG_TORN' }));
          return;
        }
        // A cut at a record boundary is an unfinished log; inside a record it is damage at that record.
        expectPrefix(file, envs, bounds, cut, chunkBytes, true, markAt, bytes.length);
      }),
      { numRuns },
    );
  });

  it('flipping any single byte', () => {
    const file = tmp.file('prop-flip.mtelog');
    fc.assert(
      fc.property(logArb, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 1, max: 255 }), ({ kinds, chunkBytes }, at, mask) => {
        const envs = sampleEnvelopes(kinds.length, (i) => kinds[i]!);
        const { bytes, bounds, markAt } = logImage(envs);
        const pos = Math.floor(at * bytes.length);
        bytes[pos] ^= mask;
        fs.writeFileSync(file, bytes);
        if (pos < TEST_HEADER_BYTES) {
          const expected = pos < 8 ? ['MTEPERM_LOG_MAGIC'] : pos < 10 ? ['MTEPERM_LOG_VERSION'] : pos < 12 ? ['MTEPERM_LOG_HEADER', 'MTEPERM_LOG_TORN', 'MTEPERM_LOG_CRC'] : ['MTEPERM_LOG_CRC'];
          let code: string | undefined;
          try {
            openLogReader(file).close();
          } catch (e) {
            code = (e as LogError).code;
          }
          expect(expected).toContain(code);
          return;
        }
        expectPrefix(file, envs, bounds, pos, chunkBytes, false, markAt, bytes.length);
      }),
      { numRuns },
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
