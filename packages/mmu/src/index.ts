export { attachMmu, MAX_FAULTS_PER_ACCESS } from './mmu-adapter';
export type { MmuOptions } from './mmu-adapter';
export { MmuState } from './mmu-state';
export type { MemslotView } from './mmu-state';
export { decideGuestAbort } from './guest-abort';
export type { GuestAbort, AbortDecision } from './guest-abort';
export { runPolicyChain } from './fault-policy';
export type { ChainOutcome, ChainOptions } from './fault-policy';
// The contract's types, re-exported because runPolicyChain and MmuOptions speak them.
export type { FaultPolicy, FaultPolicyContext, PolicyDecision, TagAccessFault } from '@mteperm/plugin-api';
export { mappingSize } from './mapping-size';
export { HostMemory, HOST_RAM_BASE, HOST_PFNMAP_BASE } from './host-memory';
export type { KernelProfile } from './profile';
export { KERNEL_PROFILES, isKernelProfile } from './profile';
