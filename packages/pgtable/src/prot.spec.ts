import type { MemType } from '@mteperm/events';
import { Stage2PageTable } from './stage2-page-table';
import type { Stage2Prot } from './prot';

// Golden descriptors computed by hand from the bit layout (DOMAIN B §4.1): a level-3 page at IPA
// 0x10000000 → PA 0x8_0000_0000. lo = valid|page (0x3) | MemAttr<<2 | S2AP R 0x40 / W 0x80 |
// SH Inner Shareable 0x300 | AF 0x400; hi = XN (bit 54 → 0x0040_0000) | PA[47:32] (0x8).
type Perm = 'rw' | 'ro' | 'none' | 'rwx';
const PERMS: Record<Perm, Pick<Stage2Prot, 'r' | 'w' | 'x'>> = {
  rw: { r: true, w: true, x: false },
  ro: { r: true, w: false, x: false },
  none: { r: false, w: false, x: false },
  rwx: { r: true, w: true, x: true },
};

const GOLDEN: [fwb: boolean, memType: MemType, nta: boolean, perm: Perm, desc: bigint, section: string][] = [
  // FWB = 0: MT_S2_NORMAL 0b1111, MT_S2_NORMAL_NOTAGACCESS 0b0100, NC 0b0101, Device-nGnRE 0b0001
  [false, 'normal_wb', false, 'rw', 0x0040_0008_0000_07ffn, 'B §4.2'],
  [false, 'normal_wb', false, 'ro', 0x0040_0008_0000_077fn, 'B §4.2'],
  [false, 'normal_wb', false, 'none', 0x0040_0008_0000_073fn, 'B §4.2'],
  [false, 'normal_wb', false, 'rwx', 0x0000_0008_0000_07ffn, 'B §4.3'],
  [false, 'normal_wb', true, 'rw', 0x0040_0008_0000_07d3n, 'A.2.3'],
  [false, 'normal_wb', true, 'ro', 0x0040_0008_0000_0753n, 'A.2.4'],
  [false, 'normal_wb', true, 'none', 0x0040_0008_0000_0713n, 'A.2.4'],
  [false, 'normal_wb', true, 'rwx', 0x0000_0008_0000_07d3n, 'A.2.4'],
  [false, 'normal_nc', false, 'rw', 0x0040_0008_0000_07d7n, 'B §4.2'],
  [false, 'normal_nc', false, 'ro', 0x0040_0008_0000_0757n, 'B §4.2'],
  [false, 'normal_nc', false, 'none', 0x0040_0008_0000_0717n, 'B §4.2'],
  [false, 'device_ngnre', false, 'rw', 0x0040_0008_0000_07c7n, 'B §4.2'],
  [false, 'device_ngnre', false, 'ro', 0x0040_0008_0000_0747n, 'B §4.2'],
  [false, 'device_ngnre', false, 'none', 0x0040_0008_0000_0707n, 'B §4.2'],
  // FWB = 1: MT_S2_FWB_NORMAL 0b0110, MT_S2_FWB_NORMAL_NOTAGACCESS 0b1110, NC 0b0101, Device 0b0001
  [true, 'normal_wb', false, 'rw', 0x0040_0008_0000_07dbn, 'B §4.2'],
  [true, 'normal_wb', false, 'ro', 0x0040_0008_0000_075bn, 'B §4.2'],
  [true, 'normal_wb', false, 'none', 0x0040_0008_0000_071bn, 'B §4.2'],
  [true, 'normal_wb', false, 'rwx', 0x0000_0008_0000_07dbn, 'B §4.3'],
  [true, 'normal_wb', true, 'rw', 0x0040_0008_0000_07fbn, 'A.2.3'],
  [true, 'normal_wb', true, 'ro', 0x0040_0008_0000_077bn, 'A.2.4'],
  [true, 'normal_wb', true, 'none', 0x0040_0008_0000_073bn, 'A.2.4'],
  [true, 'normal_wb', true, 'rwx', 0x0000_0008_0000_07fbn, 'A.2.4'],
  [true, 'normal_nc', false, 'rw', 0x0040_0008_0000_07d7n, 'B §4.2'],
  [true, 'normal_nc', false, 'ro', 0x0040_0008_0000_0757n, 'B §4.2'],
  [true, 'normal_nc', false, 'none', 0x0040_0008_0000_0717n, 'B §4.2'],
  [true, 'device_ngnre', false, 'rw', 0x0040_0008_0000_07c7n, 'B §4.2'],
  [true, 'device_ngnre', false, 'ro', 0x0040_0008_0000_0747n, 'B §4.2'],
  [true, 'device_ngnre', false, 'none', 0x0040_0008_0000_0707n, 'B §4.2'],
];

function table(fwb: boolean, mtePerm = true): Stage2PageTable {
  const t = Stage2PageTable.create({ fwb, mtePerm, ipaBits: 40 });
  if (!t.ok) throw t.error;
  return t.value;
}

describe('leaf descriptors (DOMAIN B §4.1–§4.3)', () => {
  it.each(GOLDEN)('FWB=%p %s NoTagAccess=%p %s → %s (DOMAIN %s)', (fwb, memType, nta, perm, desc) => {
    const t = table(fwb);
    const r = t.map(0x1000_0000, 0x8_0000_0000, 0x1000, { memType, noTagAccess: nta, ...PERMS[perm] });
    expect(r.ok).toBe(true);
    expect(t.leafDescriptors()).toEqual([{ ipa: 0x1000_0000n, level: 3, desc }]);
  });

  it('maps a VFIO BAR NoTagAccess with FWB: MemAttr 0b1110 (DOMAIN A.2.3)', () => {
    const t = table(true);
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, { memType: 'normal_wb', noTagAccess: true, r: true, w: true, x: false });
    const [leaf] = t.leafDescriptors();
    expect(Number((leaf!.desc >> 2n) & 0xfn)).toBe(0b1110);
  });

  it('maps NoTagAccess without FWB: MemAttr 0b0100 (DOMAIN A.2.3)', () => {
    const t = table(false);
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, { memType: 'normal_wb', noTagAccess: true, r: true, w: true, x: false });
    expect(Number((t.leafDescriptors()[0]!.desc >> 2n) & 0xfn)).toBe(0b0100);
  });

  it('puts software bits at [58:55] (KVM_NV_GUEST_MAP_SZ, DOMAIN B §4.1)', () => {
    const t = table(true);
    t.map(0x1000_0000, 0x8_0000_0000, 0x1000, { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false, sw: 0b0011 });
    expect(t.leafDescriptors()[0]!.desc).toBe(0x01c0_0008_0000_07dbn);
  });

  it('writes blocks with type 0 at level 2 (2 MiB) and level 1 (1 GiB) (DOMAIN B §4.1)', () => {
    const t = table(true);
    const rw = { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false } as const;
    t.map(0x4000_0000 + 0x20_0000, 0x8_0020_0000, 0x20_0000, rw);
    t.map(0x8000_0000, 0x80_4000_0000, 0x4000_0000, rw);
    expect(t.leafDescriptors()).toEqual([
      { ipa: 0x4020_0000n, level: 2, desc: 0x0040_0008_0020_07d9n },
      { ipa: 0x8000_0000n, level: 1, desc: 0x0040_0080_4000_07d9n },
    ]);
  });

  describe('refusals with -EINVAL like stage2_set_prot_attr (DOMAIN B §4.3)', () => {
    it.each([
      ['exec on device memory', { memType: 'device_ngnre', noTagAccess: false, r: true, w: true, x: true }, true],
      ['exec on non-cacheable memory', { memType: 'normal_nc', noTagAccess: false, r: true, w: false, x: true }, true],
      ['NoTagAccess on device memory (DOMAIN A.2.3, C §6)', { memType: 'device_ngnre', noTagAccess: true, r: true, w: true, x: false }, true],
      ['NoTagAccess on Normal-NC (DOMAIN A.2.3)', { memType: 'normal_nc', noTagAccess: true, r: true, w: true, x: false }, true],
      ['NoTagAccess without FEAT_MTE_PERM (DOMAIN B §4.3)', { memType: 'normal_wb', noTagAccess: true, r: true, w: true, x: false }, false],
    ] as [string, Stage2Prot, boolean][])('%s', (_name, prot, mtePerm) => {
      for (const fwb of [false, true]) {
        const t = table(fwb, mtePerm);
        const r = t.map(0x1000_0000, 0x8_0000_0000, 0x1000, prot);
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('MTEPERM_S2_PROT');
          expect(r.error.ret).toBe(-22);
          expect(r.error.name).toBe('PgtableError');
        }
        expect(t.leafDescriptors()).toEqual([]);
      }
    });
  });
});
