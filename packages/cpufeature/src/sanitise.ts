import type { CpuIdRegs } from '@mteperm/events';
import { getField, setField } from './field';
import { MMFR2_FWB_SHIFT, MMFR2_NV_SHIFT } from './id-aa64mmfr2';
import { PFR1_MTE_FRAC_SHIFT, PFR1_MTE_SHIFT } from './id-aa64pfr1';
import { PFR2_FPMR_SHIFT, PFR2_MTEPERM_SHIFT } from './id-aa64pfr2';

/**
 * How the system-wide value of a field is chosen from the CPUs' values (DOMAIN B §2.2):
 * LOWER_SAFE = minimum, HIGHER_SAFE = maximum, EXACT = the common value or `safe` on mismatch.
 */
export type FtrPolicy = 'LOWER_SAFE' | 'HIGHER_SAFE' | 'EXACT';

export type IdRegName = 'ID_AA64PFR1_EL1' | 'ID_AA64PFR2_EL1' | 'ID_AA64MMFR2_EL1';

/** One `arm64_ftr_bits` entry of the model. */
export interface FtrField {
  readonly reg: IdRegName;
  readonly field: string;
  readonly shift: number;
  readonly policy: FtrPolicy;
  readonly safe: number;
  /** FTR_STRICT: a mismatch between CPUs is reported (the kernel taints); NONSTRICT tolerates it. */
  readonly strict: boolean;
}

/**
 * The fields the model's kernel describes; every other field reads 0 in the sanitised value
 * (DOMAIN B §2.2: undescribed fields do not appear). MTEPERM is described as the series adds it
 * (B §2.3); MTESTOREONLY/MTEFAR are not described in v6.13 and so read 0.
 */
export const FTR_FIELDS: readonly FtrField[] = [
  // PFR1.MTE: FTR_STRICT, FTR_LOWER_SAFE, safe NI (B §2.2).
  { reg: 'ID_AA64PFR1_EL1', field: 'MTE', shift: PFR1_MTE_SHIFT, policy: 'LOWER_SAFE', safe: 0, strict: true },
  // PFR1.MTE_frac counts downwards (0b0000 async, 0b1111 NI), so the safe choice is the maximum:
  // model decision, DOMAIN is silent on its ftr entry.
  { reg: 'ID_AA64PFR1_EL1', field: 'MTE_frac', shift: PFR1_MTE_FRAC_SHIFT, policy: 'HIGHER_SAFE', safe: 0xf, strict: true },
  // PFR2.FPMR: FTR_VISIBLE, FTR_STRICT, FTR_LOWER_SAFE, safe 0 (B §2.2).
  { reg: 'ID_AA64PFR2_EL1', field: 'FPMR', shift: PFR2_FPMR_SHIFT, policy: 'LOWER_SAFE', safe: 0, strict: true },
  // PFR2.MTEPERM: FTR_HIDDEN, FTR_NONSTRICT, FTR_LOWER_SAFE, safe 0 (B §2.3).
  { reg: 'ID_AA64PFR2_EL1', field: 'MTEPERM', shift: PFR2_MTEPERM_SHIFT, policy: 'LOWER_SAFE', safe: 0, strict: false },
  // MMFR2.FWB and NV: LOWER_SAFE, safe 0 (B §2.1; NV strictness a model choice).
  { reg: 'ID_AA64MMFR2_EL1', field: 'FWB', shift: MMFR2_FWB_SHIFT, policy: 'LOWER_SAFE', safe: 0, strict: true },
  { reg: 'ID_AA64MMFR2_EL1', field: 'NV', shift: MMFR2_NV_SHIFT, policy: 'LOWER_SAFE', safe: 0, strict: false },
];

const REG_KEY: Readonly<Record<IdRegName, 'id_aa64pfr1_el1' | 'id_aa64pfr2_el1' | 'id_aa64mmfr2_el1'>> = {
  ID_AA64PFR1_EL1: 'id_aa64pfr1_el1',
  ID_AA64PFR2_EL1: 'id_aa64pfr2_el1',
  ID_AA64MMFR2_EL1: 'id_aa64mmfr2_el1',
};

/** The system-wide value of one field given every CPU's value (DOMAIN B §2.2). */
export function sanitiseFieldValues(values: readonly number[], policy: FtrPolicy, safe: number): number {
  if (values.length === 0) return safe;
  switch (policy) {
    case 'LOWER_SAFE':
      return Math.min(...values);
    case 'HIGHER_SAFE':
      return Math.max(...values);
    case 'EXACT':
      return values.every((v) => v === values[0]) ? values[0]! : safe;
  }
}

/** A STRICT field whose value differs between CPUs (the kernel warns and taints). */
export interface FtrMismatch {
  readonly reg: IdRegName;
  readonly field: string;
  readonly values: readonly number[];
}

export interface Sanitised {
  readonly regs: CpuIdRegs;
  readonly mismatches: readonly FtrMismatch[];
}

/** The system-wide ("sanitised") ID registers across all CPUs. */
export function sanitise(cpus: readonly CpuIdRegs[]): Sanitised {
  const regs = { id_aa64pfr1_el1: 0n, id_aa64pfr2_el1: 0n, id_aa64mmfr2_el1: 0n };
  const mismatches: FtrMismatch[] = [];
  for (const f of FTR_FIELDS) {
    const key = REG_KEY[f.reg];
    const values = cpus.map((c) => getField(c[key], f.shift));
    regs[key] = setField(regs[key], f.shift, sanitiseFieldValues(values, f.policy, f.safe));
    if (f.strict && values.some((v) => v !== values[0])) mismatches.push({ reg: f.reg, field: f.field, values });
  }
  // No ID_AA64MMFR4_EL1 field is described by the model.
  return { regs: { ...regs, id_aa64mmfr4_el1: 0n }, mismatches };
}
