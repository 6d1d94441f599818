import { KVM_MEM_LOG_DIRTY_PAGES, PAGE_SIZE, PMD_SIZE, PUD_SIZE } from '@mteperm/arm64';
import type { MemslotView } from './mmu-state';

const BLOCK_SIZES: readonly number[] = [PUD_SIZE, PMD_SIZE]; // largest first

/**
 * Largest backing page size the host VMA offers (user_mem_abort's vma_pagesize, DOMAIN B §4.1):
 * hugetlbfs folios up to 1 GiB, transparent huge pages (2 MiB) for anonymous and shmem RAM, DAX
 * PMD mappings, PFNMAP by alignment; page-cache file mappings use base pages.
 */
function backingMaxSize(m: MemslotView): number {
  if (m.vma.hugetlb) return PUD_SIZE;
  if (m.vma.pfnmap) return PUD_SIZE;
  switch (m.vma.backing) {
    case 'anon':
    case 'shmem':
    case 'dax-pmem':
      return PMD_SIZE;
    default:
      return PAGE_SIZE;
  }
}

/**
 * The stage-2 mapping size for a fault at `ipa`: the largest of 1 GiB / 2 MiB / 4 KiB that the
 * backing offers, whose aligned block lies wholly inside the memslot, and for which IPA and host
 * PA are equally aligned; dirty logging forces pages (DOMAIN B §4.1). `avoid` lets the caller
 * refuse blocks that would swallow pages needing a different attribute (tag storage given by a
 * policy inside a NoTagAccess region).
 */
export function mappingSize(m: MemslotView, ipa: number, avoid?: (blockIpa: number, size: number) => boolean): number {
  if (m.flags & KVM_MEM_LOG_DIRTY_PAGES) return PAGE_SIZE;
  const max = backingMaxSize(m);
  for (const size of BLOCK_SIZES) {
    if (size > max) continue;
    const block = Math.floor(ipa / size) * size;
    if (block < m.base || block + size > m.base + m.size) continue;
    const hostOffset = m.host.base + (block - m.base);
    if (hostOffset % size !== 0) continue;
    if (avoid?.(block, size)) continue;
    return size;
  }
  return PAGE_SIZE;
}
