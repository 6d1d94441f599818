/**
 * Decoding descriptors into named fields and the JSON `stage2` leaves (CONTRACT §3). bigint lives
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
  descToBigInt,
  outputAddress,
} from './descriptor';
import type { MemType } from '@mteperm/events';
import { decodeMemAttr, memAttrNoTagAccess, memTypeOf, type MemAttr, type MemAttrOptions } from './memattr';
import { decodeS2ap, type S2ap } from './s2ap';
import type { Stage2PageTable } from './stage2-page-table';

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

/** One `stage2` entry of the JSON result (CONTRACT §3). */
export interface Stage2LeafJson {
  readonly ipa: string;
  readonly level: number;
  readonly size: string;
  readonly pa: string;
  readonly desc: string;
  readonly memattr: string;
  readonly notagaccess: boolean;
  readonly tagged: boolean;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** Every valid leaf of `table`, in IPA order, in the CONTRACT §3 JSON shape. */
export function stage2LeavesJson(table: Stage2PageTable): Stage2LeafJson[] {
  const out: Stage2LeafJson[] = [];
  const options = { fwb: table.fwb, mtePerm: table.mtePerm };
  table.forEachLeaf((ipa, level, lo, hi) => {
    const d = decodeDescriptor(descToBigInt(lo, hi), level, options);
    if (d.kind !== 'block' && d.kind !== 'page') return;
    out.push({
      ipa: hex(ipa),
      level,
      size: hex(d.size),
      pa: hex(d.outputAddress),
      desc: hex(descToBigInt(lo, hi)),
      memattr: `0b${d.memAttrBits.toString(2).padStart(4, '0')}`,
      notagaccess: d.noTagAccess,
      tagged: d.tagged,
    });
  });
  return out;
}
