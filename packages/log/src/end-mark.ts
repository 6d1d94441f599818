import { decodeEnvelopeAt } from '@mteperm/events';
import { crc32c } from './crc32c';

// The end mark of a format-2 .mtelog (FORMAT.md "End mark"): written last, before the atomic
// rename, so a log that lacks it is known to be unfinished even when it was cut on a record boundary.

/** Bytes of the end mark: 0x00, u64 event count, 32-byte state hash, CRC32C. */
export const END_MARK_BYTES = 1 + 8 + 32 + 4;
/** The first byte of the end mark: a zero length prefix, which no record has (records are 1..16 MiB). */
export const END_MARK_TAG = 0x00;

/** What a log's end mark says: how many records precede it and the run's recorded state hash. */
export interface LogEndMark {
  /** Records in the log (= seq of the last one). */
  readonly events: number;
  /** The StateHashRecorded digest of the log's last record, hex; null when its last record is not one. */
  readonly stateSha256: string | null;
  /** Byte offset of the end mark in the file. */
  readonly offset: number;
}

/** The end mark bytes for a log of `events` records whose last record's Envelope bytes are `last`. */
export function encodeEndMark(events: number, last: Uint8Array | undefined): Buffer {
  const b = Buffer.alloc(END_MARK_BYTES);
  b[0] = END_MARK_TAG;
  b.writeBigUInt64LE(BigInt(events), 1);
  const hash = last === undefined ? undefined : stateHashOf(last);
  if (hash !== undefined) b.set(hash, 9);
  b.writeUInt32LE(crc32c(b, 0, END_MARK_BYTES - 4), END_MARK_BYTES - 4);
  return b;
}

/** Parses an end mark at `at` (END_MARK_BYTES available): the fields, or why it is not one. */
export function decodeEndMark(b: Uint8Array, at: number, offset: number): LogEndMark | { readonly crc: { stored: number; computed: number } } {
  const view = Buffer.from(b.buffer, b.byteOffset + at, END_MARK_BYTES);
  const stored = view.readUInt32LE(END_MARK_BYTES - 4);
  const computed = crc32c(view, 0, END_MARK_BYTES - 4);
  if (stored !== computed) return { crc: { stored, computed } };
  const hash = view.subarray(9, 41);
  const events = Number(view.readBigUInt64LE(1));
  return { events, stateSha256: hash.every((x) => x === 0) ? null : hash.toString('hex'), offset };
}

/** The digest of a StateHashRecorded record (32 bytes), or undefined for any other record. */
function stateHashOf(envelopeBytes: Uint8Array): Uint8Array | undefined {
  try {
    const e = decodeEnvelopeAt(envelopeBytes, 0, envelopeBytes.length);
    return e.type === 'StateHashRecorded' && e.data.sha256.length === 32 ? e.data.sha256 : undefined;
  } catch {
    // A record of another schema or not decodable here: the mark then carries no hash.
    return undefined;
  }
}

/**
 * Keeps a copy of the last record appended, when small enough to be a StateHashRecorded (about 50
 * bytes), in one reusable buffer: no allocation per record, and the bytes survive the caller's reuse
 * of its own buffer.
 */
export class LastRecord {
  private readonly buf = new Uint8Array(128);
  private len = -1;

  note(envelopeBytes: Uint8Array): void {
    const n = envelopeBytes.length;
    if (n > this.buf.length) {
      this.len = -1;
      return;
    }
    for (let i = 0; i < n; i++) this.buf[i] = envelopeBytes[i]!;
    this.len = n;
  }

  get bytes(): Uint8Array | undefined {
    return this.len < 0 ? undefined : this.buf.subarray(0, this.len);
  }
}
