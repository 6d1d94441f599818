/**
 * Stage-2 MemAttr[3:0] with HCR_EL2.FWB = 1 (FEAT_S2FWB): Arm ARM D8.6.6, Tables D8-100/D8-101
 * (DOMAIN C §1.2, B §4.2). With FEAT_MTE_PERM MemAttr[3] is meaningful (D8.6.6 overrides the D8.3
 * "RES0"); NoTagAccess iff MemAttr[3:1] == 0b111, i.e. 0b1110 and 0b1111 (DOMAIN A.2.6, C §7.1).
 */
import type { MemType } from './vocabulary';
import { encodeFromTable } from './kvm-memattr';
import type { DeviceType, MemAttr } from './memattr';

/** What KVM writes with FWB=1 (MT_S2_FWB_*; DOMAIN B §4.2). */
export const S2_FWB_MEMATTR = {
  normal_wb: 0b0110, // MT_S2_FWB_NORMAL: forced Normal WB
  normal_nc: 0b0101, // MT_S2_FWB_NORMAL_NC: forced Normal NC
  device_ngnre: 0b0001, // MT_S2_FWB_DEVICE_nGnRE
  normal_wb_notagaccess: 0b1110, // MT_S2_FWB_NORMAL_NOTAGACCESS: forced Normal WB + NoTagAccess
} as const;

/** FWB=1 MemAttr 0b1111: stage-1 attributes pass through, with NoTagAccess (Table D8-101; DOMAIN C §1.2). */
export const FWB_STAGE1_NOTAGACCESS = 0b1111;

const FWB_DEVICE: readonly DeviceType[] = ['nGnRnE', 'nGnRE', 'nGRE', 'GRE'];

/** Decodes MemAttr[3:0] with FWB = 1 (Table D8-101). */
export function decodeMemAttrFwb(bits: number, mtePerm = true): MemAttr {
  let b = bits & 0b1111;
  // Without FEAT_MTE_PERM MemAttr[3] is RES0 and the ASL ignores it (DOMAIN C §1.2, row 54).
  if (!mtePerm) b &= 0b0111;
  const noTagAccess = mtePerm && b >>> 1 === 0b111;
  if (b >>> 2 === 0b00) return { kind: 'device', device: FWB_DEVICE[b & 0b11]! };
  switch (b & 0b0111) {
    case 0b101:
      if (b === 0b0101) return { kind: 'normal', outer: 'nc', inner: 'nc', forced: true, noTagAccess: false };
      break;
    case 0b110:
      return { kind: 'normal', outer: 'wb', inner: 'wb', forced: true, noTagAccess };
    case 0b111:
      return { kind: 'stage1', noTagAccess };
  }
  // 0bx100, 0b10xx (with FEAT_MTE_PERM) and 0b1101 are reserved.
  return { kind: 'reserved', bits: b };
}

/** Encodes a KVM memory type with FWB = 1; NoTagAccess only exists for Normal WB (DOMAIN A.2.3). */
export function encodeMemAttrFwb(memType: MemType, noTagAccess: boolean): number | undefined {
  return encodeFromTable(S2_FWB_MEMATTR, memType, noTagAccess);
}
