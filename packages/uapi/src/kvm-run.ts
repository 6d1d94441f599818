import type { MteEvent } from '@mteperm/events';
import { errnoName, fail } from './errno';
import type { ErrnoName } from './errno';
import type { KernelProfile } from './kernel-profile';

import { KVM_EXIT_ARM_NOTAG_ACCESS, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_MEMORY_EXIT_FLAG_TAGACCESS, PAGE_SIZE as PAGE_BYTES } from '@mteperm/arm64';

// Exit reasons and memory_fault flags are uapi facts kept in @mteperm/arm64 (DOMAIN B §3.3).
export { KVM_EXIT_ARM_NOTAG_ACCESS, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_MEMORY_EXIT_FLAG_TAGACCESS } from '@mteperm/arm64';

/** struct kvm_run up to the end of its exit union: 32 bytes of header + the 256-byte union. */
export const KVM_RUN_SIZE = 288;
export const KVM_RUN_EXIT_REASON_OFFSET = 8; // __u32 exit_reason
export const KVM_RUN_UNION_OFFSET = 32; // the exit union, padded to 256 bytes
export const KVM_RUN_UNION_SIZE = 256;

const PAGE_SIZE = BigInt(PAGE_BYTES);
const PAGE_MASK = ~(PAGE_SIZE - 1n);

export type KvmRunExit =
  | {
      readonly reason: 'KVM_EXIT_MEMORY_FAULT' | 'KVM_EXIT_ARM_NOTAG_ACCESS';
      readonly exit_reason: typeof KVM_EXIT_MEMORY_FAULT | typeof KVM_EXIT_ARM_NOTAG_ACCESS;
      readonly flags: bigint;
      readonly gpa: bigint;
      readonly size: bigint;
    }
  | { readonly reason: 'KVM_EXIT_MMIO'; readonly exit_reason: typeof KVM_EXIT_MMIO; readonly phys_addr: bigint; readonly len: number; readonly is_write: boolean };

/**
 * The kernel's name of an exit reason the model builds, or undefined for any other number: the one
 * number → name mapping that kvm_run images, folded events, step results and `inspect` all use.
 */
export function exitReasonName(exitReason: number): KvmRunExit['reason'] | undefined {
  switch (exitReason) {
    case KVM_EXIT_MMIO:
      return 'KVM_EXIT_MMIO';
    case KVM_EXIT_MEMORY_FAULT:
      return 'KVM_EXIT_MEMORY_FAULT';
    case KVM_EXIT_ARM_NOTAG_ACCESS:
      return 'KVM_EXIT_ARM_NOTAG_ACCESS';
    default:
      return undefined;
  }
}

/** A memory-fault exit (v2/drop-check 39, or v1's 40) as kvm_run holds it; undefined for other reasons. */
export function memoryFaultExit(exitReason: number, flags: bigint, gpa: bigint, size: bigint): KvmRunExit | undefined {
  if (exitReason === KVM_EXIT_MEMORY_FAULT) return { reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: KVM_EXIT_MEMORY_FAULT, flags, gpa, size };
  if (exitReason === KVM_EXIT_ARM_NOTAG_ACCESS) return { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', exit_reason: KVM_EXIT_ARM_NOTAG_ACCESS, flags, gpa, size };
  return undefined;
}

/** What KVM_RUN gives the VMM: its return value and, when there is one, the exit in kvm_run. */
export interface KvmRunOutcome {
  readonly ret: number;
  readonly errno?: ErrnoName;
  /** Absent when KVM_RUN failed with no exit info (DOMAIN B §3.3): exit_reason is then stale. */
  readonly exit?: KvmRunExit;
}

function memoryFault(flags: bigint, ipa: bigint): KvmRunExit {
  return { reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: KVM_EXIT_MEMORY_FAULT, flags, gpa: ipa & PAGE_MASK, size: PAGE_SIZE };
}

function withErrno(ret: number, exit?: KvmRunExit): KvmRunOutcome {
  const errno = errnoName(ret);
  return { ret, ...(errno === undefined ? {} : { errno }), ...(exit === undefined ? {} : { exit }) };
}

/**
 * A guest tag access hit a NoTagAccess page and KVM hands it to the VMM (DOMAIN A.2.5, B §3.3, §5.4 row 9):
 * - v2 and drop-check: KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT, flags TAGACCESS (0x10), gpa the
 *   4 KiB page of the faulting IPA, size 0x1000;
 * - v1: KVM_RUN 0, KVM_EXIT_ARM_NOTAG_ACCESS (40), flags 0, gpa = gfn << PAGE_SHIFT, size PAGE_SIZE;
 * - baseline has no NoTagAccess; a disallowed VMA there fails KVM_RUN with -EFAULT and no exit info.
 */
export function tagAccessOutcome(profile: KernelProfile, ipa: bigint): KvmRunOutcome {
  switch (profile) {
    case 'v2':
    case 'drop-check':
      return withErrno(fail('EFAULT'), memoryFault(KVM_MEMORY_EXIT_FLAG_TAGACCESS, ipa));
    case 'v1':
      return withErrno(0, { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', exit_reason: KVM_EXIT_ARM_NOTAG_ACCESS, flags: 0n, gpa: ipa & PAGE_MASK, size: PAGE_SIZE });
    case 'baseline':
      return withErrno(fail('EFAULT'));
  }
}

/**
 * A fault on a VMA without VM_MTE_ALLOWED in a VM with MTE that KVM does not map NoTagAccess
 * (DOMAIN B §5.4 rows 5 and 10, §7.4 item 5):
 * - baseline, v2 (without kvm_has_mte_perm): -EFAULT, no exit info;
 * - v1 on a host without FEAT_MTE_PERM: stage2_set_prot_attr refuses NoTagAccess → -EINVAL;
 * - drop-check: KVM_EXIT_MEMORY_FAULT with TAGACCESS and -EFAULT, even without a tag access.
 */
export function disallowedVmaOutcome(profile: KernelProfile, ipa: bigint): KvmRunOutcome {
  switch (profile) {
    case 'drop-check':
      return withErrno(fail('EFAULT'), memoryFault(KVM_MEMORY_EXIT_FLAG_TAGACCESS, ipa));
    case 'v1':
      return withErrno(fail('EINVAL'));
    case 'baseline':
    case 'v2':
      return withErrno(fail('EFAULT'));
  }
}

/** An access outside every memslot: KVM_RUN returns 0 with KVM_EXIT_MMIO (6). */
export function mmioOutcome(physAddr: bigint, len: number, isWrite: boolean): KvmRunOutcome {
  return { ret: 0, exit: { reason: 'KVM_EXIT_MMIO', exit_reason: KVM_EXIT_MMIO, phys_addr: physAddr, len, is_write: isWrite } };
}

/** The event recording an outcome: MemoryFaultExit / MmioExit, or KvmRunFailed when there is no exit. */
export function outcomeEvent(outcome: KvmRunOutcome, gpa: bigint, reason = ''): MteEvent {
  const exit = outcome.exit;
  if (exit === undefined) return { type: 'KvmRunFailed', data: { gpa, ret: outcome.ret, reason } };
  if (exit.reason === 'KVM_EXIT_MMIO') return { type: 'MmioExit', data: { phys_addr: exit.phys_addr, len: exit.len, is_write: exit.is_write } };
  return { type: 'MemoryFaultExit', data: { exit_reason: exit.exit_reason, gpa: exit.gpa, size: exit.size, flags: exit.flags, ret: outcome.ret } };
}

/**
 * Writes an exit into a struct kvm_run image (little-endian, arm64): exit_reason at 8; the union at
 * 32 with memory_fault/notag_access {flags@32, gpa@40, size@48} or mmio {phys_addr@32, data@40,
 * len@48, is_write@52} (DOMAIN B §3.3). The union is cleared first; the header is kept.
 */
export function encodeKvmRun(exit: KvmRunExit, into: Uint8Array = new Uint8Array(KVM_RUN_SIZE)): Uint8Array {
  if (into.length < KVM_RUN_SIZE) throw new RangeError(`kvm_run image needs ${KVM_RUN_SIZE} bytes, got ${into.length}`);
  const view = new DataView(into.buffer, into.byteOffset, KVM_RUN_SIZE);
  into.fill(0, KVM_RUN_UNION_OFFSET, KVM_RUN_UNION_OFFSET + KVM_RUN_UNION_SIZE);
  view.setUint32(KVM_RUN_EXIT_REASON_OFFSET, exit.exit_reason, true);
  if (exit.reason === 'KVM_EXIT_MMIO') {
    view.setBigUint64(32, exit.phys_addr, true);
    view.setUint32(48, exit.len, true);
    view.setUint8(52, exit.is_write ? 1 : 0);
  } else {
    view.setBigUint64(32, exit.flags, true);
    view.setBigUint64(40, exit.gpa, true);
    view.setBigUint64(48, exit.size, true);
  }
  return into;
}

/** Reads the exit back from a kvm_run image; `undefined` for exit reasons the model does not build. */
export function decodeKvmRun(bytes: Uint8Array): KvmRunExit | undefined {
  if (bytes.length < KVM_RUN_SIZE) throw new RangeError(`kvm_run image needs ${KVM_RUN_SIZE} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, KVM_RUN_SIZE);
  const reason = view.getUint32(KVM_RUN_EXIT_REASON_OFFSET, true);
  switch (reason) {
    case KVM_EXIT_MMIO:
      return { reason: 'KVM_EXIT_MMIO', exit_reason: KVM_EXIT_MMIO, phys_addr: view.getBigUint64(32, true), len: view.getUint32(48, true), is_write: view.getUint8(52) !== 0 };
    default:
      return memoryFaultExit(reason, view.getBigUint64(32, true), view.getBigUint64(40, true), view.getBigUint64(48, true));
  }
}
