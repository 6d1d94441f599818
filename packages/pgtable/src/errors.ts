import { ERRNO } from '@mteperm/arm64';

// Kernel errno values the stage-2 operations return (negated, as the kernel does).
const { EINVAL, EAGAIN, ERANGE } = ERRNO;

/** Stable error codes of this package; each maps to one kernel errno. */
export type PgtableErrorCode =
  /** Protection combination refused by stage2_set_prot_attr (DOMAIN B §4.3, A.2.3/A.2.4). */
  | 'MTEPERM_S2_PROT'
  /** Relax with software bits, as kvm_pgtable_stage2_relax_perms refuses (DOMAIN B §4.3). */
  | 'MTEPERM_S2_SW_BITS'
  /** Address or size not a multiple of the 4 KiB granule, or size 0. */
  | 'MTEPERM_S2_ALIGN'
  /** Range outside the table's input address size (the kernel's walker returns -ERANGE). */
  | 'MTEPERM_S2_RANGE'
  /** Output address does not fit OA[47:12]. */
  | 'MTEPERM_S2_PA'
  /** No valid leaf at the address (relax of an unmapped page returns -EAGAIN). */
  | 'MTEPERM_S2_NO_LEAF'
  /** Split of something that is not a block. */
  | 'MTEPERM_S2_NOT_BLOCK'
  /** IPA size the 4 KiB granule cannot express without LPA2 (VTCR_EL2.T0SZ). */
  | 'MTEPERM_S2_IPA_BITS';

const ERRNO_OF: Readonly<Record<PgtableErrorCode, number>> = {
  MTEPERM_S2_PROT: EINVAL,
  MTEPERM_S2_SW_BITS: EINVAL,
  MTEPERM_S2_ALIGN: EINVAL,
  MTEPERM_S2_RANGE: ERANGE,
  MTEPERM_S2_PA: EINVAL,
  MTEPERM_S2_NO_LEAF: EAGAIN,
  MTEPERM_S2_NOT_BLOCK: EINVAL,
  MTEPERM_S2_IPA_BITS: EINVAL,
};

/** A refused stage-2 operation: stable `code`, the kernel's return value in `ret` (e.g. -22). */
export class PgtableError extends Error {
  override readonly name = 'PgtableError';
  readonly code: PgtableErrorCode;
  /** Negative errno, as the kernel function returns it. */
  readonly ret: number;

  constructor(code: PgtableErrorCode, message: string) {
    super(message);
    this.code = code;
    this.ret = -ERRNO_OF[code];
  }
}

/** Result of an operation that can be refused: errors are values, never thrown by the table. */
export type S2Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PgtableError };

export function refused(code: PgtableErrorCode, message: string): { readonly ok: false; readonly error: PgtableError } {
  return { ok: false, error: new PgtableError(code, message) };
}

export function okResult<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}
