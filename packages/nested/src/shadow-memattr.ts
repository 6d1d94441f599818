/**
 * MemAttr[3:0] of a shadow stage-2 leaf, expressed in the host's FWB mode (DOMAIN C §5 rule 2).
 *
 * - Not Normal WB (a Device or non-cacheable side wins, C §2.1): KVM's constant for that type; no
 *   NoTagAccess, since such memory is never Tagged (C §2.3, §6).
 * - Normal WB without NoTagAccess: KVM's Normal (0b1111, or 0b0110 with FWB; B §4.2).
 * - NoTagAccess without FWB: 0b0100, the only encoding (C §1.1).
 * - NoTagAccess with FWB, L0's own decision (A.2.3): 0b1110, KVM's MT_S2_FWB_NORMAL_NOTAGACCESS.
 * - NoTagAccess with FWB from L1 alone: L1's own FWB encoding is kept (0b1110 or 0b1111); an L1
 *   FWB=0 0b0100 becomes 0b1111 (stage-1 attributes + NoTagAccess), which keeps its FWB=0 meaning
 *   that a stage-1 Device or NC type wins (C §5 rule 2).
 */
import type { MemType } from '@mteperm/events';
import { FWB_STAGE1_NOTAGACCESS, S2_FWB_MEMATTR, S2_MEMATTR } from '@mteperm/arm64';

export interface ShadowMemAttrInput {
  /** The host's HCR_EL2.FWB (FEAT_S2FWB in use). */
  readonly hostFwb: boolean;
  /** The combined memory type of both stages. */
  readonly memType: MemType;
  /** L0's own leaf has NoTagAccess. */
  readonly l0NoTagAccess: boolean;
  /** L1's leaf has NoTagAccess under L1's own decoding. */
  readonly l1NoTagAccess: boolean;
  /** L1's virtual HCR_EL2.FWB and the MemAttr bits it wrote. */
  readonly l1Fwb: boolean;
  readonly l1MemAttr: number;
}

export interface ShadowMemAttr {
  readonly bits: number;
  readonly noTagAccess: boolean;
}

export function shadowMemAttr(input: ShadowMemAttrInput): ShadowMemAttr {
  const kvm = input.hostFwb ? S2_FWB_MEMATTR : S2_MEMATTR;
  if (input.memType !== 'normal_wb') return { bits: kvm[input.memType], noTagAccess: false };
  if (!input.l0NoTagAccess && !input.l1NoTagAccess) return { bits: kvm.normal_wb, noTagAccess: false };
  if (!input.hostFwb || input.l0NoTagAccess) return { bits: kvm.normal_wb_notagaccess, noTagAccess: true };
  return { bits: input.l1Fwb ? input.l1MemAttr : FWB_STAGE1_NOTAGACCESS, noTagAccess: true };
}
