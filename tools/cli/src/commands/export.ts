import { resolve } from 'node:path';
import { Command } from 'commander';
import { SCHEMA_VERSION } from '@mteperm/events';
import { checkOutputPath, FileEventLog, isNatsUrl, MtelogDigest, openLogReader } from '@mteperm/log';
import type { EventLog } from '@mteperm/log';
import { CliError, EXIT_BAD_INPUT } from '../errors';
import type { CliIo } from '../io';
import { openRun, withStore } from '../nats';

interface Copied {
  readonly events: number;
  readonly sha256: string;
  readonly damage: EventLog['damage'];
}

// Copies every intact record; the digest is the .mtelog sha256 of what was copied.
async function copy(from: EventLog, to: EventLog, drain?: () => Promise<void>): Promise<Copied> {
  const digest = new MtelogDigest(from.header, from.location);
  let n = 0;
  for await (const r of from.read()) {
    to.append(r.bytes);
    digest.add(r.bytes);
    // Back-pressure for JetStream: an export must not hold a whole file in memory.
    if (drain !== undefined && (++n & 0x3ff) === 0) await drain();
  }
  return { events: digest.records, sha256: digest.hex(), damage: from.damage };
}

function refuseDamage(c: Copied, from: string): void {
  if (c.damage !== undefined) {
    throw new CliError(c.damage.code, `${from}: ${c.damage.unit ?? 'byte'} ${c.damage.offset}: ${c.damage.reason} (nothing exported)`, EXIT_BAD_INPUT);
  }
}

// Runs the copy into `to`: closed when the source was whole, aborted (nothing half-written stays) otherwise.
async function copyInto(to: EventLog, run: () => Promise<Copied>, from: string): Promise<Copied> {
  try {
    const c = await run();
    refuseDamage(c, from);
    await to.close();
    return c;
  } catch (e) {
    await to.abort();
    throw e;
  }
}

/**
 * `mteperm export FROM TO`: a JetStream run to a `.mtelog` file (byte for byte the file `run`
 * would have written), or a `.mtelog` file to a new JetStream run. A damaged source exports nothing.
 */
export function exportCommand(io: CliIo): Command {
  return new Command('export')
    .description('copy a JetStream run to a .mtelog file, or a .mtelog file to a JetStream run')
    .argument('<from>', 'nats://HOST:PORT/<run-id>, or a .mtelog file')
    .argument('<to>', 'a .mtelog file, or nats://HOST:PORT[/<run-id>]')
    .option('--json', 'print {from, to, events, sha256} on stdout')
    .action(async (from: string, to: string, flags: { json?: boolean }) => {
      let copied: Copied;
      let target = to;
      if (isNatsUrl(from) && !isNatsUrl(to)) {
        checkOutputPath(to, { label: 'export', cwd: io.cwd });
        copied = await withStore(from, async (store, loc) => {
          const run = await openRun(store, loc, from);
          if (run.header.schemaVersion !== SCHEMA_VERSION) {
            throw new CliError('MTEPERM_CLI_EXPORT', `${from}: event schema version ${run.header.schemaVersion} differs from this build's ${SCHEMA_VERSION}: export it with the build that recorded it`);
          }
          const file = FileEventLog.create(resolve(io.cwd, to), { profile: run.header.profile, producer: run.header.producer });
          return copyInto(file, () => copy(run, file), from);
        });
      } else if (!isNatsUrl(from) && isNatsUrl(to)) {
        // One checking pass first, so a damaged file publishes nothing.
        const check = openLogReader(resolve(io.cwd, from));
        const summary = check.verify();
        check.close();
        if (summary.damage !== undefined) throw new CliError(summary.damage.code, `${from}: byte ${summary.damage.offset}: ${summary.damage.reason} (nothing exported)`, EXIT_BAD_INPUT);
        const file = FileEventLog.open(resolve(io.cwd, from));
        copied = await withStore(to, async (store, loc) => {
          const run = await store.create(file.header, loc.runId === undefined ? {} : { runId: loc.runId });
          target = run.location;
          try {
            return await copyInto(run, () => copy(file, run, () => run.drain(8 << 20)), from);
          } finally {
            await file.close();
          }
        });
      } else {
        throw new CliError('MTEPERM_CLI_ARG', `export copies between a JetStream run and a .mtelog file: one of '${from}' and '${to}' must be nats://...`);
      }
      if (flags.json === true) io.stdout.write(`${JSON.stringify({ from, to: target, events: copied.events, sha256: copied.sha256 }, null, 2)}\n`);
      else io.stdout.write(`${from} -> ${target}: ${copied.events} events, sha256 ${copied.sha256}\n`);
    });
}
