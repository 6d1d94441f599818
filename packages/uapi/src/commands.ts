import type { EventData, Vma } from '@mteperm/events';

/** KVM ioctls as commands to the uapi decider (imperative names; events are past tense). */
export interface CreateVm {
  readonly kind: 'create_vm';
  /** KVM_VM_TYPE_ARM_IPA_SIZE(ipa_bits); 0 = the default 40 bits. */
  readonly ipa_bits: number;
}

export interface CheckExtension {
  readonly kind: 'check_extension';
  readonly cap: number;
  readonly cap_name: string;
}

export interface EnableCap {
  readonly kind: 'enable_cap';
  readonly cap: number;
  readonly cap_name: string;
  readonly flags: bigint;
  readonly args: readonly bigint[];
  readonly step?: number;
}

export interface SetUserMemoryRegion {
  readonly kind: 'set_user_memory_region';
  /** as_id << 16 | slot id, as in struct kvm_userspace_memory_region. */
  readonly slot: number;
  readonly guest_phys_addr: bigint;
  readonly memory_size: bigint;
  /** KVM_MEM_LOG_DIRTY_PAGES (1), KVM_MEM_READONLY (2). */
  readonly flags: number;
  /** The VMA at userspace_addr; may be omitted to reuse the slot's (delete, move, flags-only). */
  readonly vma: Vma | undefined;
  readonly step?: number;
}

export interface CreateVcpu {
  readonly kind: 'create_vcpu';
  readonly id: number;
  /** KVM_ARM_VCPU_HAS_EL2 (a guest hypervisor, DOMAIN B §6.1). */
  readonly el2: boolean;
}

export interface MteCopyTags {
  readonly kind: 'mte_copy_tags';
  readonly guest_ipa: bigint;
  readonly length: bigint;
  /** struct kvm_arm_copy_mte_tags.flags: KVM_ARM_TAGS_TO_GUEST 0, KVM_ARM_TAGS_FROM_GUEST 1. */
  readonly flags: bigint;
}

export interface CheckMigration {
  readonly kind: 'migrate';
  /** The target host as cpufeature probed it (the runtime passes cpufeature's `probeHostCpus`). */
  readonly target: EventData<'HostCpusProbed'>;
}

export type UapiCommand = CreateVm | CheckExtension | EnableCap | SetUserMemoryRegion | CreateVcpu | MteCopyTags | CheckMigration;
