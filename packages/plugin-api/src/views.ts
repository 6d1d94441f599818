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
// Copied straight into the prototype-less object: no intermediate spread (views are built per fault).
function frozenCopy<T extends object>(fields: T): T {
  return Object.freeze(Object.assign(Object.create(null) as object, fields) as T);
}

/** A deep-frozen, prototype-less copy of `fault`, safe to hand to plugins. */
export function freezeFault(fault: TagAccessFault): TagAccessFault {
  // Same keys in the same order as `{ ...fault, memslot: …, stage2: … }`.
  const view = Object.assign(Object.create(null) as object, fault) as { -readonly [K in keyof TagAccessFault]: TagAccessFault[K] };
  view.memslot = frozenCopy(fault.memslot);
  view.stage2 = frozenCopy(fault.stage2);
  return Object.freeze(view);
}

/** The frozen `ctx` of one decision. Its functions answer from `facts`, never from plugin input. */
export function policyContext(facts: PolicyContextFacts): FaultPolicyContext {
  const remaining = facts.tagPoolRemaining;
  const has = facts.hasTagStorage;
  const tagStorage = Object.create(null) as { -readonly [K in keyof TagStorageView]: TagStorageView[K] };
  tagStorage.remaining = remaining;
  tagStorage.allocatedPages = facts.tagPagesAllocated ?? 0;
  // Bound to names first: functions stored by member assignment would get no `name`.
  const canAllocate = (pages = 1): boolean => Number.isInteger(pages) && pages > 0 && pages <= remaining;
  const hasTagStorage = (ipa: bigint): boolean => typeof ipa === 'bigint' && has !== undefined && has(ipa);
  tagStorage.canAllocate = canAllocate;
  tagStorage.hasTagStorage = hasTagStorage;
  Object.freeze(tagStorage);
  const ctx = Object.create(null) as { -readonly [K in keyof FaultPolicyContext]: FaultPolicyContext[K] };
  ctx.kernel = facts.kernel;
  ctx.tagPoolRemaining = remaining;
  ctx.faultsSeen = facts.faultsSeen;
  ctx.tagStorage = tagStorage;
  return Object.freeze(ctx);
}
