export { UapiError } from './errors';
export type { UapiErrorCode } from './errors';
export { ERRNO, errnoName, fail, ioctlResult } from './errno';
export type { ErrnoName, IoctlResult } from './errno';
export { KERNEL_PROFILES, DEFAULT_KERNEL_PROFILE, isKernelProfile, parseKernelProfile } from './kernel-profile';
export type { KernelProfile } from './kernel-profile';
export { hostCapsOf, systemSupportsMte } from './host';
export type { HostCaps } from './host';
export { KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, resolveCap, kernelKnowsCap, checkExtension } from './capability';
export type { Cap, CapName } from './capability';
export { BACKING_KINDS, isBackingKind, vmaForBacking, userspaceAddrOf } from './backing';
export type { BackingKind, BackingSpec } from './backing';
export { createVm, KVM_PHYS_SHIFT, KVM_IPA_LIMIT, ARM64_MIN_PARANGE_BITS } from './create-vm';
export { enableCap } from './enable-cap';
export { createVcpu, KVM_MAX_VCPU_IDS } from './create-vcpu';
export {
  setUserMemoryRegion,
  mteRefusesVma,
  mteGate,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_USER_MEM_SLOTS,
} from './memslot-checks';
export type { MteGate, MemslotRefusal } from './memslot-checks';
export { mteCopyTags, slotIsNoTagAccess, KVM_ARM_TAGS_TO_GUEST, KVM_ARM_TAGS_FROM_GUEST } from './copy-tags';
export {
  KVM_EXIT_MMIO,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_ARM_NOTAG_ACCESS,
  KVM_MEMORY_EXIT_FLAG_TAGACCESS,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_RUN_SIZE,
  KVM_RUN_EXIT_REASON_OFFSET,
  KVM_RUN_UNION_OFFSET,
  tagAccessOutcome,
  exitReasonName,
  memoryFaultExit,
  disallowedVmaOutcome,
  mmioOutcome,
  outcomeEvent,
  encodeKvmRun,
  decodeKvmRun,
} from './kvm-run';
export type { KvmRunExit, KvmRunOutcome } from './kvm-run';
export { checkMigration, migrationResultOf } from './migration';
export type { MigrationFailure, MigrationResult } from './migration';
export type { UapiCommand, CreateVm, CheckExtension, EnableCap, SetUserMemoryRegion, CreateVcpu, MteCopyTags, CheckMigration } from './commands';
export { decide } from './decide';
export type { DecideContext } from './decide';
export { evolve, evolveVm, initialUapiState, initialVmState } from './vm-state';
export type { UapiState, VmState, VcpuState, Memslot, SetupStep } from './vm-state';
export { KvmRunAccess, UNHANDLED_ACCESS_REASON } from './kvm-run-access';
export type { AccessEnd, AccessRequest } from './kvm-run-access';
export { UapiAdapter } from './uapi-adapter';
export type { UapiAdapterOptions, CallContext } from './uapi-adapter';
