import fc from 'fast-check';
import type { CpuIdRegs } from '@mteperm/events';
import { getField } from './field';
import { cpuFromFeatures } from './features';
import { FTR_FIELDS, sanitise, sanitiseFieldValues } from './sanitise';

const RUNS = Number(process.env['MTEPERM_PROPS_RUNS'] ?? 300);
const key = { ID_AA64PFR1_EL1: 'id_aa64pfr1_el1', ID_AA64PFR2_EL1: 'id_aa64pfr2_el1', ID_AA64MMFR2_EL1: 'id_aa64mmfr2_el1' } as const;

describe('system-wide sanitisation (DOMAIN B §2.2)', () => {
  it.each([
    ['LOWER_SAFE takes the minimum (DOMAIN B §2.2)', [3, 2, 3], 'LOWER_SAFE', 0, 2],
    ['HIGHER_SAFE takes the maximum (DOMAIN B §2.2)', [0, 0xf, 0], 'HIGHER_SAFE', 0xf, 0xf],
    ['EXACT keeps a common value (DOMAIN B §2.2)', [1, 1], 'EXACT', 0, 1],
    ['EXACT falls back to safe_val on mismatch (DOMAIN B §2.2)', [1, 2], 'EXACT', 0, 0],
  ] as const)('%s', (_what, values, policy, safe, want) => {
    expect(sanitiseFieldValues(values, policy, safe)).toBe(want);
  });

  it('MTE is MTE2 when one CPU has MTE2 and the others MTE3 (LOWER_SAFE, DOMAIN B §2.2)', () => {
    const { regs } = sanitise([cpuFromFeatures(['mte3']), cpuFromFeatures(['mte2']), cpuFromFeatures(['mte3'])]);
    expect(getField(regs.id_aa64pfr1_el1, 8)).toBe(2);
  });

  it('MTEPERM is 0 when one CPU lacks FEAT_MTE_PERM (LOWER_SAFE, DOMAIN B §2.3)', () => {
    const { regs } = sanitise([cpuFromFeatures(['mte3', 'mte_perm']), cpuFromFeatures(['mte3'])]);
    expect(regs.id_aa64pfr2_el1 & 0xfn).toBe(0n);
  });

  it('MTE_frac is NI (0b1111) when one CPU lacks async reporting (model decision, DOMAIN B §2.1)', () => {
    const { regs } = sanitise([{ ...cpuFromFeatures(['mte2']), id_aa64pfr1_el1: 0x0000_0f00_0000_0200n }, cpuFromFeatures(['mte2'])]);
    expect(regs.id_aa64pfr1_el1).toBe(0x0000_0f00_0000_0200n);
  });

  it('drops fields no ftr entry describes: MTESTOREONLY, MTEFAR and PFR1.BT read 0 (DOMAIN B §2.2)', () => {
    const cpu: CpuIdRegs = { id_aa64pfr1_el1: 0x301n, id_aa64pfr2_el1: 0x1_0000_0111n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0x10n };
    expect(sanitise([cpu]).regs).toEqual({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0x1_0000_0001n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0n });
  });

  it('reports a STRICT mismatch (MTE) but not a NONSTRICT one (MTEPERM) (DOMAIN B §2.2)', () => {
    const { mismatches } = sanitise([cpuFromFeatures(['mte3', 'mte_perm']), cpuFromFeatures(['mte2'])]);
    expect(mismatches).toEqual([{ reg: 'ID_AA64PFR1_EL1', field: 'MTE', values: [3, 2] }]);
  });

  it('never reports a LOWER_SAFE field above any CPU’s value, and equals one of them (property, DOMAIN B §2.2)', () => {
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    const cpu = fc.record({ id_aa64pfr1_el1: u64, id_aa64pfr2_el1: u64, id_aa64mmfr2_el1: u64, id_aa64mmfr4_el1: u64 });
    fc.assert(
      fc.property(fc.array(cpu, { minLength: 1, maxLength: 8 }), (cpus) => {
        const { regs } = sanitise(cpus);
        for (const f of FTR_FIELDS.filter((x) => x.policy === 'LOWER_SAFE')) {
          const got = getField(regs[key[f.reg]], f.shift);
          const values = cpus.map((c) => getField(c[key[f.reg]], f.shift));
          if (values.some((v) => got > v)) return false;
          if (!values.includes(got)) return false;
        }
        return true;
      }),
      { numRuns: RUNS },
    );
  });
});
