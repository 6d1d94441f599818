import { UapiError } from './errors';
import type { KernelProfile } from './kernel-profile';
import { systemSupportsMte } from './host';
import type { HostCaps } from './host';

import { KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, KVM_CAP_ARM_NISV_TO_USER } from '@mteperm/arm64';

export { KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, KVM_CAP_ARM_NISV_TO_USER } from '@mteperm/arm64';

export type CapName = 'KVM_CAP_ARM_MTE' | 'KVM_CAP_ARM_MTE_PERM' | 'KVM_CAP_ARM_NISV_TO_USER';

const NUMBERS: Readonly<Record<CapName, number>> = { KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, KVM_CAP_ARM_NISV_TO_USER };

export interface Cap {
  readonly cap: number;
  /** The symbolic name, '' for a number the model has no name for. */
  readonly name: string;
}

/**
 * A capability as the VMM names it. Names resolve as the VMM's header would (profile-independent);
 * whether the kernel knows the number is `checkExtension`'s business.
 */
export function resolveCap(ref: string | number): Cap {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref < 0 || ref > 0xffff_ffff) throw new UapiError('MTEPERM_UAPI_ARG', `capability ${ref} is not a u32`);
    const name = (Object.keys(NUMBERS) as CapName[]).find((n) => NUMBERS[n] === ref) ?? '';
    return { cap: ref, name };
  }
  if (ref in NUMBERS) return { cap: NUMBERS[ref as CapName], name: ref };
  throw new UapiError('MTEPERM_UAPI_CAP', `unknown capability '${ref}' (the model knows ${Object.keys(NUMBERS).join(', ')})`);
}

/** Whether this kernel has the capability at all: KVM_CAP_ARM_MTE_PERM exists only in v2 (DOMAIN A.1). */
export function kernelKnowsCap(cap: number, profile: KernelProfile): boolean {
  // KVM_CAP_ARM_NISV_TO_USER predates every profile (Linux 5.5, DOMAIN A.3.4).
  if (cap === KVM_CAP_ARM_MTE || cap === KVM_CAP_ARM_NISV_TO_USER) return true;
  if (cap === KVM_CAP_ARM_MTE_PERM) return profile === 'v2';
  return false;
}

/**
 * KVM_CHECK_EXTENSION: KVM_CAP_ARM_MTE → `system_supports_mte()` (B §3.1); KVM_CAP_ARM_MTE_PERM (v2)
 * → 1 iff ARM64_MTE_PERM and ARM64_MTE (A.2.1); KVM_CAP_ARM_NISV_TO_USER → 1 (A.3.4); anything the kernel does not know → 0.
 */
export function checkExtension(cap: number, host: HostCaps, profile: KernelProfile): number {
  if (!kernelKnowsCap(cap, profile)) return 0;
  if (cap === KVM_CAP_ARM_NISV_TO_USER) return 1;
  if (cap === KVM_CAP_ARM_MTE) return systemSupportsMte(host) ? 1 : 0;
  return host.mtePerm && systemSupportsMte(host) ? 1 : 0;
}
