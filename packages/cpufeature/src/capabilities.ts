import type { CpuIdRegs } from '@mteperm/events';
import { getField } from './field';
import { MMFR2_FWB_SHIFT, MMFR2_NV_SHIFT, NV_NV2 } from './id-aa64mmfr2';
import { MTE_FRAC_ASYNC, MTE_MTE2, MTE_MTE3, PFR1_MTE_FRAC_SHIFT, PFR1_MTE_SHIFT } from './id-aa64pfr1';
import { PFR2_MTEPERM_SHIFT } from './id-aa64pfr2';

/** The system capabilities (cpucaps) the model derives from the sanitised registers. */
export interface HostCapabilities {
  /** System-wide ID_AA64PFR1_EL1.MTE: 0 NI, 1 MTE, 2 MTE2, 3 MTE3. */
  readonly mte: number;
  /** ARM64_MTE: MTE2 or later on every CPU (DOMAIN B §2.2, `system_supports_mte()`). */
  readonly ARM64_MTE: boolean;
  /** ARM64_MTE_ASYMM: MTE3 (DOMAIN B §2.2). */
  readonly ARM64_MTE_ASYMM: boolean;
  /** ARM64_MTE_PERM: SYSTEM_FEATURE, sanitised MTEPERM >= 1, i.e. every CPU (DOMAIN B §2.3). */
  readonly ARM64_MTE_PERM: boolean;
  /** ARM64_HAS_STAGE2_FWB: FWB >= 1 on every CPU (DOMAIN B §2.1). */
  readonly ARM64_HAS_STAGE2_FWB: boolean;
  /** ARM64_HAS_NESTED_VIRT: NV >= NV2 on every CPU (model decision: KVM's NV needs FEAT_NV2). */
  readonly ARM64_HAS_NESTED_VIRT: boolean;
}

/**
 * Capabilities from the system-wide registers. ARM64_MTE_PERM does not itself require ARM64_MTE
 * (DOMAIN B §2.3 note); KVM gates its use on kvm_has_mte().
 */
export function capabilities(sanitised: CpuIdRegs): HostCapabilities {
  const mte = getField(sanitised.id_aa64pfr1_el1, PFR1_MTE_SHIFT);
  return {
    mte,
    ARM64_MTE: mte >= MTE_MTE2,
    ARM64_MTE_ASYMM: mte >= MTE_MTE3,
    ARM64_MTE_PERM: getField(sanitised.id_aa64pfr2_el1, PFR2_MTEPERM_SHIFT) >= 1,
    ARM64_HAS_STAGE2_FWB: getField(sanitised.id_aa64mmfr2_el1, MMFR2_FWB_SHIFT) >= 1,
    ARM64_HAS_NESTED_VIRT: getField(sanitised.id_aa64mmfr2_el1, MMFR2_NV_SHIFT) >= NV_NV2,
  };
}

/** Whether `tcf: async` / `asymm` can take effect on this host (DOMAIN A.3.8). */
export interface TagCheckModes {
  /** Every CPU has FEAT_MTE_ASYNC: ID_AA64PFR1_EL1.MTE >= 2 with MTE_frac = 0b0000. */
  readonly async: boolean;
  /** Every CPU has FEAT_MTE_ASYM_FAULT: MTE >= 3. */
  readonly asymm: boolean;
}

/**
 * From each CPU's raw ID_AA64PFR1_EL1, not the sanitised value: the kernel of this era does not
 * sanitise MTE_frac (A.3.8), and a scenario must not depend on which CPU runs the vCPU, so the CPU
 * without the feature decides.
 */
export function tagCheckModes(cpus: readonly CpuIdRegs[]): TagCheckModes {
  let async = cpus.length > 0;
  let asymm = cpus.length > 0;
  for (const c of cpus) {
    const mte = getField(c.id_aa64pfr1_el1, PFR1_MTE_SHIFT);
    if (mte < MTE_MTE2 || getField(c.id_aa64pfr1_el1, PFR1_MTE_FRAC_SHIFT) !== MTE_FRAC_ASYNC) async = false;
    if (mte < MTE_MTE3) asymm = false;
  }
  return { async, asymm };
}
