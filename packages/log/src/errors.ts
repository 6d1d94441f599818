/**
 * Stable string codes of the log package; the CLI maps codes to exit statuses in one place.
 * Refusals (thrown as LogError) concern the file as a whole; damage codes describe where a log's
 * readable prefix ends and are reported as a LogDamage value, never thrown, so the prefix survives.
 */
export type LogErrorCode =
  | 'MTEPERM_LOG_MAGIC' // the file does not start with the .mtelog magic
  | 'MTEPERM_LOG_VERSION' // a log format version this build cannot read
  | 'MTEPERM_LOG_SCHEMA' // an event schema version this build cannot read
  | 'MTEPERM_LOG_HEADER' // a header field is malformed (bad length, unknown profile, bad UTF-8)
  | 'MTEPERM_LOG_CLOSED' // the writer or reader was used after close
  | 'MTEPERM_LOG_IO' // the operating system refused a read, write or rename
  | LogDamageCode;

export type LogDamageCode =
  | 'MTEPERM_LOG_TORN' // the file ends inside the header or a record
  | 'MTEPERM_LOG_CRC' // a checksum does not match its bytes
  | 'MTEPERM_LOG_LENGTH' // a record length is zero or beyond the sane bound
  | 'MTEPERM_LOG_DECODE' // a record is not a readable protobuf envelope
  | 'MTEPERM_LOG_SEQ' // a record's seq breaks the dense 1, 2, 3, ... order
  | 'MTEPERM_LOG_UNFINISHED' // a format-2 log ends without its end mark: its writer did not finish
  | 'MTEPERM_LOG_END'; // the end mark disagrees with the records, or bytes follow it

/** One line naming the file and the byte offset, the shape every log diagnostic takes. */
export function logMessage(file: string, offset: number, text: string): string {
  return `${file}: byte ${offset}: ${text}`;
}

export class LogError extends Error {
  override readonly name = 'LogError';
  constructor(
    readonly code: LogErrorCode,
    /** The log file, as the caller named it. */
    readonly file: string,
    /** Byte offset in the file the problem was found at. */
    readonly offset: number,
    text: string,
    options?: { cause?: unknown },
  ) {
    super(logMessage(file, offset, text), options);
  }
}

/** Where and why a log's readable prefix ends. Every record before `offset` was intact. */
export interface LogDamage {
  readonly code: LogDamageCode;
  readonly file: string;
  /** Offset of the first damaged record (its length prefix): the length of the intact prefix. */
  readonly offset: number;
  readonly reason: string;
  /** `reason` as one line naming the file and offset. */
  readonly message: string;
}

export function logDamage(code: LogDamageCode, file: string, offset: number, reason: string): LogDamage {
  return Object.freeze({ code, file, offset, reason, message: logMessage(file, offset, reason) });
}
