import { getField, nameValue, setField } from './field';
import type { NamedValue } from './field';

/** ID_AA64MMFR2_EL1.FWB at [43:40]: 1 = HCR_EL2.FWB supported, FEAT_S2FWB (DOMAIN B §2.1, C §4.3). */
export const MMFR2_FWB_SHIFT = 40;
/** ID_AA64MMFR2_EL1.NV at [27:24]: 1 = FEAT_NV, 2 = FEAT_NV2 (DOMAIN C §4.3). */
export const MMFR2_NV_SHIFT = 24;

export const NV_NI = 0;
export const NV_NV = 1;
export const NV_NV2 = 2;

export type FwbField = NamedValue<'NI' | 'IMP'>;
export type NvField = NamedValue<'NI' | 'NV' | 'NV2'>;

export interface IdAa64mmfr2 {
  readonly FWB: FwbField;
  readonly NV: NvField;
}

const FWB_NAMES = { 0: 'NI', 1: 'IMP' } as const;
const NV_NAMES = { 0: 'NI', 1: 'NV', 2: 'NV2' } as const;

export function decodeIdAa64mmfr2(reg: bigint): IdAa64mmfr2 {
  return {
    FWB: nameValue(FWB_NAMES, getField(reg, MMFR2_FWB_SHIFT)),
    NV: nameValue(NV_NAMES, getField(reg, MMFR2_NV_SHIFT)),
  };
}

export function encodeIdAa64mmfr2(fields: { readonly FWB?: number; readonly NV?: number }, base = 0n): bigint {
  let reg = base;
  if (fields.FWB !== undefined) reg = setField(reg, MMFR2_FWB_SHIFT, fields.FWB);
  if (fields.NV !== undefined) reg = setField(reg, MMFR2_NV_SHIFT, fields.NV);
  return reg;
}
