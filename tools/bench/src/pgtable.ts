import { PAGE_SIZE } from '@mteperm/arm64';
import { benchMaps, benchReferenceWalks, benchWalks, bytesPerPage, MapReferenceStage2 } from '@mteperm/pgtable';
import type { BenchDocument } from './bench';
import { median, nowNs } from './stats';

/**
 * Stage-2 table figures from pgtable's own bench kernels, medians of `runs`: walks/s over 2^18
 * dense 4 KiB pages (pseudo-random IPAs), dense page maps/s, table bytes per mapped page; and the
 * JS `Map` reference (MapReferenceStage2) doing the same walks and maps.
 */
export function pgtableFigures(o: { readonly quick: boolean; readonly runs: number; readonly ops?: number }): BenchDocument['figures'] {
  const walks = o.ops ?? (o.quick ? 2_000_000 : 10_000_000);
  const pages = o.ops ?? (o.quick ? 1 << 18 : 1 << 20);
  const w: number[] = [];
  const m: number[] = [];
  const rw: number[] = [];
  const rm: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    w.push(benchWalks(walks).perSecond);
    m.push(benchMaps(pages).perSecond);
    rw.push(benchReferenceWalks(walks).perSecond);
    rm.push(referenceMaps(pages));
  }
  return {
    'pgtable.walks_per_s': { value: Math.round(median(w)), unit: 'walks/s', reference: 'ref.map_walks_per_s' },
    'pgtable.maps_per_s': { value: Math.round(median(m)), unit: 'maps/s', reference: 'ref.map_maps_per_s' },
    'pgtable.bytes_per_page': { value: round2(bytesPerPage(pages)), unit: 'bytes/page' },
    'ref.map_walks_per_s': { value: Math.round(median(rw)), unit: 'walks/s' },
    'ref.map_maps_per_s': { value: Math.round(median(rm)), unit: 'maps/s' },
  };
}

const PROT = { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false } as const;

/** Dense 4 KiB page maps per second into the JS Map reference. */
function referenceMaps(pages: number): number {
  const ref = new MapReferenceStage2({ fwb: true, mtePerm: true }, 40);
  const t = nowNs();
  for (let i = 0; i < pages; i++) ref.map(0x8000_0000 + i * PAGE_SIZE, 0x8_0000_0000 + i * PAGE_SIZE, PAGE_SIZE, PROT);
  return pages / (Math.max(nowNs() - t, 1) / 1e9);
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
