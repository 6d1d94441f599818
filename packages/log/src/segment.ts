import { crc32c } from './crc32c';
import { envelopeSeq } from './envelope-seq';
import { hex32 } from './format';

/**
 * A JetStream log message is a *segment*: consecutive records in the file log's framing
 * (`varint length | Envelope | CRC32C`, FORMAT.md "Records"), because one acknowledged publish
 * costs far more than one event. These are the header names a segment carries (README "JetStream").
 */
export const SEGMENT_HEADERS = {
  run: 'Mteperm-Run',
  format: 'Mteperm-Format',
  schema: 'Mteperm-Schema',
  profile: 'Mteperm-Profile',
  producer: 'Mteperm-Producer',
  firstSeq: 'Mteperm-First-Seq',
  count: 'Mteperm-Count',
  /** On the run's last segment only (written by close): the run is complete. */
  end: 'Mteperm-End',
} as const;

/** Default bounds of one segment: at most this many events and bytes of framed records. */
export const SEGMENT_MAX_EVENTS = 1024;
export const SEGMENT_MAX_BYTES = 256 * 1024;

/** One record found in a segment: where its envelope bytes are in the payload. */
export interface SegmentRecord {
  readonly seq: number;
  /** Offset of the record's length prefix within the payload. */
  readonly at: number;
  readonly start: number;
  readonly end: number;
}

/** What a segment's payload holds: its records up to the first damage. */
export interface ParsedSegment {
  readonly records: SegmentRecord[];
  /** Why the payload stops being readable (with the record's offset in the payload), if it does. */
  readonly damage: { readonly code: 'MTEPERM_LOG_LENGTH' | 'MTEPERM_LOG_TORN' | 'MTEPERM_LOG_CRC' | 'MTEPERM_LOG_DECODE' | 'MTEPERM_LOG_SEQ'; readonly at: number; readonly reason: string } | undefined;
}

/**
 * Splits a segment payload into records, checking each record's framing, CRC32C and seq exactly
 * as the file reader does (dense from `firstSeq`). Pure, so it is testable without a server.
 */
export function parseSegment(payload: Uint8Array, firstSeq: number, maxRecordBytes: number): ParsedSegment {
  const records: SegmentRecord[] = [];
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  let expected = firstSeq;
  let i = 0;
  const end = view.length;
  const fail = (code: NonNullable<ParsedSegment['damage']>['code'], at: number, reason: string): ParsedSegment => ({ records, damage: { code, at, reason } });
  while (i < end) {
    const at = i;
    let len = 0;
    let mul = 1;
    for (;;) {
      if (i === end) return fail('MTEPERM_LOG_TORN', at, 'record length prefix is cut off by the end of the segment');
      const x = view[i++]!;
      len += (x & 0x7f) * mul;
      if (x < 0x80) break;
      if (i - at === 5) return fail('MTEPERM_LOG_LENGTH', at, 'record length prefix is longer than 5 bytes');
      mul *= 128;
    }
    if (len === 0 || len > maxRecordBytes) return fail('MTEPERM_LOG_LENGTH', at, `record length ${len} is outside 1..${maxRecordBytes}`);
    if (end - i < len + 4) return fail('MTEPERM_LOG_TORN', at, `record of ${i - at + len + 4} bytes is cut off by the end of the segment`);
    const be = i + len;
    const stored = view.readUInt32LE(be);
    const computed = crc32c(view, i, be);
    if (stored !== computed) return fail('MTEPERM_LOG_CRC', at, `record checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`);
    const seq = envelopeSeq(view, i, be);
    if (seq < 0) return fail('MTEPERM_LOG_DECODE', at, 'record is not a protobuf envelope (malformed wire data)');
    if (seq !== expected) return fail('MTEPERM_LOG_SEQ', at, `record has seq ${seq} where ${expected} was expected (seq is dense from 1)`);
    records.push({ seq, at, start: i, end: be });
    expected++;
    i = be + 4;
  }
  return { records, damage: undefined };
}
