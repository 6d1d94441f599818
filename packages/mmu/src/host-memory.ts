/**
 * Deterministic host physical memory: each memslot gets its own host region when it is created,
 * in creation order, so descriptors' output addresses are the same on every run and machine.
 * Memory with struct pages (RAM, page cache, DAX) comes from the linear map; PFNMAP device memory
 * (VFIO BARs) from a separate window outside it, which is what makes `kvm_is_device_pfn` true for
 * it (DOMAIN B §5.3). Regions are 1 GiB aligned so block mappings are possible.
 */
export const HOST_RAM_BASE = 0x8_0000_0000; // 32 GiB: start of the modelled linear map
export const HOST_PFNMAP_BASE = 0x400_0000_0000; // 4 TiB: PCI BAR window, not in the linear map
const REGION_ALIGN = 0x4000_0000; // 1 GiB
const PAGE_SHIFT = 12;

export class HostRegion {
  /** PG_mte_tagged per host page of the region: tags sanitised once (DOMAIN B §5.3). */
  readonly tagged: Uint8Array;

  constructor(
    readonly base: number,
    readonly size: number,
    readonly inLinearMap: boolean,
  ) {
    this.tagged = new Uint8Array(Math.ceil(size / 4096 / 8));
  }

  isTagged(pa: number): boolean {
    const i = (pa - this.base) >>> PAGE_SHIFT;
    return (this.tagged[i >>> 3]! & (1 << (i & 7))) !== 0;
  }

  /** Marks [pa, pa + size) tagged; returns the sub-ranges that were not tagged before, in order. */
  markTagged(pa: number, size: number): Array<[number, number]> {
    const fresh: Array<[number, number]> = [];
    let runStart = -1;
    for (let p = pa; p < pa + size; p += 4096) {
      const i = (p - this.base) / 4096;
      const bit = 1 << (i & 7);
      const was = (this.tagged[i >>> 3]! & bit) !== 0;
      if (!was) {
        this.tagged[i >>> 3]! |= bit;
        if (runStart < 0) runStart = p;
      } else if (runStart >= 0) {
        fresh.push([runStart, p - runStart]);
        runStart = -1;
      }
    }
    if (runStart >= 0) fresh.push([runStart, pa + size - runStart]);
    return fresh;
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
