import type { Vma } from '@mteperm/events';
import { UapiError } from './errors';

/** The memory backings of CONTRACT §1.2. */
export type BackingKind = 'anon' | 'shmem' | 'hugetlb' | 'file-shared' | 'dax-pmem' | 'vfio-bar-wb' | 'vfio-bar';
export const BACKING_KINDS: readonly BackingKind[] = ['anon', 'shmem', 'hugetlb', 'file-shared', 'dax-pmem', 'vfio-bar-wb', 'vfio-bar'];

/** A step's `backing`: a kind, or `{ kind, mte_allowed }` overriding VM_MTE_ALLOWED (CONTRACT §1.2). */
export type BackingSpec = BackingKind | { readonly kind: BackingKind; readonly mte_allowed?: boolean };

type VmaFlags = Omit<Vma, 'backing' | 'userspace_addr'>;

/**
 * The VMA flags the kernel would see for each backing (DOMAIN B §1.1, CONTRACT §1.2): VM_MTE_ALLOWED
 * for anonymous and RAM-based file mappings only; VFIO BARs are VM_PFNMAP.
 * Model choices: hugetlb is a private mapping; dax-pmem is not PFNMAP (fsdax pages have struct pages).
 */
const VMA_FLAGS: Readonly<Record<BackingKind, VmaFlags>> = {
  anon: { mte_allowed: true, pfnmap: false, shared: false, cacheable: true, hugetlb: false },
  shmem: { mte_allowed: true, pfnmap: false, shared: true, cacheable: true, hugetlb: false },
  hugetlb: { mte_allowed: true, pfnmap: false, shared: false, cacheable: true, hugetlb: true },
  'file-shared': { mte_allowed: false, pfnmap: false, shared: true, cacheable: true, hugetlb: false },
  'dax-pmem': { mte_allowed: false, pfnmap: false, shared: true, cacheable: true, hugetlb: false },
  'vfio-bar-wb': { mte_allowed: false, pfnmap: true, shared: true, cacheable: true, hugetlb: false },
  'vfio-bar': { mte_allowed: false, pfnmap: true, shared: true, cacheable: false, hugetlb: false },
};

/** Where the model's VMM maps slot N: one VMA per memslot, 1 TiB apart (model choice, README). */
export const USERSPACE_BASE = 0x1000_0000_0000n;
export function userspaceAddrOf(slot: number): bigint {
  return USERSPACE_BASE + (BigInt(slot) << 40n);
}

export function isBackingKind(s: string): s is BackingKind {
  return (BACKING_KINDS as readonly string[]).includes(s);
}

/** The VMA behind memslot `slot` for this backing, with the step's override applied. */
export function vmaForBacking(spec: BackingSpec, slot: number): Vma {
  const kind = typeof spec === 'string' ? spec : spec.kind;
  if (!isBackingKind(kind)) throw new UapiError('MTEPERM_UAPI_BACKING', `unknown backing '${String(kind)}' (expected ${BACKING_KINDS.join(', ')})`);
  const flags = VMA_FLAGS[kind];
  const mteAllowed = typeof spec === 'string' || spec.mte_allowed === undefined ? flags.mte_allowed : spec.mte_allowed;
  return { backing: kind, ...flags, mte_allowed: mteAllowed, userspace_addr: userspaceAddrOf(slot) };
}
