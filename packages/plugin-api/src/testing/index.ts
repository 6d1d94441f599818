import type { FaultPolicyContext, TagAccessFault } from '../types';
import { freezeFault, policyContext } from '../views';
import type { PolicyContextFacts } from '../views';
import { coverLetterFault } from './cover-letter-fault';

/**
 * Test helpers for plugin authors: the frozen `fault` and `ctx` a plugin receives in a run. The
 * defaults are the cover letter's STG to a write-back cacheable VFIO BAR (DOMAIN B §1.1, A.2.5).
 */
export function tagAccessFault(fields: Partial<TagAccessFault> = {}): TagAccessFault {
  return freezeFault({ ...coverLetterFault(), ...fields });
}

/** The context of a decision: v2 kernel, a 64-page pool (DOMAIN A.2.7 default), first fault. */
export function policyContextOf(facts: Partial<PolicyContextFacts> = {}): FaultPolicyContext {
  return policyContext({ kernel: 'v2', tagPoolRemaining: 64, faultsSeen: 1, tagPagesAllocated: 0, ...facts });
}
