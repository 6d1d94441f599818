import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { checkOutputPath, openLogReader, writeOutputFile } from '@mteperm/log';
import { hex, shadowStage2Leaves, stage2Leaves } from '@mteperm/runtime';
import { CliError } from '../errors';
import type { CliIo } from '../io';
import { isNatsUrl } from '../nats';
import { progressOn } from '../progress';
import { pageScript, renderViewHtml } from '../view/html';
import { PageColumns } from '../view/page-data';
import { damageJson, rebuildWithProgress, reportLogProblems } from './replay';

/** `mteperm view LOG [-o OUT.html]`: one self-contained HTML page to explore a log (CONTRACT §2). */
export function viewCommand(io: CliIo): Command {
  return new Command('view')
    .description('write one self-contained HTML page (no network needed) to explore a log: timeline, causation, exits, stage-2 maps')
    .argument('<log>', 'the .mtelog file')
    .option('-o, --out <file>', 'the page to write (default: <LOG>.html)')
    .option('--quiet', 'no progress bar')
    .action((path: string, flags: { out?: string; quiet?: boolean }) => {
      if (isNatsUrl(path)) throw new CliError('MTEPERM_CLI_ARG', `${path}: view reads a .mtelog file (copy the run first: mteperm export ${path} run.mtelog)`);
      const out = flags.out ?? `${path}.html`;
      // Checked before the work, written atomically after it: a device, FIFO or folder is never touched.
      checkOutputPath(out, { label: '-o', cwd: io.cwd });
      // The state at the end (leaves, memslots, hash check) is the rebuild replay's; the timeline is a second pass.
      const report = rebuildWithProgress(path, io, flags.quiet === true);
      const size = statSync(resolve(io.cwd, path)).size;
      const progress = progressOn(io.stderr, 'page', flags.quiet !== true);
      const columns = new PageColumns();
      const reader = openLogReader(resolve(io.cwd, path));
      try {
        for (const e of reader.envelopes()) {
          columns.add(e);
          if ((columns.count & 0xfff) === 0) progress.update(columns.count, Math.max(columns.count, Math.round(size / 24)));
        }
      } finally {
        reader.close();
        progress.stop();
      }
      const vms = [...report.model.uapi.state.vms.entries()].sort(([a], [b]) => a - b);
      const last = vms.at(-1);
      const vm = last?.[0] ?? 0;
      const memslots = [...(last?.[1].memslots.values() ?? [])].sort((a, b) => (a.guest_phys_addr < b.guest_phys_addr ? -1 : 1));
      const damage = damageJson(report.damage) as { offset: number; code: string; reason: string } | null;
      const blob = columns.finish({
        log: path,
        scenario: report.runStarted?.scenario ?? null,
        kernel: report.header.profile,
        producer: report.header.producer,
        format_version: report.header.formatVersion,
        schema_version: report.header.schemaVersion,
        policies: report.runStarted?.policies ?? [],
        state: { recorded_sha256: report.recordedSha256 ?? null, rebuilt_sha256: report.rebuiltSha256, matches: report.matches ?? null },
        damage,
        memslots: memslots.map((m) => ({ slot: m.slot, guest_phys_addr: hex(m.guest_phys_addr), memory_size: hex(m.memory_size), backing: m.vma.backing, mte_allowed: m.vma.mte_allowed })),
        stage2: stage2Leaves(report.model, vm),
        shadow_stage2: shadowStage2Leaves(report.model, vm),
      });
      const title = `${report.runStarted?.scenario ?? path} (kernel ${report.header.profile})`;
      writeOutputFile(out, renderViewHtml(title, blob.toString('base64'), pageScript()), { label: '-o', cwd: io.cwd });
      io.stdout.write(`${out}: ${columns.count} events, ${(blob.length / 1e6).toFixed(1)} MB of data; open it in a browser\n`);
      // A damaged log still gets its page (what could be read), then the one line and exit 2 of CONTRACT §2.
      reportLogProblems(report, path, io);
    });
}
