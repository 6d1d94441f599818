import { encodeEnvelope, NO_VCPU } from '@mteperm/events';
import { JetStreamStore } from '@mteperm/log';
import { NatsServer, NATS_SERVER_MISSING } from '@mteperm/log/testing';
import { BENCH_EVENT } from './figures';
import { median, nowNs } from './stats';

export interface JetStreamBenchOptions {
  readonly quick: boolean;
  /** Measured runs per figure (default 3 quick, 5 full); each appends and replays `events`. */
  readonly runs?: number;
  readonly events?: number;
  readonly log?: (line: string) => void;
}

type Figures = Record<string, { value: number; unit: string; reference?: string }>;

/**
 * JetStream log throughput next to the file backend's (`log.append_events_per_s`,
 * `log.read_events_per_s`, measured by the log group of the same bench run): a real nats-server
 * is started on a free port with JetStream in a temporary folder. Append = every event framed into
 * segments and acknowledged (close()); read = an ordered consumer replaying and decoding them all.
 * Without nats-server the figures are left out with one line on the log (the tests, not the
 * bench, are where a missing server fails).
 */
export async function jetstreamFigures(options: JetStreamBenchOptions): Promise<Figures> {
  const runs = options.runs ?? (options.quick ? 3 : 5);
  const n = options.events ?? (options.quick ? 50_000 : 500_000);
  let server: NatsServer;
  try {
    server = await NatsServer.start();
  } catch (e) {
    if ((e as Error).message !== NATS_SERVER_MISSING) throw e;
    options.log?.(`${NATS_SERVER_MISSING}: JetStream figures left out`);
    return {};
  }
  const envs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) envs.push(encodeEnvelope({ seq: BigInt(i + 1), vm: 1, vcpu: NO_VCPU, causation: BigInt(i) }, BENCH_EVENT));
  const store = await JetStreamStore.connect(server.hostPort);
  const append: number[] = [];
  const read: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      let t = nowNs();
      const w = await store.create({ profile: 'v2', producer: 'mteperm-bench' });
      for (const e of envs) w.append(e);
      await w.close();
      append.push((n * 1e9) / (nowNs() - t));

      const log = await store.open(w.runId);
      t = nowNs();
      let count = 0;
      for await (const e of log.envelopes()) count += e.vm;
      read.push((n * 1e9) / (nowNs() - t));
      if (count !== n || log.damage !== undefined) throw new Error(`bench JetStream run ${w.runId}: read ${count} of ${n} events${log.damage ? `: ${log.damage.message}` : ''}`);
    }
  } finally {
    await store.close();
    await server.dispose();
  }
  options.log?.(`jetstream: ${n} events x ${runs} runs`);
  return {
    'log.jetstream.append_events_per_s': { value: Math.round(median(append)), unit: 'events/s', reference: 'log.append_events_per_s' },
    'log.jetstream.read_events_per_s': { value: Math.round(median(read)), unit: 'events/s', reference: 'log.read_events_per_s' },
  };
}
