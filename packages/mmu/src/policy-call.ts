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
  if (trusted.has(policy)) {
    run();
    return result!;
  }
  // Plugins run in-process: a decide that pollutes the built-ins the model itself uses
  // (Object.prototype.kind, Array.prototype.includes, …) would steer every later decision. The
  // built-ins are compared before and after each untrusted call and restored.
  const before = snapshotBuiltins();
  let answer: PolicyCallResult;
  try {
    answer = budgetMs > 0 && Number.isFinite(budgetMs) ? callWithBudget(run, budgetMs) ?? result! : (run(), result!);
  } finally {
    const { changed, stuck } = restoreBuiltins(before);
    if (changed.length > 0) {
      const undone = stuck.length === 0 ? 'the changes were undone' : `could not undo ${stuck.join(', ')}`;
      answer = { ok: false, reason: 'tampered', message: `decide() changed shared built-ins (${changed.join(', ')}); ${undone}` };
    }
  }
  return answer;
}

/** Runs `run` under the watchdog; a timeout result if it overran, else undefined. */
function callWithBudget(run: () => void, budgetMs: number): PolicyCallResult | undefined {
  const outer = slot.run;
  slot.run = run;
  try {
    guard.runInContext(guardContext, { timeout: Math.max(1, Math.ceil(budgetMs)) });
    return undefined;
  } catch (e) {
    // Only the watchdog throws out of `run` (classify catches the plugin's own errors).
    if ((e as { code?: unknown } | null)?.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    return { ok: false, reason: 'timeout', message: `decide() did not return within ${budgetMs} ms` };
  } finally {
    slot.run = outer;
  }
}

// The realm's shared objects whose own properties the model's code reads through prototype chains.
const GUARDED: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
  ['Number.prototype', Number.prototype],
  ['BigInt.prototype', BigInt.prototype],
  ['Boolean.prototype', Boolean.prototype],
  ['Map.prototype', Map.prototype],
  ['Set.prototype', Set.prototype],
  ['Promise.prototype', Promise.prototype],
  ['Object', Object],
  ['Array', Array],
  ['JSON', JSON],
  ['Math', Math],
  ['BigInt', BigInt],
  ['Number', Number],
];

type Snapshot = ReadonlyArray<{ readonly proto: object | null; readonly extensible: boolean; readonly props: Map<PropertyKey, PropertyDescriptor> }>;

function snapshotBuiltins(): Snapshot {
  return GUARDED.map(([, o]) => {
    const props = new Map<PropertyKey, PropertyDescriptor>();
    for (const k of Reflect.ownKeys(o)) props.set(k, Reflect.getOwnPropertyDescriptor(o, k)!);
    return { proto: Reflect.getPrototypeOf(o), extensible: Reflect.isExtensible(o), props };
  });
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return Object.is(a.value, b.value) && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;
}

/**
 * Puts back every guarded property as `before` had it; returns what had changed and what could not
 * be put back (a property made non-configurable, an object made non-extensible).
 */
function restoreBuiltins(before: Snapshot): { changed: string[]; stuck: string[] } {
  const changed: string[] = [];
  const stuck: string[] = [];
  GUARDED.forEach(([name, o], i) => {
    const snap = before[i]!;
    const fix = (what: string, ok: boolean): void => {
      changed.push(what);
      if (!ok) stuck.push(what);
    };
    const label = (k: PropertyKey) => `${name}.${String(k)}`;
    for (const k of Reflect.ownKeys(o)) {
      const was = snap.props.get(k);
      const now = Reflect.getOwnPropertyDescriptor(o, k)!;
      if (was === undefined) fix(label(k), Reflect.deleteProperty(o, k));
      else if (!sameDescriptor(was, now)) fix(label(k), Reflect.defineProperty(o, k, was));
    }
    for (const [k, was] of snap.props) if (!Reflect.getOwnPropertyDescriptor(o, k)) fix(label(k), Reflect.defineProperty(o, k, was));
    if (Reflect.getPrototypeOf(o) !== snap.proto) fix(`the prototype of ${name}`, Reflect.setPrototypeOf(o, snap.proto));
    if (Reflect.isExtensible(o) !== snap.extensible) fix(`the extensibility of ${name}`, false);
  });
  return { changed, stuck };
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
