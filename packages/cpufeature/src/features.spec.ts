import { CpuFeatureError } from './errors';
import { cpuFromFeatures } from './features';

describe('features shorthand (CONTRACT §1.1)', () => {
  it.each([
    ['[] → nothing', [], 0x0n, 0x0n, 0x0n],
    ['mte → MTE=0b0001 (FEAT_MTE, EL0-only) (DOMAIN B §2.1)', ['mte'], 0x100n, 0x0n, 0x0n],
    ['mte2 → MTE=0b0010, MTE_frac=0 (DOMAIN B §2.1)', ['mte2'], 0x200n, 0x0n, 0x0n],
    ['mte3 → MTE=0b0011, MTE_frac=0 as MTE3 requires (DOMAIN C §4.2)', ['mte3'], 0x300n, 0x0n, 0x0n],
    ['mte_perm → MTEPERM=1 and MTE2, which FEAT_MTE_PERM implies (DOMAIN C §4.3)', ['mte_perm'], 0x200n, 0x1n, 0x0n],
    ['mte3 + mte_perm keeps MTE3 (DOMAIN C §4.3)', ['mte3', 'mte_perm'], 0x300n, 0x1n, 0x0n],
    ['mte + mte_perm raises MTE to MTE2 (DOMAIN C §4.3)', ['mte', 'mte_perm'], 0x200n, 0x1n, 0x0n],
    ['s2fwb → MMFR2.FWB=1 at [43:40] (DOMAIN B §2.1)', ['s2fwb'], 0x0n, 0x0n, 0x0000_0100_0000_0000n],
    ['nv → MMFR2.NV=0b0010 (NV2) at [27:24] (DOMAIN C §4.3)', ['nv'], 0x0n, 0x0n, 0x0000_0000_0200_0000n],
    ['the CONTRACT example [mte3, mte_perm, s2fwb, nv]', ['mte3', 'mte_perm', 's2fwb', 'nv'], 0x300n, 0x1n, 0x0000_0100_0200_0000n],
  ])('%s', (_what, features, pfr1, pfr2, mmfr2) => {
    expect(cpuFromFeatures(features)).toEqual({ id_aa64pfr1_el1: pfr1, id_aa64pfr2_el1: pfr2, id_aa64mmfr2_el1: mmfr2, id_aa64mmfr4_el1: 0n });
  });

  it('refuses an unknown shorthand with MTEPERM_CPU_FEATURE naming where it is (CONTRACT §1.1)', () => {
    let err: unknown;
    try {
      cpuFromFeatures(['mte3', 'mte4'], 'host.cpus[0].features');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CpuFeatureError);
    expect(err).toMatchObject({ name: 'CpuFeatureError', code: 'MTEPERM_CPU_FEATURE', where: 'host.cpus[0].features[1]' });
    expect((err as Error).message).toContain("unknown feature 'mte4'");
  });
});
