import { freezeFault, policyContext } from '@mteperm/plugin-api';
import type { FaultPolicy, PluginFailureReason, PolicyContextFacts, PolicyDecision, PolicyDecisionKind, TagAccessFault } from '@mteperm/plugin-api';
import { callPolicy, DEFAULT_POLICY_BUDGET_MS } from '@mteperm/plugin-api/host';

export interface ChainOutcome {
  readonly decision: PolicyDecision;
  /** Name of the policy whose decision won ('exit-to-vmm' for the fallback). */
  readonly plugin: string;
  /** Policies that failed, in order, with what went wrong. */
  readonly failures: ReadonlyArray<{ plugin: string; reason: PluginFailureReason; message: string }>;
  /** Every decision taken, in order, including passes. */
  readonly decided: ReadonlyArray<{ plugin: string; decision: PolicyDecisionKind }>;
}

export interface ChainOptions {
  /** Per-call budget of each plugin's decide in ms (default 100; 0 disables the watchdog). */
  readonly budgetMs?: number;
}

/**
 * Runs the chain in order (the plugin contract's first-wins `decide` hook): the first decision
 * other than `pass` wins; `exit-to-vmm` is the fallback. A policy that throws, returns something
 * that is not a decision or overruns its budget is recorded and skipped. Every policy gets the same
 * frozen views, built once from `facts`. `allocate-tags-and-retry` with an empty pool counts as a
 * pass (DOMAIN A.2.7).
 */
export function runPolicyChain(policies: readonly FaultPolicy[], fault: TagAccessFault, facts: PolicyContextFacts, options: ChainOptions = {}): ChainOutcome {
  const failures: Array<{ plugin: string; reason: PluginFailureReason; message: string }> = [];
  const decided: Array<{ plugin: string; decision: PolicyDecisionKind }> = [];
  if (policies.length === 0) return { decision: { kind: 'exit-to-vmm' }, plugin: 'exit-to-vmm', failures, decided };
  const frozenFault = freezeFault(fault);
  const ctx = policyContext(facts);
  const budgetMs = options.budgetMs ?? DEFAULT_POLICY_BUDGET_MS;
  for (const p of policies) {
    const r = callPolicy(p, frozenFault, ctx, budgetMs);
    if (!r.ok) {
      failures.push({ plugin: p.name, reason: r.reason, message: r.message });
      continue;
    }
    // Tag storage cannot be given from an empty pool: that answer counts as a pass.
    const effective = r.kind === 'allocate-tags-and-retry' && facts.tagPoolRemaining <= 0 ? 'pass' : r.kind;
    decided.push({ plugin: p.name, decision: effective });
    if (effective === 'pass') continue;
    return { decision: { kind: r.kind } as PolicyDecision, plugin: p.name, failures, decided };
  }
  return { decision: { kind: 'exit-to-vmm' }, plugin: 'exit-to-vmm', failures, decided };
}
