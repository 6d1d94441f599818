import { createContext, Script } from 'node:vm';
import { isPolicyDecisionKind } from '../decisions';
import type { FaultPolicy, FaultPolicyContext, PluginFailureReason, TagAccessFault } from '../types';
import { restoreBuiltins, snapshotBuiltins } from './builtins-guard';
import { classify } from './classify';
import type { PolicyCallResult } from './classify';
import { guarded } from './process-guard';
import type { GuardRecord } from './process-guard';

/** Per-call time budget of a plugin's `decide`, in milliseconds. */
export const DEFAULT_POLICY_BUDGET_MS = 100;

/** Time budget of loading one plugin (its module's top level, its dependencies), in milliseconds. */
export const DEFAULT_LOAD_BUDGET_MS = 2000;

// Built-in policies are ours and return at once; the watchdog would cost them 50 µs per fault.
const trusted = new WeakSet<FaultPolicy>();

/**
 * Exempts `policy` from the time budget. For the runtime's built-in policies only: the budget
 * guards against buggy plugins, it is not a security boundary (plugins run in-process).
 */
export function trustPolicy(policy: FaultPolicy): FaultPolicy {
  trusted.add(policy);
  return policy;
}

// Policies that run elsewhere (`--sandbox`) and answer a whole call, limits included, themselves.
const remote = new WeakMap<FaultPolicy, (fault: TagAccessFault, ctx: FaultPolicyContext, budgetMs: number) => PolicyCallResult>();

/** Marks `policy` as answered by `call` (the sandbox's proxy); not part of the public surface. */
export function answeredBy(policy: FaultPolicy, call: (fault: TagAccessFault, ctx: FaultPolicyContext, budgetMs: number) => PolicyCallResult): FaultPolicy {
  remote.set(policy, call);
  return policy;
}

/**
 * Calls `policy.decide(fault, ctx)` and classifies the answer. Everything the plugin's code can run
 * — the call, reading `kind` (a getter or a Proxy), formatting what it threw — happens inside the
 * budget. `budgetMs <= 0` or not finite calls without a watchdog (trusted plugins, benchmarks): the
 * watchdog costs about 50 µs per call on this machine.
 */
export function callPolicy(policy: FaultPolicy, fault: TagAccessFault, ctx: FaultPolicyContext, budgetMs: number = DEFAULT_POLICY_BUDGET_MS): PolicyCallResult {
  if (trusted.has(policy)) return classify(policy, fault, ctx, isPolicyDecisionKind);
  const elsewhere = remote.get(policy);
  if (elsewhere !== undefined) return elsewhere(fault, ctx, budgetMs);
  const r = runUntrusted(() => classify(policy, fault, ctx, isPolicyDecisionKind), budgetMs, 'decide()', 'did not return');
  return r.ok ? r.value : r;
}

/** The outcome of running plugin code: its value, or why the plugin is skipped. */
export type UntrustedResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: PluginFailureReason; readonly message: string };

/**
 * Runs plugin code `fn` under every in-process guard: the watchdog (`budgetMs`), the built-ins
 * snapshot, and the process guard (exit, abort and kill refused, stdout to stderr). `what` names
 * the code in messages (`decide()`, `loading`). `fn` must catch the plugin's own errors.
 */
export function runUntrusted<T>(fn: () => T, budgetMs: number, what: string, late = 'did not finish'): UntrustedResult<T> {
  let value: T | undefined;
  const run = (): void => {
    value = fn();
  };
  const record: GuardRecord = { exited: undefined };
  const before = snapshotBuiltins();
  let answer: UntrustedResult<T> | undefined;
  try {
    guarded(record, () => {
      answer = budgetMs > 0 && Number.isFinite(budgetMs) ? callWithBudget(run, budgetMs, what, late) : (run(), undefined);
    });
  } finally {
    const { changed, stuck } = restoreBuiltins(before);
    if (changed.length > 0) {
      const undone = stuck.length === 0 ? 'the changes were undone' : `could not undo ${stuck.join(', ')}`;
      answer = { ok: false, reason: 'tampered', message: `${what} changed shared built-ins (${changed.join(', ')}); ${undone}` };
    }
  }
  // An exit attempt wins: the plugin may have caught the refusal and answered as if nothing happened.
  if (record.exited !== undefined) return { ok: false, reason: 'exited', message: `${what} called ${record.exited}(), which is refused to plugins` };
  return answer ?? { ok: true, value: value as T };
}

// A synchronous call cannot be pre-empted by a timer; node:vm's `timeout` runs a watchdog that
// terminates whatever JavaScript runs inside runInContext, including functions of other realms it
// calls. One context and one compiled script serve every call; `slot.run` is set per call.
const slot: { run: (() => void) | undefined } = { run: undefined };
const guardContext = createContext({ slot });
const guard = new Script('slot.run()', { filename: 'mteperm:policy-guard' });

/** Runs `run` under the watchdog; a timeout result if it overran, else undefined. */
function callWithBudget(run: () => void, budgetMs: number, what: string, late: string): UntrustedResult<never> | undefined {
  const outer = slot.run;
  slot.run = run;
  try {
    guard.runInContext(guardContext, { timeout: Math.max(1, Math.ceil(budgetMs)) });
    return undefined;
  } catch (e) {
    // Only the watchdog throws out of `run` (the callers catch the plugin's own errors).
    if ((e as { code?: unknown } | null)?.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    return { ok: false, reason: 'timeout', message: `${what} ${late} within ${budgetMs} ms` };
  } finally {
    slot.run = outer;
  }
}
