import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCHEMA_VERSION } from '@mteperm/events';
import type { Envelope } from '@mteperm/events';
import { crc32c } from './crc32c';
import { encodeEndMark } from './end-mark';
import { framedLength, frameRecord, putCrc, putVarint } from './framing';
import { LogError } from './errors';
import { DEFAULT_MAX_RECORD_BYTES, encodeLogHeader } from './format';
import type { KernelProfile } from './format';
import { checkOutputPath, openTempBeside, outputWriteError } from './output-path';
import type { EventLogWriter } from './types';

export interface LogWriterOptions {
  readonly profile: KernelProfile;
  /** Name and version of the writing program, e.g. "mteperm 0.1.0" (at most 255 bytes). */
  readonly producer: string;
  /**
   * true (default): write to a temporary file beside the target and rename it over the target on
   * close, so an existing log is replaced whole or not at all. false: truncate and write in place.
   */
  readonly atomic?: boolean;
  /** Size of the reusable batch buffer; a batch is written when the next record would not fit. Default 64 KiB. */
  readonly batchBytes?: number;
  /** A non-empty batch is written at most this long after its first record; 0 disables. Default 50 ms. */
  readonly flushIntervalMs?: number;
  /** Largest record accepted; default 16 MiB (the reader's bound). */
  readonly maxRecordBytes?: number;
  /** fsync before the rename on close (default true): a crash then leaves either log, never an empty one. */
  readonly fsync?: boolean;
}

/** The bus's EventSink shape, declared here so the log need not depend on the bus. */
export type LogSink = (bytes: Uint8Array, envelope: Envelope) => void;

/**
 * Streaming writer of a .mtelog file (FORMAT.md). Records are framed straight into one reusable
 * batch buffer (length varint, Envelope bytes, CRC32C) and written with `fs.writeSync` a batch at a
 * time, so every write holds whole records: a process that dies leaves every flushed record intact
 * and at most one torn record after them.
 */
export class LogFileWriter implements EventLogWriter {
  /** The file being written (the temporary file in atomic mode). */
  readonly writingPath: string;
  private fd: number;
  // A plain Uint8Array: per-byte writes into a Buffer cost more.
  private readonly batch: Uint8Array;
  private pos = 0;
  private written = 0;
  private count = 0;
  // Where the last record's Envelope sits in the batch (it stays there until the next append), or
  // -1 when it went through appendLarge (then `largeLast` holds it if small): the end mark reads it.
  private lastAt = -1;
  private lastLen = 0;
  private largeLast: Uint8Array | undefined;
  private readonly maxRecordBytes: number;
  private readonly flushIntervalMs: number;
  private readonly doFsync: boolean;
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  private closed = false;
  // An error from a timer-driven flush, rethrown by the next call (a timer has no caller to throw to).
  private failure: unknown;

  constructor(
    /** The log's final path. */
    readonly path: string,
    options: LogWriterOptions,
  ) {
    const header = encodeLogHeader({ schemaVersion: SCHEMA_VERSION, profile: options.profile, producer: options.producer }, path);
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.doFsync = options.fsync ?? true;
    this.batch = new Uint8Array(Math.max(options.batchBytes ?? 64 * 1024, header.length, 16));
    // Only a regular file or a new path: a device, FIFO or folder is never replaced (README "Output paths").
    checkOutputPath(path);
    if (options.atomic ?? true) {
      const opened = openTempBeside(path, (e) => ioError(path, 0, 'create a temporary file beside it', e));
      this.writingPath = opened.path;
      this.fd = opened.fd;
    } else {
      this.writingPath = path;
      this.fd = io(path, 0, 'open', () => fs.openSync(path, 'w'));
    }
    // The header goes out at once, so even a log that dies before its first flush is a valid empty log.
    try {
      this.writeAll(header, 0, header.length);
    } catch (e) {
      closeQuietly(this.fd);
      this.removeTemp();
      throw e;
    }
  }

  /** Records appended so far (flushed or not). */
  get records(): number {
    return this.count;
  }

  /** Length of the log once every appended record is written. */
  get size(): number {
    return this.written + this.pos;
  }

  /** Frames one encoded Envelope into the batch; writes the batch when the record does not fit. */
  append(envelopeBytes: Uint8Array): void {
    this.check();
    const len = envelopeBytes.length;
    if (len === 0 || len > this.maxRecordBytes) {
      throw new LogError('MTEPERM_LOG_LENGTH', this.path, this.size, `record length ${len} is outside 1..${this.maxRecordBytes}`);
    }
    const need = framedLength(len);
    if (this.pos + need > this.batch.length) {
      this.writeBatch();
      if (need > this.batch.length) {
        this.appendLarge(envelopeBytes);
        return;
      }
    }
    const end = frameRecord(this.batch, this.pos, envelopeBytes);
    this.lastAt = end - 4 - len;
    this.lastLen = len;
    this.pos = end;
    this.count++;
    if (!this.armed && this.flushIntervalMs > 0) this.arm();
  }

  /** Writes the pending batch to the file. */
  flush(): void {
    this.check();
    this.writeBatch();
  }

  /** Flushes, closes and (atomic mode) renames the temporary file over the target. */
  close(): void {
    if (this.closed) throw new LogError('MTEPERM_LOG_CLOSED', this.path, this.size, 'log writer is closed');
    this.closed = true;
    this.stopTimer();
    try {
      if (this.failure !== undefined) throw this.failure;
      try {
        this.writeBatch();
        // Written last, before the fsync and the rename: a log without it was not finished.
        this.writeEndMark();
        if (this.doFsync) io(this.path, this.size, 'fsync', () => fs.fsyncSync(this.fd));
      } finally {
        fs.closeSync(this.fd);
      }
      if (this.writingPath !== this.path) io(this.path, this.size, 'rename its temporary file into place', () => fs.renameSync(this.writingPath, this.path));
    } catch (e) {
      // Every failure path removes the temporary file; an existing log at the target stays as it was.
      if (this.failure !== undefined) closeQuietly(this.fd);
      this.removeTemp();
      throw e;
    }
    if (this.writingPath !== this.path && this.doFsync) syncDir(path.dirname(this.path));
  }

  /** Drops the log: closes without renaming (atomic mode removes the temporary file). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    closeQuietly(this.fd);
    this.removeTemp();
  }

  private removeTemp(): void {
    if (this.writingPath !== this.path) fs.rmSync(this.writingPath, { force: true });
  }

  private check(): void {
    if (this.closed) throw new LogError('MTEPERM_LOG_CLOSED', this.path, this.size, 'log writer is closed');
    if (this.failure !== undefined) throw this.failure;
  }

  private arm(): void {
    this.armed = true;
    // One timer per writer, re-armed with refresh(): no timer allocation per batch.
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.onTimer(), this.flushIntervalMs);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
  }

  private onTimer(): void {
    if (this.closed || this.pos === 0) return;
    try {
      this.writeBatch();
    } catch (e) {
      this.failure = e;
    }
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armed = false;
  }

  private writeBatch(): void {
    this.armed = false;
    if (this.pos === 0) return;
    const n = this.pos;
    this.writeAll(this.batch, 0, n);
    this.pos = 0;
  }

  // A record bigger than the batch buffer: prefix and CRC go through the (empty) batch buffer.
  private appendLarge(bytes: Uint8Array): void {
    const b = this.batch;
    this.writeAll(b, 0, putVarint(b, 0, bytes.length));
    this.writeAll(bytes, 0, bytes.length);
    putCrc(b, 0, crc32c(bytes, 0, bytes.length));
    this.writeAll(b, 0, 4);
    this.lastAt = -1;
    this.largeLast = bytes.length <= 128 ? Uint8Array.from(bytes) : undefined;
    this.count++;
  }

  /** The end mark (FORMAT.md): the record count and the state hash of the last record, if it is a StateHashRecorded. */
  private writeEndMark(): void {
    const last = this.count === 0 ? undefined : this.lastAt >= 0 ? this.batch.subarray(this.lastAt, this.lastAt + this.lastLen) : this.largeLast;
    const mark = encodeEndMark(this.count, last);
    this.writeBatch();
    this.writeAll(mark, 0, mark.length);
  }

  private writeAll(buf: Uint8Array, offset: number, length: number): void {
    let done = 0;
    // writeSync may write less than asked; loop until the whole range is out.
    while (done < length) {
      done += io(this.path, this.written + done, 'write', () => fs.writeSync(this.fd, buf, offset + done, length - done));
    }
    this.written += length;
  }
}

/** Opens a writer; see LogWriterOptions. */
export function openLogWriter(file: string, options: LogWriterOptions): LogFileWriter {
  return new LogFileWriter(file, options);
}

/** The bus sink that appends every published event to `writer`: `new EventBus({ sink: logSink(w) })`. */
export function logSink(writer: EventLogWriter): LogSink {
  return (bytes) => writer.append(bytes);
}

function syncDir(dir: string): void {
  // Best effort: makes the rename itself durable where the platform allows fsync on a folder.
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported here (e.g. Windows); the rename is still atomic */
  }
}

function io<T>(file: string, offset: number, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw ioError(file, offset, what, e);
  }
}

// A refused write is infrastructure (exit 3), not bad input: one line naming the path and errno.
function ioError(file: string, _offset: number, what: string, e: unknown): Error {
  return outputWriteError(file, what, e);
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed, or the close itself failed: the temporary file is removed either way */
  }
}
