import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { recordScenario } from '@mteperm/runtime';
import type { ContractResult, KernelProfile, Scenario, StepResult } from '@mteperm/runtime';

/** One step whose entry is not the same under every compared kernel (CONTRACT §3.1). */
export interface StepDifference {
  readonly index: number;
  readonly op: string;
  /** Each kernel's entry without `index`, in the order of `kernels`. */
  readonly by_kernel: Readonly<Record<string, Omit<StepResult, 'index'>>>;
}

/** A run's CONTRACT §3 result; `log.path` is null when the log was only recorded to be hashed. */
export type ComparedResult = Omit<ContractResult, 'log'> & { readonly log: { readonly path: string | null; readonly events: number; readonly sha256: string } };

/** The `compare --json` document (CONTRACT §3.1); key order is the order printed. */
export interface Comparison {
  readonly scenario: string;
  readonly kernels: readonly KernelProfile[];
  readonly results: Readonly<Record<string, ComparedResult>>;
  readonly differences: readonly StepDifference[];
}

export interface CompareOptions {
  readonly kernels: readonly KernelProfile[];
  readonly policyNames?: readonly string[];
  readonly policyCwd: string;
  /** Keep each kernel's log as `<dir>/<name>.<kernel>.mtelog` (our extension); otherwise logs go to a temporary folder. */
  readonly logDir?: string;
  readonly onStep?: (done: number, total: number) => void;
}

/** Order-sensitive canonical text: results are built in one fixed key order, so equal entries print equally. */
function canonical(v: unknown): string {
  return JSON.stringify(v);
}

function withoutIndex(step: StepResult): Omit<StepResult, 'index'> {
  const { index: _index, ...rest } = step;
  return rest;
}

/**
 * The steps that differ, in step order. Every kernel runs the same steps, so step i of one result
 * is step i of the others; a step is different when any kernel's entry (without `index`) differs.
 */
export function stepDifferences(kernels: readonly KernelProfile[], results: Readonly<Record<string, ComparedResult>>): StepDifference[] {
  const first = results[kernels[0] as string];
  if (first === undefined) return [];
  const out: StepDifference[] = [];
  for (let i = 0; i < first.steps.length; i++) {
    const entries = kernels.map((k) => withoutIndex((results[k] as ComparedResult).steps[i] as StepResult));
    const texts = entries.map(canonical);
    if (texts.every((t) => t === texts[0])) continue;
    const by_kernel: Record<string, Omit<StepResult, 'index'>> = {};
    kernels.forEach((k, j) => (by_kernel[k] = entries[j] as Omit<StepResult, 'index'>));
    out.push({ index: (first.steps[i] as StepResult).index, op: (first.steps[i] as StepResult).op, by_kernel });
  }
  return out;
}

/**
 * Runs one scenario under each kernel profile in this process, each on a fresh model, and lists
 * where the step results differ. Each run records its log exactly as `run --kernel K` would (same
 * bytes, same sha256), so a difference can be followed with `view`/`inspect` of that log.
 */
export function compareScenario(scenario: Scenario, options: CompareOptions): Comparison {
  const tmp = options.logDir === undefined ? mkdtempSync(join(tmpdir(), 'mteperm-compare-')) : undefined;
  const results: Record<string, ComparedResult> = {};
  const total = scenario.steps.length * options.kernels.length;
  try {
    options.kernels.forEach((kernel, n) => {
      const file = `${scenario.name}.${kernel}.mtelog`;
      const logPath = tmp === undefined ? resolve(options.policyCwd, options.logDir as string, file) : join(tmp, file);
      const { result } = recordScenario(scenario, logPath, {
        kernel,
        ...(options.policyNames === undefined ? {} : { policyNames: options.policyNames }),
        policyCwd: options.policyCwd,
        onStep: (done) => options.onStep?.(n * scenario.steps.length + done, total),
      });
      // Without --log-dir the log was temporary: no path to give, only its digest and size.
      results[kernel] = { ...result, log: { ...result.log, path: tmp === undefined ? join(options.logDir as string, file) : null } };
    });
  } finally {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  }
  return { scenario: scenario.name, kernels: options.kernels, results, differences: stepDifferences(options.kernels, results) };
}
