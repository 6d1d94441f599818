/**
 * Small measurable kernels for tools/bench (CONTRACT §4 `pgtable.*` and `ref.map_walks_per_s`).
 * Each builds its own table so figures are comparable run to run.
 */
import { PAGE_SIZE } from '@mteperm/arm64';
import { MapReferenceStage2 } from './map-reference';
import type { Stage2Prot } from './prot';
import { Stage2PageTable } from './stage2-page-table';

const PROT: Stage2Prot = { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false };
const BASE_IPA = 0x8000_0000;
const BASE_PA = 0x8_0000_0000;

export interface BenchFigure {
  readonly ops: number;
  readonly seconds: number;
  readonly perSecond: number;
}

function figure(ops: number, start: number): BenchFigure {
  const seconds = (performance.now() - start) / 1000;
  return { ops, seconds, perSecond: ops / seconds };
}

function denseTable(pages: number): Stage2PageTable {
  const t = Stage2PageTable.create({ fwb: true, mtePerm: true, ipaBits: 40, initialTables: Math.ceil(pages / 512) + 8 });
  if (!t.ok) throw t.error;
  const attrs = t.value.encodeProt(PROT);
  if (!attrs.ok) throw attrs.error;
  for (let i = 0; i < pages; i++) t.value.mapAttrs(BASE_IPA + i * PAGE_SIZE, BASE_PA + i * PAGE_SIZE, PAGE_SIZE, attrs.value);
  return t.value;
}

/** Dense 4 KiB page maps per second (one mapAttrs call per page, pre-encoded attributes). */
export function benchMaps(pages: number): BenchFigure {
  const t = Stage2PageTable.create({ fwb: true, mtePerm: true, ipaBits: 40 });
  if (!t.ok) throw t.error;
  const attrs = t.value.encodeProt(PROT);
  if (!attrs.ok) throw attrs.error;
  const table = t.value;
  const a = attrs.value;
  const start = performance.now();
  for (let i = 0; i < pages; i++) table.mapAttrs(BASE_IPA + i * PAGE_SIZE, BASE_PA + i * PAGE_SIZE, PAGE_SIZE, a);
  return figure(pages, start);
}

/** Walks per second over `pages` dense pages, `walks` pseudo-random lookups into a reused result. */
export function benchWalks(walks: number, pages = 1 << 18): BenchFigure {
  const table = denseTable(pages);
  const out = table.createWalkResult();
  let x = 12345;
  let found = 0;
  const start = performance.now();
  for (let i = 0; i < walks; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    table.walk(BASE_IPA + (x % pages) * PAGE_SIZE + 0x40, out);
    if (out.found) found++;
  }
  const f = figure(walks, start);
  if (found !== walks) throw new Error(`benchWalks: ${walks - found} walks missed`);
  return f;
}

/** The same walks over the JS Map reference (ARCHITECTURE: naive JS Map per entry). */
export function benchReferenceWalks(walks: number, pages = 1 << 18): BenchFigure {
  const ref = new MapReferenceStage2({ fwb: true, mtePerm: true }, 40);
  for (let i = 0; i < pages; i++) ref.map(BASE_IPA + i * PAGE_SIZE, BASE_PA + i * PAGE_SIZE, PAGE_SIZE, PROT);
  let x = 12345;
  let found = 0;
  const start = performance.now();
  for (let i = 0; i < walks; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    if (ref.lookup(BASE_IPA + (x % pages) * PAGE_SIZE + 0x40)) found++;
  }
  const f = figure(walks, start);
  if (found !== walks) throw new Error(`benchReferenceWalks: ${walks - found} walks missed`);
  return f;
}

/** Table bytes in use per mapped 4 KiB page, for `pages` dense pages. */
export function bytesPerPage(pages: number): number {
  return denseTable(pages).memoryStats().bytesUsed / pages;
}
