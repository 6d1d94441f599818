import type { CpuIdRegs } from '@mteperm/events';
import { PFR1_MTE_FRAC_SHIFT, PFR1_MTE_SHIFT } from './id-aa64pfr1';
import { PFR2_FPMR_SHIFT, PFR2_MTEPERM_SHIFT } from './id-aa64pfr2';
import { getField, setField } from './field';
import { MMFR2_NV_SHIFT } from './id-aa64mmfr2';

// ID_AA64MMFR2_EL1.CCIDX [23:20]: KVM hides it from every guest (v6.13 __kvm_read_sanitised_id_reg).
const MMFR2_CCIDX_SHIFT = 20;

/** PFR1 fields KVM always clears from the guest's view (DOMAIN B §2.4). */
const PFR1_ALWAYS_HIDDEN: readonly number[] = [
  24, // SME [27:24]
  28, // RNDR_trap [31:28]
  36, // NMI [39:36]
  PFR1_MTE_FRAC_SHIFT, // MTE_frac [43:40]
  44, // GCS [47:44]
  48, // THE [51:48]
  52, // MTEX [55:52]
  56, // DF2 [59:56]
  60, // PFAR [63:60]
  16, // MPAM_frac [19:16]
];

/** What the guest view depends on besides the host's sanitised registers. */
export interface GuestViewContext {
  /** kvm_has_mte(kvm): host ARM64_MTE and KVM_CAP_ARM_MTE enabled (DOMAIN B §3.1). */
  readonly kvmHasMte: boolean;
  /** kvm_has_mte_perm(kvm): host ARM64_MTE_PERM and KVM_CAP_ARM_MTE_PERM enabled (DOMAIN B §3.2). */
  readonly kvmHasMtePerm: boolean;
  /** vcpu_has_nv(): the vCPU was created with EL2 on a host with nested virtualisation. */
  readonly vcpuHasEl2: boolean;
}

export interface GuestIdRegs {
  readonly id_aa64pfr1_el1: bigint;
  readonly id_aa64pfr2_el1: bigint;
  readonly id_aa64mmfr2_el1: bigint;
}

/**
 * The guest's ID_AA64PFR1_EL1 and ID_AA64PFR2_EL1:
 * - PFR1.MTE kept only with kvm_has_mte; the always-hidden PFR1 fields cleared (DOMAIN B §2.4).
 * - PFR1.MTE_frac is always 0 (one of the always-hidden fields, A.3.8/A.3.10), even on a host whose
 *   CPUs report 0b1111.
 * - PFR2: only FPMR as the host has it (v6.13 "We only expose FPMR"), plus MTEPERM = 1 for an EL2
 *   vCPU of a VM with kvm_has_mte_perm (DOMAIN A.2.8). MTESTOREONLY and MTEFAR stay hidden (v6.13).
 */
export function guestIdRegs(sanitised: CpuIdRegs, ctx: GuestViewContext): GuestIdRegs {
  let pfr1 = sanitised.id_aa64pfr1_el1;
  for (const shift of PFR1_ALWAYS_HIDDEN) pfr1 = setField(pfr1, shift, 0);
  if (!ctx.kvmHasMte) pfr1 = setField(pfr1, PFR1_MTE_SHIFT, 0);

  let pfr2 = setField(0n, PFR2_FPMR_SHIFT, getField(sanitised.id_aa64pfr2_el1, PFR2_FPMR_SHIFT));
  if (ctx.vcpuHasEl2 && ctx.kvmHasMtePerm) pfr2 = setField(pfr2, PFR2_MTEPERM_SHIFT, 1);

  // MMFR2: the host's FWB as it is; CCIDX hidden; NV shown only to a vCPU with EL2 (model decision
  // [I]: a guest without EL2 cannot use nested virtualisation, so KVM gives it no FEAT_NV).
  let mmfr2 = setField(sanitised.id_aa64mmfr2_el1, MMFR2_CCIDX_SHIFT, 0);
  if (!ctx.vcpuHasEl2) mmfr2 = setField(mmfr2, MMFR2_NV_SHIFT, 0);
  return { id_aa64pfr1_el1: pfr1, id_aa64pfr2_el1: pfr2, id_aa64mmfr2_el1: mmfr2 };
}
