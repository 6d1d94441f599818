/**
 * Exception Syndrome Registers (Arm ARM D24.2.46 ESR_EL2, D24.2.45 ESR_EL1; DOMAIN B §5.4, C §3.3,
 * A.3.9): the stage-2 aborts the hardware reports to EL2, and the aborts KVM injects into the guest.
 * Every field used here sits at or below bit 41 (ISS2.TagAccess), so a syndrome is a number inside
 * the model (exact below 2^53) and a bigint at the edge (`esrToBigInt`).
 */

// EC at ESR[31:26] (D24.2.46 "Exception Class").
const EC_SHIFT = 26;
/** EC 0x20: Instruction Abort from a lower Exception level (stage-2 fault of a guest fetch). */
export const EC_IABT_LOW = 0x20;
/** EC 0x21: Instruction Abort taken without a change in Exception level (injected into EL1). */
export const EC_IABT_CUR = 0x21;
/** EC 0x24: Data Abort from a lower Exception level. */
export const EC_DABT_LOW = 0x24;
/** EC 0x25: Data Abort taken without a change in Exception level. */
export const EC_DABT_CUR = 0x25;
// IL at ESR[25]: 1 = 32-bit instruction (always 1 for these aborts, C §3.3).
export const ESR_IL = 1 << 25;
// ISV at ISS[24]: the ISS holds a valid instruction syndrome (A.3.3).
export const ESR_ISV = 1 << 24;
// The instruction syndrome, valid with ISV = 1 (D24.2.46): SAS [23:22] = log2(bytes), SSE [21],
// SRT [20:16] = Xt, SF [15] = 64-bit register, AR [14] acquire/release.
export const ESR_SAS_SHIFT = 22;
export const ESR_SSE = 1 << 21;
export const ESR_SRT_SHIFT = 16;
export const ESR_SF = 1 << 15;
export const ESR_AR = 1 << 14;
// EA at ISS[9]: External abort type (IMPLEMENTATION DEFINED; 0 in everything KVM builds, A.3.9).
export const ESR_EA = 1 << 9;
// WnR at ISS[6] (data aborts only): 1 = the faulting effect was a write.
export const ESR_WNR = 1 << 6;
// DFSC / IFSC at ISS[5:0].
export const FSC_MASK = 0b111111;
// ISS2 at ESR[55:32]; ISS2.TagAccess at ISS2[9] = ESR[41] (ESR_ELx_TagAccess_SHIFT 9; C §3.3).
export const ESR_ISS2_SHIFT = 32;
export const ESR_TAG_ACCESS_BIT = 41;
const TAG_ACCESS_VALUE = 2 ** ESR_TAG_ACCESS_BIT;

/** Fault status codes: type in FSC[5:2], lookup level in FSC[1:0] (D24.2.46 DFSC table). */
export const FSC_TRANSLATION = 0b000100; // 0b0001LL
export const FSC_ACCESS_FLAG = 0b001000; // 0b0010LL
export const FSC_PERMISSION = 0b001100; // 0b0011LL
/** Synchronous External abort, not on a translation table walk (0b010000; what KVM injects, A.3.9). */
export const FSC_SEA = 0b010000;
/** Alignment fault (0b100001, no level; A.3.5's DC GZVA to Device memory). */
export const FSC_ALIGNMENT = 0b100001;

/** The stage-2 fault kinds: the first three carry a lookup level, alignment does not. */
export type FaultKind = 'translation' | 'access_flag' | 'permission' | 'alignment';

/** A stage-2 abort taken to EL2 (D24.2.46). */
export interface Stage2AbortSyndrome {
  readonly kind: FaultKind;
  /** Lookup level of the fault (0..3); ignored for alignment. */
  readonly level: number;
  /** Instruction abort (EC 0x20) rather than data abort (EC 0x24). */
  readonly instruction: boolean;
  /** WnR; ignored (RES0) for instruction aborts. */
  readonly wnr: boolean;
  /** ISS2.TagAccess: only for a permission fault due to NoTagAccess (C §7.6). */
  readonly tagAccess: boolean;
  /**
   * The instruction syndrome of a single-register load/store (A.3.3): sets ISV = 1 with SAS, SRT,
   * SF (SSE = AR = 0). Absent: ISV = 0 (pairs, tag instructions, instruction aborts).
   */
  readonly syndrome?: InstructionSyndrome;
}

/** What ISV = 1 reports about the faulting load/store (DOMAIN A.3.3). */
export interface InstructionSyndrome {
  /** Access size in bytes: 1, 2, 4 or 8. */
  readonly size: number;
  /** Xt, 0..30. */
  readonly reg: number;
}

/** The ISS bits [24:14] of an instruction syndrome: ISV, SAS = log2(size), SSE 0, SRT, SF = (size 8), AR 0. */
export function instructionSyndromeBits(s: InstructionSyndrome): number {
  const sas = 31 - Math.clz32(s.size); // log2 of 1, 2, 4, 8
  return (ESR_ISV | (sas << ESR_SAS_SHIFT) | ((s.reg & 0b11111) << ESR_SRT_SHIFT) | (s.size === 8 ? ESR_SF : 0)) >>> 0;
}

/** FSC for a fault kind at a level: 0b0001LL / 0b0010LL / 0b0011LL, or 0b100001. */
export function faultStatusCode(kind: FaultKind, level: number): number {
  switch (kind) {
    case 'translation':
      return FSC_TRANSLATION | (level & 0b11);
    case 'access_flag':
      return FSC_ACCESS_FLAG | (level & 0b11);
    case 'permission':
      return FSC_PERMISSION | (level & 0b11);
    case 'alignment':
      return FSC_ALIGNMENT;
  }
}

/** Builds ESR_EL2 of a stage-2 abort (as a number, exact below 2^53). */
export function encodeEsr(s: Stage2AbortSyndrome): number {
  const ec = s.instruction ? EC_IABT_LOW : EC_DABT_LOW;
  const iss = !s.instruction && s.syndrome !== undefined ? instructionSyndromeBits(s.syndrome) : 0;
  const low = ((ec << EC_SHIFT) | ESR_IL | iss | (!s.instruction && s.wnr ? ESR_WNR : 0) | faultStatusCode(s.kind, s.level)) >>> 0;
  return low + (s.tagAccess ? TAG_ACCESS_VALUE : 0);
}

export function esrToBigInt(esr: number): bigint {
  return BigInt(esr);
}

/** An abort KVM injects into the guest (kvm_inject_dabt / kvm_inject_pabt, v6.13 inject_abt64). */
export interface InjectedAbortSyndrome {
  /** A prefetch abort (instruction fetch) rather than a data abort. */
  readonly instruction: boolean;
  /** The access came from EL0: EC "from a lower EL" (0x24 / 0x20) instead of 0x25 / 0x21. */
  readonly fromEl0?: boolean;
}

/**
 * ESR_EL1 of an injected synchronous external abort (DOMAIN A.3.9): EC 0x25 (0x24 from EL0) for a
 * data abort, 0x21 (0x20 from EL0) for a prefetch abort; IL = 1; FSC 0b010000; ISV, WnR, EA and ISS2
 * are 0 whatever the op. So every injected data abort from EL1 is 0x96000010.
 */
export function encodeInjectedAbort(s: InjectedAbortSyndrome): bigint {
  const ec = s.instruction ? (s.fromEl0 ? EC_IABT_LOW : EC_IABT_CUR) : s.fromEl0 ? EC_DABT_LOW : EC_DABT_CUR;
  return BigInt(((ec << EC_SHIFT) | ESR_IL | FSC_SEA) >>> 0);
}

/** The fields of an ESR_ELx this model reads (D24.2.46); `kind` is undefined for other FSCs. */
export interface DecodedEsr {
  readonly ec: number;
  readonly il: boolean;
  readonly isv: boolean;
  /** With ISV: SAS as bytes (1 << SAS), SSE, SRT, SF, AR (D24.2.46; A.3.3). */
  readonly size: number;
  readonly sse: boolean;
  readonly srt: number;
  readonly sf: boolean;
  readonly ar: boolean;
  readonly ea: boolean;
  readonly wnr: boolean;
  readonly fsc: number;
  readonly kind: FaultKind | undefined;
  /** FSC[1:0]: the lookup level of a translation, access-flag or permission fault. */
  readonly level: number;
  /** ISS2, ESR[55:32]. */
  readonly iss2: number;
  readonly tagAccess: boolean;
}

function kindOfFsc(fsc: number): FaultKind | undefined {
  if (fsc === FSC_ALIGNMENT) return 'alignment';
  switch (fsc & 0b111100) {
    case FSC_TRANSLATION:
      return 'translation';
    case FSC_ACCESS_FLAG:
      return 'access_flag';
    case FSC_PERMISSION:
      return 'permission';
    default:
      return undefined;
  }
}

/** Decodes an ESR_EL2 or ESR_EL1 value. */
export function decodeEsr(esr: bigint | number): DecodedEsr {
  const v = BigInt(esr);
  const low = Number(v & 0xffffffffn);
  const iss2 = Number((v >> BigInt(ESR_ISS2_SHIFT)) & 0xffffffn);
  const fsc = low & FSC_MASK;
  return {
    ec: low >>> EC_SHIFT,
    il: (low & ESR_IL) !== 0,
    isv: (low & ESR_ISV) !== 0,
    size: 1 << ((low >>> ESR_SAS_SHIFT) & 0b11),
    sse: (low & ESR_SSE) !== 0,
    srt: (low >>> ESR_SRT_SHIFT) & 0b11111,
    sf: (low & ESR_SF) !== 0,
    ar: (low & ESR_AR) !== 0,
    ea: (low & ESR_EA) !== 0,
    wnr: (low & ESR_WNR) !== 0,
    fsc,
    kind: kindOfFsc(fsc),
    level: fsc & 0b11,
    iss2,
    tagAccess: ((iss2 >>> (ESR_TAG_ACCESS_BIT - ESR_ISS2_SHIFT)) & 1) === 1,
  };
}
