import { connect as connectTcp } from 'node:net';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope } from '@mteperm/events';
import { DEFAULT_MAX_RECORD_BYTES } from '../format';
import { newLogHeader } from '../log-digest';
import type { NewLogHeader } from '../log-digest';
import { parseSegment, SEGMENT_HEADERS } from '../segment';
import { checkRunId, ERR_STREAM_NAME_IN_USE, isNatsUrl, NATS_STREAM, NATS_SUBJECT_PREFIX, newRunId, parseNatsUrl } from './location';
import { apiCode, isStreamNotFound, isTransient, natsModules, NatsLogError, reason } from './nats-client';
import { headerOf, JetStreamEventLog } from './run-stream';
import type { JetStreamLogOptions } from './run-stream';

// Connecting (bounded: a server that is not there is one line within the connect timeout), the
// MTEPERM stream, and listing runs. Outages while writing are handled in run-stream.ts.

export interface JetStreamStoreOptions {
  /** Bound on reaching the server and its JetStream (CLI: one line and exit 3 after it). Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** How long a writer keeps retrying while the server is gone (restarting) before it gives up. Default 30 s. */
  readonly outageTimeoutMs?: number;
  /** Wait for one publish acknowledgement before retrying it. Default 5 s. */
  readonly ackTimeoutMs?: number;
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

