import { getField, nameValue, setField } from './field';
import type { NamedValue } from './field';

/** ID_AA64PFR1_EL1.MTE at [11:8] (DOMAIN B §2.1, C §4.2). */
export const PFR1_MTE_SHIFT = 8;
/** ID_AA64PFR1_EL1.MTE_frac at [43:40]: 0b0000 async supported, 0b1111 not (DOMAIN B §2.1, C §4.2). */
export const PFR1_MTE_FRAC_SHIFT = 40;

/** MTE field values: IMP is FEAT_MTE (EL0-only tag instructions, no tag storage). */
export const MTE_NI = 0;
export const MTE_IMP = 1;
export const MTE_MTE2 = 2;
export const MTE_MTE3 = 3;
export const MTE_FRAC_ASYNC = 0;
export const MTE_FRAC_NI = 0xf;

export type MteField = NamedValue<'NI' | 'IMP' | 'MTE2' | 'MTE3'>;
export type MteFracField = NamedValue<'ASYNC' | 'NI'>;

export interface IdAa64pfr1 {
  readonly MTE: MteField;
  readonly MTE_frac: MteFracField;
}

const MTE_NAMES = { 0: 'NI', 1: 'IMP', 2: 'MTE2', 3: 'MTE3' } as const;
const MTE_FRAC_NAMES = { 0: 'ASYNC', 15: 'NI' } as const;

export function decodeIdAa64pfr1(reg: bigint): IdAa64pfr1 {
  return {
    MTE: nameValue(MTE_NAMES, getField(reg, PFR1_MTE_SHIFT)),
    MTE_frac: nameValue(MTE_FRAC_NAMES, getField(reg, PFR1_MTE_FRAC_SHIFT)),
  };
}

/** Writes the MTE fields into `base` (other fields of `base` are kept). */
export function encodeIdAa64pfr1(fields: { readonly MTE: number; readonly MTE_frac: number }, base = 0n): bigint {
  return setField(setField(base, PFR1_MTE_SHIFT, fields.MTE), PFR1_MTE_FRAC_SHIFT, fields.MTE_frac);
}
