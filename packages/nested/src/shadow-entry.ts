/**
 * The shadow stage-2 leaf for an L2 IPA from L1's leaf and L0's leaf (DOMAIN A.2.8, B §6.1, C §5):
 * - size: at most both mappings (the smaller of the two leaves), aligned in L2 IPA, L1 IPA and host PA;
 * - permissions: the intersection (R and W of both; X only if both allow it and the result is Normal WB);
 * - memory type: the more restrictive of the two (Device over Normal-NC over Normal WB, C §2.1);
 * - NoTagAccess iff L1's entry or L0's entry has it (A.2.8), encoded by shadowMemAttr;
 * - software bits: KVM_NV_GUEST_MAP_SZ (SW1|SW0, desc[56:55]) = L1's mapping level (B §4.1, §6.1).
 * L1's MemAttr is decoded with L1's virtual FWB and MTEPERM view, L0's with the host's.
 */
import type { MemType } from '@mteperm/events';
import type { Stage2Host, WalkResult } from '@mteperm/arm64';
import { levelOfSize, withOutputAddress } from './guest-descriptor';
import { DESC_AF, DESC_TYPE, DESC_VALID, MEMATTR_MASK, MEMATTR_SHIFT, S2AP_R, S2AP_W, SH_INNER_SHAREABLE, SW_SHIFT_HI, XN_HI, decodeMemAttr, outputAddress, type MemAttr } from '@mteperm/arm64';
import { shadowMemAttr } from './shadow-memattr';

export interface ShadowLeaf {
  /** L2 IPA of the first byte. */
  readonly ipa: number;
  /** L1 IPA it translates to. */
  readonly l1Ipa: number;
  /** Host PA. */
  readonly pa: number;
  readonly size: number;
  readonly level: number;
  readonly lo: number;
  readonly hi: number;
  readonly noTagAccess: boolean;
}

/** Normal WB < Normal-NC < Device: the restriction a decoded MemAttr places on the combined type. */
function rankOf(attr: MemAttr): number {
  switch (attr.kind) {
    case 'device':
      return 2;
    case 'normal':
      return attr.outer === 'wb' && attr.inner === 'wb' ? 0 : 1;
    case 'stage1':
      return 0;
    case 'reserved':
      // CONSTRAINED UNPREDICTABLE (K1.2.19); the model lets the other stage decide, as v6.13 KVM
      // ignores L1's MemAttr altogether (B §6.1). Never NoTagAccess (C §8 rows 40, 53).
      return 0;
  }
}
const MEM_TYPE_OF_RANK: readonly MemType[] = ['normal_wb', 'normal_nc', 'device_ngnre'];

function memAttrBits(lo: number): number {
  return (lo & MEMATTR_MASK) >>> MEMATTR_SHIFT;
}

/**
 * The shadow leaf covering `l2Ipa`, given L1's leaf (`l1`, found) translating it and L0's leaf
 * (`l0`, found) translating the resulting L1 IPA. Pure.
 */
export function combineShadowLeaf(l2Ipa: number, l1: WalkResult, l0: WalkResult, host: Stage2Host): ShadowLeaf {
  const size = Math.min(l1.size, l0.size);
  const ipa = l2Ipa - (l2Ipa % size);
  const l1Ipa = outputAddress(l1.lo, l1.hi) + (ipa - l1.base);
  const pa = outputAddress(l0.lo, l0.hi) + (l1Ipa - l0.base);

  const l1Bits = memAttrBits(l1.lo);
  const l1Attr = decodeMemAttr(l1Bits, { fwb: l1.fwb, mtePerm: l1.mtePerm });
  const l0Attr = decodeMemAttr(memAttrBits(l0.lo), host);
  const memType = MEM_TYPE_OF_RANK[Math.max(rankOf(l1Attr), rankOf(l0Attr))]!;
  const attr = shadowMemAttr({
    hostFwb: host.fwb,
    memType,
    l0NoTagAccess: (l0Attr.kind === 'normal' || l0Attr.kind === 'stage1') && l0Attr.noTagAccess,
    l1NoTagAccess: (l1Attr.kind === 'normal' || l1Attr.kind === 'stage1') && l1Attr.noTagAccess,
    l1Fwb: l1.fwb,
    l1MemAttr: l1Bits,
  });

  const r = (l1.lo & S2AP_R) !== 0 && (l0.lo & S2AP_R) !== 0;
  const w = (l1.lo & S2AP_W) !== 0 && (l0.lo & S2AP_W) !== 0;
  const x = (l1.hi & XN_HI) === 0 && (l0.hi & XN_HI) === 0 && memType === 'normal_wb';
  const level = levelOfSize(size);
  const lo = DESC_VALID | (level === 3 ? DESC_TYPE : 0) | (attr.bits << MEMATTR_SHIFT) | (r ? S2AP_R : 0) | (w ? S2AP_W : 0) | SH_INNER_SHAREABLE | DESC_AF;
  const hi = (x ? 0 : XN_HI) | ((l1.level & 0b11) << SW_SHIFT_HI);
  const d = withOutputAddress(lo, hi, pa);
  return { ipa, l1Ipa, pa, size, level, lo: d.lo, hi: d.hi, noTagAccess: attr.noTagAccess };
}
