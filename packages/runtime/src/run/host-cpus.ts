import { cpuFromFeatures } from '@mteperm/cpufeature';
import type { CpuIdRegs } from '@mteperm/events';
import type { ScenarioHost } from '../scenario/types';

/** One register set per CPU from the scenario's entries (CONTRACT §1.1), `count` expanded. */
export function cpusOf(host: ScenarioHost, where: string): CpuIdRegs[] {
  const cpus: CpuIdRegs[] = [];
  host.cpus.forEach((c, i) => {
    const regs: CpuIdRegs =
      c.kind === 'features'
        ? cpuFromFeatures(c.features, `${where}[${i}].features`)
        : { id_aa64pfr1_el1: c.ID_AA64PFR1_EL1, id_aa64pfr2_el1: c.ID_AA64PFR2_EL1, id_aa64mmfr2_el1: c.ID_AA64MMFR2_EL1, id_aa64mmfr4_el1: 0n };
    for (let n = 0; n < c.count; n++) cpus.push(regs);
  });
  return cpus;
}
