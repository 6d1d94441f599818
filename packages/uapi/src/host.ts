import type { EventData } from '@mteperm/events';

/**
 * The host capabilities the KVM API depends on, as folded from `HostCpusProbed` (uapi never asks
 * cpufeature directly: ARCHITECTURE "Dependency direction").
 */
export interface HostCaps {
  /** System-wide ID_AA64PFR1_EL1.MTE (0..3). */
  readonly mte: number;
  /** ARM64_MTE_PERM (`system_supports_notagaccess()`). */
  readonly mtePerm: boolean;
  readonly s2fwb: boolean;
  /** ARM64_HAS_NESTED_VIRT. */
  readonly nv: boolean;
}

export function hostCapsOf(probed: EventData<'HostCpusProbed'>): HostCaps {
  return { mte: probed.mte, mtePerm: probed.mte_perm, s2fwb: probed.s2fwb, nv: probed.nv };
}

/** `system_supports_mte()`: ARM64_MTE, i.e. MTE2 or later on every CPU (DOMAIN B §2.2, §3.1). */
export function systemSupportsMte(host: HostCaps): boolean {
  return host.mte >= 2;
}
