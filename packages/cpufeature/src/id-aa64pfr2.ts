import { getField, nameValue, setField } from './field';
import type { NamedValue } from './field';

/** ID_AA64PFR2_EL1 fields as defined in v6.13 (DOMAIN B §2.1, C §4.1); [63:36] and [31:12] RES0. */
export const PFR2_MTEPERM_SHIFT = 0; // [3:0] FEAT_MTE_PERM
export const PFR2_MTESTOREONLY_SHIFT = 4; // [7:4] FEAT_MTE_STORE_ONLY
export const PFR2_MTEFAR_SHIFT = 8; // [11:8] FEAT_MTE_TAGGED_FAR
export const PFR2_FPMR_SHIFT = 32; // [35:32] FEAT_FPMR

export type ImpField = NamedValue<'NI' | 'IMP'>;

export interface IdAa64pfr2 {
  readonly MTEPERM: ImpField;
  readonly MTESTOREONLY: ImpField;
  readonly MTEFAR: ImpField;
  readonly FPMR: ImpField;
}

const IMP_NAMES = { 0: 'NI', 1: 'IMP' } as const;

export function decodeIdAa64pfr2(reg: bigint): IdAa64pfr2 {
  return {
    MTEPERM: nameValue(IMP_NAMES, getField(reg, PFR2_MTEPERM_SHIFT)),
    MTESTOREONLY: nameValue(IMP_NAMES, getField(reg, PFR2_MTESTOREONLY_SHIFT)),
    MTEFAR: nameValue(IMP_NAMES, getField(reg, PFR2_MTEFAR_SHIFT)),
    FPMR: nameValue(IMP_NAMES, getField(reg, PFR2_FPMR_SHIFT)),
  };
}

export function encodeIdAa64pfr2(
  fields: { readonly MTEPERM?: number; readonly MTESTOREONLY?: number; readonly MTEFAR?: number; readonly FPMR?: number },
  base = 0n,
): bigint {
  let reg = base;
  if (fields.MTEPERM !== undefined) reg = setField(reg, PFR2_MTEPERM_SHIFT, fields.MTEPERM);
  if (fields.MTESTOREONLY !== undefined) reg = setField(reg, PFR2_MTESTOREONLY_SHIFT, fields.MTESTOREONLY);
  if (fields.MTEFAR !== undefined) reg = setField(reg, PFR2_MTEFAR_SHIFT, fields.MTEFAR);
  if (fields.FPMR !== undefined) reg = setField(reg, PFR2_FPMR_SHIFT, fields.FPMR);
  return reg;
}
