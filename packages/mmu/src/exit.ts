import type { EventData } from '@mteperm/events';
import { EFAULT } from './errno';
import type { KernelProfile } from './profile';

/** struct kvm_run exit reasons (include/uapi/linux/kvm.h; DOMAIN B §3.3). */
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_MEMORY_FAULT = 39;
/** v1 only (DOMAIN A.1, B §3.3): never merged. */
export const KVM_EXIT_ARM_NOTAG_ACCESS = 40;
/** arm64 tag-access flag of memory_fault.flags, bit 4 (DOMAIN A.2.5). */
export const KVM_MEMORY_EXIT_FLAG_TAGACCESS = 1n << 4n;

const PAGE_MASK = ~0xfffn;

/**
 * The exit a tag-access fault produces under each profile (DOMAIN A.2.5, B §3.3):
 * v2 and drop-check report KVM_EXIT_MEMORY_FAULT with the TAGACCESS flag and KVM_RUN returns
 * -EFAULT; v1 reports its own exit 40 with flags 0 and KVM_RUN returns 0. gpa is the faulting IPA
 * rounded down to the 4 KiB page, size one page.
 */
export function tagAccessExit(profile: KernelProfile, ipa: bigint): EventData<'MemoryFaultExit'> {
  const gpa = ipa & PAGE_MASK;
  if (profile === 'v1') return { exit_reason: KVM_EXIT_ARM_NOTAG_ACCESS, gpa, size: 0x1000n, flags: 0n, ret: 0 };
  return { exit_reason: KVM_EXIT_MEMORY_FAULT, gpa, size: 0x1000n, flags: KVM_MEMORY_EXIT_FLAG_TAGACCESS, ret: -EFAULT };
}
