import { HostMemory } from './host-memory';

describe('HostRegion PG_mte_tagged bitmap (DOMAIN B §5.3)', () => {
  it('tracks pages past 4 GiB into a large region without 32-bit wrap-around', () => {
    const region = new HostMemory().allocate(8 * 2 ** 30, false);
    const far = region.base + 5 * 2 ** 30; // 5 GiB in: (offset >>> 12) would wrap to 1 GiB
    region.markTagged(far, 0x2000);
    expect(region.isTagged(far)).toBe(true);
    expect(region.isTagged(region.base + 2 ** 30)).toBe(false);
    expect(region.untaggedRanges(far - 0x1000, 0x4000)).toEqual([
      [far - 0x1000, 0x1000],
      [far + 0x2000, 0x1000],
    ]);
  });
});
