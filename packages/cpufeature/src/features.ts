import type { CpuIdRegs } from '@mteperm/events';
import { CpuFeatureError } from './errors';
import { encodeIdAa64mmfr2, NV_NV2 } from './id-aa64mmfr2';
import { encodeIdAa64pfr1, MTE_FRAC_ASYNC, MTE_IMP, MTE_MTE2, MTE_MTE3, MTE_NI } from './id-aa64pfr1';
import { encodeIdAa64pfr2 } from './id-aa64pfr2';

/** The CONTRACT §1.1 `features` shorthand. */
export type FeatureShorthand = 'mte' | 'mte2' | 'mte3' | 'mte_perm' | 's2fwb' | 'nv';
export const FEATURE_SHORTHANDS: readonly FeatureShorthand[] = ['mte', 'mte2', 'mte3', 'mte_perm', 's2fwb', 'nv'];

export function isFeatureShorthand(s: string): s is FeatureShorthand {
  return (FEATURE_SHORTHANDS as readonly string[]).includes(s);
}

/**
 * The raw ID registers a CPU with exactly these features reports.
 *
 * - The MTE level is the highest one named; `mte_perm` implies FEAT_MTE2 (DOMAIN C §4.3: "FEAT_MTE_PERM
 *   implies FEAT_MTE2"), so `[mte_perm]` alone reports MTE = 0b0010.
 * - MTE_frac is 0b0000 (async supported) for MTE2 and MTE3; MTE3 requires it (DOMAIN C §4.2); for
 *   MTE2 it is a model choice. For NI and IMP the field is not valid and reads 0.
 * - `nv` reports FEAT_NV2 (0b0010): KVM's nested support needs NV2 (model decision, README).
 */
export function cpuFromFeatures(features: readonly string[], where?: string): CpuIdRegs {
  let mte = MTE_NI;
  let mtePerm = false;
  let fwb = false;
  let nv = false;
  features.forEach((f, i) => {
    if (!isFeatureShorthand(f)) {
      throw new CpuFeatureError(
        'MTEPERM_CPU_FEATURE',
        `unknown feature '${f}' (expected one of ${FEATURE_SHORTHANDS.join(', ')})`,
        where === undefined ? undefined : `${where}[${i}]`,
      );
    }
    switch (f) {
      case 'mte':
        mte = Math.max(mte, MTE_IMP);
        break;
      case 'mte2':
        mte = Math.max(mte, MTE_MTE2);
        break;
      case 'mte3':
        mte = Math.max(mte, MTE_MTE3);
        break;
      case 'mte_perm':
        mtePerm = true;
        mte = Math.max(mte, MTE_MTE2);
        break;
      case 's2fwb':
        fwb = true;
        break;
      case 'nv':
        nv = true;
        break;
    }
  });
  return {
    id_aa64pfr1_el1: encodeIdAa64pfr1({ MTE: mte, MTE_frac: MTE_FRAC_ASYNC }),
    id_aa64pfr2_el1: encodeIdAa64pfr2({ MTEPERM: mtePerm ? 1 : 0 }),
    id_aa64mmfr2_el1: encodeIdAa64mmfr2({ FWB: fwb ? 1 : 0, NV: nv ? NV_NV2 : 0 }),
    id_aa64mmfr4_el1: 0n,
  };
}
