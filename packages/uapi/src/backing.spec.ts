import { UapiError } from './errors';
import { vmaForBacking } from './backing';

describe('memory backings as VMAs (CONTRACT §1.2)', () => {
  it.each([
    ['anon', { mte_allowed: true, pfnmap: false, shared: false, cacheable: true, hugetlb: false }],
    ['shmem', { mte_allowed: true, pfnmap: false, shared: true, cacheable: true, hugetlb: false }],
    ['hugetlb', { mte_allowed: true, pfnmap: false, shared: false, cacheable: true, hugetlb: true }],
    ['file-shared', { mte_allowed: false, pfnmap: false, shared: true, cacheable: true, hugetlb: false }],
    ['dax-pmem', { mte_allowed: false, pfnmap: false, shared: true, cacheable: true, hugetlb: false }],
    ['vfio-bar-wb', { mte_allowed: false, pfnmap: true, shared: true, cacheable: true, hugetlb: false }],
    ['vfio-bar', { mte_allowed: false, pfnmap: true, shared: true, cacheable: false, hugetlb: false }],
  ] as const)('%s has the kernel flags of CONTRACT §1.2 / DOMAIN B §1.1', (kind, flags) => {
    expect(vmaForBacking(kind, 0)).toEqual({ backing: kind, ...flags, userspace_addr: 0x1000_0000_0000n });
  });

  it('applies the step override { kind, mte_allowed } to VM_MTE_ALLOWED only (CONTRACT §1.2)', () => {
    expect(vmaForBacking({ kind: 'file-shared', mte_allowed: true }, 2)).toEqual({
      backing: 'file-shared',
      mte_allowed: true,
      pfnmap: false,
      shared: true,
      cacheable: true,
      hugetlb: false,
      userspace_addr: 0x1000_0000_0000n + (2n << 40n),
    });
    expect(vmaForBacking({ kind: 'anon', mte_allowed: false }, 0).mte_allowed).toBe(false);
  });

  it('refuses an unknown backing with MTEPERM_UAPI_BACKING', () => {
    expect(() => vmaForBacking('tmpfs' as never, 0)).toThrow(UapiError);
    expect(() => vmaForBacking({ kind: 'nvme' as never }, 0)).toThrow(expect.objectContaining({ code: 'MTEPERM_UAPI_BACKING' }));
  });
});
