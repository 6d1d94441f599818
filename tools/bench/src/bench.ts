import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { busGroup, eventsGroup, logGroup, protobufGroup } from './figures';
import type { FigureGroup } from './figures';
import { median, nowNs } from './stats';

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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { machine: { cpus: os.cpus().length, node: process.version, quick: options.quick }, figures };
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
    const ratio = ref === undefined ? '' : `${(f.value / ref.value).toFixed(2)}x ${f.reference}`;
    return [name, f.value.toLocaleString('en-US'), f.unit, ratio];
  });
  const head = ['figure', 'value', 'unit', 'vs reference'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  const m = doc.machine;
  return [`mteperm bench (${m.quick ? 'quick' : 'full'}; ${m.cpus} cpus, node ${m.node})`, line(head), ...rows.map(line)].join('\n');
}
