import { CpuFeatureError } from './errors';
import { hostCpusFromSpec, parseRegister, probeHostCpus } from './host-cpus';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof CpuFeatureError ? `${e.code} at ${e.where}` : 'other';
  }
  return undefined;
}

describe('host CPUs from a scenario (CONTRACT §1.1)', () => {
  it('expands `count` into that many alike CPUs (CONTRACT §1.1)', () => {
    const cpus = hostCpusFromSpec([{ count: 3, features: ['mte3'] }, { features: ['mte2'] }]);
    expect(cpus.map((c) => c.id_aa64pfr1_el1)).toEqual([0x300n, 0x300n, 0x300n, 0x200n]);
  });

  it('takes raw registers exactly as written, hex in any case or decimal (CONTRACT §1.1)', () => {
    const [cpu] = hostCpusFromSpec([{ ID_AA64PFR1_EL1: '0x0000000000000300', ID_AA64PFR2_EL1: '0X1', ID_AA64MMFR2_EL1: '1099511627776' }]);
    expect(cpu).toEqual({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0x1n, id_aa64mmfr2_el1: 0x100_0000_0000n, id_aa64mmfr4_el1: 0n });
  });

  it('lets a raw register replace the one the shorthand gives (CONTRACT §1.1)', () => {
    const [cpu] = hostCpusFromSpec([{ features: ['mte3', 'mte_perm'], ID_AA64PFR2_EL1: '0x0' }]);
    expect([cpu!.id_aa64pfr1_el1, cpu!.id_aa64pfr2_el1]).toEqual([0x300n, 0n]);
  });

  it.each([
    ['an unknown feature', [{ features: ['sve'] }], 'MTEPERM_CPU_FEATURE at host.cpus[0].features[0]'],
    ['a non-hex register', [{ ID_AA64PFR2_EL1: 'one' }], 'MTEPERM_CPU_REGISTER at host.cpus[0].ID_AA64PFR2_EL1'],
    ['a register above 64 bits', [{ ID_AA64PFR1_EL1: '0x1_0000_0000_0000_0000' }], 'MTEPERM_CPU_REGISTER at host.cpus[0].ID_AA64PFR1_EL1'],
    ['count 0', [{ count: 0 }], 'MTEPERM_CPU_COUNT at host.cpus[0].count'],
    ['no CPUs', [], 'MTEPERM_CPU_COUNT at host.cpus'],
  ])('refuses %s with a stable code', (_what, spec, want) => {
    expect(codeOf(() => hostCpusFromSpec(spec))).toBe(want);
  });

  it('parses 0xFFFFFFFFFFFFFFFF as the largest register (CONTRACT §1)', () => {
    expect(parseRegister('0xFFFFFFFFFFFFFFFF')).toBe((1n << 64n) - 1n);
  });

  it('probes the CONTRACT example host: MTE3, MTE_PERM, S2FWB, NV (DOMAIN B §2.2, B §2.3)', () => {
    const probed = probeHostCpus(hostCpusFromSpec([{ count: 4, features: ['mte3', 'mte_perm', 's2fwb', 'nv'] }]));
    expect(probed).toMatchObject({ mte: 3, mte_perm: true, s2fwb: true, nv: true });
    expect(probed.cpus).toHaveLength(4);
    expect(probed.sanitised).toEqual({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0x1n, id_aa64mmfr2_el1: 0x0000_0100_0200_0000n, id_aa64mmfr4_el1: 0n });
  });

  it('probes a host where one CPU lacks MTEPERM: mte_perm false (DOMAIN B §2.3)', () => {
    const probed = probeHostCpus(hostCpusFromSpec([{ count: 3, features: ['mte3', 'mte_perm'] }, { features: ['mte3'] }]));
    expect([probed.mte, probed.mte_perm]).toEqual([3, false]);
  });
});
