import { Command, Option } from 'commander';
import { loadScenarioFile } from '@mteperm/runtime';
import { KERNEL_PROFILES } from '@mteperm/events';
import type { KernelProfile } from '@mteperm/runtime';
import { resolveScenarioArg } from '../builtin';
import { compareScenario } from '../compare/compare';
import { formatComparison } from '../compare/table';
import { unmetExpectations } from '../expect';
import type { CliIo } from '../io';
import { progressOn } from '../progress';

interface CompareFlags {
  json?: boolean;
  kernel?: KernelProfile[];
  all?: boolean;
  policy?: string[];
  logDir?: string;
  quiet?: boolean;
}

/** Colour only for a person at a terminal: never when piped or with NO_COLOR set (no-color.org). */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] === '0') return false;
  return stream.isTTY === true;
}

/** `mteperm compare FILE`: one scenario under each kernel profile, where the steps differ (CONTRACT §2, §3.1). */
export function compareCommand(io: CliIo): Command {
  return new Command('compare')
    .description('run one scenario under each kernel profile (default all four) and show where the steps differ')
    .argument('<file>', 'scenario file, or builtin:NAME')
    .option('--json', 'print the comparison as JSON (CONTRACT §3.1) on stdout')
    .addOption(new Option('--kernel <profile...>', 'kernel profiles to compare, in this order (DOMAIN A.1)').choices(KERNEL_PROFILES))
    .option('--all', 'show every step, not only those that differ')
    .option('--policy <name...>', "fault-policy plugins in order (default: the scenario's policy)")
    .option('--quiet', 'no progress bar')
    .option('--log-dir <dir>', 'keep each run\'s event log as <dir>/<name>.<kernel>.mtelog')
    .action((file: string, flags: CompareFlags) => {
      const progress = progressOn(io.stderr, 'steps', flags.json !== true && flags.quiet !== true);
      const scenario = loadScenarioFile(resolveScenarioArg(file));
      const kernels = flags.kernel === undefined ? [...KERNEL_PROFILES] : [...new Set(flags.kernel)];
      let comparison;
      try {
        comparison = compareScenario(scenario, {
          kernels,
          ...(flags.policy === undefined ? {} : { policyNames: flags.policy }),
          policyCwd: io.cwd,
          ...(flags.logDir === undefined ? {} : { logDir: flags.logDir }),
          onStep: (done, total) => progress.update(done, total),
        });
      } finally {
        progress.stop();
      }
      io.stdout.write(flags.json === true ? `${JSON.stringify(comparison, null, 2)}\n` : formatComparison(comparison, { all: flags.all === true, colour: wantsColour(io.stdout, process.env) }));
      // `expect` describes the scenario under its own kernel; the other kernels are expected to differ.
      // CONTRACT §3.1: compare exits 0 unless the input is bad, so an unmet expect is reported, not an exit 1.
      const own = comparison.results[scenario.kernel];
      if (own !== undefined) {
        const unmet = unmetExpectations(own, scenario.expect);
        if (unmet.length > 0) {
          for (const line of unmet) io.stderr.write(`mteperm: ${scenario.name} (kernel ${scenario.kernel}): ${line}\n`);
        }
      }
    });
}
