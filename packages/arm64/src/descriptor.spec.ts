import { decodeDescriptor } from './decode-descriptor';
import { decodeS2ap, encodeS2ap } from './s2ap';
import { LEVEL_SIZE, PAGE_SIZE, PMD_SIZE, PUD_SIZE, descFromBigInt, descToBigInt, levelSize, outputAddress } from './descriptor';
import { ERRNO, errnoName, fail } from './errno';
import { KVM_EXIT_NAME, KVM_MEMORY_EXIT_FLAG_TAGACCESS } from './kvm-uapi';

describe('sizes per level, 4 KiB granule (Arm ARM D8.2; DOMAIN B §4.1)', () => {
  it('L0 512 GiB, L1 1 GiB, L2 2 MiB, L3 4 KiB', () => {
    expect(LEVEL_SIZE).toEqual([0x80_0000_0000, 0x4000_0000, 0x20_0000, 0x1000]);
    expect([levelSize(1), levelSize(2), levelSize(3)]).toEqual([PUD_SIZE, PMD_SIZE, PAGE_SIZE]);
  });
});

describe('descriptor halves and decoding (DOMAIN B §4.1, §4.2)', () => {
  // A VFIO BAR page mapped NoTagAccess with FWB (DOMAIN A.2.3): MemAttr 0b1110, S2AP RW, SH 0b11,
  // AF, XN, PA 0x8_0000_0000.
  const desc = 0x0040_0008_0000_07fbn;
  it('splits and joins the 64-bit descriptor; OA[47:12]', () => {
    const { lo, hi } = descFromBigInt(desc);
    expect([lo, hi]).toEqual([0x7fb, 0x0040_0008]);
    expect(descToBigInt(lo, hi)).toBe(desc);
    expect(outputAddress(lo, hi)).toBe(0x8_0000_0000);
  });
  it('decodes every field of a level-3 page', () => {
    expect(decodeDescriptor(desc, 3, { fwb: true })).toEqual({
      kind: 'page',
      level: 3,
      size: 0x1000n,
      outputAddress: 0x8_0000_0000n,
      memAttrBits: 0b1110,
      memAttr: { kind: 'normal', outer: 'wb', inner: 'wb', forced: true, noTagAccess: true },
      memType: 'normal_wb',
      noTagAccess: true,
      tagged: false,
      s2ap: 'rw',
      sh: 'inner',
      af: true,
      xn: true,
      sw: 0,
    });
  });
  it('the same bits without FWB are Outer WB Inner WT, not NoTagAccess (DOMAIN C §1.1, STYLE "FWB trap")', () => {
    expect(decodeDescriptor(desc, 3, { fwb: false })).toMatchObject({ memType: undefined, noTagAccess: false, tagged: false });
  });
  it('tables, invalid entries and level-3 type 0 (reserved)', () => {
    expect(decodeDescriptor(0x8000_1003n, 1, { fwb: true })).toEqual({ kind: 'table', level: 1, nextTable: 0x8000_1000n });
    expect(decodeDescriptor(0n, 2, { fwb: true })).toEqual({ kind: 'invalid' });
    expect(decodeDescriptor(desc & ~2n, 3, { fwb: true })).toEqual({ kind: 'reserved', level: 3 });
  });
});

describe('errno and KVM uapi numbers (asm-generic/errno*.h; DOMAIN A.2.5, B §3.3)', () => {
  it('errno numbers and names', () => {
    expect([ERRNO.EFAULT, ERRNO.EINVAL, ERRNO.ENOSYS, ERRNO.EBADF, ERRNO.ENOEXEC]).toEqual([14, 22, 38, 9, 8]);
    expect(fail('EEXIST')).toBe(-17);
    expect([errnoName(-14), errnoName(0), errnoName(5), errnoName(-9999)]).toEqual(['EFAULT', undefined, undefined, undefined]);
  });
  it('exit reasons 6, 28, 39, 40 and the TAGACCESS flag 1 << 4', () => {
    expect(KVM_EXIT_NAME).toEqual({ 6: 'KVM_EXIT_MMIO', 28: 'KVM_EXIT_ARM_NISV', 39: 'KVM_EXIT_MEMORY_FAULT', 40: 'KVM_EXIT_ARM_NOTAG_ACCESS' });
    expect(KVM_MEMORY_EXIT_FLAG_TAGACCESS).toBe(0x10n);
  });
});

describe('S2AP[1:0] at desc[7:6] (Arm ARM D8.4; DOMAIN B §4.1)', () => {
  it.each([
    [0x000, 'none', false, false],
    [0x040, 'ro', true, false],
    [0x080, 'wo', false, true],
    [0x0c0, 'rw', true, true],
  ] as const)('S2AP bits %i (desc[7:6] << 6) → %s', (bits, name, r, w) => {
    expect(decodeS2ap(0x703 | bits)).toBe(name);
    expect(encodeS2ap(r, w)).toBe(bits);
  });
});
