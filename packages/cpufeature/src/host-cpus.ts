import type { CpuIdRegs, EventData } from '@mteperm/events';
import { capabilities, tagCheckModes } from './capabilities';
import { CpuFeatureError } from './errors';
import { cpuFromFeatures } from './features';
import { sanitise } from './sanitise';

/**
 * One `host.cpus` entry of a scenario (CONTRACT §1.1): `count` CPUs alike, described by the
 * `features` shorthand and/or raw registers. A raw register replaces the whole register the
 * shorthand would give (model decision: raw values are taken exactly as written).
 */
export interface CpuSpec {
  readonly count?: number;
  readonly features?: readonly string[];
  readonly ID_AA64PFR1_EL1?: string;
  readonly ID_AA64PFR2_EL1?: string;
  readonly ID_AA64MMFR2_EL1?: string;
}

const MAX_U64 = (1n << 64n) - 1n;

/** A 64-bit register written as `"0x..."` hex (any case) or a decimal string (CONTRACT §1). */
export function parseRegister(text: string, where?: string): bigint {
  const ok = /^0[xX][0-9a-fA-F]+$/.test(text) || /^[0-9]+$/.test(text);
  const v = ok ? BigInt(text) : -1n;
  if (v < 0n || v > MAX_U64) throw new CpuFeatureError('MTEPERM_CPU_REGISTER', `'${text}' is not a 64-bit hex or decimal register value`, where);
  return v;
}

/** Expands the scenario's CPU entries into one register set per CPU. */
export function hostCpusFromSpec(specs: readonly CpuSpec[], where = 'host.cpus'): CpuIdRegs[] {
  const cpus: CpuIdRegs[] = [];
  specs.forEach((spec, i) => {
    const at = `${where}[${i}]`;
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new CpuFeatureError('MTEPERM_CPU_COUNT', `count must be a positive integer, got ${count}`, `${at}.count`);
    const base = cpuFromFeatures(spec.features ?? [], `${at}.features`);
    const cpu: CpuIdRegs = {
      id_aa64pfr1_el1: spec.ID_AA64PFR1_EL1 === undefined ? base.id_aa64pfr1_el1 : parseRegister(spec.ID_AA64PFR1_EL1, `${at}.ID_AA64PFR1_EL1`),
      id_aa64pfr2_el1: spec.ID_AA64PFR2_EL1 === undefined ? base.id_aa64pfr2_el1 : parseRegister(spec.ID_AA64PFR2_EL1, `${at}.ID_AA64PFR2_EL1`),
      id_aa64mmfr2_el1: spec.ID_AA64MMFR2_EL1 === undefined ? base.id_aa64mmfr2_el1 : parseRegister(spec.ID_AA64MMFR2_EL1, `${at}.ID_AA64MMFR2_EL1`),
      id_aa64mmfr4_el1: 0n,
    };
    for (let n = 0; n < count; n++) cpus.push(cpu);
  });
  if (cpus.length === 0) throw new CpuFeatureError('MTEPERM_CPU_COUNT', 'a host needs at least one CPU', where);
  return cpus;
}

/** The `HostCpusProbed` body for these CPUs: raw registers, sanitised values and derived capabilities. */
export function probeHostCpus(cpus: readonly CpuIdRegs[]): EventData<'HostCpusProbed'> {
  if (cpus.length === 0) throw new CpuFeatureError('MTEPERM_CPU_COUNT', 'a host needs at least one CPU');
  const { regs } = sanitise(cpus);
  const caps = capabilities(regs);
  const modes = tagCheckModes(cpus);
  return {
    cpus: cpus.map((c) => ({ ...c })),
    sanitised: regs,
    mte: caps.mte,
    mte_perm: caps.ARM64_MTE_PERM,
    s2fwb: caps.ARM64_HAS_STAGE2_FWB,
    nv: caps.ARM64_HAS_NESTED_VIRT,
    // Only a missing feature is written, so the event of a host that has both is unchanged (A.3.8).
    ...(modes.async ? {} : { mte_async: false }),
    ...(modes.asymm ? {} : { mte_asym_fault: false }),
  };
}
