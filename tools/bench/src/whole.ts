import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { Envelope } from '@mteperm/events';
import { openLogWriter } from '@mteperm/log';
import { rebuildFromLog, runScenario } from '@mteperm/runtime';
import type { RunOptions, Scenario } from '@mteperm/runtime';
import { nestedScenario, pipelineScenario, revisitScenario } from './scenarios';
import { nowNs } from './stats';

/** One run of a generated scenario through the whole pipeline. */
export interface PipelineRun {
  readonly accesses: number;
  /** Guest faults handled: Stage2FaultTaken events (pipeline) or shadow stage-2 faults (nested). */
  readonly faults: number;
  /** Every event the run published (the log's length). */
  readonly events: number;
  /** From the first access's AccessRequested to the last access's last event: set-up, the final state hash and the result document are left out. */
  readonly seconds: number;
}

function timedRun(scenario: Scenario, first: number, last: number, faultType: Envelope['type'], logPath: string | undefined, run: Pick<RunOptions, 'sandbox' | 'policyCwd'> = {}): PipelineRun {
  const writer = logPath === undefined ? undefined : openLogWriter(logPath, { profile: scenario.kernel, producer: 'mteperm-bench', fsync: false });
  let events = 0;
  let faults = 0;
  let t0 = 0;
  let t1 = 0;
  let inLast = false;
  const sink = (bytes: Uint8Array, e: Envelope): void => {
    writer?.append(bytes);
    events++;
    if (e.type === faultType) faults++;
    if (inLast) {
      if (e.type !== 'StateHashRecorded') t1 = nowNs();
    } else if (e.type === 'AccessRequested') {
      if (e.data.step === first && t0 === 0) t0 = nowNs();
      if (e.data.step === last) inLast = true;
    }
  };
  try {
    runScenario(scenario, { ...run, sink });
  } catch (e) {
    writer?.abort();
    throw e;
  }
  writer?.close();
  return { accesses: last - first + 1, faults, events, seconds: Math.max(t1 - t0, 1) / 1e9 };
}

/** Runs `accesses` faulting accesses (pipelineScenario) with every event appended to a log at `logPath` (none: no log). */
export function runPipeline(accesses: number, logPath?: string): PipelineRun {
  const { scenario, firstAccess, lastAccess } = pipelineScenario(accesses);
  return timedRun(scenario, firstAccess, lastAccess, 'Stage2FaultTaken', logPath);
}

/**
 * runPipeline with one untrusted policy file (`policyFile`, answering exit-to-vmm, so the events
 * are those of runPipeline) ahead of the chain: in process under the watchdog, or `sandbox`ed in a
 * process of its own (a synchronous round trip per tag-access fault).
 */
export function runPolicyPipeline(accesses: number, policyFile: string, sandbox: boolean, logPath?: string): PipelineRun {
  const { scenario, firstAccess, lastAccess } = pipelineScenario(accesses);
  const withPolicy: Scenario = { ...scenario, policy: [path.resolve(policyFile)] };
  return timedRun(withPolicy, firstAccess, lastAccess, 'Stage2FaultTaken', logPath, { sandbox });
}

/** Runs `accesses` accesses over a fixed set of pages (revisitScenario), logged like runPipeline. */
export function runRevisit(accesses: number, logPath?: string): PipelineRun {
  const { scenario, firstAccess, lastAccess } = revisitScenario(accesses);
  return timedRun(scenario, firstAccess, lastAccess, 'Stage2FaultTaken', logPath);
}

/** Runs `accesses` level-2 accesses, each a shadow stage-2 fault (nestedScenario), logged like runPipeline. */
export function runNested(accesses: number, logPath?: string): PipelineRun {
  const { scenario, firstAccess, lastAccess } = nestedScenario(accesses);
  return timedRun(scenario, firstAccess, lastAccess, 'ShadowStage2Mapped', logPath);
}

/** One replay (rebuild) of a log. */
export interface ReplayRun {
  readonly events: number;
  readonly seconds: number;
  /** Peak resident set of the process that replayed (meaningful in a process of its own). */
  readonly peakRssMb: number;
  readonly matches: boolean | undefined;
}

export function replayLog(logPath: string): ReplayRun {
  const t = nowNs();
  const r = rebuildFromLog(logPath);
  const seconds = (nowNs() - t) / 1e9;
  if (r.damage !== undefined) throw new Error(`bench replay: log damaged: ${r.damage.message}`);
  return { events: r.events, seconds, peakRssMb: peakRssMb(), matches: r.matches };
}

/** Peak resident set size of this process so far, in MiB (VmHWM). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Runs one measurement in a fresh Node process (dist/child.js), so that peak RSS and garbage from
 * one run do not mix with the next. Only works from the built bench (dist).
 */
export function inChild<T>(args: readonly string[]): T {
  const script = path.join(__dirname, 'child.js');
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench child ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
