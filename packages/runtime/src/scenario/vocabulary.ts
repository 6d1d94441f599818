import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '@mteperm/arm64';
import type { AccessOp, S1Attr, Tcf } from '@mteperm/events';
import type { BackingKind, CpuFeatureName, KernelProfile, ScenarioStepOp, Stage2Ap, Stage2Attr } from './types';

// Each list is written as a record over its union type, so adding a member to the union without
// listing it here is a compile error (the lists are what validation accepts).
const names = <T extends string>(record: Record<T, true>): readonly T[] => Object.freeze(Object.keys(record) as T[]);

// Kernel profiles: the events package's list (DOMAIN A.1).
export { KERNEL_PROFILES } from '@mteperm/events';
export const CPU_FEATURES = names<CpuFeatureName>({ mte: true, mte2: true, mte3: true, mte_perm: true, s2fwb: true, nv: true });
export const ID_REGISTERS = ['ID_AA64PFR1_EL1', 'ID_AA64PFR2_EL1', 'ID_AA64MMFR2_EL1'] as const;

export const ACCESS_OPS = names<AccessOp>({
  read: true,
  write: true,
  exec: true,
  ldg: true,
  stg: true,
  st2g: true,
  stgm: true,
  ldgm: true,
  dc_gva: true,
  dc_gzva: true,
  checked_read: true,
  checked_write: true,
});
export const TCF_MODES = names<Tcf>({ sync: true, async: true, asymm: true, none: true });
export const S1_ATTRS = names<S1Attr>({ tagged: true, untagged: true });
export const STAGE2_ATTRS = names<Stage2Attr>({ normal: true, normal_notagaccess: true, device: true });
export const STAGE2_APS = names<Stage2Ap>({ rw: true, ro: true, none: true });

/** CONTRACT §1.2: whether each backing is tag-capable (VM_MTE_ALLOWED) unless a step overrides it. */
export const BACKING_MTE_ALLOWED: Readonly<Record<BackingKind, boolean>> = Object.freeze({
  anon: true,
  shmem: true,
  hugetlb: true,
  'file-shared': false,
  'dax-pmem': false,
  'vfio-bar-wb': false,
  'vfio-bar': false,
});
export const BACKING_KINDS = Object.freeze(Object.keys(BACKING_MTE_ALLOWED) as BackingKind[]);

/** KVM_MEM_* memslot flags by name (include/uapi/linux/kvm.h). */
export const MEMSLOT_FLAGS: Readonly<Record<string, number>> = Object.freeze({
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
});

export const STEP_OPS = names<ScenarioStepOp>({
  create_vm: true,
  check_extension: true,
  enable_cap: true,
  set_user_memory_region: true,
  create_vcpu: true,
  access: true,
  guest_stage2: true,
  migrate: true,
  mte_copy_tags: true,
  get_one_reg: true,
});

/** The policy used when a scenario names none (DOMAIN A.2.7). */
export const DEFAULT_POLICY = 'exit-to-vmm';
export const DEFAULT_TAG_POOL_PAGES = 64;
export const DEFAULT_KERNEL: KernelProfile = 'v2';
