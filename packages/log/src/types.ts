import type { Envelope } from '@mteperm/events';
import type { LogDamage } from './errors';
import type { LogHeader } from './format';

/** One framed record: where it starts in the log, its seq, and its protobuf Envelope bytes. */
export interface LogRecord {
  /** Byte offset of the record (its length prefix) in the log. */
  readonly offset: number;
  readonly seq: bigint;
  /**
   * The Envelope bytes. A view into the reader's buffer, valid until the iterator is advanced:
   * decode it or `slice()` it before the next step.
   */
  readonly bytes: Uint8Array;
}

/**
 * Where recorded events go. The file log implements it; a later backend (JetStream) is meant to
 * implement the same three calls. `append` takes encoded Envelopes in seq order.
 */
export interface EventLogWriter {
  append(envelopeBytes: Uint8Array): void;
  /** Makes every appended record durable in the backing store. */
  flush(): void | Promise<void>;
  /** Flushes and finishes the log; further appends are refused. */
  close(): void | Promise<void>;
}

/** Reading a recorded log back from a seq onward; backend-neutral half of EventLogWriter. */
export interface EventLogReader {
  readonly header: LogHeader;
  /** Intact records with seq >= fromSeq (default 1n); stops at the first damage. */
  recordsAsync(fromSeq?: bigint): AsyncIterable<LogRecord>;
  /** The same, decoded. */
  envelopesAsync(fromSeq?: bigint): AsyncIterable<Envelope>;
  /** Damage found by the last iteration that ran to its end; undefined when the log was intact. */
  readonly damage: LogDamage | undefined;
  close(): void | Promise<void>;
}
