import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { rebuildFromLog, redecideLog } from '@mteperm/runtime';
import type { RebuildReport, RedecideReport } from '@mteperm/runtime';
import { CliError, EXIT_BAD_INPUT } from '../errors';
import type { CliIo } from '../io';
import { isNatsUrl, rebuildNats, redecideNats } from '../nats';
import { progressOn } from '../progress';
import { exitsChange, replayFleet } from './fleet';

/** The JSON form of a rebuild replay (our extension: CONTRACT §2 leaves the replay output open). */
export function rebuildJson(report: RebuildReport, path: string): Record<string, unknown> {
  return {
    log: path,
    format_version: report.header.formatVersion,
    schema_version: report.header.schemaVersion,
    kernel: report.header.profile,
    producer: report.header.producer,
    scenario: report.runStarted?.scenario ?? null,
    policies: report.runStarted?.policies ?? [],
    events: report.events,
    state: { recorded_sha256: report.recordedSha256 ?? null, rebuilt_sha256: report.rebuiltSha256, matches: report.matches ?? null },
    damage: damageJson(report.damage),
  };
}

/** A damage in JSON; a JetStream run's offset is a stream seq, said so by `unit`. */
export function damageJson(d: RebuildReport['damage']): Record<string, unknown> | null {
  if (d === undefined) return null;
  return { offset: d.offset, code: d.code, reason: d.reason, ...(d.unit === 'stream seq' ? { unit: 'stream seq' } : {}) };
}

/**
 * After printing, a damaged log or a state that does not rebuild is bad input: one line on stderr
 * naming the file and byte offset, exit status 2 (CONTRACT §2). The readable prefix was replayed.
 */
export function reportLogProblems(report: RebuildReport, path: string, io: CliIo): void {
  // Format 1 predates the end mark: its absence there is expected, said once, and not an error.
  if (!isNatsUrl(path) && report.header.formatVersion < 2) io.stderr.write(`${formatOneNote(path)}\n`);
  if (report.damage !== undefined) {
    io.stderr.write(`mteperm: ${path}: ${report.damage.unit ?? 'byte'} ${report.damage.offset}: ${report.damage.reason} (the ${report.events} events before it were replayed)\n`);
    io.exitCode = EXIT_BAD_INPUT;
  } else if (report.matches === false) {
    io.stderr.write(`mteperm: ${path}: the rebuilt state ${report.rebuiltSha256} differs from the recorded state hash ${report.recordedSha256}\n`);
    io.exitCode = EXIT_BAD_INPUT;
  }
}

/** The note for a format-1 log (README "Exit codes and output paths"). */
export function formatOneNote(path: string): string {
  return `mteperm: note: ${path}: format 1 log: it has no end mark (format 2 adds one), so a cut on a record boundary cannot be told from its end`;
}

export function rebuildWithProgress(path: string, io: CliIo, json: boolean, collectExits = false): RebuildReport {
  let size = 0;
  try {
    size = statSync(resolve(io.cwd, path)).size;
  } catch {
    throw new CliError('MTEPERM_CLI_LOG', `${path}: no such log file`);
  }
  // Records are small; the bar counts events against an estimate from the file size.
  const progress = progressOn(io.stderr, 'events', !json);
  try {
    return rebuildFromLog(resolve(io.cwd, path), { collectExits, onProgress: (n) => progress.update(n, Math.max(n, Math.round(size / 24))) });
  } finally {
    progress.stop();
  }
}

/** `mteperm replay LOG`: rebuilds the state from a recorded log and checks the recorded state hash. */
export function replayCommand(io: CliIo): Command {
  return new Command('replay')
    .description('replay a recorded .mtelog: rebuild the state and check it, or re-decide faults with --policy')
    .argument('<log>', 'the .mtelog file, or a JetStream run nats://HOST:PORT/<run-id>')
    .option('--json', 'print a JSON report on stdout')
    .option('--policy <name...>', 're-decide the recorded tag-access faults with these policies')
    .option('--sandbox', 'with --policy: run file and package policies in separate processes under Node\'s permission model')
    .option('--all', 'with nats://HOST:PORT and --policy: re-decide every recorded run (fleet)')
    .option('--workers <n>', 'with --all: worker processes sharing the runs through a JetStream work queue', '2')
    .option('--quiet', 'no progress bar')
    .action(async (path: string, flags: { json?: boolean; policy?: string[]; all?: boolean; workers: string; quiet?: boolean; sandbox?: boolean }) => {
      if (flags.all === true) {
        await replayFleet(path, flags.policy, flags.workers, flags.json === true, io, flags.sandbox === true);
        return;
      }
      if (flags.policy !== undefined) {
        await redecide(path, flags.policy, flags.json === true, io, flags.sandbox === true);
        return;
      }
      const report = isNatsUrl(path) ? await rebuildNats(path, false) : rebuildWithProgress(path, io, flags.json === true || flags.quiet === true);
      if (flags.json === true) {
        io.stdout.write(`${JSON.stringify(rebuildJson(report, path), null, 2)}\n`);
      } else {
        const h = report.header;
        io.stdout.write(`${path}: ${report.events} events, kernel ${h.profile}, written by ${h.producer} (format ${h.formatVersion}, schema ${h.schemaVersion})\n`);
        if (report.runStarted !== undefined) io.stdout.write(`scenario ${report.runStarted.scenario}, policies [${report.runStarted.policies.join(', ')}]\n`);
        if (report.matches === true) io.stdout.write(`state rebuilt: matches the recorded state hash ${report.rebuiltSha256}\n`);
        else if (report.matches === undefined) io.stdout.write(`state rebuilt: ${report.rebuiltSha256} (the log holds no recorded state hash to check)\n`);
        else io.stdout.write(`state rebuilt: ${report.rebuiltSha256} DIFFERS from the recorded ${report.recordedSha256}\n`);
      }
      reportLogProblems(report, path, io);
    });
}

async function redecide(path: string, policies: string[], json: boolean, io: CliIo, sandbox = false): Promise<void> {
  let report: RedecideReport;
  if (isNatsUrl(path)) {
    report = await redecideNats(path, policies, io.cwd, sandbox);
  } else {
    try {
      statSync(resolve(io.cwd, path));
    } catch {
      throw new CliError('MTEPERM_CLI_LOG', `${path}: no such log file`);
    }
    report = redecideLog(resolve(io.cwd, path), { policyNames: policies, cwd: io.cwd, ...(sandbox ? { sandbox } : {}) });
  }
  const doc: RedecideReport = { ...report, log: path };
  if (json) {
    io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    io.stdout.write(formatRedecide(doc));
  }
  if (report.damage !== null) {
    io.stderr.write(`mteperm: ${path}: ${report.damage.unit ?? 'byte'} ${report.damage.offset}: ${report.damage.reason} (only the readable prefix was re-decided)\n`);
    io.exitCode = EXIT_BAD_INPUT;
  }
}

/** The re-decide comparison for a person: one line per fault, then the totals. */
export function formatRedecide(r: RedecideReport): string {
  const out: string[] = [];
  out.push(`${r.log}: scenario ${r.scenario}, kernel ${r.kernel}`);
  out.push(`recorded policies [${r.recorded_policies.join(', ')}] -> re-decided with [${r.policies.join(', ')}] (tag pool ${r.tag_pool_pages} pages)`);
  out.push('');
  for (const f of r.faults) {
    const was = `${f.recorded.decision ?? 'no fault'} -> ${f.recorded.outcome}`;
    const now = `${f.redecided.decision ?? 'no fault'} -> ${f.redecided.outcome}`;
    out.push(`  step ${String(f.step).padStart(3)}  ${f.op.padEnd(13)} ${f.gpa.padEnd(14)} ${was.padEnd(36)} ${f.changed ? 'now' : 'same:'} ${now}`);
  }
  const t = r.totals;
  out.push('');
  out.push(`faults ${t.recorded.faults}; exits ${t.recorded.exits} -> ${t.redecided.exits} (${exitsChange(t)}); retried ${t.redecided.retried}; injected ${t.redecided.injected}; tag pages used ${t.redecided.tag_pages_used}; plugin failures ${t.redecided.plugin_failures}; changed ${t.changed}`);
  return `${out.join('\n')}\n`;
}
