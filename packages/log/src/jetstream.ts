// The JetStream backend (README "JetStream backend"), by concern: jetstream/location.ts (stream,
// subjects, nats:// locations, run ids), jetstream/nats-client.ts (the lazily loaded client, error
// codes and which failures are transient), jetstream/connection.ts (JetStreamStore: bounded connect,
// the stream, listing runs), jetstream/run-stream.ts (one run: segments written across outages and
// read back checked), jetstream/work-queue.ts (the fleet's shared work queue).
export { JetStreamStore, openJetStreamLog } from './jetstream/connection';
export type { JetStreamStoreOptions, RunInfo } from './jetstream/connection';
export { isNatsUrl, NATS_STREAM, NATS_SUBJECT_PREFIX, newRunId, parseNatsUrl } from './jetstream/location';
export type { NatsLocation } from './jetstream/location';
export { NATS_INFRA_CODES, NatsLogError } from './jetstream/nats-client';
export type { NatsDamageCode, NatsLogErrorCode } from './jetstream/nats-client';
export { JetStreamEventLog } from './jetstream/run-stream';
export type { JetStreamLogOptions } from './jetstream/run-stream';
export { WORK_PREFIX, WORK_STREAM, WorkQueue } from './jetstream/work-queue';
