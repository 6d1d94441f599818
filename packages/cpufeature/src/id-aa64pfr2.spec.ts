import { decodeIdAa64pfr2, encodeIdAa64pfr2 } from './id-aa64pfr2';

describe('ID_AA64PFR2_EL1', () => {
  it.each([
    ['MTEPERM [3:0]', 0x1n, 'MTEPERM'],
    ['MTESTOREONLY [7:4]', 0x10n, 'MTESTOREONLY'],
    ['MTEFAR [11:8]', 0x100n, 'MTEFAR'],
    ['FPMR [35:32]', 0x1_0000_0000n, 'FPMR'],
  ] as const)('decodes %s = IMP from its own bits only (DOMAIN B §2.1, C §4.1)', (_what, reg, field) => {
    const d = decodeIdAa64pfr2(reg);
    for (const f of ['MTEPERM', 'MTESTOREONLY', 'MTEFAR', 'FPMR'] as const) {
      expect(d[f]).toEqual(f === field ? { name: 'IMP', value: 1 } : { name: 'NI', value: 0 });
    }
  });

  it('decodes MTEPERM = 0b0010 as reserved, not IMP (DOMAIN C §4.1: other values reserved)', () => {
    expect(decodeIdAa64pfr2(0x2n).MTEPERM).toEqual({ name: 'reserved', value: 2 });
  });

  it('encodes every field at its position (DOMAIN B §2.1)', () => {
    expect(encodeIdAa64pfr2({ MTEPERM: 1, MTESTOREONLY: 1, MTEFAR: 1, FPMR: 1 })).toBe(0x0000_0001_0000_0111n);
    expect(encodeIdAa64pfr2({ MTEPERM: 0 }, 0x0000_0001_0000_0111n)).toBe(0x0000_0001_0000_0110n);
  });
});
