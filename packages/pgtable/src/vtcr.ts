/**
 * Stage-2 start level for the 4 KiB granule from the IPA size (VTCR_EL2.T0SZ / SL0).
 *
 * Rule (Arm ARM D8.2, "Concatenated translation tables for the initial stage 2 lookup", and the
 * VTCR_EL2.SL0 field in D24.2): the input size is 64 - T0SZ bits; each level resolves 9 bits above
 * the 12-bit page offset; the initial stage-2 lookup may use up to 16 concatenated tables (4 extra
 * bits). Like KVM (levels = ARM64_HW_PGTABLE_LEVELS(ipa_bits - 4)), the model uses concatenation to
 * drop a level whenever at most 16 tables suffice: levels = floor((ipa_bits - 8) / 9), so
 *   32–34 bits → start level 2 (2^(ipa-30) entries: 4–16 tables concatenated),
 *   35–43 bits → start level 1 (40 bits: 1024 entries = 2 tables; 43 bits: 16 tables),
 *   44–48 bits → start level 0 (32–512 entries, one table).
 * Above 48 bits needs LPA2 (level -1, OA in SH[9:8]), which this model does not implement.
 */
import { refused, okResult, type S2Result } from './errors';

export const MIN_IPA_BITS = 32;
export const MAX_IPA_BITS = 48;

export interface StartLevel {
  readonly ipaBits: number;
  /** First lookup level (0, 1 or 2). */
  readonly startLevel: number;
  /** Entries of the initial lookup, across concatenated tables. */
  readonly entries: number;
  /** Number of concatenated 4 KiB tables (1 when the start table is not full). */
  readonly tables: number;
  /** VTCR_EL2.T0SZ = 64 - ipa_bits. */
  readonly t0sz: number;
  /** VTCR_EL2.SL0 for the 4 KiB granule: 0b10 level 0, 0b01 level 1, 0b00 level 2. */
  readonly sl0: number;
}

export function startLevelFor(ipaBits: number): S2Result<StartLevel> {
  if (!Number.isInteger(ipaBits) || ipaBits < MIN_IPA_BITS || ipaBits > MAX_IPA_BITS) {
    return refused('MTEPERM_S2_IPA_BITS', `IPA size ${ipaBits} outside ${MIN_IPA_BITS}..${MAX_IPA_BITS} bits (4 KiB granule, no LPA2)`);
  }
  const levels = Math.floor((ipaBits - 8) / 9);
  const startLevel = 4 - levels;
  // Bits resolved at the start level: everything above what the lower levels resolve.
  const bits = ipaBits - (12 + 9 * (3 - startLevel));
  const entries = 2 ** bits;
  return okResult({ ipaBits, startLevel, entries, tables: Math.max(1, entries / 512), t0sz: 64 - ipaBits, sl0: 2 - startLevel });
}
