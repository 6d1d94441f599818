/**
 * ESR_EL2 for stage-2 aborts taken from a lower EL (Arm ARM D24.2.46; DOMAIN B §5.4, C §3.3).
 * ESR_EL2 stays below 2^53 for every field used here (ISS2 bit 41 at most), so it is a number inside
 * the package and a bigint at the edge (`esrToBigInt`).
 */

// EC at ESR[31:26] (D24.2.46): 0x24 Data Abort from a lower EL, 0x20 Instruction Abort from a lower EL.
export const EC_DABT_LOW = 0x24;
export const EC_IABT_LOW = 0x20;
const EC_SHIFT = 26;
// IL at ESR[25]: 1 = 32-bit instruction (always 1 for these aborts, C §3.3).
export const ESR_IL = 1 << 25;
// WnR at ISS[6] (data aborts only): 1 = the faulting effect was a write.
export const ESR_WNR = 1 << 6;
// DFSC / IFSC at ISS[5:0].
export const FSC_MASK = 0b111111;
// ISS2.TagAccess at ISS2[9] = ESR[41] (ESR_ELx_TagAccess_SHIFT 9 within ISS2 at [55:32]).
export const ESR_TAG_ACCESS_BIT = 41;
const TAG_ACCESS_VALUE = 2 ** ESR_TAG_ACCESS_BIT;

/** Fault status codes: type in FSC[5:2], lookup level in FSC[1:0] (D24.2.46 DFSC table). */
export const FSC_TRANSLATION = 0b000100; // 0b0001LL
export const FSC_ACCESS_FLAG = 0b001000; // 0b0010LL
export const FSC_PERMISSION = 0b001100; // 0b0011LL

export type FaultKind = 'translation' | 'access_flag' | 'permission';

const FSC_BASE: Readonly<Record<FaultKind, number>> = {
  translation: FSC_TRANSLATION,
  access_flag: FSC_ACCESS_FLAG,
  permission: FSC_PERMISSION,
};

export interface Stage2AbortSyndrome {
  readonly kind: FaultKind;
  /** Lookup level of the fault (0..3). */
  readonly level: number;
  /** Instruction abort (EC 0x20) rather than data abort (EC 0x24). */
  readonly instruction: boolean;
  /** WnR; ignored (RES0) for instruction aborts. */
  readonly wnr: boolean;
  /** ISS2.TagAccess: only for a permission fault due to NoTagAccess (C §7.6). */
  readonly tagAccess: boolean;
}

/** FSC for a fault kind at a level: 0b0001LL / 0b0010LL / 0b0011LL. */
export function faultStatusCode(kind: FaultKind, level: number): number {
  return FSC_BASE[kind] | (level & 0b11);
}

/** Builds ESR_EL2 (as a number, exact below 2^53). */
export function encodeEsr(s: Stage2AbortSyndrome): number {
  const ec = s.instruction ? EC_IABT_LOW : EC_DABT_LOW;
  const low = ((ec << EC_SHIFT) | ESR_IL | (!s.instruction && s.wnr ? ESR_WNR : 0) | faultStatusCode(s.kind, s.level)) >>> 0;
  return low + (s.tagAccess ? TAG_ACCESS_VALUE : 0);
}

export function esrToBigInt(esr: number): bigint {
  return BigInt(esr);
}

/** Decodes the fields this model writes; `kind` is undefined for other FSCs. */
export function decodeEsr(esr: bigint | number): {
  ec: number;
  il: boolean;
  wnr: boolean;
  fsc: number;
  kind: FaultKind | undefined;
  level: number;
  tagAccess: boolean;
} {
  const v = BigInt(esr);
  const low = Number(v & 0xffffffffn);
  const fsc = low & FSC_MASK;
  const type = fsc & 0b111100;
  const kind = type === FSC_TRANSLATION ? 'translation' : type === FSC_ACCESS_FLAG ? 'access_flag' : type === FSC_PERMISSION ? 'permission' : undefined;
  return {
    ec: low >>> EC_SHIFT,
    il: (low & ESR_IL) !== 0,
    wnr: (low & ESR_WNR) !== 0,
    fsc,
    kind,
    level: fsc & 0b11,
    tagAccess: ((v >> BigInt(ESR_TAG_ACCESS_BIT)) & 1n) === 1n,
  };
}
