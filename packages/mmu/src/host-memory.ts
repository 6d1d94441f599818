import { PAGE_SIZE, PUD_SIZE } from '@mteperm/arm64';

/**
 * Deterministic host physical memory: each memslot gets its own host region when it is created,
 * in creation order, so descriptors' output addresses are the same on every run and machine.
 * Memory with struct pages (RAM, page cache, DAX) comes from the linear map; PFNMAP device memory
 * (VFIO BARs) from a separate window outside it, which is what makes `kvm_is_device_pfn` true for
 * it (DOMAIN B §5.3). Regions are 1 GiB aligned so block mappings are possible.
 */
export const HOST_RAM_BASE = 0x8_0000_0000; // 32 GiB: start of the modelled linear map
export const HOST_PFNMAP_BASE = 0x400_0000_0000; // 4 TiB: PCI BAR window, not in the linear map
const REGION_ALIGN = PUD_SIZE; // 1 GiB: a region can hold level-1 blocks

export class HostRegion {
  /** PG_mte_tagged per host page of the region: tags sanitised once (DOMAIN B §5.3). */
  readonly tagged: Uint8Array;

  constructor(
    readonly base: number,
    readonly size: number,
    readonly inLinearMap: boolean,
  ) {
    this.tagged = new Uint8Array(Math.ceil(size / PAGE_SIZE / 8));
  }

  isTagged(pa: number): boolean {
    const i = Math.floor((pa - this.base) / PAGE_SIZE); // offsets past 4 GiB: no 32-bit shifts
    return (this.tagged[i >>> 3]! & (1 << (i & 7))) !== 0;
  }

  /** The sub-ranges of [pa, pa + size) whose tags are not sanitised yet, in order. */
  untaggedRanges(pa: number, size: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let runStart = -1;
    for (let p = pa; p < pa + size; p += PAGE_SIZE) {
      if (!this.isTagged(p)) {
        if (runStart < 0) runStart = p;
      } else if (runStart >= 0) {
        out.push([runStart, p - runStart]);
        runStart = -1;
      }
    }
    if (runStart >= 0) out.push([runStart, pa + size - runStart]);
    return out;
  }

  /** Marks [pa, pa + size) tagged (PG_mte_tagged set once its tags are cleared). */
  markTagged(pa: number, size: number): void {
    for (let p = pa; p < pa + size; p += PAGE_SIZE) {
      const i = Math.floor((p - this.base) / PAGE_SIZE);
      this.tagged[i >>> 3]! |= 1 << (i & 7);
    }
  }
}

export class HostMemory {
  private nextRam = HOST_RAM_BASE;
  private nextPfnmap = HOST_PFNMAP_BASE;

  allocate(size: number, pfnmap: boolean): HostRegion {
    const aligned = Math.ceil(size / REGION_ALIGN) * REGION_ALIGN;
    if (pfnmap) {
      const r = new HostRegion(this.nextPfnmap, size, false);
      this.nextPfnmap += aligned;
      return r;
    }
    const r = new HostRegion(this.nextRam, size, true);
    this.nextRam += aligned;
    return r;
  }
}
