import { END_MARK_BYTES } from './end-mark';
import * as fs from 'node:fs';
import { SCHEMA_VERSION } from '@mteperm/events';
import { crc32c } from './crc32c';
import { LogError } from './errors';
import { encodeLogHeader, LOG_MAGIC } from './format';
import { openLogReader } from './reader';
import { openLogWriter } from './writer';
import { logImage, sampleEnvelopes, tempDir, TEST_HEADER, TEST_HEADER_BYTES } from '../test/helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function refusal(file: string): { code: string; offset: number; message: string } | undefined {
  try {
    openLogReader(file).close();
  } catch (e) {
    if (e instanceof LogError) return { code: e.code, offset: e.offset, message: e.message };
    throw e;
  }
  return undefined;
}

describe('.mtelog header (FORMAT.md)', () => {
  it('lays the header out byte for byte as FORMAT.md says', () => {
    // Schema 1 here: the CRC below was computed for exactly these bytes.
    const h = encodeLogHeader({ ...TEST_HEADER, schemaVersion: 1 }, 'x');
    expect(h.length).toBe(TEST_HEADER_BYTES);
    expect(h.subarray(0, 8).toString('latin1')).toBe('MTELOG\r\n');
    expect([...h.subarray(8, 12)]).toEqual([2, 0, 16, 0]); // format version 2, body length 16 (LE)
    expect(h.readUInt32LE(12)).toBe(1); // schema version
    expect(h[16]).toBe(2);
    expect(h.subarray(17, 19).toString()).toBe('v2');
    expect(h[19]).toBe(8);
    expect(h.subarray(20, 28).toString()).toBe('test 1.0');
    expect(h.readUInt32LE(28)).toBe(0x2dcb4b5c); // CRC32C of bytes 0..27, computed bit by bit outside this code (0x740f539b in format 1)
  });

  it.each(['baseline', 'v1', 'v2', 'drop-check'] as const)('round-trips header fields through a file (profile %s)', (profile) => {
    const file = tmp.file(`header-${profile}.mtelog`);
    const w = openLogWriter(file, { profile, producer: 'mteperm 0.1.0 ✓' });
    w.close();
    const r = openLogReader(file);
    expect(r.header).toEqual({ formatVersion: 2, schemaVersion: SCHEMA_VERSION, profile, producer: 'mteperm 0.1.0 ✓' });
    expect(r.dataOffset + END_MARK_BYTES).toBe(fs.statSync(file).size); // an empty log: header and end mark
    expect([...r.records()]).toEqual([]);
    expect(r.damage).toBeUndefined();
    r.close();
  });

  it('refuses a file that is not a log, naming the file and byte 0', () => {
    const file = tmp.file('text.mtelog');
    fs.writeFileSync(file, 'hello world, not a log');
    expect(refusal(file)).toEqual({
      code: 'MTEPERM_LOG_MAGIC',
      offset: 0,
      message: `${file}: byte 0: not an mteperm event log: expected magic 4d 54 45 4c 4f 47 0d 0a ("MTELOG\\r\\n"), found 68 65 6c 6c 6f 20 77 6f`,
    });
  });

  it('refuses a log mangled by a text-mode copy (CRLF -> LF) at byte 6', () => {
    const file = tmp.file('crlf.mtelog');
    const image = logImage(sampleEnvelopes(2)).bytes;
    fs.writeFileSync(file, Buffer.from(image.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'));
    expect(refusal(file)).toEqual({
      code: 'MTEPERM_LOG_MAGIC',
      offset: 6,
      message: `${file}: byte 6: not an mteperm event log: expected magic 4d 54 45 4c 4f 47 0d 0a ("MTELOG\\r\\n"), found 4d 54 45 4c 4f 47 0a 02 (a text-mode copy changes byte 6)`,
    });
  });

  it('refuses a future log format version at byte 8', () => {
    const file = tmp.file('future-format.mtelog');
    fs.writeFileSync(file, encodeLogHeader({ ...TEST_HEADER, formatVersion: 3 }, file));
    expect(refusal(file)).toEqual({
      code: 'MTEPERM_LOG_VERSION',
      offset: 8,
      message: `${file}: byte 8: log format version 3 is newer than this build reads (1..2)`,
    });
  });

  it('refuses format version 0 as unknown', () => {
    const file = tmp.file('zero-format.mtelog');
    fs.writeFileSync(file, encodeLogHeader({ ...TEST_HEADER, formatVersion: 0 }, file));
    expect(refusal(file)?.message).toBe(`${file}: byte 8: unknown log format version 0 (this build reads 1..2)`);
  });

  it('refuses a future event schema version at byte 12', () => {
    const file = tmp.file('future-schema.mtelog');
    fs.writeFileSync(file, encodeLogHeader({ ...TEST_HEADER, schemaVersion: SCHEMA_VERSION + 1 }, file));
    expect(refusal(file)).toEqual({
      code: 'MTEPERM_LOG_SCHEMA',
      offset: 12,
      message: `${file}: byte 12: event schema version ${SCHEMA_VERSION + 1} is newer than this build reads (1..${SCHEMA_VERSION})`,
    });
  });

  it('refuses schema version 0 as older than readable', () => {
    const file = tmp.file('old-schema.mtelog');
    fs.writeFileSync(file, encodeLogHeader({ ...TEST_HEADER, schemaVersion: 0 }, file));
    expect(refusal(file)?.message).toBe(`${file}: byte 12: event schema version 0 is older than this build reads (1..${SCHEMA_VERSION})`);
  });

  it('detects a damaged header by its CRC (byte 28 for the test header)', () => {
    const file = tmp.file('bad-header-crc.mtelog');
    const image = logImage(sampleEnvelopes(1)).bytes;
    image[21] ^= 0x20; // "test 1.0" -> "teSt 1.0"
    fs.writeFileSync(file, image);
    const stored = image.readUInt32LE(28).toString(16).padStart(8, '0');
    const computed = crc32c(image, 0, 28).toString(16).padStart(8, '0');
    expect(computed).not.toBe(stored);
    expect(refusal(file)).toEqual({
      code: 'MTEPERM_LOG_CRC',
      offset: 28,
      message: `${file}: byte 28: header checksum mismatch (stored 0x${stored}, computed 0x${computed})`,
    });
  });

  it('reports a file that ends inside the header as torn, at the file length', () => {
    const file = tmp.file('short.mtelog');
    const header = encodeLogHeader(TEST_HEADER, file);
    for (let len = 0; len < header.length; len++) {
      fs.writeFileSync(file, header.subarray(0, len));
      const r = refusal(file);
      expect(r).toEqual({ code: 'MTEPERM_LOG_TORN', offset: len, message: `${file}: byte ${len}: file ends inside the log header (${len} bytes)` });
    }
  });

  it('refuses an unknown kernel profile on write, naming it', () => {
    expect(() => encodeLogHeader({ ...TEST_HEADER, profile: 'v3' as 'v2' }, 'f.mtelog')).toThrow(
      'f.mtelog: byte 16: unknown kernel profile "v3" (one of baseline|v1|v2|drop-check)',
    );
  });

  it('exports the magic as the 8 bytes "MTELOG\\r\\n"', () => {
    expect(Buffer.from(LOG_MAGIC).toString('latin1')).toBe('MTELOG\r\n');
  });
});

