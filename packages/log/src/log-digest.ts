import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { SCHEMA_VERSION } from '@mteperm/events';
import { crc32c } from './crc32c';
import { encodeEndMark, LastRecord } from './end-mark';
import { putCrc, putVarint } from './framing';
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

export { framedLength, frameRecord } from './framing';

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
    // The framing's pieces hashed in place: the envelope itself is not copied.
    const f = this.frame;
    this.hash.update(f.subarray(0, putVarint(f, 0, envelopeBytes.length)));
    this.hash.update(envelopeBytes);
    putCrc(f, 0, crc32c(envelopeBytes, 0, envelopeBytes.length));
    this.hash.update(f.subarray(0, 4));
    this.last.note(envelopeBytes);
    this.count++;
  }

  /** The digest, hex, end mark included; the hash cannot be extended afterwards. */
  hex(): string {
    return this.hash.update(encodeEndMark(this.count, this.last.bytes)).digest('hex');
  }
}
