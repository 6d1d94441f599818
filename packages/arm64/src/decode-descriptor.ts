/**
 * A stage-2 descriptor decoded into named fields (D8.3, D8.4, D8.6; DOMAIN B §4.1). bigint lives
 * here, at the edge.
 */
import {
  DESC_AF,
  DESC_TYPE,
  DESC_VALID,
  LEVEL_SIZE,
  MEMATTR_MASK,
  MEMATTR_SHIFT,
  SH_MASK,
  SH_SHIFT,
  SW_MASK_HI,
  SW_SHIFT_HI,
  XN_HI,
  descFromBigInt,
  outputAddress,
} from './descriptor';
import type { MemType } from './vocabulary';
import { decodeMemAttr, memAttrNoTagAccess, memTypeOf, type MemAttr, type MemAttrOptions } from './memattr';
import { decodeS2ap, type S2ap } from './s2ap';

export type Shareability = 'non' | 'reserved' | 'outer' | 'inner';
const SH_NAMES: readonly Shareability[] = ['non', 'reserved', 'outer', 'inner'];

export type DecodedDescriptor =
  | { readonly kind: 'invalid' }
  | { readonly kind: 'table'; readonly level: number; readonly nextTable: bigint }
  | {
      readonly kind: 'block' | 'page';
      readonly level: number;
      readonly size: bigint;
      readonly outputAddress: bigint;
      /** MemAttr[3:0] as written. */
      readonly memAttrBits: number;
      readonly memAttr: MemAttr;
      /** The KVM memory type it stands for, undefined for encodings KVM never writes. */
      readonly memType: MemType | undefined;
      readonly noTagAccess: boolean;
      /** Normal WB without NoTagAccess: the page's tag storage is in use. */
      readonly tagged: boolean;
      readonly s2ap: S2ap;
      readonly sh: Shareability;
      readonly af: boolean;
      readonly xn: boolean;
      /** Software bits [58:55] >> 55. */
      readonly sw: number;
    }
  /** Level-3 entry with type 0: reserved, treated as invalid by the walk. */
  | { readonly kind: 'reserved'; readonly level: number };

/** Decodes a descriptor read at `level` under the table's FWB / FEAT_MTE_PERM. */
export function decodeDescriptor(desc: bigint, level: number, options: MemAttrOptions): DecodedDescriptor {
  const { lo, hi } = descFromBigInt(desc);
  if ((lo & DESC_VALID) === 0) return { kind: 'invalid' };
  const type = (lo & DESC_TYPE) !== 0;
  if (level < 3 && type) return { kind: 'table', level, nextTable: BigInt(outputAddress(lo, hi)) };
  if (level === 3 && !type) return { kind: 'reserved', level };
  const memAttrBits = (lo & MEMATTR_MASK) >>> MEMATTR_SHIFT;
  const memAttr = decodeMemAttr(memAttrBits, options);
  const noTagAccess = memAttrNoTagAccess(memAttr);
  const memType = memTypeOf(memAttr);
  return {
    kind: level === 3 ? 'page' : 'block',
    level,
    size: BigInt(LEVEL_SIZE[level]!),
    outputAddress: BigInt(outputAddress(lo, hi)),
    memAttrBits,
    memAttr,
    memType,
    noTagAccess,
    tagged: !noTagAccess && memType === 'normal_wb',
    s2ap: decodeS2ap(lo),
    sh: SH_NAMES[(lo & SH_MASK) >>> SH_SHIFT]!,
    af: (lo & DESC_AF) !== 0,
    xn: (hi & XN_HI) !== 0,
    sw: (hi & SW_MASK_HI) >>> SW_SHIFT_HI,
  };
}

