import { ERRNO, type ErrnoName } from '@mteperm/arm64';

/** Stable error codes of this package; each maps to one errno. */
export type NestedErrorCode =
  /** The vCPU named by a guest_stage2 step or a level-2 access was never created. */
  | 'MTEPERM_NESTED_NO_VCPU'
  /** The vCPU has no EL2 (KVM_ARM_VCPU_HAS_EL2 on an NV host): it is no guest hypervisor (DOMAIN B §6.1). */
  | 'MTEPERM_NESTED_NOT_EL2'
  /** An entry's ipa, pa or size is not whole 4 KiB granules, or its size is 0. */
  | 'MTEPERM_NESTED_ALIGN'
  /** An entry reaches beyond the 48-bit input or output range of L1's stage 2. */
  | 'MTEPERM_NESTED_RANGE'
  /** An entry's attr or ap is not one the guest hypervisor can write (CONTRACT §1.4). */
  | 'MTEPERM_NESTED_ATTR'
  /** No RAM memslot (or not enough of it) to hold L1's stage-2 table pages. */
  | 'MTEPERM_NESTED_NO_TABLE_MEMORY'
  /** An L2 access kept faulting after its fixes: a model bug, reported rather than looping. */
  | 'MTEPERM_NESTED_NO_PROGRESS';

// Each code's errno (reported negated, as the kernel returns it).
const ERRNO_OF: Readonly<Record<NestedErrorCode, ErrnoName>> = {
  MTEPERM_NESTED_NO_VCPU: 'EBADF',
  MTEPERM_NESTED_NOT_EL2: 'EINVAL',
  MTEPERM_NESTED_ALIGN: 'EINVAL',
  MTEPERM_NESTED_RANGE: 'EINVAL',
  MTEPERM_NESTED_ATTR: 'EINVAL',
  MTEPERM_NESTED_NO_TABLE_MEMORY: 'ENOMEM',
  MTEPERM_NESTED_NO_PROGRESS: 'EFAULT', // as KVM_RUN fails when a fault cannot be resolved
};

/** A refused nested operation: stable `code`, and `ret` the negative errno reported for it. */
export class NestedError extends Error {
  override readonly name = 'NestedError';
  readonly code: NestedErrorCode;
  readonly ret: number;

  constructor(code: NestedErrorCode, message: string) {
    super(message);
    this.code = code;
    this.ret = -ERRNO[ERRNO_OF[code]];
  }
}
