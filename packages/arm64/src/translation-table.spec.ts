import { createTranslationTable, stage2StartLevel, stage2LeavesJson } from './index';

// The stage-2 table format alone (DOMAIN B §4.1; Arm ARM D8.2 concatenated start tables). KVM's map
// policy on top of it is tested in @mteperm/pgtable.
describe('stage2StartLevel (VTCR_EL2.T0SZ/SL0, 4 KiB granule)', () => {
  it.each([
    [32, 2, 2048, 4, 0b00],
    [40, 1, 1024, 2, 0b01],
    [43, 1, 8192, 16, 0b01],
    [48, 0, 512, 1, 0b10],
  ])('%i-bit IPA: start level %i, %i entries in %i concatenated tables, SL0 %i', (ipaBits, startLevel, entries, tables, sl0) => {
    expect(stage2StartLevel(ipaBits)).toEqual({ ipaBits, startLevel, entries, tables, t0sz: 64 - ipaBits, sl0 });
  });

  it('refuses what needs LPA2 or is below 32 bits', () => {
    expect(stage2StartLevel(31)).toBeUndefined();
    expect(stage2StartLevel(52)).toBeUndefined();
    expect(createTranslationTable({ fwb: false, mtePerm: true, ipaBits: 49 })).toBeUndefined();
  });
});

describe('TranslationTable (raw descriptors, DOMAIN B §4.1)', () => {
  // A 2 MiB Normal WB block, FWB: MemAttr 0b0110, S2AP RW, SH IS, AF, valid (lo), XN (hi); OA 0x8_0000_0000.
  const BLOCK_LO = 0x0000_07d9;
  const BLOCK_HI = 0x0040_0008;

  it('walks a block written raw, splits it to unmap one page, and lists the 511 pages left', () => {
    const t = createTranslationTable({ fwb: true, mtePerm: true })!;
    t.installLeaf(0x4000_0000, 2, BLOCK_LO, BLOCK_HI);
    const w = t.walk(0x4000_1234, t.createWalkResult());
    expect(w).toMatchObject({ found: true, level: 2, base: 0x4000_0000, size: 0x20_0000, lo: BLOCK_LO, hi: BLOCK_HI, fwb: true, mtePerm: true });
    expect(t.unmapRange(0x4000_1000, 0x1000)).toBe(1);
    expect(t.walk(0x4000_1000, w)).toMatchObject({ found: false, level: 3 });
    // The split keeps the block's attributes and its slice of the OA, now with the page type bit.
    expect(t.walk(0x4000_2000, w)).toMatchObject({ found: true, level: 3, lo: (BLOCK_LO | 0b10 | 0x2000) >>> 0, hi: BLOCK_HI });
    let pages = 0;
    t.forEachLeaf(() => pages++);
    expect(pages).toBe(511);
  });

  it('unmapRange refuses misaligned (-EINVAL) and out-of-range (-ERANGE) ranges and leaves the table alone', () => {
    const t = createTranslationTable({ fwb: true, mtePerm: true, ipaBits: 32 })!;
    t.installLeaf(0x4000_0000, 2, BLOCK_LO, BLOCK_HI);
    expect(t.unmapRange(0x4000_0800, 0x1000)).toBe(-22);
    expect(t.unmapRange(0xffff_f000, 0x2000)).toBe(-34);
    expect(t.leafDescriptors()).toEqual([{ ipa: 0x4000_0000n, level: 2, desc: 0x0040_0008_0000_07d9n }]);
  });

  it('splitBlock splits only a block; stage2LeavesJson gives the CONTRACT §3 shape', () => {
    const t = createTranslationTable({ fwb: true, mtePerm: true })!;
    expect(t.splitBlock(0x4000_0000)).toBeUndefined();
    t.installLeaf(0x4000_0000, 2, BLOCK_LO, BLOCK_HI);
    expect(stage2LeavesJson(t)).toEqual([
      { ipa: '0x40000000', level: 2, size: '0x200000', pa: '0x800000000', desc: '0x400008000007d9', memattr: '0b0110', notagaccess: false, tagged: true },
    ]);
    expect(t.splitBlock(0x4000_0000)).toEqual({ base: 0x4000_0000, level: 2 });
    expect(t.splitBlock(0x4000_0000)).toBeUndefined();
    expect(stage2LeavesJson(t)).toHaveLength(512);
  });
});
