import { startLevelFor } from './vtcr';

describe('stage-2 start level for the 4 KiB granule (VTCR_EL2.T0SZ/SL0, concatenated initial tables)', () => {
  it.each([
    [32, 2, 2048, 4, 0b00],
    [34, 2, 8192, 16, 0b00],
    [35, 1, 32, 1, 0b01],
    [36, 1, 64, 1, 0b01],
    [40, 1, 1024, 2, 0b01],
    [43, 1, 8192, 16, 0b01],
    [44, 0, 32, 1, 0b10],
    [48, 0, 512, 1, 0b10],
  ])('%i-bit IPA → start level %i, %i entries, %i table(s), SL0 %i', (bits, level, entries, tables, sl0) => {
    const r = startLevelFor(bits);
    expect(r.ok && r.value).toEqual({ ipaBits: bits, startLevel: level, entries, tables, t0sz: 64 - bits, sl0 });
  });
  it.each([31, 49, 52])('refuses %i bits with -EINVAL', (bits) => {
    const r = startLevelFor(bits);
    expect(!r.ok && [r.error.code, r.error.ret]).toEqual(['MTEPERM_S2_IPA_BITS', -22]);
  });
});
