import type { AccessOp } from '@mteperm/events';

/**
 * What a fault policy may answer (DOMAIN A.2.7, ARCHITECTURE "Fault-policy plugins"). Decisions are
 * data: the mmu carries them out, a policy never touches model state.
 */
export type PolicyDecision =
  | { readonly kind: 'exit-to-vmm' }
  | { readonly kind: 'allocate-tags-and-retry' }
  | { readonly kind: 'inject-sea' }
  | { readonly kind: 'pass' };

/** The tag-access fault offered to policies before the exit is built. */
export interface TagAccessFault {
  readonly vcpu: number;
  /** Faulting IPA (the L1 IPA under nesting). */
  readonly ipa: bigint;
  readonly op: AccessOp;
  readonly esr: bigint;
  readonly memslot: { readonly slot: number; readonly guest_phys_addr: bigint; readonly memory_size: bigint };
  readonly backing: string;
  /** The stage-2 leaf that faulted: its level and full descriptor, when known. */
  readonly stage2: { readonly level: number };
  /** 1: the VM's own guest; 2: a nested guest. */
  readonly nesting_level: number;
}

/** Read-only context of a decision. */
export interface FaultPolicyContext {
  readonly kernel: string;
  /** Pages left in the bounded tag-storage pool (policy_options.tag_pool_pages). */
  readonly tagPoolRemaining: number;
  /** Tag-access faults decided so far in this run. */
  readonly faultsSeen: number;
}

export interface FaultPolicy {
  readonly name: string;
  readonly version: string;
  decide(fault: TagAccessFault, ctx: FaultPolicyContext): PolicyDecision;
}

/** The default policy: the VMM gets the memory-fault exit (DOMAIN A.2.5). */
export const exitToVmm: FaultPolicy = Object.freeze({
  name: 'exit-to-vmm',
  version: '1.0.0',
  decide: (): PolicyDecision => ({ kind: 'exit-to-vmm' }),
});

const KINDS = new Set(['exit-to-vmm', 'allocate-tags-and-retry', 'inject-sea', 'pass']);

export interface ChainOutcome {
  readonly decision: PolicyDecision;
  /** Name of the policy whose decision won ('exit-to-vmm' for the fallback). */
  readonly plugin: string;
  /** Policies that failed, in order, with what went wrong. */
  readonly failures: ReadonlyArray<{ plugin: string; reason: 'threw' | 'invalid-decision'; message: string }>;
  /** Every decision taken, in order, including passes. */
  readonly decided: ReadonlyArray<{ plugin: string; decision: PolicyDecision['kind'] }>;
}

/**
 * Runs the chain in order: the first decision other than `pass` wins; `exit-to-vmm` is the
 * fallback. A policy that throws or returns something that is not a decision is recorded and
 * skipped. `allocate-tags-and-retry` with an empty pool counts as a pass (DOMAIN A.2.7).
 */
export function runPolicyChain(policies: readonly FaultPolicy[], fault: TagAccessFault, ctx: FaultPolicyContext): ChainOutcome {
  const failures: Array<{ plugin: string; reason: 'threw' | 'invalid-decision'; message: string }> = [];
  const decided: Array<{ plugin: string; decision: PolicyDecision['kind'] }> = [];
  const frozenFault = Object.freeze({ ...fault, memslot: Object.freeze({ ...fault.memslot }), stage2: Object.freeze({ ...fault.stage2 }) });
  const frozenCtx = Object.freeze({ ...ctx });
  for (const p of policies) {
    let d: unknown;
    try {
      d = p.decide(frozenFault, frozenCtx);
    } catch (e) {
      failures.push({ plugin: p.name, reason: 'threw', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      continue;
    }
    const kind = d !== null && typeof d === 'object' ? (d as { kind?: unknown }).kind : undefined;
    if (typeof kind !== 'string' || !KINDS.has(kind)) {
      failures.push({ plugin: p.name, reason: 'invalid-decision', message: `decide() returned ${describe(d)}` });
      continue;
    }
    const decision = { kind } as PolicyDecision;
    // Tag storage cannot be given from an empty pool: that answer counts as a pass.
    const effective = decision.kind === 'allocate-tags-and-retry' && ctx.tagPoolRemaining <= 0 ? 'pass' : decision.kind;
    decided.push({ plugin: p.name, decision: effective });
    if (effective === 'pass') continue;
    return { decision, plugin: p.name, failures, decided };
  }
  return { decision: { kind: 'exit-to-vmm' }, plugin: 'exit-to-vmm', failures, decided };
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
