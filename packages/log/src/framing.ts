import { crc32c } from './crc32c';
import { envelopeSeq } from './envelope-seq';
import type { LogDamageCode } from './errors';
import { hex32 } from './format';

// The one record framer (FORMAT.md "Records": varint length | Envelope | CRC32C LE), shared by the
// file writer and reader, the .mtelog digest and the JetStream segments.

/** Bytes of the length varint of a record of `len` envelope bytes. */
export function varintSize(len: number): number {
  return len < 0x80 ? 1 : len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5;
}

/** Bytes a record of `len` envelope bytes takes in the framing: varint length, envelope, CRC32C. */
export function framedLength(len: number): number {
  return varintSize(len) + len + 4;
}

/** Writes the length varint at `at`; returns the position after it. */
export function putVarint(b: Uint8Array, at: number, len: number): number {
  let p = at;
  let v = len;
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

/** Writes a CRC32C little-endian at `at`. */
export function putCrc(b: Uint8Array, at: number, crc: number): void {
  b[at] = crc & 0xff;
  b[at + 1] = (crc >>> 8) & 0xff;
  b[at + 2] = (crc >>> 16) & 0xff;
  b[at + 3] = crc >>> 24;
}

/** Writes one framed record at `at`; returns the position after it. `out` must have room (framedLength). */
export function frameRecord(out: Uint8Array, at: number, envelopeBytes: Uint8Array): number {
  const len = envelopeBytes.length;
  let p = putVarint(out, at, len);
  // Records are mostly 20-50 bytes: a loop beats set()'s call overhead there.
  if (len <= 64) for (let i = 0; i < len; i++) out[p + i] = envelopeBytes[i]!;
  else out.set(envelopeBytes, p);
  p += len;
  putCrc(out, p, crc32c(envelopeBytes, 0, len));
  return p + 4;
}

/** What RecordParser.parse found at a position. */
export const PARSED_RECORD = 0;
/** The bytes end inside the record: `need` bytes from the start would hold it (or show its damage). */
export const PARSED_SHORT = 1;
/** The record is damaged: `code` and `reason` say how. */
export const PARSED_DAMAGE = 2;

/**
 * Parses and checks one framed record: length prefix (1..maxRecordBytes, at most 5 bytes), CRC32C,
 * protobuf wire shape and dense seq. The results are fields, not an object per record, so the file
 * reader's hot loop allocates nothing. Used by the file reader and the JetStream segment parser,
 * so both check records the same way.
 */
export class RecordParser {
  /** PARSED_RECORD: envelope bytes [start, end), the record ends at end + 4, its seq. */
  start = 0;
  end = 0;
  seq = 0;
  /** PARSED_SHORT: bytes the record needs from its first byte; PARSED_SHORT/DAMAGE: why. */
  need = 0;
  code: LogDamageCode = 'MTEPERM_LOG_TORN';
  reason = '';
  /** Says what the bytes end inside: "the file" or "the segment". */
  private readonly container: string;

  constructor(
    private readonly maxRecordBytes: number,
    container: 'file' | 'segment',
  ) {
    this.container = container;
  }

  /** Parses the record at `s` in `buf[s, end)`, expecting `expected` as its seq. */
  parse(buf: Buffer, s: number, end: number, expected: number): number {
    let len = 0;
    let mul = 1;
    let i = s;
    for (;;) {
      if (i === end) return this.short(i - s + 1, `record length prefix is cut off by the end of the ${this.container}`);
      const x = buf[i++]!;
      len += (x & 0x7f) * mul;
      if (x < 0x80) break;
      if (i - s === 5) return this.damage('MTEPERM_LOG_LENGTH', 'record length prefix is longer than 5 bytes');
      mul *= 128;
    }
    if (len === 0 || len > this.maxRecordBytes) return this.damage('MTEPERM_LOG_LENGTH', `record length ${len} is outside 1..${this.maxRecordBytes}`);
    const total = i - s + len + 4;
    if (end - s < total) return this.short(total, `record of ${total} bytes is cut off by the end of the ${this.container}`);
    const be = i + len;
    const stored = buf.readUInt32LE(be);
    const computed = crc32c(buf, i, be);
    if (stored !== computed) return this.damage('MTEPERM_LOG_CRC', `record checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`);
    const seq = envelopeSeq(buf, i, be);
    if (seq < 0) return this.damage('MTEPERM_LOG_DECODE', 'record is not a protobuf envelope (malformed wire data)');
    if (seq !== expected) return this.damage('MTEPERM_LOG_SEQ', `record has seq ${seq} where ${expected} was expected (seq is dense from 1)`);
    this.start = i;
    this.end = be;
    this.seq = seq;
    return PARSED_RECORD;
  }

  private short(need: number, reason: string): number {
    this.need = need;
    this.code = 'MTEPERM_LOG_TORN';
    this.reason = reason;
    return PARSED_SHORT;
  }

  private damage(code: LogDamageCode, reason: string): number {
    this.code = code;
    this.reason = reason;
    return PARSED_DAMAGE;
  }
}
