/**
 * Stage-2 MemAttr[3:0] (descriptor bits [5:2]) with HCR_EL2.FWB = 0: Arm ARM D8.6.5, Table D8-96
 * (DOMAIN C §1.1, B §4.2). The FWB = 1 table lives in fwb.ts; the two never share constants because
 * the same value means different things under each (0b1110 is NoTagAccess only with FWB).
 */
import type { MemType } from './vocabulary';
import { encodeFromTable } from './kvm-memattr';
import { decodeMemAttrFwb, encodeMemAttrFwb } from './fwb';

export type Cacheability = 'nc' | 'wt' | 'wb';
export type DeviceType = 'nGnRnE' | 'nGnRE' | 'nGRE' | 'GRE';

/** A decoded stage-2 MemAttr. `fwb` tells which table decoded it. */
export type MemAttr =
  | { readonly kind: 'device'; readonly device: DeviceType }
  /** FWB=0: combined with stage 1 (most restrictive wins). FWB=1: forced result (`forced: true`). */
  | { readonly kind: 'normal'; readonly outer: Cacheability; readonly inner: Cacheability; readonly forced: boolean; readonly noTagAccess: boolean }
  /** FWB=1 0b0111 / 0b1111: the stage-1 attributes pass through. */
  | { readonly kind: 'stage1'; readonly noTagAccess: boolean }
  /** Reserved, CONSTRAINED UNPREDICTABLE (K1.2.19): the model flags it rather than guessing. */
  | { readonly kind: 'reserved'; readonly bits: number };

export interface MemAttrOptions {
  /** HCR_EL2.FWB (the host has FEAT_S2FWB and KVM uses it). */
  readonly fwb: boolean;
  /** FEAT_MTE_PERM implemented; without it no encoding means NoTagAccess (DOMAIN C §1.1/§1.2). */
  readonly mtePerm?: boolean;
}

/** What KVM writes with FWB=0 (MT_S2_*; DOMAIN B §4.2). */
export const S2_MEMATTR = {
  normal_wb: 0b1111, // MT_S2_NORMAL: Outer WB, Inner WB
  normal_nc: 0b0101, // MT_S2_NORMAL_NC: Outer NC, Inner NC
  device_ngnre: 0b0001, // MT_S2_DEVICE_nGnRE
  normal_wb_notagaccess: 0b0100, // MT_S2_NORMAL_NOTAGACCESS: Normal WB + NoTagAccess (FEAT_MTE_PERM)
} as const;

const CACHEABILITY: readonly (Cacheability | undefined)[] = [undefined, 'nc', 'wt', 'wb'];
const DEVICE: readonly DeviceType[] = ['nGnRnE', 'nGnRE', 'nGRE', 'GRE'];

/** Decodes MemAttr[3:0] with FWB = 0 (Table D8-96). */
export function decodeMemAttrNoFwb(bits: number, mtePerm = true): MemAttr {
  const b = bits & 0b1111;
  if (b >>> 2 === 0) return { kind: 'device', device: DEVICE[b & 0b11]! };
  // 0b0100: Normal WB + NoTagAccess with FEAT_MTE_PERM, else reserved (R_HMNDG).
  if (b === 0b0100) {
    return mtePerm ? { kind: 'normal', outer: 'wb', inner: 'wb', forced: false, noTagAccess: true } : { kind: 'reserved', bits: b };
  }
  const outer = CACHEABILITY[b >>> 2];
  const inner = CACHEABILITY[b & 0b11];
  // 0b1000 and 0b1100: inner "00" is not a Normal cacheability.
  if (outer === undefined || inner === undefined) return { kind: 'reserved', bits: b };
  return { kind: 'normal', outer, inner, forced: false, noTagAccess: false };
}

/** Encodes a KVM memory type with FWB = 0; NoTagAccess only exists for Normal WB (DOMAIN A.2.3). */
export function encodeMemAttrNoFwb(memType: MemType, noTagAccess: boolean): number | undefined {
  return encodeFromTable(S2_MEMATTR, memType, noTagAccess);
}

/** Decodes MemAttr[3:0] under the given FWB setting into a tagged union. */
export function decodeMemAttr(bits: number, options: MemAttrOptions): MemAttr {
  const mtePerm = options.mtePerm ?? true;
  return options.fwb ? decodeMemAttrFwb(bits, mtePerm) : decodeMemAttrNoFwb(bits, mtePerm);
}

/** MemAttr[3:0] KVM writes for a memory type (+ NoTagAccess); undefined if not encodable. */
export function encodeMemAttr(memType: MemType, noTagAccess: boolean, options: MemAttrOptions): number | undefined {
  return options.fwb ? encodeMemAttrFwb(memType, noTagAccess) : encodeMemAttrNoFwb(memType, noTagAccess);
}

/** NoTagAccess of a decoded MemAttr (FWB: 0b1110 and 0b1111; FWB=0: 0b0100; DOMAIN A.2.6). */
export function memAttrNoTagAccess(attr: MemAttr): boolean {
  return (attr.kind === 'normal' || attr.kind === 'stage1') && attr.noTagAccess;
}

/**
 * The KVM memory type a decoded MemAttr stands for, or undefined for encodings KVM never writes.
 * FWB 0b0111/0b1111 (stage-1 pass-through) count as Normal WB: a Tagged stage 1 (MAIR 0xF0) is WB.
 */
export function memTypeOf(attr: MemAttr): MemType | undefined {
  switch (attr.kind) {
    case 'device':
      return attr.device === 'nGnRE' ? 'device_ngnre' : undefined;
    case 'normal':
      if (attr.outer === 'wb' && attr.inner === 'wb') return 'normal_wb';
      if (attr.outer === 'nc' && attr.inner === 'nc') return 'normal_nc';
      return undefined;
    case 'stage1':
      return 'normal_wb';
    case 'reserved':
      return undefined;
  }
}
