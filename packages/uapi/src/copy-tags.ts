import { PAGE_SIZE as PAGE_BYTES } from '@mteperm/arm64';
import type { EventData } from '@mteperm/events';
import type { MteCopyTags } from './commands';
import { fail } from './errno';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import { mteGate } from './memslot-checks';
import { KVM_MEM_READONLY } from './memslot-checks';
import type { Memslot, VmState } from './vm-state';

/** struct kvm_arm_copy_mte_tags.flags (include/uapi/linux/kvm.h). */
export const KVM_ARM_TAGS_TO_GUEST = 0n;
export const KVM_ARM_TAGS_FROM_GUEST = 1n;
const PAGE_SIZE = BigInt(PAGE_BYTES);

/**
 * Whether the VM maps pages of this slot NoTagAccess, i.e. there is no tag storage behind them:
 * a VMA without VM_MTE_ALLOWED under v2 with kvm_has_mte_perm, or under v1 on a FEAT_MTE_PERM host
 * (DOMAIN A.2.3, B §5.3).
 */
export function slotIsNoTagAccess(slot: Memslot, vm: VmState, host: HostCaps, profile: KernelProfile): boolean {
  if (slot.vma.mte_allowed) return false;
  const gate = mteGate(vm, host);
  if (!gate.kvmHasMte) return false;
  if (profile === 'v2') return gate.kvmHasMtePerm;
  if (profile === 'v1') return gate.systemSupportsNoTagAccess;
  return false;
}

function slotOf(vm: VmState, ipa: bigint): Memslot | undefined {
  for (const s of vm.memslots.values()) if (ipa >= s.guest_phys_addr && ipa < s.guest_phys_addr + s.memory_size) return s;
  return undefined;
}

/**
 * KVM_ARM_MTE_COPY_TAGS (DOMAIN B §3.1, A.2.10):
 * - flags other than FROM_GUEST, or an unaligned guest_ipa/length → -EINVAL; VM without MTE → -EINVAL;
 * - then page by page: no memslot, a VM_PFNMAP page (no struct page), a NoTagAccess page (no tag
 *   storage, A.2.10) or writing tags into a read-only slot → stop with -EFAULT;
 * - returns the bytes copied before the first failing page, or -EFAULT when it is the first page.
 */
export function mteCopyTags(cmd: MteCopyTags, vm: VmState, host: HostCaps, profile: KernelProfile): EventData<'MteTagsCopied'> {
  const toGuest = (cmd.flags & KVM_ARM_TAGS_FROM_GUEST) === 0n;
  const result = (ret: bigint): EventData<'MteTagsCopied'> => ({ guest_ipa: cmd.guest_ipa, length: cmd.length, to_guest: toGuest, ret });
  if ((cmd.flags & ~KVM_ARM_TAGS_FROM_GUEST) !== 0n) return result(BigInt(fail('EINVAL')));
  if (cmd.length % PAGE_SIZE !== 0n || cmd.guest_ipa % PAGE_SIZE !== 0n) return result(BigInt(fail('EINVAL')));
  if (!mteGate(vm, host).kvmHasMte) return result(BigInt(fail('EINVAL')));

  let done = 0n;
  while (done < cmd.length) {
    const slot = slotOf(vm, cmd.guest_ipa + done);
    const bad =
      slot === undefined || slot.vma.pfnmap || slotIsNoTagAccess(slot, vm, host, profile) || (toGuest && (slot.flags & KVM_MEM_READONLY) !== 0);
    if (bad) return result(done > 0n ? done : BigInt(fail('EFAULT')));
    done += PAGE_SIZE;
  }
  return result(done);
}
