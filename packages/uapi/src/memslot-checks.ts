import type { MemslotChange, MteEvent, Vma } from '@mteperm/events';
import type { SetUserMemoryRegion } from './commands';
import { fail } from './errno';
import { systemSupportsMte } from './host';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import type { Memslot, VmState } from './vm-state';

import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, PAGE_SIZE as PAGE_BYTES } from '@mteperm/arm64';

export { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '@mteperm/arm64';
/** The memslot flags arm64 accepts in v6.13 (no guest_memfd). */
export const KVM_MEM_VALID_FLAGS = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
/** KVM_USER_MEM_SLOTS on arm64 (SHRT_MAX, no internal slots); one address space. */
export const KVM_USER_MEM_SLOTS = 32767;
export const KVM_ADDRESS_SPACE_NUM = 1;
/** KVM_MEM_MAX_NR_PAGES. */
export const KVM_MEM_MAX_NR_PAGES = (1n << 31n) - 1n;
const PAGE_SIZE = BigInt(PAGE_BYTES);
const U64_MAX = (1n << 64n) - 1n;

/** What kvm_has_mte / kvm_has_mte_perm / system_supports_notagaccess say for this VM. */
export interface MteGate {
  readonly kvmHasMte: boolean;
  readonly kvmHasMtePerm: boolean;
  readonly systemSupportsNoTagAccess: boolean;
}

export function mteGate(vm: VmState, host: HostCaps): MteGate {
  return {
    kvmHasMte: systemSupportsMte(host) && vm.mteEnabled,
    kvmHasMtePerm: host.mtePerm && vm.mtePermEnabled,
    systemSupportsNoTagAccess: host.mtePerm,
  };
}

/**
 * The per-VMA MTE check of kvm_arch_prepare_memory_region, per profile (DOMAIN B §5.1 table, A.2.2):
 * baseline `kvm_has_mte && !VM_MTE_ALLOWED`; v1 adds `&& !system_supports_notagaccess()`; v2 adds
 * `&& !kvm_has_mte_perm`; drop-check has no check.
 */
export function mteRefusesVma(profile: KernelProfile, gate: MteGate, vma: Vma): boolean {
  if (vma.mte_allowed || !gate.kvmHasMte) return false;
  switch (profile) {
    case 'baseline':
      return true;
    case 'v1':
      return !gate.systemSupportsNoTagAccess;
    case 'v2':
      return !gate.kvmHasMtePerm;
    case 'drop-check':
      return false;
  }
}

/** Stable reasons recorded in MemslotRefused. */
export type MemslotRefusal =
  | 'invalid-flags'
  | 'invalid-slot'
  | 'unaligned'
  | 'address-wraps'
  | 'too-many-pages'
  | 'no-such-slot'
  | 'slot-changed'
  | 'readonly-changed'
  | 'overlap'
  | 'beyond-ipa-size'
  | 'mte-not-allowed'
  | 'pfnmap-dirty-logging';

const EMPTY_VMA: Vma = { backing: '', mte_allowed: false, pfnmap: false, shared: false, cacheable: false, hugetlb: false, userspace_addr: 0n };

function sameVma(a: Vma, b: Vma): boolean {
  return (
    a.backing === b.backing &&
    a.mte_allowed === b.mte_allowed &&
    a.pfnmap === b.pfnmap &&
    a.shared === b.shared &&
    a.cacheable === b.cacheable &&
    a.hugetlb === b.hugetlb &&
    a.userspace_addr === b.userspace_addr
  );
}

function overlaps(a: { guest_phys_addr: bigint; memory_size: bigint }, b: Memslot): boolean {
  return a.guest_phys_addr < b.guest_phys_addr + b.memory_size && b.guest_phys_addr < a.guest_phys_addr + a.memory_size;
}

/**
 * KVM_SET_USER_MEMORY_REGION. Generic checks first (kvm_set_memory_region), then the arm64 ones
 * (kvm_arch_prepare_memory_region, DOMAIN B §5.1), in the kernel's order:
 * 1. flags outside LOG_DIRTY_PAGES|READONLY, a bad slot id, an unaligned address/size, an address
 *    range that wraps or is too large → -EINVAL;
 * 2. size 0 deletes (no such slot → -EINVAL); an existing slot may only move (new guest_phys_addr)
 *    or change flags; a different size or VMA (userspace_addr), or toggling READONLY → -EINVAL;
 *    nothing changed → 0 without the arch checks;
 * 3. create/move overlapping another slot → -EEXIST;
 * 4. (arch, create/move/flags-only) beyond the VM's IPA size → -EFAULT; per VMA the MTE check of
 *    the profile → -EINVAL; VM_PFNMAP with KVM_MEM_LOG_DIRTY_PAGES → -EINVAL.
 */
export function setUserMemoryRegion(cmd: SetUserMemoryRegion, vm: VmState, host: HostCaps, profile: KernelProfile): MteEvent {
  const old = vm.memslots.get(cmd.slot);
  const vma = cmd.vma ?? old?.vma ?? EMPTY_VMA;
  const base = { slot: cmd.slot, guest_phys_addr: cmd.guest_phys_addr, memory_size: cmd.memory_size, flags: cmd.flags, vma };
  const step = cmd.step === undefined ? {} : { step: cmd.step };
  const refuse = (change: MemslotChange, ret: number, reason: MemslotRefusal): MteEvent => ({ type: 'MemslotRefused', data: { ...base, change, ret, reason } });
  const accept = (change: MemslotChange): MteEvent => ({ type: 'MemslotRegistered', data: { ...base, change, ...step } });

  const asId = cmd.slot >>> 16;
  const id = cmd.slot & 0xffff;
  const tentative: MemslotChange = cmd.memory_size === 0n ? 'delete' : old === undefined ? 'create' : 'move';
  if ((cmd.flags & ~KVM_MEM_VALID_FLAGS) !== 0) return refuse(tentative, fail('EINVAL'), 'invalid-flags');
  if (asId >= KVM_ADDRESS_SPACE_NUM || id >= KVM_USER_MEM_SLOTS) return refuse(tentative, fail('EINVAL'), 'invalid-slot');
  if (cmd.memory_size % PAGE_SIZE !== 0n || cmd.guest_phys_addr % PAGE_SIZE !== 0n || vma.userspace_addr % PAGE_SIZE !== 0n) {
    return refuse(tentative, fail('EINVAL'), 'unaligned');
  }
  if (cmd.guest_phys_addr + cmd.memory_size > U64_MAX) return refuse(tentative, fail('EINVAL'), 'address-wraps');
  if (cmd.memory_size / PAGE_SIZE > KVM_MEM_MAX_NR_PAGES) return refuse(tentative, fail('EINVAL'), 'too-many-pages');

  if (cmd.memory_size === 0n) {
    if (old === undefined) return refuse('delete', fail('EINVAL'), 'no-such-slot');
    // DELETE returns before the arch checks (DOMAIN B §5.1); the event carries the old slot.
    return { type: 'MemslotRegistered', data: { ...old, change: 'delete', ...step } };
  }

  let change: MemslotChange;
  if (old === undefined) change = 'create';
  else {
    if (old.memory_size !== cmd.memory_size || (cmd.vma !== undefined && !sameVma(cmd.vma, old.vma))) return refuse('move', fail('EINVAL'), 'slot-changed');
    if (((cmd.flags ^ old.flags) & KVM_MEM_READONLY) !== 0) return refuse('flags_only', fail('EINVAL'), 'readonly-changed');
    if (cmd.guest_phys_addr !== old.guest_phys_addr) change = 'move';
    else if (cmd.flags !== old.flags) change = 'flags_only';
    else return accept('unchanged');
  }

  if (change === 'create' || change === 'move') {
    for (const other of vm.memslots.values()) {
      if (other.slot !== cmd.slot && other.slot >>> 16 === asId && overlaps(cmd, other)) return refuse(change, fail('EEXIST'), 'overlap');
    }
  }

  // kvm_arch_prepare_memory_region (create, move, flags-only).
  if (cmd.guest_phys_addr + cmd.memory_size > 1n << BigInt(vm.ipaBits)) return refuse(change, fail('EFAULT'), 'beyond-ipa-size');
  if (mteRefusesVma(profile, mteGate(vm, host), vma)) return refuse(change, fail('EINVAL'), 'mte-not-allowed');
  if (vma.pfnmap && (cmd.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0) return refuse(change, fail('EINVAL'), 'pfnmap-dirty-logging');
  return accept(change);
}
