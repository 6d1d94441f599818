import { KERNEL_PROFILES, MIN_READABLE_SCHEMA_VERSION, SCHEMA_VERSION } from '@mteperm/events';
import type { KernelProfile } from '@mteperm/events';
import { crc32c } from './crc32c';
import { LogError } from './errors';

// Byte layout: FORMAT.md. Every multi-byte integer is little-endian.

/** "MTELOG\r\n": the CR LF pair makes a text-mode transfer (CRLF <-> LF) visible at byte 6. */
export const LOG_MAGIC: Uint8Array = Uint8Array.of(0x4d, 0x54, 0x45, 0x4c, 0x4f, 0x47, 0x0d, 0x0a);
/** Version of the byte layout in FORMAT.md that this build writes (2: every log ends with an end mark). */
export const LOG_FORMAT_VERSION = 2;
/** Oldest format version this build reads: version 1 logs have no end mark (a note, not damage). */
export const MIN_READABLE_FORMAT_VERSION = 1;
/** Records above this length are refused on write and reported as damage on read (16 MiB). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

export { KERNEL_PROFILES };
export type { KernelProfile };

/** The fields a .mtelog header carries. */
export interface LogHeader {
  readonly formatVersion: number;
  /** Event schema version of every record (events SCHEMA_VERSION when written). */
  readonly schemaVersion: number;
  readonly profile: KernelProfile;
  /** Name and version of the program that wrote the log, e.g. "mteperm 0.1.0". */
  readonly producer: string;
}

// Fixed offsets of the header (the same in versions 1 and 2).
export const OFF_FORMAT_VERSION = 8; // u16
export const OFF_BODY_LENGTH = 10; // u16: bytes from OFF_BODY to the header CRC
export const OFF_BODY = 12;
export const OFF_SCHEMA_VERSION = 12; // u32
export const OFF_PROFILE = 16; // u8 length + UTF-8
const MAX_TEXT_BYTES = 255;
const MIN_BODY = 4 + 1 + 1;
export const MAX_HEADER_BYTES = OFF_BODY + MIN_BODY + 2 * MAX_TEXT_BYTES + 4;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function isProfile(s: string): s is KernelProfile {
  return (KERNEL_PROFILES as readonly string[]).includes(s);
}

/** Encodes a header; `file` only names the target in a refusal. */
export function encodeLogHeader(header: Omit<LogHeader, 'formatVersion'> & { readonly formatVersion?: number }, file: string): Buffer {
  if (!isProfile(header.profile)) {
    throw new LogError('MTEPERM_LOG_HEADER', file, OFF_PROFILE, `unknown kernel profile ${JSON.stringify(header.profile)} (one of ${KERNEL_PROFILES.join('|')})`);
  }
  const profile = utf8.encode(header.profile);
  const producer = utf8.encode(header.producer);
  if (producer.length > MAX_TEXT_BYTES) {
    throw new LogError('MTEPERM_LOG_HEADER', file, OFF_PROFILE + 1 + profile.length, `producer is ${producer.length} bytes of UTF-8; at most ${MAX_TEXT_BYTES}`);
  }
  const body = 4 + 1 + profile.length + 1 + producer.length;
  const b = Buffer.alloc(OFF_BODY + body + 4);
  b.set(LOG_MAGIC, 0);
  b.writeUInt16LE(header.formatVersion ?? LOG_FORMAT_VERSION, OFF_FORMAT_VERSION);
  b.writeUInt16LE(body, OFF_BODY_LENGTH);
  b.writeUInt32LE(header.schemaVersion, OFF_SCHEMA_VERSION);
  let p = OFF_PROFILE;
  b[p++] = profile.length;
  b.set(profile, p);
  p += profile.length;
  b[p++] = producer.length;
  b.set(producer, p);
  p += producer.length;
  b.writeUInt32LE(crc32c(b, 0, p), p);
  return b;
}

/**
 * Reads and checks the header at the start of a log. `read(buf, offset, length, position)` fills
 * `buf` and returns the byte count (fewer only at end of file). Returns the header and the offset of
 * the first record. Refuses, in this order: wrong magic, unreadable format version, a file ending
 * inside the header, a header CRC mismatch, an unreadable schema version, malformed fields.
 */
export function readLogHeader(
  read: (buf: Buffer, offset: number, length: number, position: number) => number,
  file: string,
): { header: LogHeader; dataOffset: number } {
  const fixed = Buffer.alloc(OFF_BODY);
  const n = read(fixed, 0, OFF_BODY, 0);
  const magicBytes = Math.min(n, LOG_MAGIC.length);
  for (let i = 0; i < magicBytes; i++) {
    if (fixed[i] !== LOG_MAGIC[i]) {
      // The text-mode hint only where a text-mode copy differs (bytes 6-7, after "MTELOG"), not for a PNG.
      throw new LogError('MTEPERM_LOG_MAGIC', file, i, `not an mteperm event log: expected magic ${hex(LOG_MAGIC)} ("MTELOG\\r\\n"), found ${hex(fixed.subarray(0, magicBytes))}${i >= 6 ? ' (a text-mode copy changes byte 6)' : ''}`);
    }
  }
  if (n < OFF_BODY_LENGTH) throw tornHeader(file, n);
  const formatVersion = fixed.readUInt16LE(OFF_FORMAT_VERSION);
  if (formatVersion > LOG_FORMAT_VERSION || formatVersion < MIN_READABLE_FORMAT_VERSION) {
    const range = `${MIN_READABLE_FORMAT_VERSION}..${LOG_FORMAT_VERSION}`;
    const text = formatVersion > LOG_FORMAT_VERSION ? `log format version ${formatVersion} is newer than this build reads (${range})` : `unknown log format version ${formatVersion} (this build reads ${range})`;
    throw new LogError('MTEPERM_LOG_VERSION', file, OFF_FORMAT_VERSION, text);
  }
  if (n < OFF_BODY) throw tornHeader(file, n);
  const body = fixed.readUInt16LE(OFF_BODY_LENGTH);
  if (body < MIN_BODY || body > MIN_BODY + 2 * MAX_TEXT_BYTES) {
    throw new LogError('MTEPERM_LOG_HEADER', file, OFF_BODY_LENGTH, `header body length ${body} is outside ${MIN_BODY}..${MIN_BODY + 2 * MAX_TEXT_BYTES}`);
  }
  const h = Buffer.alloc(OFF_BODY + body + 4);
  fixed.copy(h, 0);
  const m = read(h, OFF_BODY, body + 4, OFF_BODY);
  if (m < body + 4) throw tornHeader(file, OFF_BODY + m);
  const crcAt = OFF_BODY + body;
  const stored = h.readUInt32LE(crcAt);
  const computed = crc32c(h, 0, crcAt);
  if (stored !== computed) {
    throw new LogError('MTEPERM_LOG_CRC', file, crcAt, `header checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`);
  }
  const schemaVersion = h.readUInt32LE(OFF_SCHEMA_VERSION);
  if (schemaVersion > SCHEMA_VERSION || schemaVersion < MIN_READABLE_SCHEMA_VERSION) {
    const range = `${MIN_READABLE_SCHEMA_VERSION}..${SCHEMA_VERSION}`;
    const text = schemaVersion > SCHEMA_VERSION ? `event schema version ${schemaVersion} is newer than this build reads (${range})` : `event schema version ${schemaVersion} is older than this build reads (${range})`;
    throw new LogError('MTEPERM_LOG_SCHEMA', file, OFF_SCHEMA_VERSION, text);
  }
  const profileLen = h[OFF_PROFILE]!;
  const producerAt = OFF_PROFILE + 1 + profileLen;
  if (producerAt + 1 > crcAt || producerAt + 1 + h[producerAt]! !== crcAt) {
    throw new LogError('MTEPERM_LOG_HEADER', file, OFF_PROFILE, `header text lengths do not add up to the header body length ${body}`);
  }
  const profile = text(h, OFF_PROFILE + 1, producerAt, file, 'kernel profile');
  if (!isProfile(profile)) {
    throw new LogError('MTEPERM_LOG_HEADER', file, OFF_PROFILE + 1, `unknown kernel profile ${JSON.stringify(profile)} (one of ${KERNEL_PROFILES.join('|')})`);
  }
  const producer = text(h, producerAt + 1, crcAt, file, 'producer');
  return { header: Object.freeze({ formatVersion, schemaVersion, profile, producer }), dataOffset: crcAt + 4 };
}

function text(h: Buffer, start: number, end: number, file: string, what: string): string {
  try {
    return utf8Strict.decode(h.subarray(start, end));
  } catch {
    throw new LogError('MTEPERM_LOG_HEADER', file, start, `${what} is not valid UTF-8`);
  }
}

function tornHeader(file: string, size: number): LogError {
  return new LogError('MTEPERM_LOG_TORN', file, size, `file ends inside the log header (${size} bytes)`);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

export function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
