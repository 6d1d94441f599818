export { crc32c } from './crc32c';
export { LogError, logMessage } from './errors';
export type { LogDamage, LogDamageCode, LogErrorCode } from './errors';
export { DEFAULT_MAX_RECORD_BYTES, KERNEL_PROFILES, LOG_FORMAT_VERSION, LOG_MAGIC, MIN_READABLE_FORMAT_VERSION } from './format';
export type { KernelProfile, LogHeader } from './format';
export { LogFileReader, openLogReader } from './reader';
export type { LogReaderOptions, LogSummary } from './reader';
export type { EventLogReader, EventLogWriter, LogRecord } from './types';
export { LogFileWriter, logSink, openLogWriter } from './writer';
export type { LogSink, LogWriterOptions } from './writer';
export type { EventLog, EventLogDamage } from './types';
export { createFileEventLog, FileEventLog, openFileEventLog } from './file-event-log';
export { framedLength, MtelogDigest, newLogHeader } from './log-digest';
export type { NewLogHeader } from './log-digest';
export { parseSegment, SEGMENT_HEADERS, SEGMENT_MAX_BYTES, SEGMENT_MAX_EVENTS } from './segment';
export type { ParsedSegment, SegmentRecord } from './segment';
export {
  isNatsUrl,
  JetStreamEventLog,
  JetStreamStore,
  NATS_INFRA_CODES,
  NATS_STREAM,
  NATS_SUBJECT_PREFIX,
  NatsLogError,
  newRunId,
  openJetStreamLog,
  parseNatsUrl,
  WORK_PREFIX,
  WORK_STREAM,
  WorkQueue,
} from './jetstream';
export type { JetStreamLogOptions, JetStreamStoreOptions, NatsDamageCode, NatsLocation, NatsLogErrorCode, RunInfo } from './jetstream';
export { checkOutputPath, OutputError, writeOutputFile } from './output-path';
export type { OutputErrorCode, OutputPathOptions } from './output-path';
export { END_MARK_BYTES } from './end-mark';
export type { LogEndMark } from './end-mark';
