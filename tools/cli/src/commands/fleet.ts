import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { WorkQueue } from '@mteperm/log';
import { redecideEventLog } from '@mteperm/runtime';
import type { FaultTotals, RedecideReport } from '@mteperm/runtime';
import { CliError, EXIT_BAD_INPUT, EXIT_INTERNAL } from '../errors';
import type { CliIo } from '../io';
import { withStore } from '../nats';

// The fleet's work queue (README "JetStream logs") is @mteperm/log's WorkQueue.
const BIN = join(__dirname, '..', '..', 'bin', 'mteperm.js');

/** What a worker reports for one run (over the IPC channel). */
interface RunResult {
  readonly run_id: string;
  readonly scenario: string;
  readonly totals: RedecideReport['totals'] | null;
  readonly damage: RedecideReport['damage'];
  readonly error?: string;
}

type Totals = RedecideReport['totals'];

function zero(): FaultTotals {
  return { faults: 0, exits: 0, retried: 0, injected: 0, tag_pages_used: 0, plugin_failures: 0 };
}

function add(a: FaultTotals, b: FaultTotals): FaultTotals {
  const out = { ...a };
  for (const k of Object.keys(out) as Array<keyof FaultTotals>) out[k] += b[k];
  return out;
}

/** Sums per-run totals: what replaying each run alone and adding up gives. */
export function sumTotals(all: readonly Totals[]): Totals {
  let recorded = zero();
  let redecided = zero();
  let changed = 0;
  for (const t of all) {
    recorded = add(recorded, t.recorded);
    redecided = add(redecided, t.redecided);
    changed += t.changed;
  }
  return { recorded, redecided, exits_avoided: Math.max(0, recorded.exits - redecided.exits), changed };
}

/**
 * `mteperm replay nats://HOST:PORT --all --policy P --workers N`: every recorded run goes into a
 * JetStream work queue (one message per run id), N worker processes pull from one shared durable
 * consumer, each re-decides the runs it gets and reports their totals; the sum is printed. A run
 * is acknowledged only after its result is reported, so a worker that dies leaves its run to the
 * others (redelivery), and results are keyed by run id so a redelivered run counts once.
 */
export async function replayFleet(url: string, policies: string[] | undefined, workersText: string, json: boolean, io: CliIo, sandbox = false): Promise<void> {
  if (policies === undefined) throw new CliError('MTEPERM_CLI_ARG', '--all re-decides every run: name the policies with --policy');
  if (!/^[0-9]{1,3}$/.test(workersText) || Number(workersText) < 1) throw new CliError('MTEPERM_CLI_ARG', `--workers: '${workersText}' is not a worker count (1..999)`);
  const workers = Number(workersText);
  const { results, perWorker, server } = await withStore(url, async (store, loc) => {
    if (loc.runId !== undefined) throw new CliError('MTEPERM_CLI_ARG', `${url}: --all replays every run of a server: give nats://HOST:PORT without a run id`);
    const runs = await store.runs();
    const queue = await WorkQueue.create(store, runs.map((r) => r.runId));
    const job = queue.job;
    const results = new Map<string, RunResult>();
    const perWorker: number[] = new Array(workers).fill(0);
    try {
      await Promise.all(
        Array.from({ length: Math.min(workers, Math.max(1, runs.length)) }, (_, w) =>
          new Promise<void>((resolve) => {
            const child = fork(BIN, ['fleet-worker', `nats://${store.server}`, job, ...(sandbox ? ['--sandbox'] : []), '--policy', ...policies], { cwd: io.cwd, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
            let stderr = '';
            child.stderr?.on('data', (b: Buffer) => {
              stderr += b.toString();
            });
            child.on('message', (m: RunResult) => {
              if (!results.has(m.run_id)) perWorker[w]!++;
              results.set(m.run_id, m);
            });
            child.on('exit', (code) => {
              if (code !== 0 && stderr !== '') io.stderr.write(`mteperm: fleet worker ${w + 1}: ${stderr.trim().split('\n')[0]}\n`);
              resolve();
            });
          }),
        ),
      );
    } finally {
      await queue.close();
    }
    const missing = runs.filter((r) => !results.has(r.runId));
    if (missing.length > 0) {
      throw new CliError('MTEPERM_CLI_FLEET', `${url}: the workers finished with ${missing.length} of ${runs.length} runs not re-decided (first: ${missing[0]!.runId})`, EXIT_INTERNAL);
    }
    return { results: runs.map((r) => results.get(r.runId)!), perWorker, server: `nats://${store.server}` };
  });

  const ok = results.filter((r) => r.totals !== null);
  const totals = sumTotals(ok.map((r) => r.totals!));
  if (json) {
    const doc = {
      server,
      policies,
      workers,
      runs: results.length,
      totals,
      per_run: results.map((r) => ({ run_id: r.run_id, scenario: r.scenario, totals: r.totals, damage: r.damage, ...(r.error === undefined ? {} : { error: r.error }) })),
    };
    io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    const out: string[] = [];
    out.push(`${server}: ${results.length} runs re-decided with [${policies.join(', ')}] by ${workers} workers (runs per worker: ${perWorker.join(', ')})`);
    out.push('');
    const w = Math.max(0, ...results.map((r) => r.run_id.length));
    for (const r of results) {
      const t = r.totals;
      out.push(`  ${r.run_id.padEnd(w)}  ${r.scenario.padEnd(28)} ${t === null ? `not re-decided: ${r.error}` : `faults ${t.recorded.faults}; exits ${t.recorded.exits} -> ${t.redecided.exits}; changed ${t.changed}`}`);
    }
    const t = totals;
    out.push('');
    out.push(`faults ${t.recorded.faults}; exits ${t.recorded.exits} -> ${t.redecided.exits} (${exitsChange(t)}); retried ${t.redecided.retried}; injected ${t.redecided.injected}; tag pages used ${t.redecided.tag_pages_used}; plugin failures ${t.redecided.plugin_failures}; changed ${t.changed}`);
    io.stdout.write(`${out.join('\n')}\n`);
  }
  // A damaged or unreadable run is reported, one line each, and makes the status 2 (as replay of one run).
  for (const r of results) {
    if (r.error !== undefined) io.stderr.write(`mteperm: ${server}/${r.run_id}: ${r.error}\n`);
    else if (r.damage !== null) io.stderr.write(`mteperm: ${server}/${r.run_id}: ${r.damage.unit ?? 'byte'} ${r.damage.offset}: ${r.damage.reason} (only the readable prefix was re-decided)\n`);
  }
  if (results.some((r) => r.error !== undefined || r.damage !== null)) io.exitCode = EXIT_BAD_INPUT;
}

/** The hidden worker of `replay --all`: pulls run ids from the job's consumer until the queue is empty. */
export function fleetWorkerCommand(): Command {
  return new Command('fleet-worker')
    .argument('<server>')
    .argument('<job>')
    .requiredOption('--policy <name...>')
    .option('--sandbox')
    .action(async (server: string, job: string, flags: { policy: string[]; sandbox?: boolean }) => {
      const send = (m: RunResult): Promise<void> => new Promise((resolve, reject) => process.send!(m, undefined, {}, (e) => (e ? reject(e) : resolve())));
      await withStore(server, async (store) => {
        await WorkQueue.take(store, job, async (runId) => {
          let result: RunResult;
          try {
            const report = await redecideEventLog(await store.open(runId), { policyNames: flags.policy, cwd: process.cwd(), ...(flags.sandbox === true ? { sandbox: true } : {}) });
            result = { run_id: runId, scenario: report.scenario, totals: report.totals, damage: report.damage };
          } catch (e) {
            if (e instanceof CliError && e.exitCode === EXIT_INTERNAL) throw e;
            result = { run_id: runId, scenario: '', totals: null, damage: null, error: (e as Error).message.replace(/\s*\n\s*/g, ' ') };
          }
          // Reported before acknowledged (take acks after this returns): a worker dying in between leaves the run for redelivery.
          await send(result);
        });
      });
    });
}

/** "avoided N", or "N more" when the new chain exits more often (exits_avoided is then 0). */
export function exitsChange(t: { recorded: { exits: number }; redecided: { exits: number } }): string {
  const d = t.recorded.exits - t.redecided.exits;
  return d >= 0 ? `avoided ${d}` : `${-d} more`;
}
