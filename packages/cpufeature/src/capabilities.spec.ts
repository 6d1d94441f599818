import type { CpuIdRegs } from '@mteperm/events';
import { capabilities } from './capabilities';
import { cpuFromFeatures } from './features';
import { sanitise } from './sanitise';

const host = (...cpus: (readonly string[])[]) => capabilities(sanitise(cpus.map((f) => cpuFromFeatures(f))).regs);
const raw = (pfr1: bigint, pfr2: bigint, mmfr2: bigint): CpuIdRegs => ({ id_aa64pfr1_el1: pfr1, id_aa64pfr2_el1: pfr2, id_aa64mmfr2_el1: mmfr2, id_aa64mmfr4_el1: 0n });

describe('system capabilities', () => {
  it.each([
    ['ARM64_MTE needs MTE2: FEAT_MTE (EL0-only) is not enough (DOMAIN B §2.2)', [['mte']], 'ARM64_MTE', false],
    ['ARM64_MTE with MTE2 on every CPU (DOMAIN B §2.2)', [['mte2'], ['mte3']], 'ARM64_MTE', true],
    ['no ARM64_MTE when one CPU lacks MTE2 (DOMAIN B §2.2)', [['mte3'], ['mte']], 'ARM64_MTE', false],
    ['ARM64_MTE_ASYMM needs MTE3 on every CPU (DOMAIN B §2.2)', [['mte3'], ['mte2']], 'ARM64_MTE_ASYMM', false],
    ['ARM64_MTE_PERM when every CPU has MTEPERM (DOMAIN B §2.3)', [['mte3', 'mte_perm'], ['mte_perm']], 'ARM64_MTE_PERM', true],
    ['one CPU lacking MTEPERM → no ARM64_MTE_PERM (SYSTEM_FEATURE, DOMAIN B §2.3)', [['mte3', 'mte_perm'], ['mte3', 'mte_perm'], ['mte3']], 'ARM64_MTE_PERM', false],
    ['ARM64_HAS_STAGE2_FWB when every CPU has FWB (DOMAIN B §2.1)', [['s2fwb'], ['s2fwb']], 'ARM64_HAS_STAGE2_FWB', true],
    ['no stage-2 FWB when one CPU lacks it (DOMAIN B §2.1)', [['s2fwb'], []], 'ARM64_HAS_STAGE2_FWB', false],
    ['ARM64_HAS_NESTED_VIRT with NV2 everywhere (DOMAIN C §4.3)', [['nv']], 'ARM64_HAS_NESTED_VIRT', true],
  ] as const)('%s', (_what, cpus, cap, want) => {
    expect(host(...cpus)[cap]).toBe(want);
  });

  it('reports the system-wide MTE level as a number: MTE3 → 3 (CONTRACT §3 host.mte)', () => {
    expect(host(['mte3']).mte).toBe(3);
  });

  it('ARM64_MTE_PERM does not itself require ARM64_MTE (DOMAIN B §2.3 note)', () => {
    const caps = capabilities(sanitise([raw(0x100n, 0x1n, 0n)]).regs);
    expect([caps.ARM64_MTE, caps.ARM64_MTE_PERM]).toEqual([false, true]);
  });

  it('ARM64_HAS_NESTED_VIRT is off for FEAT_NV without NV2 (model decision, DOMAIN C §4.3)', () => {
    expect(capabilities(sanitise([raw(0n, 0n, 0x0100_0000n)]).regs).ARM64_HAS_NESTED_VIRT).toBe(false);
  });
});
