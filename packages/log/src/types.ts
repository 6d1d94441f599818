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

/**
 * Where a log's readable prefix ends, whichever backend holds it. The file log's LogDamage is one
 * (offset = byte offset); the JetStream log reports `unit: 'stream seq'` and the stream sequence of
 * the message at fault, since a stream has no byte offsets.
 */
export interface EventLogDamage {
  readonly code: string;
  /** The log as the caller named it: a file path or `nats://HOST:PORT/<run-id>`. */
  readonly file: string;
  readonly offset: number;
  /** What `offset` counts; absent means bytes (the file log). */
  readonly unit?: 'byte' | 'stream seq';
  readonly reason: string;
  /** One line naming the log and the offset. */
  readonly message: string;
}

/**
 * One recorded run's event log, whatever stores it (the `.mtelog` file or a JetStream subject):
 * append encoded Envelopes in seq order, read them back from a seq, close. A log is created empty
 * for writing or opened for reading; a recorded log is never appended to (FORMAT.md "Writing rules").
 */
export interface EventLog {
  /** Where the log lives, as messages name it: a file path or `nats://HOST:PORT/<run-id>`. */
  readonly location: string;
  /** The header fields: given when the log was created, read when it was opened. */
  readonly header: LogHeader;
  /** Buffers one encoded Envelope (its seq must be the previous one + 1); refused on a log opened for reading. */
  append(envelopeBytes: Uint8Array): void;
  /** Makes every appended record durable in the backing store. */
  flush(): Promise<void>;
  /** Intact records with seq >= fromSeq (default 1n), in constant memory; stops at the first damage. */
  read(fromSeq?: bigint): AsyncIterable<LogRecord>;
  /** The same, decoded. */
  envelopes(fromSeq?: bigint): AsyncIterable<Envelope>;
  /** Damage found by the last read that ran to its end; undefined when the log was intact. */
  readonly damage: EventLogDamage | undefined;
  /** Flushes and finishes the log (a written log becomes complete and readable); releases it. */
  close(): Promise<void>;
  /** Drops a log being written (a failed run): nothing of it stays readable as a complete log. */
  abort(): Promise<void>;
}
