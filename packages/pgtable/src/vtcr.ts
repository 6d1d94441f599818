/** Stage-2 start level for the 4 KiB granule from the IPA size (VTCR_EL2.T0SZ / SL0): @mteperm/arm64 `stage2StartLevel`, with pgtable's refusal. */
import { MAX_IPA_BITS, MIN_IPA_BITS, stage2StartLevel, type StartLevel } from '@mteperm/arm64';
import { refused, okResult, type S2Result } from './errors';

export { MIN_IPA_BITS, MAX_IPA_BITS } from '@mteperm/arm64';
export type { StartLevel } from '@mteperm/arm64';

export function startLevelFor(ipaBits: number): S2Result<StartLevel> {
  const start = stage2StartLevel(ipaBits);
  if (start === undefined) {
    return refused('MTEPERM_S2_IPA_BITS', `IPA size ${ipaBits} outside ${MIN_IPA_BITS}..${MAX_IPA_BITS} bits (4 KiB granule, no LPA2)`);
  }
  return okResult(start);
}
