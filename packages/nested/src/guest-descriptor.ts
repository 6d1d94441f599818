/**
 * The guest hypervisor's (L1's) stage-2 descriptors, written in the architectural VMSAv8-64 format
 * for the 4 KiB granule (Arm ARM D8.3; DOMAIN B §4.1) as L1 would write them into its own memory.
 * The shadow stage 2 uses the same bit positions (it is a host stage 2, C §5 rule 2).
 * A descriptor is two Uint32 halves: `lo` = desc[31:0], `hi` = desc[63:32].
 */
import {
  DESC_AF,
  DESC_VALID,
  MEMATTR_SHIFT,
  S2AP_R,
  S2AP_W,
  S2_FWB_MEMATTR,
  S2_MEMATTR,
  SH_INNER_SHAREABLE,
  SW_SHIFT_HI,
  TWO_32,
  XN_HI,
  LEVEL_SIZE,
} from '@mteperm/arm64';

// Software bits [58:55]; KVM_NV_GUEST_MAP_SZ = SW1|SW0 = desc[56:55] holds L1's mapping level (B §4.1, §6.1).
export const NV_GUEST_MAP_SZ_MASK_HI = 0b11 << SW_SHIFT_HI;

/** Input and output range of L1's stage 2: 48 bits (virtual VTCR_EL2.T0SZ = 16, start level 0). */
export const GUEST_IPA_BITS = 48;
export const GUEST_IPA_LIMIT = 2 ** GUEST_IPA_BITS;

/** CONTRACT §1.4 attributes, plus `invalid` (an unmapped range: descriptor 0). */
export type GuestS2Attr = 'normal' | 'normal_notagaccess' | 'device' | 'invalid';
export type GuestS2Ap = 'rw' | 'ro' | 'none';

export const GUEST_S2_ATTRS: readonly GuestS2Attr[] = ['normal', 'normal_notagaccess', 'device', 'invalid'];
export const GUEST_S2_APS: readonly GuestS2Ap[] = ['rw', 'ro', 'none'];

/** L1's virtual HCR_EL2.FWB and whether its ID_AA64PFR2_EL1.MTEPERM reads 1 (DOMAIN A.2.8, C §5). */
export interface GuestS2Regs {
  readonly fwb: boolean;
  readonly mtePerm: boolean;
}

export interface GuestLeafSpec {
  readonly attr: GuestS2Attr;
  readonly ap: GuestS2Ap;
  /** Access flag; a guest hypervisor like KVM sets it (default true). */
  readonly af?: boolean;
}

/**
 * MemAttr L1 writes for an attribute under its own FWB (DOMAIN B §4.2 constants: FWB=0 Normal 0b1111,
 * NoTagAccess 0b0100, Device-nGnRE 0b0001; FWB=1 0b0110, 0b1110, 0b0001).
 */
export function guestMemAttr(attr: Exclude<GuestS2Attr, 'invalid'>, fwb: boolean): number {
  const table = fwb ? S2_FWB_MEMATTR : S2_MEMATTR;
  switch (attr) {
    case 'normal':
      return table.normal_wb;
    case 'normal_notagaccess':
      return table.normal_wb_notagaccess;
    case 'device':
      return table.device_ngnre;
  }
}

/**
 * Attribute halves of an L1 leaf without OA and type bit; undefined for `invalid`. Normal memory is
 * executable (XN = 0), device memory is not (an exec there is refused at map time, B §4.3).
 */
export function encodeGuestLeafAttrs(spec: GuestLeafSpec, fwb: boolean): { lo: number; hi: number } | undefined {
  if (spec.attr === 'invalid') return undefined;
  const r = spec.ap !== 'none';
  const w = spec.ap === 'rw';
  const lo =
    DESC_VALID |
    (guestMemAttr(spec.attr, fwb) << MEMATTR_SHIFT) |
    (r ? S2AP_R : 0) |
    (w ? S2AP_W : 0) |
    SH_INNER_SHAREABLE |
    (spec.af === false ? 0 : DESC_AF);
  const hi = spec.attr === 'device' ? XN_HI : 0;
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

/** ORs output address `oa` (4 KiB aligned, < 2^48) into attribute halves. */
export function withOutputAddress(lo: number, hi: number, oa: number): { lo: number; hi: number } {
  return { lo: (lo | (oa % TWO_32)) >>> 0, hi: (hi | Math.floor(oa / TWO_32)) >>> 0 };
}

/** Level of a leaf of `size` bytes (1 GiB → 1, 2 MiB → 2, 4 KiB → 3). */
export function levelOfSize(size: number): number {
  return size >= LEVEL_SIZE[1]! ? 1 : size >= LEVEL_SIZE[2]! ? 2 : 3;
}
