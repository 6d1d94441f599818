import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { SCHEMA_VERSION } from '@mteperm/events';
import { crc32c } from './crc32c';
import { encodeEndMark, LastRecord } from './end-mark';
import { encodeLogHeader, LOG_FORMAT_VERSION } from './format';
import type { LogHeader } from './format';

/** The header fields a new log is created with (format and schema default to this build's). */
export interface NewLogHeader {
  readonly profile: LogHeader['profile'];
  readonly producer: string;
  readonly schemaVersion?: number;
}

/** The complete header of a new log: this build's format and (unless given) schema version. */
export function newLogHeader(h: NewLogHeader): LogHeader {
  return Object.freeze({ formatVersion: LOG_FORMAT_VERSION, schemaVersion: h.schemaVersion ?? SCHEMA_VERSION, profile: h.profile, producer: h.producer });
}

/** The .mtelog header bytes of `header` (FORMAT.md); `where` names the log in a refusal. */
export function logHeaderBytes(header: LogHeader, where: string): Buffer {
  return encodeLogHeader(header, where);
}

/** Bytes a record of `len` envelope bytes takes in the framing: varint length, envelope, CRC32C. */
export function framedLength(len: number): number {
  return (len < 0x80 ? 1 : len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5) + len + 4;
}

/** Writes one framed record at `at`; returns the position after it. `out` must have room. */
export function frameRecord(out: Buffer, at: number, envelopeBytes: Uint8Array): number {
  let p = at;
  let v = envelopeBytes.length;
  while (v > 0x7f) {
    out[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[p++] = v;
  out.set(envelopeBytes, p);
  p += envelopeBytes.length;
  out.writeUInt32LE(crc32c(envelopeBytes, 0, envelopeBytes.length), p);
  return p + 4;
}

/**
 * The SHA-256 of a log's `.mtelog` form, computed as records are appended: the CONTRACT §3
 * `log.sha256` of a run, whichever backend stores it (a JetStream run hashes to the bytes
 * `mteperm export` writes for it, so the same run gives the same digest on every backend).
 */
export class MtelogDigest {
  private readonly hash: Hash;
  private readonly frame = Buffer.allocUnsafe(5 + 4);
  private count = 0;
  private readonly last = new LastRecord();

  // The form this build writes (format 2, with its end mark), whatever version the source had.
  constructor(header: LogHeader, where = 'log') {
    this.hash = createHash('sha256').update(logHeaderBytes({ ...header, formatVersion: LOG_FORMAT_VERSION }, where));
  }

  /** Records added. */
  get records(): number {
    return this.count;
  }

  add(envelopeBytes: Uint8Array): void {
    const f = this.frame;
    let p = 0;
    let v = envelopeBytes.length;
    while (v > 0x7f) {
      f[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    f[p++] = v;
    this.hash.update(f.subarray(0, p));
    this.hash.update(envelopeBytes);
    f.writeUInt32LE(crc32c(envelopeBytes, 0, envelopeBytes.length), 0);
    this.hash.update(f.subarray(0, 4));
    this.last.note(envelopeBytes);
    this.count++;
  }

  /** The digest, hex, end mark included; the hash cannot be extended afterwards. */
  hex(): string {
    return this.hash.update(encodeEndMark(this.count, this.last.bytes)).digest('hex');
  }
}
