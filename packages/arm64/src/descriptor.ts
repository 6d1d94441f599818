/**
 * Stage-2 VMSAv8-64 descriptor fields for the 4 KiB granule without LPA2 (Arm ARM D8.3; DOMAIN B §4.1).
 *
 * A descriptor is held as two Uint32 halves: `lo` = bits [31:0], `hi` = bits [63:32]. Constants named
 * `*_HI` are positions within `hi` (bit n of the descriptor is bit n-32 of `hi`).
 */

// valid at desc[0] (D8.3.1): 0 = invalid, every other bit ignored by the walk.
export const DESC_VALID = 1 << 0;
// type at desc[1] (D8.3.1): levels 0–2 1 = table, 0 = block; level 3 1 = page (0 is reserved).
export const DESC_TYPE = 1 << 1;
// MemAttr[3:0] at desc[5:2] (D8.6.5 FWB=0 / D8.6.6 FWB=1; decoded in memattr.ts / fwb.ts).
export const MEMATTR_SHIFT = 2;
export const MEMATTR_MASK = 0b1111 << MEMATTR_SHIFT;
// S2AP[0] (read) at desc[6] (Arm ARM D8.4, stage-2 data access permissions).
export const S2AP_R = 1 << 6;
// S2AP[1] (write) at desc[7] (Arm ARM D8.4).
export const S2AP_W = 1 << 7;
// SH[1:0] at desc[9:8] (D8.6.7); KVM writes 0b11 Inner Shareable when LPA2 is off (DOMAIN B §4.1).
export const SH_SHIFT = 8;
export const SH_MASK = 0b11 << SH_SHIFT;
export const SH_INNER_SHAREABLE = 0b11 << SH_SHIFT;
// AF at desc[10] (Arm ARM D8.5, the Access flag); KVM sets it at map time (DOMAIN B §4.1).
export const DESC_AF = 1 << 10;
// Output address OA[47:12] at desc[47:12] (D8.3.1): bits [31:12] in lo, [47:32] in hi[15:0].
export const OA_LO_MASK = 0xfffff000;
export const OA_HI_MASK = 0x0000ffff;
// XN at desc[54] (Arm ARM D8.4, stage-2 execute-never; KVM does not use FEAT_XNX desc[53]).
export const XN_HI = 1 << (54 - 32);
// Software bits [58:55] (D8.3.1 "reserved for software use"; KVM_PGTABLE_PROT_SW0..SW3; NV keeps the
// L1 mapping level there, KVM_NV_GUEST_MAP_SZ).
export const SW_SHIFT_HI = 55 - 32;
export const SW_MASK_HI = 0b1111 << SW_SHIFT_HI;

/** Bits a permission relax may change: S2AP R/W and XN (KVM_PTE_LEAF_ATTR_S2_PERMS). */
export const PERM_LO_MASK = S2AP_R | S2AP_W;
export const PERM_HI_MASK = XN_HI;

/** 2^32, to split numbers into halves without 64-bit integer arithmetic. */
export const TWO_32 = 4294967296;

/** Lowest level at which a 4 KiB-granule stage 2 may hold a block (KVM_PGTABLE_MIN_BLOCK_LEVEL = 1). */
export const MIN_BLOCK_LEVEL = 1;

/** A translation table level of the 4 KiB granule without LPA2 (D8.2). */
export type Level = 0 | 1 | 2 | 3;

/** The 4 KiB translation granule (D8.2): the size of a page, a level-3 leaf. */
export const PAGE_SIZE = 0x1000;
/** A level-2 block (4 KiB granule): 2 MiB, what Linux calls PMD_SIZE. */
export const PMD_SIZE = 0x20_0000;
/** A level-1 block (4 KiB granule): 1 GiB, what Linux calls PUD_SIZE. */
export const PUD_SIZE = 0x4000_0000;
/** Bytes mapped by one entry at each level (4 KiB granule): L0 512 GiB, L1 1 GiB, L2 2 MiB, L3 4 KiB. */
export const LEVEL_SIZE: readonly number[] = [2 ** 39, PUD_SIZE, PMD_SIZE, PAGE_SIZE];
/** Reciprocals of LEVEL_SIZE: `ipa * LEVEL_INV[l]` is exact (powers of two) and `| 0` floors it. */
export const LEVEL_INV: readonly number[] = LEVEL_SIZE.map((s) => 1 / s);
/** Bytes one entry at `level` maps (D8.2, 4 KiB granule). */
export function levelSize(level: Level): number {
  return LEVEL_SIZE[level]!;
}

/** The full 64-bit descriptor from its halves (API edge). */
export function descToBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Halves of a 64-bit descriptor (API edge). */
export function descFromBigInt(desc: bigint): { lo: number; hi: number } {
  return { lo: Number(desc & 0xffffffffn), hi: Number((desc >> 32n) & 0xffffffffn) };
}

/** Output address of a leaf as a number (< 2^48, exact in a double). */
export function outputAddress(lo: number, hi: number): number {
  return (hi & OA_HI_MASK) * TWO_32 + ((lo & OA_LO_MASK) >>> 0);
}
