import type { PolicyDecision, PolicyDecisionKind } from './types';

/** Every decision kind, in the order the contract lists them. */
export const POLICY_DECISION_KINDS: readonly PolicyDecisionKind[] = Object.freeze(['exit-to-vmm', 'allocate-tags-and-retry', 'inject-sea', 'pass']);

const KINDS: ReadonlySet<string> = new Set(POLICY_DECISION_KINDS);

export function isPolicyDecisionKind(v: unknown): v is PolicyDecisionKind {
  return typeof v === 'string' && KINDS.has(v);
}

/** Shared frozen decisions: plugins may return these instead of fresh literals. */
export const DECISIONS: { readonly [K in PolicyDecisionKind]: Extract<PolicyDecision, { kind: K }> } = Object.freeze({
  'exit-to-vmm': Object.freeze({ kind: 'exit-to-vmm' }),
  'allocate-tags-and-retry': Object.freeze({ kind: 'allocate-tags-and-retry' }),
  'inject-sea': Object.freeze({ kind: 'inject-sea' }),
  pass: Object.freeze({ kind: 'pass' }),
});
