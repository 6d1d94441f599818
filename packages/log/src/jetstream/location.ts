import { randomBytes } from 'node:crypto';
import { NatsLogError } from './nats-client';

// Layout (README "JetStream backend"): one stream for every run, one subject per run.
export const NATS_STREAM = 'MTEPERM';
export const NATS_SUBJECT_PREFIX = 'mteperm.runs.';
export const MSG_ID = 'Nats-Msg-Id';
// JetStream API error codes this backend acts on.
export const ERR_WRONG_LAST_SEQUENCE = 10071;
export const ERR_STREAM_NAME_IN_USE = 10058;

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

export function checkRunId(runId: string, where: string): void {
  // The id is one NATS subject token: no '.', '*', '>' or white space.
  if (!RUN_ID.test(runId)) throw new NatsLogError('MTEPERM_LOG_NATS_URL', `${where}: run id '${runId}' must be 1..128 of A-Z a-z 0-9 _ -`);
}

/** A fresh run id: UTC time (so `runs` sorts by age) and 32 random bits (so a fleet never collides). */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

