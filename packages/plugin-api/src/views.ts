import type { FaultPolicyContext, TagAccessFault, TagStorageView } from './types';

/** What the component running the chain knows when it builds a decision's context. */
export interface PolicyContextFacts {
  readonly kernel: string;
  readonly tagPoolRemaining: number;
  readonly faultsSeen: number;
  readonly tagPagesAllocated?: number;
  /** Reads the owner's record of pages with tag storage; never handed out itself. */
  readonly hasTagStorage?: (ipa: bigint) => boolean;
}

// Views have no prototype: a plugin cannot reach Object.prototype through them and pollute it.
function frozen<T extends object>(fields: T): T {
  return Object.freeze(Object.assign(Object.create(null) as object, fields) as T);
}

/** A deep-frozen, prototype-less copy of `fault`, safe to hand to plugins. */
export function freezeFault(fault: TagAccessFault): TagAccessFault {
  return frozen({ ...fault, memslot: frozen({ ...fault.memslot }), stage2: frozen({ ...fault.stage2 }) });
}

/** The frozen `ctx` of one decision. Its functions answer from `facts`, never from plugin input. */
export function policyContext(facts: PolicyContextFacts): FaultPolicyContext {
  const remaining = facts.tagPoolRemaining;
  const has = facts.hasTagStorage;
  const tagStorage: TagStorageView = frozen({
    remaining,
    allocatedPages: facts.tagPagesAllocated ?? 0,
    canAllocate: (pages = 1) => Number.isInteger(pages) && pages > 0 && pages <= remaining,
    hasTagStorage: (ipa: bigint) => typeof ipa === 'bigint' && has !== undefined && has(ipa),
  });
  return frozen({ kernel: facts.kernel, tagPoolRemaining: remaining, faultsSeen: facts.faultsSeen, tagStorage });
}
