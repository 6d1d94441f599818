import { decodeIdAa64mmfr2, encodeIdAa64mmfr2 } from './id-aa64mmfr2';

describe('ID_AA64MMFR2_EL1', () => {
  it.each([
    ['FWB [43:40] = IMP (FEAT_S2FWB)', 0x0000_0100_0000_0000n, { FWB: { name: 'IMP', value: 1 }, NV: { name: 'NI', value: 0 } }],
    ['NV [27:24] = NV', 0x0000_0000_0100_0000n, { FWB: { name: 'NI', value: 0 }, NV: { name: 'NV', value: 1 } }],
    ['NV [27:24] = NV2', 0x0000_0000_0200_0000n, { FWB: { name: 'NI', value: 0 }, NV: { name: 'NV2', value: 2 } }],
    ['both', 0x0000_0100_0200_0000n, { FWB: { name: 'IMP', value: 1 }, NV: { name: 'NV2', value: 2 } }],
  ])('decodes %s (DOMAIN B §2.1, C §4.3)', (_what, reg, want) => {
    expect(decodeIdAa64mmfr2(reg)).toEqual(want);
  });

  it('encodes FWB=1, NV=2 as 0x0000_0100_0200_0000 (DOMAIN C §4.3)', () => {
    expect(encodeIdAa64mmfr2({ FWB: 1, NV: 2 })).toBe(0x0000_0100_0200_0000n);
  });
});
