import type { FaultPolicyContext, TagAccessFault } from '../types';
import { freezeFault, policyContext } from '../views';
import type { PolicyContextFacts } from '../views';

/**
 * Test helpers for plugin authors: the frozen `fault` and `ctx` a plugin receives in a run. The
 * defaults are the cover letter's STG to a write-back cacheable VFIO BAR (DOMAIN B §1.1, A.2.5).
 */
export function tagAccessFault(fields: Partial<TagAccessFault> = {}): TagAccessFault {
  return freezeFault({
    vcpu: 0,
    ipa: 0x1000_0040n,
    op: 'stg',
    // EC 0x24 (data abort, lower EL), IL, WnR, DFSC permission fault level 3, ISS2.TagAccess (bit 41).
    esr: 0x0000_0200_9200_004fn,
    memslot: { slot: 1, guest_phys_addr: 0x1000_0000n, memory_size: 0x100_0000n, flags: 0 },
    backing: 'vfio-bar-wb',
    stage2: { level: 3 },
    nesting_level: 1,
    ...fields,
  });
}

/** The context of a decision: v2 kernel, a 64-page pool (DOMAIN A.2.7 default), first fault. */
export function policyContextOf(facts: Partial<PolicyContextFacts> = {}): FaultPolicyContext {
  return policyContext({ kernel: 'v2', tagPoolRemaining: 64, faultsSeen: 1, tagPagesAllocated: 0, ...facts });
}
