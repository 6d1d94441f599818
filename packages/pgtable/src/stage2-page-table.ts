/**
 * A VM's stage-2 translation table for the 4 KiB granule, held bit-exact in typed arrays.
 *
 * Storage: a pool of 4 KiB table pages in one Uint32Array, each entry two Uint32 halves (lo = desc[31:0],
 * hi = desc[63:32]) side by side; no per-entry objects and no bigint on the hot path (BigInt is ~10×
 * slower, ARCHITECTURE "Performance references"). The start-level table occupies pool pages
 * 0..tables-1 (concatenated tables are contiguous, as the architecture requires). A table descriptor's
 * next-level address is the pool page number × 4 KiB: the model's own table memory.
 *
 * IPAs, PAs and sizes are numbers on the hot path (< 2^52, exact in a double); per-level indexes come
 * from `ipa * 2^-shift`, which is exact, truncated by `& mask`.
 */
import {
  DESC_TYPE,
  DESC_VALID,
  LEVEL_INV,
  LEVEL_SIZE,
  MEMATTR_MASK,
  MEMATTR_SHIFT,
  PAGE_SIZE,
  PERM_HI_MASK,
  PERM_LO_MASK,
  S2AP_R,
  S2AP_W,
  TWO_32,
  XN_HI,
  descToBigInt,
} from '@mteperm/arm64';
import { refused, okResult, type PgtableError, type S2Result } from './errors';
import { decodeMemAttr, memTypeOf } from '@mteperm/arm64';
import type { LeafAttrs, Stage2Host, Stage2Prot } from './prot';
import { encodeLeafAttrs } from './prot';
import { startLevelFor, type StartLevel } from './vtcr';

const WORDS_PER_TABLE = 1024; // 512 entries × 2 halves
const MAX_OA = 2 ** 48; // OA[47:12] without LPA2
const INV_1G = 2 ** -30;
// Cache slots for encoded protections: memory type (3) × NoTagAccess × R × W × X × SW (16).
const PROT_KEYS = 3 * 2 * 2 * 2 * 2 * 16;

/** Index of `prot` in the encoding cache, or -1 for what is never cached (refusable SW bits, unknown type). */
function protKey(prot: Stage2Prot): number {
  const sw = prot.sw ?? 0;
  if (!(Number.isInteger(sw) && sw >= 0 && sw <= 15)) return -1;
  const t = prot.memType === 'normal_wb' ? 0 : prot.memType === 'normal_nc' ? 1 : prot.memType === 'device_ngnre' ? 2 : -1;
  if (t < 0) return -1;
  // Truthiness, as encodeLeafAttrs reads the flags.
  return ((((t * 2 + (prot.noTagAccess ? 1 : 0)) * 2 + (prot.r ? 1 : 0)) * 2 + (prot.w ? 1 : 0)) * 2 + (prot.x ? 1 : 0)) * 16 + sw;
}

/** Receives what a table operation did, in order; the bus adapter turns these into events. */
export interface Stage2Observer {
  /** The block at (ipa, level) became a table of next-level entries with the same attributes. */
  split(ipa: number, level: number): void;
  /** A valid leaf or table at (ipa, level) was invalidated before being replaced (break-before-make). */
  broke(ipa: number, level: number): void;
  /** A leaf was written at (ipa, level). */
  leaf(ipa: number, level: number, lo: number, hi: number): void;
}

/**
 * Outcome of a walk, written into a reused object (allocate one with `createWalkResult`).
 * When `found` is false, `level` is the level whose entry was invalid (or the start level for an IPA
 * outside the input range).
 */
export interface WalkResult {
  found: boolean;
  level: number;
  lo: number;
  hi: number;
  /** IPA of the first byte the leaf maps. */
  base: number;
  /** Bytes the leaf maps (4 KiB, 2 MiB or 1 GiB). */
  size: number;
  /** HCR_EL2.FWB and FEAT_MTE_PERM of the table, needed to decode MemAttr. */
  readonly fwb: boolean;
  readonly mtePerm: boolean;
  /** Whether `tcf: async` / `asymm` take effect on the host (DOMAIN A.3.8); absent means they do. */
  readonly mteAsync?: boolean;
  readonly mteAsymm?: boolean;
}

/** Counts of what a map did. */
export interface MapStats {
  /** Leaves written. */
  leaves: number;
  /** Valid leaves replaced with a different MemAttr/OA/SW (break-before-make). */
  breaks: number;
  /** Valid leaves whose permissions alone changed, in place. */
  permUpdates: number;
  /** Blocks split because the map covered only part of them. */
  splits: number;
}

export interface RelaxOutcome {
  readonly base: number;
  readonly level: number;
  readonly lo: number;
  readonly hi: number;
}

export interface Stage2PageTableOptions extends Stage2Host {
  /** Guest IPA size (KVM_VM_TYPE_ARM_IPA_SIZE), 32..48; default 40. */
  readonly ipaBits?: number;
  /** Initial pool capacity in table pages (grows by doubling). */
  readonly initialTables?: number;
}

function mapWhere(ipa: number, pa: number, size: number): string {
  return `map ipa 0x${ipa.toString(16)} pa 0x${pa.toString(16)} size 0x${size.toString(16)}`;
}

export class Stage2PageTable {
  readonly ipaBits: number;
  readonly startLevel: number;
  /** Entries in the start-level lookup (across concatenated tables). */
  readonly startEntries: number;
  readonly startTables: number;
  readonly fwb: boolean;
  readonly mtePerm: boolean;
  readonly mteAsync: boolean;
  readonly mteAsymm: boolean;
  /** 2^ipaBits: first IPA outside the input range. */
  readonly ipaLimit: number;

  private readonly startInv: number;
  private readonly startMask: number;
  private mem: Uint32Array;
  /** Valid entries per pool page, so empty tables are freed (as the kernel's refcounts do). */
  private counts: Uint16Array;
  private capacity: number;
  private highWater: number;
  private freeList: number[] = [];
  private tablesInUse: number;
  /** Accepted encodings by `protKey`: the host is fixed per table and a run uses few protections. */
  private readonly protCache: (S2Result<LeafAttrs> | undefined)[] = new Array<S2Result<LeafAttrs> | undefined>(PROT_KEYS).fill(undefined);

  /** Creates a table, or refuses an IPA size the 4 KiB granule cannot express without LPA2 (-EINVAL). */
  static create(options: Stage2PageTableOptions): S2Result<Stage2PageTable> {
    const start = startLevelFor(options.ipaBits ?? 40);
    if (!start.ok) return start;
    return okResult(new Stage2PageTable(start.value, options));
  }

  private constructor(start: StartLevel, options: Stage2PageTableOptions) {
    this.ipaBits = start.ipaBits;
    this.startLevel = start.startLevel;
    this.startEntries = start.entries;
    this.startTables = start.tables;
    this.fwb = options.fwb;
    this.mtePerm = options.mtePerm;
    this.mteAsync = options.mteAsync ?? true;
    this.mteAsymm = options.mteAsymm ?? true;
    this.ipaLimit = 2 ** start.ipaBits;
    this.startInv = LEVEL_INV[start.startLevel]!;
    this.startMask = start.entries - 1;
    this.capacity = Math.max(options.initialTables ?? 64, start.tables + 1);
    this.mem = new Uint32Array(this.capacity * WORDS_PER_TABLE);
    this.counts = new Uint16Array(this.capacity);
    this.highWater = start.tables;
    this.tablesInUse = start.tables;
  }

  /** A result object for `walk`, carrying this table's host facts (FWB, FEAT_MTE_PERM, A.3.8) for the check. */
  createWalkResult(): WalkResult {
    return { found: false, level: this.startLevel, lo: 0, hi: 0, base: 0, size: 0, fwb: this.fwb, mtePerm: this.mtePerm, mteAsync: this.mteAsync, mteAsymm: this.mteAsymm };
  }

  /** Encodes a protection for this table's host (stage2_set_prot_attr, DOMAIN B §4.3). */
  encodeProt(prot: Stage2Prot): S2Result<LeafAttrs> {
    const key = protKey(prot);
    if (key < 0) return encodeLeafAttrs(prot, this);
    let r = this.protCache[key];
    if (r === undefined) {
      r = encodeLeafAttrs(prot, this);
      // Refusals are not kept: each carries its own PgtableError.
      if (r.ok) this.protCache[key] = r;
    }
    return r;
  }

  // ------------------------------------------------------------------ walk

  /** Translates `ipa` (a number < 2^ipaBits) into `out`; allocation-free. */
  walk(ipa: number, out: WalkResult): WalkResult {
    let level = this.startLevel;
    if (!(ipa >= 0 && ipa < this.ipaLimit)) {
      out.found = false;
      out.level = level;
      return out;
    }
    const mem = this.mem;
    // Start-level index over the concatenated tables; the tables are contiguous from pool page 0.
    let e = ((ipa * this.startInv) & this.startMask) << 1;
    for (;;) {
      const lo = mem[e]!;
      if ((lo & DESC_VALID) === 0) {
        out.found = false;
        out.level = level;
        return out;
      }
      if (level === 3 || (lo & DESC_TYPE) === 0) {
        const size = LEVEL_SIZE[level]!;
        out.found = true;
        out.level = level;
        out.lo = lo;
        out.hi = mem[e + 1]!;
        out.size = size;
        // floor(ipa / size) * size, by multiplication: a float modulo costs more than the walk.
        out.base = Math.floor(ipa * LEVEL_INV[level]!) * size;
        return out;
      }
      level++;
      // Index bits of the next level: [29:21] at level 2, [20:12] at level 3, [38:30] at level 1.
      const idx = level === 3 ? (ipa >>> 12) & 511 : level === 2 ? (ipa >>> 21) & 511 : (ipa * INV_1G) & 511;
      e = (lo >>> 12) * WORDS_PER_TABLE + (idx << 1);
    }
  }

  // ------------------------------------------------------------------ map

  /**
   * Maps [ipa, ipa+size) to [pa, pa+size) with `prot`, choosing at each step the largest block
   * (1 GiB at level 1, 2 MiB at level 2, else a 4 KiB page) that the remaining size and the alignment
   * of both IPA and PA allow (DOMAIN B §4.1). Existing entries in the range are replaced: a valid leaf
   * with other MemAttr/OA/SW bits is broken first (break-before-make), one differing only in S2AP/XN
   * is updated in place, a table under a new block is freed, and a block only partly covered is split
   * first so the rest keeps its mapping (and its NoTagAccess, DOMAIN A.2.4).
   */
  map(ipa: number, pa: number, size: number, prot: Stage2Prot, observer?: Stage2Observer): S2Result<MapStats> {
    const attrs = this.encodeProt(prot);
    if (!attrs.ok) return attrs;
    const bad = this.checkMapRange(ipa, pa, size);
    if (bad !== undefined) return bad;
    const stats: MapStats = { leaves: 0, breaks: 0, permUpdates: 0, splits: 0 };
    this.mapChecked(ipa, pa, size, attrs.value, observer, stats);
    return okResult(stats);
  }

  /** `map` without the counts, for the bus adapter's hot path: the refusal, or undefined once mapped. */
  mapProt(ipa: number, pa: number, size: number, prot: Stage2Prot, observer?: Stage2Observer): PgtableError | undefined {
    const attrs = this.encodeProt(prot);
    if (!attrs.ok) return attrs.error;
    const bad = this.checkMapRange(ipa, pa, size);
    if (bad !== undefined) return bad.error;
    this.mapChecked(ipa, pa, size, attrs.value, observer, undefined);
    return undefined;
  }

  /**
   * Hot-path map with pre-encoded attributes (`encodeProt`): returns 0 or the refusal's negative errno
   * (-EINVAL misaligned or PA too large, -ERANGE outside the IPA range).
   */
  mapAttrs(ipa: number, pa: number, size: number, attrs: LeafAttrs, observer?: Stage2Observer, stats?: MapStats): number {
    const bad = this.checkMapRange(ipa, pa, size);
    if (bad !== undefined) return bad.error.ret;
    this.mapChecked(ipa, pa, size, attrs, observer, stats);
    return 0;
  }

  private checkMapRange(ipa: number, pa: number, size: number): { readonly ok: false; readonly error: PgtableError } | undefined {
    // Messages are built only on refusal (mapWhere): this check runs on every hot-path map.
    if (ipa % PAGE_SIZE !== 0 || pa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || !(size > 0) || !(ipa >= 0) || !(pa >= 0)) {
      return refused('MTEPERM_S2_ALIGN', `${mapWhere(ipa, pa, size)}: not whole 4 KiB granules`);
    }
    if (ipa + size > this.ipaLimit) return refused('MTEPERM_S2_RANGE', `${mapWhere(ipa, pa, size)}: beyond the ${this.ipaBits}-bit IPA space`);
    if (pa + size > MAX_OA) return refused('MTEPERM_S2_PA', `${mapWhere(ipa, pa, size)}: does not fit OA[47:12]`);
    return undefined;
  }

  private mapChecked(ipa: number, pa: number, size: number, attrs: LeafAttrs, observer: Stage2Observer | undefined, stats: MapStats | undefined): void {
    const blockL1 = this.startLevel <= 1;
    while (size > 0) {
      let level = 3;
      if (blockL1 && size >= LEVEL_SIZE[1]! && ipa % LEVEL_SIZE[1]! === 0 && pa % LEVEL_SIZE[1]! === 0) level = 1;
      else if (size >= LEVEL_SIZE[2]! && ipa % LEVEL_SIZE[2]! === 0 && pa % LEVEL_SIZE[2]! === 0) level = 2;
      const lo = (attrs.lo | (level === 3 ? DESC_TYPE : 0) | (pa % TWO_32)) >>> 0;
      const hi = (attrs.hi | Math.floor(pa / TWO_32)) >>> 0;
      this.installLeaf(ipa, level, lo, hi, observer, stats);
      const step = LEVEL_SIZE[level]!;
      ipa += step;
      pa += step;
      size -= step;
    }
  }

  /**
   * Writes leaf (lo, hi) at (ipa, level), creating tables on the way and splitting a covering block.
   * Also the fold of a Stage2Mapped / Stage2Relaxed event (the descriptor as recorded).
   */
  installLeaf(ipa: number, level: number, lo: number, hi: number, observer?: Stage2Observer, stats?: MapStats): void {
    let l = this.startLevel;
    let e = ((ipa * LEVEL_INV[l]!) & (this.startEntries - 1)) << 1;
    while (l < level) {
      let cur = this.mem[e]!;
      if ((cur & DESC_VALID) === 0) {
        const page = this.allocTable();
        this.mem[e] = ((page * PAGE_SIZE) | DESC_VALID | DESC_TYPE) >>> 0;
        this.mem[e + 1] = 0;
        this.counts[e >>> 10]!++;
        cur = this.mem[e]!;
      } else if ((cur & DESC_TYPE) === 0) {
        const base = ipa - (ipa % LEVEL_SIZE[l]!);
        this.splitEntry(e, l);
        observer?.split(base, l);
        if (stats) stats.splits++;
        cur = this.mem[e]!;
      }
      l++;
      e = (cur >>> 12) * WORDS_PER_TABLE + (((ipa * LEVEL_INV[l]!) & 511) << 1);
    }
    const m = this.mem; // allocTable may have grown the pool
    const oldLo = m[e]!;
    if ((oldLo & DESC_VALID) === 0) {
      m[e] = lo;
      m[e + 1] = hi;
      this.counts[e >>> 10]!++;
    } else if (level < 3 && (oldLo & DESC_TYPE) !== 0) {
      // A table under a new block: break it, free the subtree, make the block.
      observer?.broke(ipa, level);
      if (stats) stats.breaks++;
      this.freeSubtree(oldLo >>> 12, level + 1);
      m[e] = lo;
      m[e + 1] = hi;
    } else {
      const oldHi = m[e + 1]!;
      if (oldLo === lo && oldHi === hi) {
        // Identical: nothing to do.
      } else if (((oldLo ^ lo) & ~PERM_LO_MASK) === 0 && ((oldHi ^ hi) & ~PERM_HI_MASK) === 0) {
        m[e] = lo;
        m[e + 1] = hi;
        if (stats) stats.permUpdates++;
      } else {
        // Break-before-make: invalidate (and, on hardware, TLBI) before writing the new leaf.
        observer?.broke(ipa, level);
        if (stats) stats.breaks++;
        m[e] = 0;
        m[e + 1] = 0;
        m[e] = lo;
        m[e + 1] = hi;
      }
    }
    if (stats) stats.leaves++;
    observer?.leaf(ipa, level, lo, hi);
  }

  // ------------------------------------------------------------------ unmap

  /** Unmaps [ipa, ipa+size), splitting blocks that are only partly inside; frees emptied tables. */
  unmap(ipa: number, size: number, observer?: Stage2Observer): S2Result<{ splits: number }> {
    if (ipa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || !(size > 0) || ipa < 0) {
      return refused('MTEPERM_S2_ALIGN', `unmap ipa 0x${ipa.toString(16)} size 0x${size.toString(16)}: not 4 KiB granules`);
    }
    if (ipa + size > this.ipaLimit) {
      return refused('MTEPERM_S2_RANGE', `unmap [0x${ipa.toString(16)}, +0x${size.toString(16)}) beyond the ${this.ipaBits}-bit IPA space`);
    }
    const splits = { n: 0 };
    this.unmapIn(0, this.startLevel, 0, this.startEntries, ipa, ipa + size, observer, splits);
    return okResult({ splits: splits.n });
  }

  private unmapIn(
    page: number,
    level: number,
    tableBase: number,
    entries: number,
    start: number,
    end: number,
    observer: Stage2Observer | undefined,
    splits: { n: number },
  ): void {
    const blk = LEVEL_SIZE[level]!;
    const first = Math.floor((start - tableBase) / blk);
    const last = Math.min(entries - 1, Math.floor((end - 1 - tableBase) / blk));
    for (let i = first; i <= last; i++) {
      const e = page * WORDS_PER_TABLE + (i << 1);
      let lo = this.mem[e]!;
      if ((lo & DESC_VALID) === 0) continue;
      const entryBase = tableBase + i * blk;
      const entryEnd = entryBase + blk;
      const isLeaf = level === 3 || (lo & DESC_TYPE) === 0;
      if (isLeaf) {
        if (start <= entryBase && entryEnd <= end) {
          this.mem[e] = 0;
          this.mem[e + 1] = 0;
          this.counts[e >>> 10]!--;
          continue;
        }
        this.splitEntry(e, level);
        observer?.split(entryBase, level);
        splits.n++;
        lo = this.mem[e]!;
      }
      const child = lo >>> 12;
      this.unmapIn(child, level + 1, entryBase, 512, Math.max(start, entryBase), Math.min(end, entryEnd), observer, splits);
      if (this.counts[child] === 0) {
        this.releaseTable(child);
        this.mem[e] = 0;
        this.mem[e + 1] = 0;
        this.counts[e >>> 10]!--;
      }
    }
  }

  // ------------------------------------------------------------------ relax and split

  /**
   * kvm_pgtable_stage2_relax_perms (DOMAIN B §4.3): on the leaf covering `ipa`, sets S2AP R/W for
   * `r`/`w` and clears XN for `x`; never removes a permission, never touches MemAttr (so NoTagAccess is
   * kept, DOMAIN A.2.4). Software bits are refused (-EINVAL) like the kernel; no leaf → -EAGAIN.
   * Exec on a device or non-cacheable leaf is refused (-EINVAL): the model keeps the map-time rule.
   */
  relax(ipa: number, perms: { readonly r: boolean; readonly w: boolean; readonly x: boolean; readonly sw?: number }): S2Result<RelaxOutcome> {
    if ((perms.sw ?? 0) !== 0) {
      return refused('MTEPERM_S2_SW_BITS', `relax with software bits 0x${(perms.sw ?? 0).toString(16)} (kvm_pgtable_stage2_relax_perms: -EINVAL)`);
    }
    const w = this.walk(ipa, this.createWalkResult());
    if (!w.found) return refused('MTEPERM_S2_NO_LEAF', `relax at 0x${ipa.toString(16)}: no valid leaf (-EAGAIN)`);
    if (perms.x && (w.hi & XN_HI) !== 0) {
      const bits = (w.lo & MEMATTR_MASK) >>> MEMATTR_SHIFT;
      if (memTypeOf(decodeMemAttr(bits, this)) !== 'normal_wb') {
        return refused('MTEPERM_S2_PROT', `relax exec on a non-Normal-WB leaf (MemAttr 0b${bits.toString(2).padStart(4, '0')})`);
      }
    }
    const lo = (w.lo | (perms.r ? S2AP_R : 0) | (perms.w ? S2AP_W : 0)) >>> 0;
    const hi = (perms.x ? w.hi & ~XN_HI : w.hi) >>> 0;
    this.installLeaf(w.base, w.level, lo, hi);
    return okResult({ base: w.base, level: w.level, lo, hi });
  }

  /** Splits the block covering `ipa` into 512 next-level entries with identical attributes. */
  split(ipa: number, observer?: Stage2Observer): S2Result<{ base: number; level: number }> {
    const w = this.walk(ipa, this.createWalkResult());
    if (!w.found || w.level === 3) {
      return refused('MTEPERM_S2_NOT_BLOCK', `split at 0x${ipa.toString(16)}: no block (${w.found ? 'a page' : 'unmapped'})`);
    }
    const e = this.entryIndex(w.base, w.level);
    this.splitEntry(e, w.level);
    observer?.split(w.base, w.level);
    return okResult({ base: w.base, level: w.level });
  }

  /** Word index of the entry for (ipa, level); the path must exist as tables down to `level`. */
  private entryIndex(ipa: number, level: number): number {
    let l = this.startLevel;
    let e = ((ipa * LEVEL_INV[l]!) & (this.startEntries - 1)) << 1;
    while (l < level) {
      const lo = this.mem[e]!;
      l++;
      e = (lo >>> 12) * WORDS_PER_TABLE + (((ipa * LEVEL_INV[l]!) & 511) << 1);
    }
    return e;
  }

  /**
   * Replaces the block at word index `e` (level `level`) with a table of 512 entries one level down,
   * each with the block's attributes and its slice of the output address. The block's OA is aligned to
   * its size, so the child offsets never carry into the high half.
   */
  private splitEntry(e: number, level: number): void {
    const page = this.allocTable();
    const m = this.mem;
    const lo = m[e]!;
    const hi = m[e + 1]!;
    const childLevel = level + 1;
    const childSize = LEVEL_SIZE[childLevel]!;
    const childLo = (lo & ~DESC_TYPE) | (childLevel === 3 ? DESC_TYPE : 0);
    const base = page * WORDS_PER_TABLE;
    for (let i = 0; i < 512; i++) {
      m[base + (i << 1)] = (childLo | (i * childSize)) >>> 0;
      m[base + (i << 1) + 1] = hi;
    }
    this.counts[page] = 512;
    m[e] = ((page * PAGE_SIZE) | DESC_VALID | DESC_TYPE) >>> 0;
    m[e + 1] = 0;
  }

  // ------------------------------------------------------------------ leaves

  /** Calls `fn` for every valid leaf in IPA order (allocation-free). */
  forEachLeaf(fn: (ipa: number, level: number, lo: number, hi: number) => void): void {
    this.leavesIn(0, this.startLevel, 0, this.startEntries, fn);
  }

  private leavesIn(page: number, level: number, tableBase: number, entries: number, fn: (ipa: number, level: number, lo: number, hi: number) => void): void {
    const blk = LEVEL_SIZE[level]!;
    const m = this.mem;
    for (let i = 0; i < entries; i++) {
      const e = page * WORDS_PER_TABLE + (i << 1);
      const lo = m[e]!;
      if ((lo & DESC_VALID) === 0) continue;
      if (level === 3 || (lo & DESC_TYPE) === 0) fn(tableBase + i * blk, level, lo, m[e + 1]!);
      else this.leavesIn(lo >>> 12, level + 1, tableBase + i * blk, 512, fn);
    }
  }

  /** Every valid leaf as (ipa, level, 64-bit descriptor), in IPA order. */
  leafDescriptors(): { ipa: bigint; level: number; desc: bigint }[] {
    const out: { ipa: bigint; level: number; desc: bigint }[] = [];
    this.forEachLeaf((ipa, level, lo, hi) => out.push({ ipa: BigInt(ipa), level, desc: descToBigInt(lo, hi) }));
    return out;
  }

  // ------------------------------------------------------------------ memory

  /** Table pages in use and bytes they occupy (used) / reserve (pool capacity). */
  memoryStats(): { tables: number; bytesUsed: number; bytesReserved: number } {
    return {
      tables: this.tablesInUse,
      bytesUsed: this.tablesInUse * (WORDS_PER_TABLE * 4 + 2),
      bytesReserved: this.mem.byteLength + this.counts.byteLength,
    };
  }

  private allocTable(): number {
    this.tablesInUse++;
    const reused = this.freeList.pop();
    if (reused !== undefined) return reused;
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    this.capacity *= 2;
    const mem = new Uint32Array(this.capacity * WORDS_PER_TABLE);
    mem.set(this.mem);
    this.mem = mem;
    const counts = new Uint16Array(this.capacity);
    counts.set(this.counts);
    this.counts = counts;
  }

  /** Returns a table page (already empty of valid entries) to the pool, zeroed. */
  private releaseTable(page: number): void {
    this.mem.fill(0, page * WORDS_PER_TABLE, (page + 1) * WORDS_PER_TABLE);
    this.counts[page] = 0;
    this.freeList.push(page);
    this.tablesInUse--;
  }

  private freeSubtree(page: number, level: number): void {
    if (level < 3) {
      const m = this.mem;
      for (let i = 0; i < 512; i++) {
        const lo = m[page * WORDS_PER_TABLE + (i << 1)]!;
        if ((lo & DESC_VALID) !== 0 && (lo & DESC_TYPE) !== 0) this.freeSubtree(lo >>> 12, level + 1);
      }
    }
    this.releaseTable(page);
  }
}

