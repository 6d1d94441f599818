import type { Stage2Prot } from './prot';
import { Stage2PageTable, type Stage2Observer } from './stage2-page-table';
import { stage2LeavesJson } from './leaves-json';

const RW: Stage2Prot = { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false };
const NTA: Stage2Prot = { ...RW, noTagAccess: true };
const MiB = 0x10_0000;
const GiB = 0x4000_0000;

function table(fwb = true, ipaBits = 40): Stage2PageTable {
  const t = Stage2PageTable.create({ fwb, mtePerm: true, ipaBits });
  if (!t.ok) throw t.error;
  return t.value;
}

function recorder(): Stage2Observer & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    split: (ipa, level) => log.push(`split 0x${ipa.toString(16)} L${level}`),
    broke: (ipa, level) => log.push(`break 0x${ipa.toString(16)} L${level}`),
    leaf: (ipa, level) => log.push(`leaf 0x${ipa.toString(16)} L${level}`),
  };
}

const levels = (t: Stage2PageTable) => t.leafDescriptors().map((l) => [Number(l.ipa), l.level]);

describe('Stage2PageTable map: largest block the alignment allows (DOMAIN B §4.1)', () => {
  it('maps 1 GiB + 2 MiB + 4 KiB with matching alignment as L1 block, L2 block, L3 page', () => {
    const t = table();
    const r = t.map(GiB, 0x80 * GiB, GiB + 2 * MiB + 0x1000, RW);
    expect(r.ok && r.value).toEqual({ leaves: 3, breaks: 0, permUpdates: 0, splits: 0 });
    expect(levels(t)).toEqual([
      [GiB, 1],
      [2 * GiB, 2],
      [2 * GiB + 2 * MiB, 3],
    ]);
  });
  it('falls back to pages when the PA is not block-aligned', () => {
    const t = table();
    t.map(0x20_0000, 0x8_0000_1000, 2 * MiB, RW);
    expect(t.leafDescriptors()).toHaveLength(512);
    expect(new Set(levels(t).map(([, l]) => l))).toEqual(new Set([3]));
  });
  it('uses no level-1 block when the table starts at level 2 (32-bit IPA)', () => {
    const t = table(true, 32);
    t.map(0, 0x8_0000_0000, GiB, RW);
    expect(levels(t)).toHaveLength(512);
    expect(levels(t)[0]).toEqual([0, 2]);
  });
  it('uses the concatenated start tables: 40-bit IPA top gigabyte is entry 1023 (start level 1)', () => {
    const t = table(false, 40);
    t.map(2 ** 40 - GiB, 0x100 * GiB, GiB, RW);
    expect(levels(t)).toEqual([[2 ** 40 - GiB, 1]]);
    const w = t.walk(2 ** 40 - 1, t.createWalkResult());
    expect([w.found, w.level, w.base]).toEqual([true, 1, 2 ** 40 - GiB]);
  });
  it('refuses misaligned, out-of-range and unencodable requests with the kernel errno', () => {
    const t = table();
    const codes = [
      t.map(0x800, 0, 0x1000, RW),
      t.map(2 ** 40, 0, 0x1000, RW),
      t.map(0, 2 ** 48, 0x1000, RW),
      t.map(0, 0, 0, RW),
    ].map((r) => (r.ok ? 'ok' : `${r.error.code} ${r.error.ret}`));
    expect(codes).toEqual(['MTEPERM_S2_ALIGN -22', 'MTEPERM_S2_RANGE -34', 'MTEPERM_S2_PA -22', 'MTEPERM_S2_ALIGN -22']);
    expect(t.mapAttrs(2 ** 40, 0, 0x1000, { lo: 0, hi: 0 })).toBe(-34);
  });
});

describe('remap: break-before-make and in-place permission changes (DOMAIN B §4.1)', () => {
  it('breaks a valid leaf before writing a different MemAttr', () => {
    const t = table();
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, RW);
    const obs = recorder();
    const r = t.map(0x1000_0000, 0x8_0000_0000, 0x1000, NTA, obs);
    expect(r.ok && r.value).toEqual({ leaves: 1, breaks: 1, permUpdates: 0, splits: 0 });
    expect(obs.log).toEqual(['break 0x10000000 L3', 'leaf 0x10000000 L3']);
    expect(t.leafDescriptors()[0]!.desc).toBe(0x0040_0008_0000_07fbn);
  });
  it('updates permissions in place without a break', () => {
    const t = table();
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, { ...NTA, w: false });
    const r = t.map(0x1000_0000, 0x8_0000_0000, 0x1000, NTA);
    expect(r.ok && r.value).toEqual({ leaves: 1, breaks: 0, permUpdates: 1, splits: 0 });
  });
  it('replaces a table of pages by a block, freeing the tables', () => {
    const t = table();
    t.map(0x20_0000, 0x8_0020_0000, 0x3000, RW);
    const before = t.memoryStats().tables;
    const obs = recorder();
    t.map(0x20_0000, 0x8_0020_0000, 2 * MiB, RW, obs);
    expect(obs.log).toEqual(['break 0x200000 L2', 'leaf 0x200000 L2']);
    expect(levels(t)).toEqual([[0x20_0000, 2]]);
    expect(t.memoryStats().tables).toBe(before - 1);
  });
  it('mapping a page inside a block splits the block first and keeps the rest, NoTagAccess included (DOMAIN A.2.4)', () => {
    const t = table(false);
    t.map(0x20_0000, 0x8_0020_0000, 2 * MiB, NTA);
    const obs = recorder();
    t.map(0x20_1000, 0x9_0000_0000, 0x1000, RW, obs);
    expect(obs.log).toEqual(['split 0x200000 L2', 'break 0x201000 L3', 'leaf 0x201000 L3']);
    const leaves = stage2LeavesJson(t);
    expect(leaves).toHaveLength(512);
    expect(leaves[0]).toEqual({
      ipa: '0x200000', level: 3, size: '0x1000', pa: '0x800200000', desc: '0x400008002007d3',
      memattr: '0b0100', notagaccess: true, tagged: false,
    });
    expect(leaves[1]).toMatchObject({ ipa: '0x201000', pa: '0x900000000', memattr: '0b1111', notagaccess: false, tagged: true });
  });
});

describe('unmap, split, relax', () => {
  it('unmapping part of a 1 GiB block splits it down to pages and keeps the rest', () => {
    const t = table();
    t.map(GiB, 0x80 * GiB, GiB, NTA);
    const obs = recorder();
    const r = t.unmap(GiB + 2 * MiB + 0x1000, 0x1000, obs);
    expect(r.ok && r.value).toEqual({ splits: 2 });
    expect(obs.log).toEqual(['split 0x40000000 L1', 'split 0x40200000 L2']);
    const ls = levels(t);
    expect(ls).toHaveLength(511 + 511);
    expect(ls.filter(([, l]) => l === 3)).toHaveLength(511);
    expect(t.walk(GiB + 2 * MiB + 0x1000, t.createWalkResult())).toMatchObject({ found: false, level: 3 });
    // every remaining leaf kept NoTagAccess (FWB 0b1110)
    expect(stage2LeavesJson(t).every((l) => l.memattr === '0b1110' && l.notagaccess)).toBe(true);
  });
  it('unmapping everything frees every table but the start level', () => {
    const t = table();
    const start = t.memoryStats().tables;
    t.map(0x1000_0000, 0x8_0000_0000, 5 * MiB, RW);
    t.unmap(0, GiB);
    expect(t.leafDescriptors()).toEqual([]);
    expect(t.memoryStats().tables).toBe(start);
    expect(t.walk(0x1000_0000, t.createWalkResult())).toMatchObject({ found: false, level: 1 });
  });
  it('split preserves every attribute: OA slices, MemAttr, S2AP, XN, SW (DOMAIN A.2.4)', () => {
    const t = table(true);
    t.map(0x20_0000, 0x8_0020_0000, 2 * MiB, { ...NTA, w: false, sw: 0b0101 });
    const r = t.split(0x20_0000 + 0x5000);
    expect(r.ok && r.value).toEqual({ base: 0x20_0000, level: 2 });
    const ls = t.leafDescriptors();
    expect(ls).toHaveLength(512);
    // block 0x02c0_0008_0020_0779 (type 0) → pages with type 1 and OA + i*4 KiB
    expect(ls[0]).toEqual({ ipa: 0x20_0000n, level: 3, desc: 0x02c0_0008_0020_077bn });
    expect(ls[511]).toEqual({ ipa: 0x3f_f000n, level: 3, desc: 0x02c0_0008_003f_f77bn });
    const again = t.split(0x20_0000);
    expect(!again.ok && [again.error.code, again.error.ret]).toEqual(['MTEPERM_S2_NOT_BLOCK', -22]);
  });
  it('relax adds S2AP W and clears XN, never touching MemAttr (DOMAIN A.2.4, B §4.3)', () => {
    const t = table(true);
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, { ...NTA, w: false });
    const r = t.relax(0x1000_0040, { r: false, w: true, x: true });
    expect(r.ok && r.value).toEqual({ base: 0x1000_0000, level: 3, lo: 0x7fb, hi: 0x8 });
    expect(t.leafDescriptors()[0]!.desc).toBe(0x0000_0008_0000_07fbn);
  });
  it('relax never removes a permission', () => {
    const t = table(true);
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, RW);
    t.relax(0x1000_0000, { r: false, w: false, x: false });
    expect(t.leafDescriptors()[0]!.desc).toBe(0x0040_0008_0000_07dbn);
  });
  it('relax refuses SW bits (-EINVAL), an unmapped page (-EAGAIN) and exec on device memory (-EINVAL) (DOMAIN B §4.3)', () => {
    const t = table(true);
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, { memType: 'device_ngnre', noTagAccess: false, r: true, w: true, x: false });
    const out = [
      t.relax(0x1000_0000, { r: true, w: true, x: false, sw: 0b0011 }),
      t.relax(0x2000_0000, { r: true, w: true, x: false }),
      t.relax(0x1000_0000, { r: true, w: true, x: true }),
    ].map((r) => (r.ok ? 'ok' : `${r.error.code} ${r.error.ret}`));
    expect(out).toEqual(['MTEPERM_S2_SW_BITS -22', 'MTEPERM_S2_NO_LEAF -11', 'MTEPERM_S2_PROT -22']);
  });
});

describe('storage', () => {
  it('dense 4 KiB pages cost about 8 bytes each (ARCHITECTURE performance references)', () => {
    const t = table();
    const attrs = t.encodeProt(RW);
    if (!attrs.ok) throw attrs.error;
    let failed = 0;
    for (let i = 0; i < 1 << 16; i++) if (t.mapAttrs(GiB + i * 0x1000, 0x80 * GiB + i * 0x1000 + 0x1000, 0x1000, attrs.value) !== 0) failed++;
    expect(failed).toBe(0);
    expect(t.leafDescriptors()).toHaveLength(1 << 16);
    expect(t.memoryStats().bytesUsed / (1 << 16)).toBeLessThan(9);
  });
});
