import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { formatResult, loadScenarioFile, recordScenario, recordScenarioToLog, runLogHeader } from '@mteperm/runtime';
import { KERNEL_PROFILES } from '@mteperm/events';
import { checkOutputPath, writeOutputFile } from '@mteperm/log';
import type { KernelProfile, Scenario } from '@mteperm/runtime';
import { resolveScenarioArg } from '../builtin';
import { CliError, EXIT_EXPECT_FAILED } from '../errors';
import { unmetExpectations } from '../expect';
import type { CliIo } from '../io';
import { isNatsUrl, withStore } from '../nats';
import { progressOn } from '../progress';
import { formatRunReport } from '../report';
import type { RegionInfo } from '../report';
import { renderSvgMap } from '../svg';


interface RunFlags {
  json?: boolean;
  log?: string;
  policy?: string[];
  kernel?: KernelProfile;
  svg?: string;
  tagPoolPages?: string;
  sandbox?: boolean;
}

function parsePool(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 0xffff_ffff) throw new CliError('MTEPERM_CLI_ARG', `--tag-pool-pages: '${text}' is not a page count (0..4294967295)`);
  return Number(text);
}

/** `mteperm run FILE`: runs a scenario, records its log, prints the result (CONTRACT §2–3). */
export function runCommand(io: CliIo): Command {
  return new Command('run')
    .description('run a scenario (a .yaml/.json file or builtin:NAME) and record its event log')
    .argument('<file>', 'scenario file, or builtin:NAME')
    .option('--json', 'print the JSON result (CONTRACT §3) on stdout')
    .option('--log <out>', 'where to record the event log (default: <name>.mtelog in the working folder), or nats://HOST:PORT[/<run-id>] for JetStream')
    .option('--policy <name...>', 'fault-policy plugins in order: built-in names, npm packages or file paths')
    .addOption(new Option('--kernel <profile>', 'kernel profile (DOMAIN A.1)').choices(KERNEL_PROFILES))
    .option('--svg <file>', 'also draw a map of the guest physical address space')
    .option('--tag-pool-pages <n>', "pages in tag-alloc-retry's tag-storage pool (overrides policy_options)")
    .option('--sandbox', 'run file and package policies in separate processes under Node\'s permission model (README "Plugin isolation")')
    .action(async (file: string, flags: RunFlags) => {
      // The clock starts before parsing: a long run is long from the user's point of view.
      const progress = progressOn(io.stderr, 'steps', flags.json !== true);
      const scenarioFile = resolveScenarioArg(file);
      const loaded = loadScenarioFile(scenarioFile, { cwd: io.cwd });
      const scenario: Scenario =
        flags.tagPoolPages === undefined ? loaded : { ...loaded, policy_options: { ...loaded.policy_options, tag_pool_pages: parsePool(flags.tagPoolPages) } };
      const logName = flags.log ?? `${scenario.name}.mtelog`;
      const toNats = flags.log !== undefined && isNatsUrl(flags.log);
      // Every output is checked before the run, so a refused path costs no work and changes nothing.
      if (!toNats) checkOutputPath(logName, { label: '--log', cwd: io.cwd });
      if (flags.svg !== undefined) checkOutputPath(flags.svg, { label: '--svg', cwd: io.cwd });
      const logPath = resolve(io.cwd, logName);
      const runOptions = {
        ...(flags.kernel === undefined ? {} : { kernel: flags.kernel }),
        ...(flags.policy === undefined ? {} : { policyNames: flags.policy }),
        // Paths given on the command line are the user's, from the working folder; the scenario's
        // own `policy` entries are the file's, from its folder (README "Where the contract is silent").
        policyCwd: flags.policy === undefined ? dirname(resolve(io.cwd, scenarioFile)) : io.cwd,
        ...(flags.sandbox === true ? { sandbox: true } : {}),
        onStep: (done: number, total: number) => progress.update(done, total),
      };
      let recorded;
      let runId: string | undefined;
      try {
        if (toNats && flags.log !== undefined) {
          // JetStream (README extensions): the run id is in the log location and in `log.run_id`.
          const url = flags.log;
          recorded = await withStore(url, async (store, loc) => {
            const log = await store.create(runLogHeader(scenario, runOptions), loc.runId === undefined ? {} : { runId: loc.runId });
            runId = log.runId;
            return recordScenarioToLog(scenario, log, runOptions);
          });
        } else {
          recorded = recordScenario(scenario, logPath, runOptions);
        }
      } finally {
        progress.stop();
      }
      const result =
        runId === undefined
          ? { ...recorded.result, log: { ...recorded.result.log, path: flags.log ?? `${scenario.name}.mtelog` } }
          : { ...recorded.result, log: { ...recorded.result.log, run_id: runId } };
      const vms = [...recorded.outcome.model.uapi.state.vms.values()];
      const regions: RegionInfo[] = [...(vms.at(-1)?.memslots.values() ?? [])].map((m) => ({ slot: m.slot, base: m.guest_phys_addr, size: m.memory_size, backing: m.vma.backing }));
      if (flags.svg !== undefined) writeOutputFile(flags.svg, renderSvgMap(result, regions), { label: '--svg', cwd: io.cwd });
      const cpus = recorded.outcome.model.uapi.state.host === undefined ? 0 : scenario.host.cpus.reduce((n, c) => n + c.count, 0);
      io.stdout.write(flags.json === true ? formatResult(result) : formatRunReport(result, regions, cpus));
      if (runId !== undefined && flags.json !== true) io.stdout.write(`run id: ${runId}\n`);
      // A scenario's `expect` is written for its own kernel: under another one it is not checked.
      if (flags.kernel !== undefined && flags.kernel !== scenario.kernel && scenario.expect.length > 0) {
        io.stderr.write(`mteperm: ${scenario.name}: expect not checked: it is written for kernel ${scenario.kernel}, this run is --kernel ${flags.kernel}\n`);
        return;
      }
      const unmet = unmetExpectations(result, scenario.expect);
      if (unmet.length > 0) {
        for (const line of unmet) io.stderr.write(`mteperm: ${scenario.name}: ${line}\n`);
        io.exitCode = EXIT_EXPECT_FAILED;
      }
    });
}
