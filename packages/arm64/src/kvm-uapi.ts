/**
 * Numbers from the KVM userspace API (include/uapi/linux/kvm.h of v6.13, and the series' proposals;
 * DOMAIN A.1, A.2.1, A.2.5, A.3.4, B §3.3). Names are what every output shows; numbers only where
 * the ABI needs one.
 */

/** kvm_run.exit_reason values (DOMAIN B §3.3). */
export const KVM_EXIT_MMIO = 6;
/** DOMAIN A.3.4: an MMIO access without a valid syndrome, with KVM_CAP_ARM_NISV_TO_USER. */
export const KVM_EXIT_ARM_NISV = 28;
export const KVM_EXIT_MEMORY_FAULT = 39;
/** v1 only, never merged (DOMAIN A.1, B §3.3). */
export const KVM_EXIT_ARM_NOTAG_ACCESS = 40;

/** Exit reason names by number, for reports. */
export const KVM_EXIT_NAME: Readonly<Record<number, string>> = {
  [KVM_EXIT_MMIO]: 'KVM_EXIT_MMIO',
  [KVM_EXIT_ARM_NISV]: 'KVM_EXIT_ARM_NISV',
  [KVM_EXIT_MEMORY_FAULT]: 'KVM_EXIT_MEMORY_FAULT',
  [KVM_EXIT_ARM_NOTAG_ACCESS]: 'KVM_EXIT_ARM_NOTAG_ACCESS',
};

/** memory_fault.flags bit 3 (v6.13). */
export const KVM_MEMORY_EXIT_FLAG_PRIVATE = 1n << 3n;
/** memory_fault.flags bit 4: allocation-tag access to memory without tags (DOMAIN A.2.5, B §3.3). */
export const KVM_MEMORY_EXIT_FLAG_TAGACCESS = 1n << 4n;

/** KVM_CAP_ARM_MTE (DOMAIN B §3.1). */
export const KVM_CAP_ARM_MTE = 205;
/** KVM_CAP_ARM_MTE_PERM: never merged; 239 only where a number is needed (DOMAIN A.2.1). */
export const KVM_CAP_ARM_MTE_PERM = 239;
/** KVM_CAP_ARM_NISV_TO_USER (DOMAIN A.3.4). */
export const KVM_CAP_ARM_NISV_TO_USER = 177;

/** kvm_userspace_memory_region.flags bit 0: dirty logging (DOMAIN A.3.2). */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
/** kvm_userspace_memory_region.flags bit 1: the guest may not write the slot. */
export const KVM_MEM_READONLY = 1 << 1;
