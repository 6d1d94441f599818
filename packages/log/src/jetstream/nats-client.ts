// The NATS client, loaded lazily, and how its errors are classified (README "JetStream backend"):
// which failures are worth retrying within the outage bound, which are the infrastructure's.

type NatsCore = typeof import('@nats-io/transport-node');
type NatsJs = typeof import('@nats-io/jetstream');

// The NATS client loads only when a JetStream location is used: commands on .mtelog files do not pay for it.
export function natsModules(): { core: NatsCore; js: NatsJs } {
  return { core: require('@nats-io/transport-node') as NatsCore, js: require('@nats-io/jetstream') as NatsJs };
}

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

export function apiCode(e: unknown): number | undefined {
  const { js } = natsModules();
  return e instanceof js.JetStreamApiError ? e.code : undefined;
}

export function isStreamNotFound(e: unknown): boolean {
  return apiCode(e) === 10059;
}

/** Errors a server restart or a network blip causes: worth retrying within the outage bound. */
export function isTransient(e: unknown): boolean {
  const { core, js } = natsModules();
  const errs = core.errors;
  if (e instanceof errs.TimeoutError || e instanceof errs.RequestError || e instanceof errs.NoRespondersError || e instanceof errs.ConnectionError) return true;
  // No responders to $JS.API while the restarted server recovers its streams.
  if (e instanceof Error && e.name === 'JetStreamNotEnabled') return true;
  if (e instanceof js.JetStreamApiError) return e.status === 503;
  return false;
}

export function reason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s*\n\s*/g, ' ');
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

