import { createContext, Script } from 'node:vm';
import { isPolicyDecisionKind } from '@mteperm/plugin-api';
import type { FaultPolicy, FaultPolicyContext, PluginFailureReason, PolicyDecisionKind, TagAccessFault } from '@mteperm/plugin-api';

/** Per-call time budget of a plugin's `decide`, in milliseconds. */
export const DEFAULT_POLICY_BUDGET_MS = 100;

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

/** What one `decide` call came to: a decision kind, or why the plugin is skipped. */
export type PolicyCallResult =
  | { readonly ok: true; readonly kind: PolicyDecisionKind }
  | { readonly ok: false; readonly reason: PluginFailureReason; readonly message: string };

// A synchronous decide cannot be pre-empted by a timer; node:vm's `timeout` runs a watchdog that
// terminates whatever JavaScript runs inside runInContext, including functions of other realms it
// calls. One context and one compiled script serve every call; `slot.run` is set per call.
const slot: { run: (() => void) | undefined } = { run: undefined };
const guardContext = createContext({ slot });
const guard = new Script('slot.run()', { filename: 'mteperm:policy-guard' });

/**
 * Calls `policy.decide(fault, ctx)` and classifies the answer. Everything the plugin's code can run
 * — the call, reading `kind` (a getter or a Proxy), formatting what it threw — happens inside the
 * budget. `budgetMs <= 0` or not finite calls without a watchdog (trusted plugins, benchmarks): the
 * watchdog costs about 50 µs per call on this machine.
 */
export function callPolicy(policy: FaultPolicy, fault: TagAccessFault, ctx: FaultPolicyContext, budgetMs: number = DEFAULT_POLICY_BUDGET_MS): PolicyCallResult {
  let result: PolicyCallResult | undefined;
  const run = (): void => {
    result = classify(policy, fault, ctx);
  };
  if (!(budgetMs > 0) || !Number.isFinite(budgetMs) || trusted.has(policy)) {
    run();
    return result!;
  }
  const outer = slot.run;
  slot.run = run;
  try {
    guard.runInContext(guardContext, { timeout: Math.max(1, Math.ceil(budgetMs)) });
  } catch (e) {
    // Only the watchdog throws out of `run` (classify catches the plugin's own errors).
    if ((e as { code?: unknown } | null)?.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    return { ok: false, reason: 'timeout', message: `decide() did not return within ${budgetMs} ms` };
  } finally {
    slot.run = outer;
  }
  return result!;
}

function classify(policy: FaultPolicy, fault: TagAccessFault, ctx: FaultPolicyContext): PolicyCallResult {
  let d: unknown;
  try {
    d = policy.decide(fault, ctx);
    const kind = d !== null && typeof d === 'object' ? (d as { kind?: unknown }).kind : undefined;
    if (isPolicyDecisionKind(kind)) return { ok: true, kind };
  } catch (e) {
    return { ok: false, reason: 'threw', message: errorText(e) };
  }
  return { ok: false, reason: 'invalid-decision', message: `decide() returned ${describe(d)}` };
}

// Duck-typed: a plugin loaded by another realm (node:vm, Jest) throws Errors of that realm.
function errorText(e: unknown): string {
  try {
    const { name, message } = (e ?? {}) as { name?: unknown; message?: unknown };
    return typeof name === 'string' && typeof message === 'string' ? `${name}: ${message}` : String(e);
  } catch {
    return 'a value that cannot be printed';
  }
}

function describe(v: unknown): string {
  try {
    return typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
  } catch {
    return Object.prototype.toString.call(v);
  }
}
