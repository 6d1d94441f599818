import { isNatsUrl, JetStreamStore, NATS_INFRA_CODES, NatsLogError, parseNatsUrl } from '@mteperm/log';
import type { JetStreamEventLog, NatsLocation } from '@mteperm/log';
import { rebuildFromEventLog, redecideEventLog } from '@mteperm/runtime';
import type { RebuildReport, RedecideReport } from '@mteperm/runtime';
import { CliError, EXIT_INTERNAL } from './errors';

export { isNatsUrl };

// Bounds of the JetStream commands (README "JetStream logs"): connect, and a server gone mid-run.
const CONNECT_TIMEOUT_MS = Number(process.env['MTEPERM_NATS_CONNECT_TIMEOUT_MS'] ?? 5000);
const OUTAGE_TIMEOUT_MS = Number(process.env['MTEPERM_NATS_OUTAGE_TIMEOUT_MS'] ?? 30000);

/**
 * Connects to the server of a `nats://` location, runs `f`, closes the connection. An unreachable
 * or failing server becomes one line and exit status 3 (infrastructure, not bad input); a bad
 * location or a missing run stays a MTEPERM_LOG_* error, exit status 2.
 */
export async function withStore<T>(url: string, f: (store: JetStreamStore, loc: NatsLocation) => Promise<T>): Promise<T> {
  const loc = parseNatsUrl(url);
  let store: JetStreamStore | undefined;
  try {
    store = await JetStreamStore.connect(loc.server, { connectTimeoutMs: CONNECT_TIMEOUT_MS, outageTimeoutMs: OUTAGE_TIMEOUT_MS });
    return await f(store, loc);
  } catch (e) {
    if (e instanceof NatsLogError && NATS_INFRA_CODES.has(e.code)) throw new CliError(e.code, e.message, EXIT_INTERNAL);
    throw e;
  } finally {
    await store?.close();
  }
}

/** The run a `nats://HOST:PORT/<run-id>` location names, open for reading. */
export async function openRun(store: JetStreamStore, loc: NatsLocation, url: string): Promise<JetStreamEventLog> {
  if (loc.runId === undefined) throw new NatsLogError('MTEPERM_LOG_NATS_URL', `${url}: name the run: nats://HOST:PORT/<run-id> (list them: mteperm runs nats://${loc.server})`);
  return store.open(loc.runId);
}

/** Replay *rebuild* of a JetStream run. */
export function rebuildNats(url: string, collectExits: boolean): Promise<RebuildReport> {
  return withStore(url, async (store, loc) => rebuildFromEventLog(await openRun(store, loc, url), { collectExits }));
}

/** Replay *re-decide* of a JetStream run. */
export function redecideNats(url: string, policyNames: readonly string[], cwd: string, sandbox = false): Promise<RedecideReport> {
  return withStore(url, async (store, loc) => redecideEventLog(await openRun(store, loc, url), { policyNames, cwd, ...(sandbox ? { sandbox } : {}) }));
}
