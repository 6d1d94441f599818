import { tagCheckModes } from './capabilities';
import { cpuFromFeatures } from './features';
import { probeHostCpus } from './host-cpus';

// DOMAIN A.3.8: FEAT_MTE_ASYNC is ID_AA64PFR1_EL1.MTE >= 2 with MTE_frac [43:40] = 0b0000;
// FEAT_MTE_ASYM_FAULT is MTE >= 3; on a host whose CPUs disagree, the CPU without it decides.
const raw = (pfr1: bigint) => ({ id_aa64pfr1_el1: pfr1, id_aa64pfr2_el1: 0x1n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0n });
const MTE2 = 0x200n;
const MTE2_NO_ASYNC = 0xf00_0000_0200n; // MTE_frac 0b1111
const MTE3 = 0x300n;

describe('tagCheckModes (DOMAIN A.3.8)', () => {
  it.each<[string, bigint[], { async: boolean; asymm: boolean }]>([
    ['MTE2, MTE_frac 0', [MTE2], { async: true, asymm: false }],
    ['MTE3', [MTE3, MTE3], { async: true, asymm: true }],
    ['MTE2 with MTE_frac 0b1111', [MTE2_NO_ASYNC], { async: false, asymm: false }],
    ['CPUs disagree on MTE_frac', [MTE2, MTE2_NO_ASYNC], { async: false, asymm: false }],
    ['MTE3 next to MTE2', [MTE3, MTE2], { async: true, asymm: false }],
    ['FEAT_MTE (EL0 only, MTE 1): no async', [0x100n], { async: false, asymm: false }],
    ['no MTE', [0n], { async: false, asymm: false }],
  ])('%s', (_name, pfr1s, modes) => {
    expect(tagCheckModes(pfr1s.map(raw))).toEqual(modes);
  });
  it('the shorthands mte2 and mte3 imply FEAT_MTE_ASYNC', () => {
    expect(tagCheckModes([cpuFromFeatures(['mte2'])])).toEqual({ async: true, asymm: false });
    expect(tagCheckModes([cpuFromFeatures(['mte3'])])).toEqual({ async: true, asymm: true });
  });
  it('HostCpusProbed writes only a missing feature (absent means present, as in older logs)', () => {
    expect(probeHostCpus([cpuFromFeatures(['mte3'])])).not.toHaveProperty('mte_async');
    expect(probeHostCpus([cpuFromFeatures(['mte3'])])).not.toHaveProperty('mte_asym_fault');
    expect(probeHostCpus([raw(MTE3), raw(MTE2_NO_ASYNC)])).toMatchObject({ mte_async: false, mte_asym_fault: false });
    expect(probeHostCpus([raw(MTE2)])).toMatchObject({ mte_asym_fault: false });
    expect(probeHostCpus([raw(MTE2)])).not.toHaveProperty('mte_async');
  });
});
