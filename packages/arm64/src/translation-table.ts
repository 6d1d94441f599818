/**
 * A stage-2 translation table for the 4 KiB granule as the architecture defines it, held bit-exact in
 * typed arrays: the table format alone (storage, walk, writing and clearing raw descriptors, block
 * splits, leaf listing). No KVM policy: which descriptor a map writes, refusals with messages, and the
 * events stay in @mteperm/pgtable (whose Stage2PageTable extends this class); @mteperm/nested keeps its
 * shadow stage 2 and its mirror of L0's stage 2 in this class too.
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
import { DESC_TYPE, DESC_VALID, LEVEL_INV, LEVEL_SIZE, PAGE_SIZE, PERM_HI_MASK, PERM_LO_MASK, descToBigInt } from './descriptor';
import { ERRNO } from './errno';

const WORDS_PER_TABLE = 1024; // 512 entries × 2 halves
const INV_1G = 2 ** -30;

// ------------------------------------------------------------------ start level (VTCR_EL2)

/**
 * Stage-2 start level for the 4 KiB granule from the IPA size (VTCR_EL2.T0SZ / SL0).
 *
 * Rule (Arm ARM D8.2, "Concatenated translation tables for the initial stage 2 lookup", and the
 * VTCR_EL2.SL0 field in D24.2): the input size is 64 - T0SZ bits; each level resolves 9 bits above
 * the 12-bit page offset; the initial stage-2 lookup may use up to 16 concatenated tables (4 extra
 * bits). Like KVM (levels = ARM64_HW_PGTABLE_LEVELS(ipa_bits - 4)), the model uses concatenation to
 * drop a level whenever at most 16 tables suffice: levels = floor((ipa_bits - 8) / 9), so
 *   32–34 bits → start level 2 (2^(ipa-30) entries: 4–16 tables concatenated),
 *   35–43 bits → start level 1 (40 bits: 1024 entries = 2 tables; 43 bits: 16 tables),
 *   44–48 bits → start level 0 (32–512 entries, one table).
 * Above 48 bits needs LPA2 (level -1, OA in SH[9:8]), which this model does not implement.
 */
export const MIN_IPA_BITS = 32;
export const MAX_IPA_BITS = 48;
/** IPA size KVM uses when the VM type does not give one (KVM_VM_TYPE_ARM_IPA_SIZE 0 → 40 bits). */
export const DEFAULT_IPA_BITS = 40;

export interface StartLevel {
  readonly ipaBits: number;
  /** First lookup level (0, 1 or 2). */
  readonly startLevel: number;
  /** Entries of the initial lookup, across concatenated tables. */
  readonly entries: number;
  /** Number of concatenated 4 KiB tables (1 when the start table is not full). */
  readonly tables: number;
  /** VTCR_EL2.T0SZ = 64 - ipa_bits. */
  readonly t0sz: number;
  /** VTCR_EL2.SL0 for the 4 KiB granule: 0b10 level 0, 0b01 level 1, 0b00 level 2. */
  readonly sl0: number;
}

/** The start level for `ipaBits`, or undefined outside MIN_IPA_BITS..MAX_IPA_BITS. */
export function stage2StartLevel(ipaBits: number): StartLevel | undefined {
  if (!Number.isInteger(ipaBits) || ipaBits < MIN_IPA_BITS || ipaBits > MAX_IPA_BITS) return undefined;
  const levels = Math.floor((ipaBits - 8) / 9);
  const startLevel = 4 - levels;
  // Bits resolved at the start level: everything above what the lower levels resolve.
  const bits = ipaBits - (12 + 9 * (3 - startLevel));
  const entries = 2 ** bits;
  return { ipaBits, startLevel, entries, tables: Math.max(1, entries / 512), t0sz: 64 - ipaBits, sl0: 2 - startLevel };
}

// ------------------------------------------------------------------ table

/** Host properties the descriptors' meaning depends on. */
export interface Stage2Host {
  /** FEAT_S2FWB in use: selects the MemAttr table (DOMAIN B §4.2). */
  readonly fwb: boolean;
  /** FEAT_MTE_PERM on every CPU (system_supports_notagaccess). */
  readonly mtePerm: boolean;
  /** FEAT_MTE_ASYNC / FEAT_MTE_ASYM_FAULT on every CPU (DOMAIN A.3.8); absent means present. */
  readonly mteAsync?: boolean;
  readonly mteAsymm?: boolean;
}

/** Receives what a table operation did, in order; pgtable's bus adapter turns these into events. */
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

export interface TranslationTableOptions extends Stage2Host {
  /** Initial pool capacity in table pages (grows by doubling). */
  readonly initialTables?: number;
}

/** A table for `ipaBits` (default 40), or undefined for an IPA size the 4 KiB granule cannot express without LPA2. */
export function createTranslationTable(options: TranslationTableOptions & { readonly ipaBits?: number }): TranslationTable | undefined {
  const start = stage2StartLevel(options.ipaBits ?? DEFAULT_IPA_BITS);
  return start === undefined ? undefined : new TranslationTable(start, options);
}

export class TranslationTable {
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

  constructor(start: StartLevel, options: TranslationTableOptions) {
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

  // ------------------------------------------------------------------ unmap and split

  /**
   * Clears [ipa, ipa+size), splitting blocks that are only partly inside and freeing emptied tables.
   * Returns the number of splits, or -EINVAL (not whole 4 KiB granules, size 0) / -ERANGE (beyond the
   * IPA space) without touching the table.
   */
  unmapRange(ipa: number, size: number, observer?: Stage2Observer): number {
    if (ipa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || !(size > 0) || ipa < 0) return -ERRNO.EINVAL;
    if (ipa + size > this.ipaLimit) return -ERRNO.ERANGE;
    const splits = { n: 0 };
    this.unmapIn(0, this.startLevel, 0, this.startEntries, ipa, ipa + size, observer, splits);
    return splits.n;
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

  /** Splits the block covering `ipa` into 512 next-level entries with identical attributes; undefined if no block covers it. */
  splitBlock(ipa: number, observer?: Stage2Observer): { base: number; level: number } | undefined {
    const w = this.walk(ipa, this.createWalkResult());
    if (!w.found || w.level === 3) return undefined;
    const e = this.entryIndex(w.base, w.level);
    this.splitEntry(e, w.level);
    observer?.split(w.base, w.level);
    return { base: w.base, level: w.level };
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

