import { PARSED_RECORD, RecordParser } from './framing';

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
  const parser = new RecordParser(maxRecordBytes, 'segment');
  let expected = firstSeq;
  let i = 0;
  const end = view.length;
  while (i < end) {
    const r = parser.parse(view, i, end, expected);
    // A record cut by the segment's end is torn: a segment is whole or not at all, nothing more comes.
    if (r !== PARSED_RECORD) return { records, damage: { code: parser.code as NonNullable<ParsedSegment['damage']>['code'], at: i, reason: parser.reason } };
    records.push({ seq: parser.seq, at: i, start: parser.start, end: parser.end });
    expected++;
    i = parser.end + 4;
  }
  return { records, damage: undefined };
}
