import { decodeIdAa64pfr1, encodeIdAa64pfr1 } from './id-aa64pfr1';

describe('ID_AA64PFR1_EL1 MTE fields', () => {
  it.each([
    ['NI', 0x0000_0000_0000_0000n, 'NI', 0],
    ['FEAT_MTE (EL0-only)', 0x0000_0000_0000_0100n, 'IMP', 1],
    ['FEAT_MTE2', 0x0000_0000_0000_0200n, 'MTE2', 2],
    ['FEAT_MTE3', 0x0000_0000_0000_0300n, 'MTE3', 3],
    ['an unallocated value', 0x0000_0000_0000_0700n, 'reserved', 7],
  ])('decodes MTE [11:8] = %s (DOMAIN B §2.1, C §4.2)', (_what, reg, name, value) => {
    expect(decodeIdAa64pfr1(reg).MTE).toEqual({ name, value });
  });

  it.each([
    ['ASYNC (0b0000)', 0x0000_0000_0000_0200n, 'ASYNC', 0],
    ['NI (0b1111)', 0x0000_0f00_0000_0200n, 'NI', 0xf],
    ['a reserved value', 0x0000_0300_0000_0200n, 'reserved', 3],
  ])('decodes MTE_frac [43:40] = %s (DOMAIN B §2.1)', (_what, reg, name, value) => {
    expect(decodeIdAa64pfr1(reg).MTE_frac).toEqual({ name, value });
  });

  it('ignores the neighbouring fields SSBS [7:4] and RAS_frac [15:12] when decoding MTE (DOMAIN B §2.1)', () => {
    expect(decodeIdAa64pfr1(0x0000_0000_0000_f2f0n).MTE).toEqual({ name: 'MTE2', value: 2 });
  });

  it('encodes MTE3 with MTE_frac NI at bits [11:8] and [43:40], keeping other fields (DOMAIN B §2.1)', () => {
    expect(encodeIdAa64pfr1({ MTE: 3, MTE_frac: 0xf }, 0x21n)).toBe(0x0000_0f00_0000_0321n);
  });

  it('round-trips every MTE and MTE_frac value (DOMAIN B §2.1)', () => {
    for (let mte = 0; mte < 16; mte++)
      for (const frac of [0, 0xf]) {
        const d = decodeIdAa64pfr1(encodeIdAa64pfr1({ MTE: mte, MTE_frac: frac }));
        expect([d.MTE.value, d.MTE_frac.value]).toEqual([mte, frac]);
      }
  });
});
