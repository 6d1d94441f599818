import type { Envelope } from '@mteperm/events';
import { LogError } from './errors';
import type { LogHeader } from './format';
import { newLogHeader } from './log-digest';
import { LogFileReader } from './reader';
import type { LogReaderOptions } from './reader';
import type { EventLog, EventLogDamage, LogRecord } from './types';
import { LogFileWriter } from './writer';
import type { LogWriterOptions } from './writer';

/**
 * The `.mtelog` file as an EventLog: a thin adapter over LogFileWriter (create) and LogFileReader
 * (open), so code written against EventLog records to and replays from a file or JetStream alike.
 */
export class FileEventLog implements EventLog {
  private reader: LogFileReader | undefined;
  private closed = false;

  private constructor(
    readonly location: string,
    readonly header: LogHeader,
    private readonly writer: LogFileWriter | undefined,
    reader: LogFileReader | undefined,
    private readonly readerOptions: LogReaderOptions | undefined,
  ) {
    this.reader = reader;
  }

  /** A new log at `path` (replaced atomically on close, FORMAT.md "Writing rules"). */
  static create(path: string, options: LogWriterOptions): FileEventLog {
    const writer = new LogFileWriter(path, options);
    return new FileEventLog(path, newLogHeader(options), writer, undefined, undefined);
  }

  /** An existing log, for reading; throws LogError when the file is not a log this build reads. */
  static open(path: string, options?: LogReaderOptions): FileEventLog {
    const reader = new LogFileReader(path, options);
    return new FileEventLog(path, reader.header, undefined, reader, options);
  }

  get damage(): EventLogDamage | undefined {
    return this.reader?.damage;
  }

  append(envelopeBytes: Uint8Array): void {
    if (this.writer === undefined) throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'log is open for reading: a recorded log is never appended to');
    this.writer.append(envelopeBytes);
  }

  async flush(): Promise<void> {
    this.writer?.flush();
  }

  read(fromSeq = 1n): AsyncIterable<LogRecord> {
    return this.currentReader().recordsAsync(fromSeq);
  }

  envelopes(fromSeq = 1n): AsyncIterable<Envelope> {
    return this.currentReader().envelopesAsync(fromSeq);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reader?.close();
    if (this.writer !== undefined) this.writer.close();
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reader?.close();
    this.writer?.abort();
  }

  // A log being written is read from what has been written so far (its temporary file).
  private currentReader(): LogFileReader {
    if (this.reader !== undefined) return this.reader;
    if (this.writer === undefined || this.closed) throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'log is closed');
    this.writer.flush();
    this.reader = new LogFileReader(this.writer.writingPath, this.readerOptions);
    return this.reader;
  }
}

/** Creates a new `.mtelog` EventLog (see FileEventLog.create). */
export function createFileEventLog(path: string, options: LogWriterOptions): FileEventLog {
  return FileEventLog.create(path, options);
}

/** Opens an `.mtelog` EventLog for reading (see FileEventLog.open). */
export function openFileEventLog(path: string, options?: LogReaderOptions): FileEventLog {
  return FileEventLog.open(path, options);
}
