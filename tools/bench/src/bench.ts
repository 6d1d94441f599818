import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { busGroup, eventsGroup, logGroup, protobufGroup } from './figures';
import type { FigureGroup } from './figures';
import { pgtableFigures } from './pgtable';
import { median, nowNs } from './stats';
import { inChild, replayLog, runNested, runPipeline, runPolicyPipeline, runRevisit } from './whole';
import type { PipelineRun, ReplayRun } from './whole';

/** The bench document, CONTRACT §4. */
export interface BenchDocument {
  readonly machine: { readonly cpus: number; readonly node: string; readonly quick: boolean };
  readonly figures: Record<string, { readonly value: number; readonly unit: string; readonly reference?: string }>;
}

export interface BenchOptions {
  readonly quick: boolean;
  /** Runs per figure; the median is reported. Default 5 quick, 9 full. */
  readonly runs?: number;
  /** Aimed duration of one run of a group, in ms. Default 100 quick, 500 full. */
  readonly targetMs?: number;
  /** Operations per run, skipping calibration (tests use tiny counts). */
  readonly ops?: number;
  /**
   * Sizes of the whole-pipeline figures (accesses per run). Defaults: full 1 M pipeline accesses
   * (a log of ≥ 5 M events at 5.875 events per access), a 200 k-access log of ≥ 1 M events, 200 k
   * nested accesses; quick 40 k / 8 k / 10 k.
   */
  readonly pipelineAccesses?: number;
  readonly smallLogAccesses?: number;
  readonly nestedAccesses?: number;
  /** Accesses of each untrusted / sandboxed policy run (full 40 k, quick 4 k: one in eight reaches the policy). */
  readonly sandboxedAccesses?: number;
  /** Accesses of the two same-state logs (revisitScenario): full 310 k / 1.55 M (≈ 1 M / 5 M events at 3.25 per revisit), quick 14 k / 70 k. */
  readonly sameStateAccesses?: readonly [number, number];
  /** Runs of each whole-pipeline figure (default 3): each is a scenario of its own. */
  readonly pipelineRuns?: number;
  /** Measure pipeline, nested and replay in this process instead of one child process per run (tests: no dist needed). */
  readonly inProcess?: boolean;
  /** Progress lines (stderr). */
  readonly log?: (line: string) => void;
}

/** Runs every figure group and returns the document. Temp files are removed before returning. */
export function runBench(options: BenchOptions): BenchDocument {
  const runs = options.runs ?? (options.quick ? 5 : 9);
  const targetMs = options.targetMs ?? (options.quick ? 100 : 500);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mteperm-bench-'));
  const figures: Record<string, { value: number; unit: string; reference?: string }> = {};
  try {
    const groups = [protobufGroup(), eventsGroup(), busGroup(), logGroup(dir)];
    for (const g of groups) {
      try {
        measureGroup(g, runs, targetMs, options.ops, figures);
      } finally {
        g.dispose?.();
      }
    }
    Object.assign(figures, pgtableFigures({ quick: options.quick, runs, ops: options.ops }));
    Object.assign(figures, wholePipeline(options, dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { machine: { cpus: os.cpus().length, node: process.version, quick: options.quick }, figures };
}

/**
 * The whole-pipeline figures: faults/s through bus, codec, log, pgtable, mmu (and uapi and the
 * runtime's per-step result); replay (rebuild) of the logs those runs wrote; nested faults/s. Each
 * run is a process of its own unless `inProcess`.
 */
function wholePipeline(options: BenchOptions, dir: string): BenchDocument['figures'] {
  const q = options.quick;
  const n = options.pipelineAccesses ?? (q ? 40_000 : 1_000_000);
  const small = options.smallLogAccesses ?? (q ? 8_000 : 200_000);
  const nested = options.nestedAccesses ?? (q ? 10_000 : 200_000);
  const runs = options.pipelineRuns ?? 3;
  const say = options.log ?? (() => {});
  const pipeline = (what: 'pipeline' | 'nested' | 'revisit', accesses: number, log?: string): PipelineRun => {
    if (options.inProcess === true) return (what === 'pipeline' ? runPipeline : what === 'nested' ? runNested : runRevisit)(accesses, log);
    return inChild<PipelineRun>([what, String(accesses), ...(log === undefined ? [] : [log])]);
  };
  const replay = (log: string): ReplayRun => (options.inProcess === true ? replayLog(log) : inChild<ReplayRun>(['replay', log]));

  const bigLog = path.join(dir, 'pipeline.mtelog');
  const smallLog = path.join(dir, 'pipeline-small.mtelog');
  const p: PipelineRun[] = [];
  // Every run logs (the log is part of the pipeline); the first run's log is kept for replay.
  const scratchLog = path.join(dir, 'pipeline-scratch.mtelog');
  for (let r = 0; r < runs; r++) {
    p.push(pipeline('pipeline', n, r === 0 ? bigLog : scratchLog));
    say(`pipeline run ${r + 1}/${runs}: ${p[r]!.faults} faults, ${p[r]!.events} events in ${p[r]!.seconds.toFixed(2)} s`);
  }
  p.push(pipeline('pipeline', small, smallLog));
  const rBig: ReplayRun[] = [];
  const rSmall: ReplayRun[] = [];
  for (let r = 0; r < runs; r++) {
    rBig.push(replay(bigLog));
    rSmall.push(replay(smallLog));
    say(`replay run ${r + 1}/${runs}: ${rBig[r]!.events} events in ${rBig[r]!.seconds.toFixed(2)} s, peak ${rBig[r]!.peakRssMb.toFixed(0)} MiB; ${rSmall[r]!.events} events, peak ${rSmall[r]!.peakRssMb.toFixed(0)} MiB`);
    if (rBig[r]!.matches !== true || rSmall[r]!.matches !== true) throw new Error('bench replay: rebuilt state does not match the recorded state hash');
  }
  // The same final state (8192 pages) under logs of ≈ 1 M and ≈ 5 M events (3.25 events per revisit:
  // each access ends with its AccessEnded since schema 2).
  const [flatSmall, flatBig] = options.sameStateAccesses ?? (q ? [14_000, 70_000] : [310_000, 1_550_000]);
  const flatLogs = [path.join(dir, 'revisit-small.mtelog'), path.join(dir, 'revisit-big.mtelog')] as const;
  pipeline('revisit', flatSmall, flatLogs[0]);
  pipeline('revisit', flatBig, flatLogs[1]);
  const rFlat: [ReplayRun[], ReplayRun[]] = [[], []];
  for (let r = 0; r < runs; r++) {
    for (const i of [0, 1] as const) {
      const rr = replay(flatLogs[i]);
      if (rr.matches !== true) throw new Error('bench replay: rebuilt state does not match the recorded state hash');
      rFlat[i].push(rr);
    }
    say(`replay (same state) run ${r + 1}/${runs}: ${rFlat[0][r]!.events} events, peak ${rFlat[0][r]!.peakRssMb.toFixed(0)} MiB; ${rFlat[1][r]!.events} events, peak ${rFlat[1][r]!.peakRssMb.toFixed(0)} MiB`);
  }
  const nr: PipelineRun[] = [];
  for (let r = 0; r < runs; r++) {
    nr.push(pipeline('nested', nested));
    say(`nested run ${r + 1}/${runs}: ${nr[r]!.faults} shadow faults in ${nr[r]!.seconds.toFixed(2)} s`);
  }
  // The cost of --sandbox: the same faults with one untrusted policy file in process, then sandboxed.
  const policyFile = path.join(dir, 'bench-exit-policy.cjs');
  fs.writeFileSync(policyFile, "module.exports = { name: 'bench-exit', version: '1.0.0', decide: () => ({ kind: 'exit-to-vmm' }) };\n");
  const boxedAccesses = options.sandboxedAccesses ?? (q ? 4_000 : 40_000);
  const policyRun = (what: 'untrusted' | 'sandboxed'): PipelineRun =>
    options.inProcess === true ? runPolicyPipeline(boxedAccesses, policyFile, what === 'sandboxed') : inChild<PipelineRun>([what, String(boxedAccesses), policyFile]);
  const ut: PipelineRun[] = [];
  const sb: PipelineRun[] = [];
  for (let r = 0; r < runs; r++) {
    ut.push(policyRun('untrusted'));
    sb.push(policyRun('sandboxed'));
    say(`policy run ${r + 1}/${runs}: ${ut[r]!.faults} faults in ${ut[r]!.seconds.toFixed(2)} s in process, ${sb[r]!.seconds.toFixed(2)} s sandboxed`);
  }
  const main = p.slice(0, runs);
  return {
    // The same work without --sandbox: the untrusted policy in process, under the watchdog.
    'ref.untrusted_policy_faults_per_s': { value: Math.round(median(ut.map((x) => x.faults / x.seconds))), unit: 'faults/s' },
    'pipeline.sandboxed_faults_per_s': { value: Math.round(median(sb.map((x) => x.faults / x.seconds))), unit: 'faults/s', reference: 'ref.untrusted_policy_faults_per_s' },
    'pipeline.faults_per_s': { value: Math.round(median(main.map((x) => x.faults / x.seconds))), unit: 'faults/s', reference: 'ref.protobuf_encode_decode_per_s' },
    'pipeline.events_per_s': { value: Math.round(median(main.map((x) => x.events / x.seconds))), unit: 'events/s', reference: 'ref.protobuf_encode_decode_per_s' },
    'pipeline.events_per_fault': { value: round2(median(main.map((x) => x.events / x.faults))), unit: 'events/fault' },
    'pipeline.accesses': { value: n, unit: 'accesses' },
    'replay.events_per_s': { value: Math.round(median(rBig.map((x) => x.events / x.seconds))), unit: 'events/s', reference: 'ref.protobuf_decode_per_s' },
    'replay.log_events': { value: rBig[0]!.events, unit: 'events' },
    'replay.peak_rss_mb_1m': { value: Math.round(median(rSmall.map((x) => x.peakRssMb))), unit: 'MiB' },
    'replay.peak_rss_mb_5m': { value: Math.round(median(rBig.map((x) => x.peakRssMb))), unit: 'MiB' },
    'replay.small_log_events': { value: rSmall[0]!.events, unit: 'events' },
    'replay.same_state_peak_rss_mb_1m': { value: Math.round(median(rFlat[0].map((x) => x.peakRssMb))), unit: 'MiB' },
    'replay.same_state_peak_rss_mb_5m': { value: Math.round(median(rFlat[1].map((x) => x.peakRssMb))), unit: 'MiB' },
    'replay.same_state_log_events_1m': { value: rFlat[0][0]!.events, unit: 'events' },
    'replay.same_state_log_events_5m': { value: rFlat[1][0]!.events, unit: 'events' },
    'nested.faults_per_s': { value: Math.round(median(nr.map((x) => x.faults / x.seconds))), unit: 'faults/s', reference: 'ref.protobuf_encode_decode_per_s' },
  };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function measureGroup(g: FigureGroup, runs: number, targetMs: number, fixedOps: number | undefined, out: BenchDocument['figures']): void {
  let n = fixedOps ?? calibrate(g, targetMs);
  if (g.maxOps !== undefined) n = Math.min(n, g.maxOps);
  const rates = new Map<string, number[]>(g.figures.map((f) => [f.name, []]));
  for (let r = 0; r < runs; r++) {
    const ns = g.run(n);
    for (const f of g.figures) rates.get(f.name)!.push(n / (Math.max(ns[f.name]!, 1) / 1e9));
  }
  for (const f of g.figures) {
    out[f.name] = { value: Math.round(median(rates.get(f.name)!)), unit: f.unit, ...(f.reference === undefined ? {} : { reference: f.reference }) };
  }
}

// Warms the group up and picks the op count that makes one run last about targetMs.
function calibrate(g: FigureGroup, targetMs: number): number {
  let n = 1000;
  for (;;) {
    const t = nowNs();
    g.run(n);
    const ms = (nowNs() - t) / 1e6;
    if (ms >= targetMs / 4 || (g.maxOps !== undefined && n >= g.maxOps)) {
      return Math.max(1000, Math.round((n * targetMs) / Math.max(ms, 0.001)));
    }
    n *= 4;
  }
}

/** The human-readable table (stderr): value, unit, and the ratio to the reference. */
export function formatTable(doc: BenchDocument): string {
  const rows = Object.entries(doc.figures).map(([name, f]) => {
    const ref = f.reference === undefined ? undefined : doc.figures[f.reference];
    const ratio = ref === undefined ? '' : `${(f.value / ref.value).toFixed(f.value / ref.value < 0.1 ? 3 : 2)}x ${f.reference}`;
    return [name, f.value.toLocaleString('en-US'), f.unit, ratio];
  });
  const head = ['figure', 'value', 'unit', 'vs reference'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  const m = doc.machine;
  return [`mteperm bench (${m.quick ? 'quick' : 'full'}; ${m.cpus} cpus, node ${m.node})`, line(head), ...rows.map(line)].join('\n');
}
