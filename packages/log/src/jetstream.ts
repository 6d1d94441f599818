import { randomBytes } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, EventCodecError, MIN_READABLE_SCHEMA_VERSION, SCHEMA_VERSION } from '@mteperm/events';
import type { Envelope } from '@mteperm/events';
import { envelopeSeq } from './envelope-seq';
import { LogError } from './errors';
import { DEFAULT_MAX_RECORD_BYTES, KERNEL_PROFILES, LOG_FORMAT_VERSION, MIN_READABLE_FORMAT_VERSION } from './format';
import type { KernelProfile, LogHeader } from './format';
import { framedLength, frameRecord, logHeaderBytes, newLogHeader } from './log-digest';
import type { NewLogHeader } from './log-digest';
import { parseSegment, SEGMENT_HEADERS, SEGMENT_MAX_BYTES, SEGMENT_MAX_EVENTS } from './segment';
import type { EventLog, EventLogDamage, LogRecord } from './types';

// Layout (README "JetStream backend"): one stream for every run, one subject per run.
export const NATS_STREAM = 'MTEPERM';
export const NATS_SUBJECT_PREFIX = 'mteperm.runs.';
const MSG_ID = 'Nats-Msg-Id';
// JetStream API error codes this backend acts on.
const ERR_WRONG_LAST_SEQUENCE = 10071;
const ERR_STREAM_NAME_IN_USE = 10058;

/**
 * Stable codes of the JetStream backend. `_UNREACHABLE`, `_UNAVAILABLE`, `_SERVER` and `_CONFLICT`
 * mean the infrastructure failed (the CLI exits 3); the others mean the input is bad (exit 2).
 * Damage codes (`_GAP`, `_FOREIGN`, `_UNFINISHED`) are reported as EventLogDamage, never thrown.
 */
export type NatsLogErrorCode =
  | 'MTEPERM_LOG_NATS_URL' // not a nats://HOST:PORT[/<run-id>] location, or a bad run id
  | 'MTEPERM_LOG_NATS_UNREACHABLE' // no NATS server answered within the connect timeout
  | 'MTEPERM_LOG_NATS_UNAVAILABLE' // the server went away mid-run and did not come back in time
  | 'MTEPERM_LOG_NATS_SERVER' // the server refused a JetStream request (JetStream disabled, limits, ...)
  | 'MTEPERM_LOG_NATS_CONFLICT' // another writer appended to the same run
  | 'MTEPERM_LOG_NATS_NO_RUN' // no such run in the stream
  | 'MTEPERM_LOG_NATS_EXISTS' // a run with this id is already recorded
  | 'MTEPERM_LOG_VERSION' // the run's format version is not one this build reads
  | 'MTEPERM_LOG_SCHEMA' // the run's schema version is not one this build reads
  | 'MTEPERM_LOG_HEADER'; // the run's first message lacks or garbles a header field

export type NatsDamageCode =
  | 'MTEPERM_LOG_NATS_GAP' // a segment does not start where the previous one ended
  | 'MTEPERM_LOG_NATS_FOREIGN' // a message on the run's subject that is not one of its segments
  | 'MTEPERM_LOG_NATS_UNFINISHED'; // the run has no end mark (still being written, or its writer died)

/** Infrastructure failures: the CLI maps these to exit status 3. */
export const NATS_INFRA_CODES: ReadonlySet<string> = new Set(['MTEPERM_LOG_NATS_UNREACHABLE', 'MTEPERM_LOG_NATS_UNAVAILABLE', 'MTEPERM_LOG_NATS_SERVER', 'MTEPERM_LOG_NATS_CONFLICT']);

export class NatsLogError extends Error {
  override readonly name = 'NatsLogError';
  constructor(
    readonly code: NatsLogErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A parsed `nats://HOST:PORT[/<run-id>]`. */
export interface NatsLocation {
  /** `HOST:PORT` as given (port 4222 when omitted). */
  readonly server: string;
  readonly runId: string | undefined;
}

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function isNatsUrl(s: string): boolean {
  return s.startsWith('nats://');
}

/** Parses a `nats://HOST:PORT[/<run-id>]` location; throws NatsLogError MTEPERM_LOG_NATS_URL. */
export function parseNatsUrl(url: string): NatsLocation {
  const m = /^nats:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(?:\/([^/]*))?$/.exec(url);
  if (m === null) throw new NatsLogError('MTEPERM_LOG_NATS_URL', `${url}: not a JetStream location (nats://HOST:PORT or nats://HOST:PORT/<run-id>)`);
  const port = m[2] === undefined ? 4222 : Number(m[2]);
  if (port < 1 || port > 65535) throw new NatsLogError('MTEPERM_LOG_NATS_URL', `${url}: port ${m[2]} is outside 1..65535`);
  const runId = m[3] === undefined || m[3] === '' ? undefined : m[3];
  if (runId !== undefined) checkRunId(runId, url);
  return { server: `${m[1]}:${port}`, runId };
}

function checkRunId(runId: string, where: string): void {
  // The id is one NATS subject token: no '.', '*', '>' or white space.
  if (!RUN_ID.test(runId)) throw new NatsLogError('MTEPERM_LOG_NATS_URL', `${where}: run id '${runId}' must be 1..128 of A-Z a-z 0-9 _ -`);
}

/** A fresh run id: UTC time (so `runs` sorts by age) and 32 random bits (so a fleet never collides). */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

export interface JetStreamStoreOptions {
  /** Bound on reaching the server and its JetStream (CLI: one line and exit 3 after it). Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** How long a writer keeps retrying while the server is gone (restarting) before it gives up. Default 30 s. */
  readonly outageTimeoutMs?: number;
  /** Wait for one publish acknowledgement before retrying it. Default 5 s. */
  readonly ackTimeoutMs?: number;
}

export interface JetStreamLogOptions {
  /** The run id (default: newRunId()). */
  readonly runId?: string;
  /** Segment bounds (defaults 1024 events, 256 KiB of framed records). */
  readonly segmentEvents?: number;
  readonly segmentBytes?: number;
}

/** One recorded run as `runs` lists it. */
export interface RunInfo {
  readonly runId: string;
  readonly location: string;
  /** Messages (segments) on the run's subject. */
  readonly segments: number;
  /** Events recorded, as the last segment's headers say. */
  readonly events: number;
  /** The writer closed the run (its last segment carries the end mark). */
  readonly complete: boolean;
  readonly profile: string;
  readonly producer: string;
  readonly schemaVersion: number;
  /** The scenario named by the run's first event (RunStarted), or null. */
  readonly scenario: string | null;
}

type NatsCore = typeof import('@nats-io/transport-node');
type NatsJs = typeof import('@nats-io/jetstream');

// The NATS client loads only when a JetStream location is used: commands on .mtelog files do not pay for it.
function natsModules(): { core: NatsCore; js: NatsJs } {
  return { core: require('@nats-io/transport-node') as NatsCore, js: require('@nats-io/jetstream') as NatsJs };
}

/**
 * A connection to one NATS server's JetStream and the MTEPERM stream on it: creates runs for
 * writing, opens runs for reading, lists runs. One store serves any number of logs; close it last.
 */
export class JetStreamStore {
  readonly outageTimeoutMs: number;
  readonly ackTimeoutMs: number;

  private constructor(
    readonly server: string,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    options: JetStreamStoreOptions,
  ) {
    this.outageTimeoutMs = options.outageTimeoutMs ?? 30_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5_000;
  }

  /** Connects to `HOST:PORT` (or a nats:// URL); throws NatsLogError MTEPERM_LOG_NATS_UNREACHABLE within the connect timeout. */
  static async connect(server: string, options: JetStreamStoreOptions = {}): Promise<JetStreamStore> {
    const hostPort = isNatsUrl(server) ? parseNatsUrl(server).server : server;
    const timeout = options.connectTimeoutMs ?? 5_000;
    try {
      await probe(hostPort, timeout);
    } catch (e) {
      throw new NatsLogError('MTEPERM_LOG_NATS_UNREACHABLE', `nats://${hostPort}: cannot reach the NATS server within ${timeout / 1000} s (${reason(e)})`, { cause: e });
    }
    const { core, js } = natsModules();
    let nc: NatsConnection;
    const connecting = core.connect({
          servers: hostPort,
          name: 'mteperm',
          timeout,
          // A server restart must not end the run: reconnect for as long as the writer's own outage bound allows.
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 50,
          ignoreClusterUpdates: true,
        });
    try {
      nc = await withTimeout(connecting, timeout + 500, 'no answer');
    } catch (e) {
      // A connection that completes after we gave up must not keep the process alive.
      connecting.then((late) => late.close()).catch(() => undefined);
      throw new NatsLogError('MTEPERM_LOG_NATS_UNREACHABLE', `nats://${hostPort}: cannot reach the NATS server within ${timeout / 1000} s (${reason(e)})`, { cause: e });
    }
    try {
      const jsm = await withTimeout(js.jetstreamManager(nc, { timeout }), timeout + 500, 'no answer');
      return new JetStreamStore(hostPort, nc, js.jetstream(nc, { timeout: options.ackTimeoutMs ?? 5_000 }), jsm, options);
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw new NatsLogError('MTEPERM_LOG_NATS_SERVER', `nats://${hostPort}: the server does not offer JetStream (${reason(e)}); start it with -js`, { cause: e });
    }
  }

  /** `nats://HOST:PORT/<run-id>`: the location a run is replayed from. */
  location(runId: string): string {
    return `nats://${this.server}/${runId}`;
  }

  /** Creates the MTEPERM stream when missing (file storage, dedupe window for idempotent publishes). */
  async ensureStream(): Promise<void> {
    if ((await this.streamInfo()) !== undefined) return;
    const { js } = natsModules();
    try {
      await this.jsm.streams.add({
        name: NATS_STREAM,
        subjects: [`${NATS_SUBJECT_PREFIX}>`],
        storage: js.StorageType.File,
        retention: js.RetentionPolicy.Limits,
        // 2 min, the server default, stated: retried publishes within it are dropped as duplicates.
        duplicate_window: 120_000_000_000,
        allow_direct: true,
      });
    } catch (e) {
      // Two writers creating the stream at once: the loser finds it made.
      if (!(apiCode(e) === ERR_STREAM_NAME_IN_USE && (await this.streamInfo()) !== undefined)) throw this.serverError('create the stream', e);
    }
  }

  /** A new, empty run for writing. Refuses a run id that already has messages. */
  async create(header: NewLogHeader, options: JetStreamLogOptions = {}): Promise<JetStreamEventLog> {
    const runId = options.runId ?? newRunId();
    checkRunId(runId, this.location(runId));
    await this.ensureStream();
    if ((await this.getMessage({ last_by_subj: NATS_SUBJECT_PREFIX + runId })) !== null) {
      throw new NatsLogError('MTEPERM_LOG_NATS_EXISTS', `${this.location(runId)}: run already recorded (a recorded run is never appended to)`);
    }
    return new JetStreamEventLog(this, runId, newLogHeader(header), 'write', options);
  }

  /** A recorded run, for reading; its header comes from its first message. */
  async open(runId: string): Promise<JetStreamEventLog> {
    const where = this.location(runId);
    checkRunId(runId, where);
    const first = (await this.streamInfo()) === undefined ? null : await this.getMessage({ seq: 0, next_by_subj: NATS_SUBJECT_PREFIX + runId } as never);
    if (first === null) throw new NatsLogError('MTEPERM_LOG_NATS_NO_RUN', `${where}: no such run on this server (try: mteperm runs nats://${this.server})`);
    const header = headerOf(first.header, where, first.seq);
    return new JetStreamEventLog(this, runId, header, 'read', {});
  }

  /** Every run on the stream, oldest id first (run ids start with their UTC start time). */
  async runs(): Promise<RunInfo[]> {
    const info = await this.streamInfo(`${NATS_SUBJECT_PREFIX}>`);
    if (info === undefined) return [];
    const subjects = Object.entries(info.state.subjects ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const out: RunInfo[] = new Array(subjects.length);
    // A few requests in flight at once: thousands of runs list in seconds, not minutes.
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < subjects.length; i = next++) {
        const [subject, segments] = subjects[i]!;
        out[i] = await this.runInfo(subject.slice(NATS_SUBJECT_PREFIX.length), segments);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, subjects.length) }, worker));
    return out;
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.close().catch(() => undefined);
  }

  /** Raw stored message (non-direct get: the server's MSG.GET API); null when none matches. */
  async getMessage(query: { last_by_subj: string } | { seq: number }): Promise<StoredMsg | null> {
    try {
      return await this.jsm.streams.getMessage(NATS_STREAM, query);
    } catch (e) {
      throw this.serverError('read a message', e);
    }
  }

  private async runInfo(runId: string, segments: number): Promise<RunInfo> {
    const subject = NATS_SUBJECT_PREFIX + runId;
    const [first, last] = await Promise.all([this.getMessage({ seq: 0, next_by_subj: subject } as never), this.getMessage({ last_by_subj: subject })]);
    const h = first?.header;
    let scenario: string | null = null;
    if (first !== null && first !== undefined) {
      // The first record of a run is RunStarted: decode just that one for the scenario name.
      const parsed = parseSegment(first.data, 1, DEFAULT_MAX_RECORD_BYTES);
      const r = parsed.records[0];
      if (r !== undefined) {
        try {
          const e = decodeEnvelope(first.data.subarray(r.start, r.end));
          if (e.type === 'RunStarted') scenario = e.data.scenario;
        } catch {
          /* a damaged first record: listed without a scenario; replay reports it */
        }
      }
    }
    const lh = last?.header;
    const lastFirst = Number(lh?.get(SEGMENT_HEADERS.firstSeq) ?? '0');
    const lastCount = Number(lh?.get(SEGMENT_HEADERS.count) ?? '0');
    return {
      runId,
      location: this.location(runId),
      segments,
      events: Number.isFinite(lastFirst + lastCount) && lastFirst > 0 ? lastFirst + lastCount - 1 : 0,
      complete: lh?.has(SEGMENT_HEADERS.end) ?? false,
      profile: h?.get(SEGMENT_HEADERS.profile) ?? '',
      producer: h?.get(SEGMENT_HEADERS.producer) ?? '',
      schemaVersion: Number(h?.get(SEGMENT_HEADERS.schema) ?? '0'),
      scenario,
    };
  }

  private async streamInfo(subjectsFilter?: string): Promise<import('@nats-io/jetstream').StreamInfo | undefined> {
    try {
      return await this.jsm.streams.info(NATS_STREAM, subjectsFilter === undefined ? undefined : { subjects_filter: subjectsFilter });
    } catch (e) {
      if (isStreamNotFound(e)) return undefined;
      throw this.serverError('read the stream', e);
    }
  }

  serverError(what: string, e: unknown): NatsLogError {
    if (e instanceof NatsLogError) return e;
    const infra = isTransient(e) ? 'MTEPERM_LOG_NATS_UNAVAILABLE' : 'MTEPERM_LOG_NATS_SERVER';
    return new NatsLogError(infra, `nats://${this.server}: cannot ${what} on stream ${NATS_STREAM}: ${reason(e)}`, { cause: e });
  }
}

interface Segment {
  readonly data: Buffer;
  readonly firstSeq: number;
  readonly count: number;
  readonly end: boolean;
}

/**
 * One run on JetStream as an EventLog. Writing: records are framed into segments (bounded by
 * count and bytes); sealed segments are published in order, one acknowledged publish at a time,
 * each with `Nats-Msg-Id` = `<run-id>:<first seq>` and `Nats-Expected-Last-Subject-Sequence` =
 * the stream seq of the run's previous segment, retried across disconnects and server restarts
 * (up to the store's outage bound): a retried publish the server already stored is a duplicate
 * it drops, so no event is lost or stored twice, and no segment can land out of order.
 * Reading: an ordered consumer filtered to the run's subject, a few segments buffered at a time.
 */
export class JetStreamEventLog implements EventLog {
  readonly location: string;
  readonly subject: string;
  private readonly segmentEvents: number;
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  // Writing state.
  private build: Buffer;
  private buildPos = 0;
  private buildCount = 0;
  private nextSeq = 1;
  private readonly queue: Segment[] = [];
  private queued = 0;
  private pumping: Promise<void> | undefined;
  private lastStreamSeq = 0;
  private failure: unknown;
  private closed = false;
  private aborted = false;
  private published = 0;
  private retries = 0;
  private lastDamage: EventLogDamage | undefined;

  constructor(
    private readonly store: JetStreamStore,
    readonly runId: string,
    readonly header: LogHeader,
    private readonly mode: 'write' | 'read',
    options: JetStreamLogOptions,
  ) {
    this.location = store.location(runId);
    this.subject = NATS_SUBJECT_PREFIX + runId;
    this.segmentEvents = Math.max(1, options.segmentEvents ?? SEGMENT_MAX_EVENTS);
    this.segmentBytes = Math.max(64, options.segmentBytes ?? SEGMENT_MAX_BYTES);
    // A record must fit one message with its headers (the server's max_payload, 1 MiB by default).
    const maxPayload = store.nc.info?.max_payload ?? 1024 * 1024;
    this.maxRecordBytes = Math.min(DEFAULT_MAX_RECORD_BYTES, maxPayload - 4096);
    this.build = Buffer.allocUnsafe(mode === 'write' ? this.segmentBytes : 0);
  }

  get damage(): EventLogDamage | undefined {
    return this.lastDamage;
  }

  /** Events acknowledged by the server so far. */
  get acknowledgedEvents(): number {
    return this.published;
  }

  /** Publish attempts repeated after a timeout or disconnect (a server restart shows here). */
  get retriedPublishes(): number {
    return this.retries;
  }

  /** Bytes of sealed segments waiting for their publish (a synchronous producer piles them up). */
  get queuedBytes(): number {
    return this.queued;
  }

  append(envelopeBytes: Uint8Array): void {
    if (this.mode === 'read') throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'run is open for reading: a recorded run is never appended to');
    this.check();
    const len = envelopeBytes.length;
    if (len === 0 || len > this.maxRecordBytes) throw new LogError('MTEPERM_LOG_LENGTH', this.location, 0, `record length ${len} is outside 1..${this.maxRecordBytes}`);
    // The segment's First-Seq header and the reader's gap check rely on dense seqs: refuse others here.
    const seq = envelopeSeq(envelopeBytes, 0, len);
    if (seq !== this.nextSeq) throw new LogError('MTEPERM_LOG_SEQ', this.location, 0, `record has seq ${seq} where ${this.nextSeq} was expected (seq is dense from 1)`);
    const need = framedLength(len);
    if (this.buildCount > 0 && this.buildPos + need > this.segmentBytes) this.seal(false);
    if (need > this.build.length) this.build = Buffer.allocUnsafe(need); // one oversized record: a segment of its own
    this.buildPos = frameRecord(this.build, this.buildPos, envelopeBytes);
    this.buildCount++;
    this.nextSeq++;
    if (this.buildCount >= this.segmentEvents) this.seal(false);
  }

  /** Publishes the partial segment too and waits until every appended event is acknowledged. */
  async flush(): Promise<void> {
    this.check();
    if (this.buildCount > 0) this.seal(false);
    await this.drain(0);
  }

  /** Resolves once at most `bytes` of sealed segments wait for publishing (back-pressure for async producers). */
  async drain(bytes: number): Promise<void> {
    while (this.queued > bytes && this.failure === undefined) {
      this.kick();
      await this.pumping;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Publishes the rest with the end mark and waits for it: the run is then complete. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.mode === 'read') {
      this.closed = true;
      return;
    }
    this.check();
    this.seal(true);
    this.closed = true;
    await this.drain(0);
  }

  /** Stops publishing. What was acknowledged stays, without an end mark: readers report the run unfinished. */
  async abort(): Promise<void> {
    this.closed = true;
    this.aborted = true;
    await this.pumping;
    this.queue.length = 0;
    this.queued = 0;
  }

  async *read(fromSeq = 1n): AsyncIterableIterator<LogRecord> {
    for await (const r of this.segments(fromSeq)) yield r;
  }

  async *envelopes(fromSeq = 1n): AsyncIterableIterator<Envelope> {
    for await (const r of this.segments(fromSeq)) {
      try {
        yield decodeEnvelope(r.bytes);
      } catch (e) {
        if (!(e instanceof EventCodecError)) throw e;
        this.lastDamage = this.damageAt('MTEPERM_LOG_DECODE', r.streamSeq, `record seq ${r.seq} does not decode: ${e.message}`);
        return;
      }
    }
  }

  private check(): void {
    if (this.closed) throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'run log is closed');
    if (this.failure !== undefined) throw this.failure;
  }

  private seal(end: boolean): void {
    const data = Buffer.from(this.build.subarray(0, this.buildPos));
    this.queue.push({ data, firstSeq: this.nextSeq - this.buildCount, count: this.buildCount, end });
    this.queued += data.length;
    if (this.build.length > this.segmentBytes) this.build = Buffer.allocUnsafe(this.segmentBytes);
    this.buildPos = 0;
    this.buildCount = 0;
    this.kick();
  }

  private kick(): void {
    if (this.pumping !== undefined || this.queue.length === 0 || this.failure !== undefined) return;
    this.pumping = this.pump()
      .catch((e: unknown) => {
        this.failure = e;
      })
      .finally(() => {
        this.pumping = undefined;
      });
  }

  // One publish in flight: with the expected-last-subject-seq check this keeps the run's segments
  // in order across retries. A segment of ~1000 events amortises the round trip.
  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.aborted) {
      const s = this.queue[0]!;
      await this.publish(s);
      this.queue.shift();
      this.queued -= s.data.length;
      this.published += s.count;
    }
  }

  private async publish(s: Segment): Promise<void> {
    const { core } = natsModules();
    const msgId = `${this.runId}:${s.firstSeq}`;
    const h = core.headers();
    h.set(SEGMENT_HEADERS.run, this.runId);
    h.set(SEGMENT_HEADERS.format, String(this.header.formatVersion));
    h.set(SEGMENT_HEADERS.schema, String(this.header.schemaVersion));
    h.set(SEGMENT_HEADERS.profile, this.header.profile);
    h.set(SEGMENT_HEADERS.producer, this.header.producer);
    h.set(SEGMENT_HEADERS.firstSeq, String(s.firstSeq));
    h.set(SEGMENT_HEADERS.count, String(s.count));
    if (s.end) h.set(SEGMENT_HEADERS.end, '1');
    let outageSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await this.store.js.publish(this.subject, s.data, {
          msgID: msgId,
          headers: h,
          expect: { lastSubjectSequence: this.lastStreamSeq },
          timeout: this.store.ackTimeoutMs,
        });
        this.lastStreamSeq = ack.seq;
        return;
      } catch (e) {
        if (apiCode(e) === ERR_WRONG_LAST_SEQUENCE) {
          // Stored by an earlier attempt whose ack was lost after the dedupe window passed, or another writer.
          const last = await this.store.getMessage({ last_by_subj: this.subject }).catch(() => null);
          if (last !== null && last.header?.get(MSG_ID) === msgId) {
            this.lastStreamSeq = last.seq;
            return;
          }
          throw new NatsLogError(
            'MTEPERM_LOG_NATS_CONFLICT',
            `${this.location}: stream seq ${last?.seq ?? '?'}: another writer appended to this run (this writer's last segment is at stream seq ${this.lastStreamSeq})`,
            { cause: e },
          );
        }
        if (!isTransient(e)) throw this.store.serverError(`publish events ${s.firstSeq}..${s.firstSeq + s.count - 1}`, e);
        outageSince ??= Date.now();
        this.retries++;
        if (Date.now() - outageSince >= this.store.outageTimeoutMs) {
          throw new NatsLogError(
            'MTEPERM_LOG_NATS_UNAVAILABLE',
            `${this.location}: the NATS server did not acknowledge events ${s.firstSeq}.. for ${Math.round(this.store.outageTimeoutMs / 1000)} s (${reason(e)}); ${storedSoFar(s.firstSeq)}`,
            { cause: e },
          );
        }
        await delay(Math.min(50 * 2 ** attempt, 1000));
      }
    }
  }

  private damageAt(code: string, streamSeq: number, why: string): EventLogDamage {
    return Object.freeze({ code, file: this.location, offset: streamSeq, unit: 'stream seq' as const, reason: why, message: `${this.location}: stream seq ${streamSeq}: ${why}` });
  }

  /**
   * The run's records in order, each checked: the message is a segment of this run with this run's
   * header, it starts where the previous one ended, its records pass framing, CRC and seq checks.
   * The first violation ends the readable prefix and is reported (with its stream seq) in `damage`.
   */
  private async *segments(fromSeq: bigint): AsyncGenerator<LogRecord & { readonly streamSeq: number }> {
    if (this.mode === 'write') throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'run is open for writing; open it again to read it');
    this.lastDamage = undefined;
    const from = Number(fromSeq);
    let consumer;
    try {
      consumer = await this.store.js.consumers.get(NATS_STREAM, { filter_subjects: this.subject });
    } catch (e) {
      throw this.store.serverError('create an ordered consumer', e);
    }
    let expected = 1;
    let offset = logHeaderBytes(this.header, this.location).length;
    let lastStreamSeq = 0;
    let ended = false;
    try {
      const pending = (await consumer.info(true)).num_pending;
      if (pending === 0) {
        this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_UNFINISHED', 0, 'the run has no messages');
        return;
      }
      // A few segments buffered at a time (≤ 8 × 256 KiB): memory stays flat whatever the run's length.
      const messages = await consumer.consume({ max_messages: 8 });
      for await (const m of messages) {
        lastStreamSeq = m.seq;
        if (ended) {
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_FOREIGN', m.seq, "message after the run's end mark");
          break;
        }
        const h = m.headers;
        const why = segmentHeaderProblem(h, this.runId, this.header);
        if (why !== undefined) {
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_FOREIGN', m.seq, `not a segment of this run: ${why}`);
          break;
        }
        const first = Number(h!.get(SEGMENT_HEADERS.firstSeq));
        const count = Number(h!.get(SEGMENT_HEADERS.count));
        if (first !== expected) {
          const what = first > expected ? `events ${expected}..${first - 1} are missing` : `events ${first}..${expected - 1} appear twice`;
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_GAP', m.seq, `segment starts at event seq ${first} where ${expected} was expected: ${what}`);
          break;
        }
        const parsed = parseSegment(m.data, first, this.maxRecordBytes);
        if (parsed.damage === undefined && parsed.records.length !== count) {
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_FOREIGN', m.seq, `segment holds ${parsed.records.length} records, its header says ${count}`);
          break;
        }
        for (const r of parsed.records) {
          if (r.seq >= from) yield { offset: offset + r.at, seq: BigInt(r.seq), bytes: m.data.subarray(r.start, r.end), streamSeq: m.seq };
        }
        if (parsed.damage !== undefined) {
          const d = parsed.damage;
          this.lastDamage = this.damageAt(d.code, m.seq, `record at byte ${d.at} of the segment (event seq ${first + parsed.records.length}): ${d.reason}`);
          break;
        }
        offset += m.data.length;
        expected += count;
        if (h!.has(SEGMENT_HEADERS.end)) ended = true;
        if (m.info.pending === 0) break;
      }
      if (this.lastDamage === undefined && !ended) {
        this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_UNFINISHED', lastStreamSeq, `the run has no end mark after event seq ${expected - 1} (still being recorded, or its writer stopped)`);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}

/** Why a message's headers do not make it a segment of this run (or undefined when they do). */
function segmentHeaderProblem(h: MsgHdrs | undefined, runId: string, header: LogHeader): string | undefined {
  if (h === undefined) return 'no headers';
  const run = h.get(SEGMENT_HEADERS.run);
  if (run !== runId) return run === '' ? `no ${SEGMENT_HEADERS.run} header` : `${SEGMENT_HEADERS.run} is '${run}'`;
  const fields: Array<[string, string]> = [
    [SEGMENT_HEADERS.format, String(header.formatVersion)],
    [SEGMENT_HEADERS.schema, String(header.schemaVersion)],
    [SEGMENT_HEADERS.profile, header.profile],
    [SEGMENT_HEADERS.producer, header.producer],
  ];
  for (const [k, v] of fields) if (h.get(k) !== v) return `${k} is '${h.get(k)}' where the run's first segment says '${v}'`;
  for (const k of [SEGMENT_HEADERS.firstSeq, SEGMENT_HEADERS.count]) {
    if (!/^[0-9]{1,15}$/.test(h.get(k))) return `${k} is '${h.get(k)}'`;
  }
  if (Number(h.get(SEGMENT_HEADERS.firstSeq)) < 1) return `${SEGMENT_HEADERS.firstSeq} is 0`;
  return undefined;
}

/** The log header a run's first message carries, checked as the file reader checks a file's. */
function headerOf(h: MsgHdrs | undefined, where: string, streamSeq: number): LogHeader {
  const at = `${where}: stream seq ${streamSeq}`;
  const get = (k: string): string => {
    const v = h?.get(k) ?? '';
    if (v === '') throw new NatsLogError('MTEPERM_LOG_HEADER', `${at}: the run's first message has no ${k} header (not written by mteperm?)`);
    return v;
  };
  const formatVersion = Number(get(SEGMENT_HEADERS.format));
  // Runs recorded as format 1 read as before: JetStream's end mark is the Mteperm-End header in both.
  if (!(formatVersion >= MIN_READABLE_FORMAT_VERSION && formatVersion <= LOG_FORMAT_VERSION)) {
    throw new NatsLogError('MTEPERM_LOG_VERSION', `${at}: log format version ${get(SEGMENT_HEADERS.format)} is not one this build reads (${MIN_READABLE_FORMAT_VERSION}..${LOG_FORMAT_VERSION})`);
  }
  const schemaVersion = Number(get(SEGMENT_HEADERS.schema));
  if (!(schemaVersion >= MIN_READABLE_SCHEMA_VERSION && schemaVersion <= SCHEMA_VERSION)) {
    throw new NatsLogError('MTEPERM_LOG_SCHEMA', `${at}: event schema version ${get(SEGMENT_HEADERS.schema)} is outside what this build reads (${MIN_READABLE_SCHEMA_VERSION}..${SCHEMA_VERSION})`);
  }
  const profile = get(SEGMENT_HEADERS.profile);
  if (!(KERNEL_PROFILES as readonly string[]).includes(profile)) throw new NatsLogError('MTEPERM_LOG_HEADER', `${at}: unknown kernel profile ${JSON.stringify(profile)} (one of ${KERNEL_PROFILES.join('|')})`);
  return Object.freeze({ formatVersion, schemaVersion, profile: profile as KernelProfile, producer: get(SEGMENT_HEADERS.producer) });
}

function apiCode(e: unknown): number | undefined {
  const { js } = natsModules();
  return e instanceof js.JetStreamApiError ? e.code : undefined;
}

function isStreamNotFound(e: unknown): boolean {
  return apiCode(e) === 10059;
}

/** Errors a server restart or a network blip causes: worth retrying within the outage bound. */
function isTransient(e: unknown): boolean {
  const { core, js } = natsModules();
  const errs = core.errors;
  if (e instanceof errs.TimeoutError || e instanceof errs.RequestError || e instanceof errs.NoRespondersError || e instanceof errs.ConnectionError) return true;
  // No responders to $JS.API while the restarted server recovers its streams.
  if (e instanceof Error && e.name === 'JetStreamNotEnabled') return true;
  if (e instanceof js.JetStreamApiError) return e.status === 503;
  return false;
}

function reason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s*\n\s*/g, ' ');
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits for the server's INFO greeting on a socket of our own. The client library leaves its socket
 * open when its connect times out on a server that accepts but never speaks, which would keep the
 * process alive; this probe fails first, and cleanly, in that case.
 */
function probe(hostPort: string, timeoutMs: number): Promise<void> {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolve, reject) => {
    const sock = connectTcp({ host, port });
    let got = '';
    const done = (e?: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (e === undefined) resolve();
      else reject(e);
    };
    const timer = setTimeout(() => done(new Error('no answer')), timeoutMs);
    sock.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.startsWith('INFO ')) done();
      else if (got.length >= 5) done(new Error('not a NATS server'));
    });
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('connection closed')));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Opens a JetStream run for reading from `nats://HOST:PORT/<run-id>`; close the store when done. */
export async function openJetStreamLog(url: string, options?: JetStreamStoreOptions): Promise<{ store: JetStreamStore; log: JetStreamEventLog }> {
  const loc = parseNatsUrl(url);
  if (loc.runId === undefined) throw new NatsLogError('MTEPERM_LOG_NATS_URL', `${url}: name the run: nats://HOST:PORT/<run-id>`);
  const store = await JetStreamStore.connect(loc.server, options);
  try {
    return { store, log: await store.open(loc.runId) };
  } catch (e) {
    await store.close();
    throw e;
  }
}

// What an outage left on the server. Before the first acknowledgement nothing of the run exists
// there, so `runs` cannot list it: say so rather than "events 1..0 are stored".
function storedSoFar(firstUnacked: number): string {
  if (firstUnacked <= 1) return 'no event of this run was stored, so the server holds no trace of it (`runs` does not list it)';
  return `events 1..${firstUnacked - 1} are stored, the run is unfinished`;
}
