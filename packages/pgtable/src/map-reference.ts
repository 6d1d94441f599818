/**
 * A naive stage-2 model over JS Maps (one Map of leaves per level, keyed by IPA), with the same
 * semantics as Stage2PageTable: the greedy block choice, split of partly covered blocks, relax rules
 * and refusals. It is the oracle of the property tests and the `ref.map_walks_per_s` reference of the
 * bench (ARCHITECTURE "Performance references"). Descriptors are assembled with bigint, independently
 * of the table's two-halves arithmetic.
 */
import { LEVEL_SIZE, PAGE_SIZE, XN_HI, S2AP_R, S2AP_W } from '@mteperm/arm64';
import { refused, okResult, type S2Result } from './errors';
import { decodeMemAttr, memTypeOf } from '@mteperm/arm64';
import { encodeLeafAttrs, type LeafAttrs, type Stage2Host, type Stage2Prot } from './prot';
import { startLevelFor } from './vtcr';

interface RefLeaf {
  level: number;
  pa: number;
  lo: number;
  hi: number;
}

export interface RefWalk {
  readonly found: boolean;
  readonly level: number;
  readonly base?: number;
  readonly desc?: bigint;
}

export class MapReferenceStage2 {
  readonly startLevel: number;
  readonly ipaLimit: number;
  private readonly levels: Map<number, RefLeaf>[] = [new Map(), new Map(), new Map(), new Map()];

  constructor(
    private readonly host: Stage2Host,
    ipaBits = 40,
  ) {
    const s = startLevelFor(ipaBits);
    if (!s.ok) throw s.error;
    this.startLevel = s.value.startLevel;
    this.ipaLimit = 2 ** ipaBits;
  }

  map(ipa: number, pa: number, size: number, prot: Stage2Prot): S2Result<null> {
    const attrs = encodeLeafAttrs(prot, this.host);
    if (!attrs.ok) return attrs;
    if (ipa % PAGE_SIZE || pa % PAGE_SIZE || size % PAGE_SIZE || size <= 0 || ipa < 0 || pa < 0) return refused('MTEPERM_S2_ALIGN', 'alignment');
    if (ipa + size > this.ipaLimit) return refused('MTEPERM_S2_RANGE', 'range');
    if (pa + size > 2 ** 48) return refused('MTEPERM_S2_PA', 'pa');
    while (size > 0) {
      let level = 3;
      for (const l of [1, 2]) {
        const s = LEVEL_SIZE[l]!;
        if (l >= this.startLevel && size >= s && ipa % s === 0 && pa % s === 0) {
          level = l;
          break;
        }
      }
      this.put(ipa, level, pa, attrs.value);
      ipa += LEVEL_SIZE[level]!;
      pa += LEVEL_SIZE[level]!;
      size -= LEVEL_SIZE[level]!;
    }
    return okResult(null);
  }

  private put(ipa: number, level: number, pa: number, attrs: LeafAttrs): void {
    for (let l = 0; l < level; l++) {
      const s = LEVEL_SIZE[l]!;
      if (this.levels[l]!.has(ipa - (ipa % s))) this.splitAt(ipa - (ipa % s), l);
    }
    const end = ipa + LEVEL_SIZE[level]!;
    for (let l = level + 1; l <= 3; l++) {
      for (const k of [...this.levels[l]!.keys()]) if (k >= ipa && k < end) this.levels[l]!.delete(k);
    }
    this.levels[level]!.set(ipa, { level, pa, lo: attrs.lo, hi: attrs.hi });
  }

  private splitAt(base: number, level: number): void {
    const leaf = this.levels[level]!.get(base)!;
    this.levels[level]!.delete(base);
    const child = LEVEL_SIZE[level + 1]!;
    for (let i = 0; i < 512; i++) {
      this.levels[level + 1]!.set(base + i * child, { level: level + 1, pa: leaf.pa + i * child, lo: leaf.lo, hi: leaf.hi });
    }
  }

  unmap(ipa: number, size: number): S2Result<null> {
    if (ipa % PAGE_SIZE || size % PAGE_SIZE || size <= 0 || ipa < 0) return refused('MTEPERM_S2_ALIGN', 'alignment');
    if (ipa + size > this.ipaLimit) return refused('MTEPERM_S2_RANGE', 'range');
    const end = ipa + size;
    for (let l = 0; l <= 3; l++) {
      for (const [k] of [...this.levels[l]!]) {
        const kEnd = k + LEVEL_SIZE[l]!;
        if (kEnd <= ipa || k >= end) continue;
        if (k >= ipa && kEnd <= end) this.levels[l]!.delete(k);
        else this.splitAt(k, l); // the pieces are visited at the next level
      }
    }
    return okResult(null);
  }

  private find(ipa: number): { base: number; leaf: RefLeaf } | undefined {
    for (let l = 3; l >= 0; l--) {
      const base = ipa - (ipa % LEVEL_SIZE[l]!);
      const leaf = this.levels[l]!.get(base);
      if (leaf !== undefined) return { base, leaf };
    }
    return undefined;
  }

  relax(ipa: number, perms: { r: boolean; w: boolean; x: boolean; sw?: number }): S2Result<null> {
    if ((perms.sw ?? 0) !== 0) return refused('MTEPERM_S2_SW_BITS', 'sw');
    const f = this.find(ipa);
    if (f === undefined) return refused('MTEPERM_S2_NO_LEAF', 'no leaf');
    const bits = (f.leaf.lo >>> 2) & 0b1111;
    if (perms.x && (f.leaf.hi & XN_HI) !== 0 && memTypeOf(decodeMemAttr(bits, this.host)) !== 'normal_wb') return refused('MTEPERM_S2_PROT', 'exec');
    if (perms.r) f.leaf.lo |= S2AP_R;
    if (perms.w) f.leaf.lo |= S2AP_W;
    if (perms.x) f.leaf.hi = (f.leaf.hi & ~XN_HI) >>> 0;
    return okResult(null);
  }

  split(ipa: number): S2Result<null> {
    const f = this.find(ipa);
    if (f === undefined || f.leaf.level === 3) return refused('MTEPERM_S2_NOT_BLOCK', 'not a block');
    this.splitAt(f.base, f.leaf.level);
    return okResult(null);
  }

  /** Walk: the leaf, or the level whose entry would be invalid (tables exist only above leaves). */
  walk(ipa: number): RefWalk {
    if (!(ipa >= 0 && ipa < this.ipaLimit)) return { found: false, level: this.startLevel };
    const f = this.find(ipa);
    if (f !== undefined) return { found: true, level: f.leaf.level, base: f.base, desc: descOf(f.leaf) };
    for (let l = this.startLevel; l < 3; l++) {
      const s = LEVEL_SIZE[l]!;
      const base = ipa - (ipa % s);
      if (!this.anyLeafIn(base, base + s)) return { found: false, level: l };
    }
    return { found: false, level: 3 };
  }

  /** Fast found-path walk for the bench (three Map lookups at most). */
  lookup(ipa: number): boolean {
    return this.find(ipa) !== undefined;
  }

  private anyLeafIn(start: number, end: number): boolean {
    for (const m of this.levels) for (const k of m.keys()) if (k >= start && k < end) return true;
    return false;
  }

  leaves(): { ipa: bigint; level: number; desc: bigint }[] {
    const out: { ipa: number; leaf: RefLeaf }[] = [];
    for (const m of this.levels) for (const [ipa, leaf] of m) out.push({ ipa, leaf });
    out.sort((a, b) => a.ipa - b.ipa);
    return out.map(({ ipa, leaf }) => ({ ipa: BigInt(ipa), level: leaf.level, desc: descOf(leaf) }));
  }
}

function descOf(leaf: RefLeaf): bigint {
  return (BigInt(leaf.hi >>> 0) << 32n) | BigInt(leaf.lo >>> 0) | BigInt(leaf.pa) | (leaf.level === 3 ? 2n : 0n);
}
