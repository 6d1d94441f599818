import { Command } from 'commander';
import type { CliIo } from '../io';
import { withStore } from '../nats';

/** `mteperm runs nats://HOST:PORT`: the runs recorded on a JetStream server, oldest first. */
export function runsCommand(io: CliIo): Command {
  return new Command('runs')
    .description('list the runs recorded on a JetStream server (mteperm run --log nats://HOST:PORT)')
    .argument('<server>', 'nats://HOST:PORT')
    .option('--json', 'as a JSON array')
    .action(async (url: string, flags: { json?: boolean }) => {
      const runs = await withStore(url, (store) => store.runs());
      if (flags.json === true) {
        const list = runs.map((r) => ({
          run_id: r.runId,
          log: r.location,
          scenario: r.scenario,
          kernel: r.profile,
          events: r.events,
          segments: r.segments,
          complete: r.complete,
          producer: r.producer,
          schema_version: r.schemaVersion,
        }));
        io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      if (runs.length === 0) {
        io.stdout.write(`${url}: no runs recorded\n`);
        return;
      }
      const w = Math.max(...runs.map((r) => r.runId.length));
      const sw = Math.max(8, ...runs.map((r) => (r.scenario ?? '?').length));
      io.stdout.write(`${'run id'.padEnd(w)}  ${'scenario'.padEnd(sw)}  kernel      events  state\n`);
      for (const r of runs) {
        io.stdout.write(`${r.runId.padEnd(w)}  ${(r.scenario ?? '?').padEnd(sw)}  ${r.profile.padEnd(10)}  ${String(r.events).padStart(6)}  ${r.complete ? 'complete' : 'unfinished'}\n`);
      }
    });
}
