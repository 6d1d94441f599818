/**
 * The guest hypervisor's (L1's) stage-2 table for its nested guest (L2): real descriptors in L1's
 * memory (GuestTableMemory), walked as the hardware walks a stage 2 (Arm ARM D8.2/D8.3; DOMAIN B
 * §6.1): 4 KiB granule, 48-bit input, start level 0, table descriptors holding the next table's L1
 * IPA. The walk fills an arm64 `WalkResult` (the shape pgtable's walk fills), so `checkStage2Leaf` (@mteperm/arm64) decides L1's faults exactly as it
 * decides L0's (translation, access flag, S2AP/XN, then NoTagAccess, R_LTQNW).
 */
import type { WalkResult } from '@mteperm/arm64';
import { GUEST_IPA_LIMIT, encodeGuestLeafAttrs, withOutputAddress, type GuestLeafSpec, type GuestS2Regs } from './guest-descriptor';
import { DESC_TYPE, DESC_VALID, LEVEL_SIZE, OA_HI_MASK, OA_LO_MASK, TWO_32, outputAddress } from '@mteperm/arm64';
import type { GuestTableMemory } from './guest-table-memory';

/** One leaf (or invalid entry) a write stored: where, at which level, and the L1 IPA of the descriptor. */
export interface GuestLeafWritten {
  readonly ipa: number;
  readonly level: number;
  readonly lo: number;
  readonly hi: number;
  /** L1 IPA of the 8-byte descriptor in L1's memory. */
  readonly at: number;
}

/** Writable result object for `walk` (arm64's shape plus the descriptor's address). */
export type GuestWalkResult = WalkResult & { at: number };

export class GuestStage2Table {
  /** VTTBR_EL2.BADDR of L1's stage 2: the L1 IPA of the level-0 table. */
  readonly root: number;

  private constructor(
    private readonly memory: GuestTableMemory,
    readonly regs: GuestS2Regs,
    root: number,
  ) {
    this.root = root;
  }

  /** A table with an empty level-0 root page, or undefined if L1's memory has no room for it. */
  static create(memory: GuestTableMemory, regs: GuestS2Regs): GuestStage2Table | undefined {
    const root = memory.allocate();
    return root === undefined ? undefined : new GuestStage2Table(memory, regs, root);
  }

  /**
   * Upper bound on new table pages a write of [ipa, ipa + size) may need: one table per 512 GiB,
   * 1 GiB and 2 MiB region it spans, plus two splits per level at its ends.
   */
  static pagesNeeded(ipa: number, size: number): number {
    let n = 6;
    for (let l = 0; l < 3; l++) n += Math.floor((ipa + size - 1) / LEVEL_SIZE[l]!) - Math.floor(ipa / LEVEL_SIZE[l]!) + 1;
    return n;
  }

  createWalkResult(): GuestWalkResult {
    return { found: false, level: 0, lo: 0, hi: 0, base: 0, size: 0, fwb: this.regs.fwb, mtePerm: this.regs.mtePerm, at: 0 };
  }

  /**
   * Maps [ipa, ipa + size) to L1 IPAs [pa, pa + size) with `spec`, each step the largest block
   * (1 GiB, 2 MiB, else a 4 KiB page) that the remaining size and both alignments allow, as a guest
   * hypervisor would. `invalid` writes zero descriptors. A block only partly covered is split first,
   * so the rest keeps its translation. The caller checks alignment, range and `pagesNeeded`.
   */
  write(ipa: number, pa: number, size: number, spec: GuestLeafSpec): GuestLeafWritten[] {
    const attrs = encodeGuestLeafAttrs(spec, this.regs.fwb);
    const out: GuestLeafWritten[] = [];
    while (size > 0) {
      let level = 3;
      if (size >= LEVEL_SIZE[1]! && ipa % LEVEL_SIZE[1]! === 0 && pa % LEVEL_SIZE[1]! === 0) level = 1;
      else if (size >= LEVEL_SIZE[2]! && ipa % LEVEL_SIZE[2]! === 0 && pa % LEVEL_SIZE[2]! === 0) level = 2;
      let lo = 0;
      let hi = 0;
      if (attrs !== undefined) {
        ({ lo, hi } = withOutputAddress(attrs.lo | (level === 3 ? DESC_TYPE : 0), attrs.hi, pa));
      }
      const at = this.installEntry(ipa, level, lo, hi);
      out.push({ ipa, level, lo, hi, at });
      ipa += LEVEL_SIZE[level]!;
      pa += LEVEL_SIZE[level]!;
      size -= LEVEL_SIZE[level]!;
    }
    return out;
  }

  /** Walks `ipa` from the root into `out` (allocation-free). */
  walk(ipa: number, out: GuestWalkResult): GuestWalkResult {
    out.found = false;
    out.level = 0;
    if (!(ipa >= 0 && ipa < GUEST_IPA_LIMIT)) return out;
    let table = this.root;
    for (let level = 0; level <= 3; level++) {
      const words = this.memory.page(table)!;
      const i = (Math.floor(ipa / LEVEL_SIZE[level]!) % 512) << 1;
      const lo = words[i]!;
      out.level = level;
      out.at = table + i * 4;
      if ((lo & DESC_VALID) === 0) return out;
      const hi = words[i + 1]!;
      if (level < 3 && (lo & DESC_TYPE) !== 0) {
        table = outputAddress(lo, hi);
        continue;
      }
      // A level-3 entry with type 0 is reserved and faults like an invalid one (D8.3.1).
      if (level === 3 && (lo & DESC_TYPE) === 0) return out;
      out.found = true;
      out.lo = lo;
      out.hi = hi;
      out.size = LEVEL_SIZE[level]!;
      out.base = ipa - (ipa % out.size);
      return out;
    }
    return out;
  }

  /** Calls `fn` for every valid leaf in L2 IPA order. */
  forEachLeaf(fn: (ipa: number, level: number, lo: number, hi: number, at: number) => void): void {
    this.leavesIn(this.root, 0, 0, fn);
  }

  private leavesIn(table: number, level: number, base: number, fn: (ipa: number, level: number, lo: number, hi: number, at: number) => void): void {
    const words = this.memory.page(table)!;
    for (let i = 0; i < 512; i++) {
      const lo = words[i << 1]!;
      if ((lo & DESC_VALID) === 0) continue;
      const hi = words[(i << 1) + 1]!;
      const ipa = base + i * LEVEL_SIZE[level]!;
      if (level < 3 && (lo & DESC_TYPE) !== 0) this.leavesIn(outputAddress(lo, hi), level + 1, ipa, fn);
      else if (level < 3 || (lo & DESC_TYPE) !== 0) fn(ipa, level, lo, hi, table + i * 8);
    }
  }

  /** Writes the entry for (ipa, level), creating or splitting tables above it; returns its L1 IPA. */
  private installEntry(ipa: number, level: number, lo: number, hi: number): number {
    let table = this.root;
    for (let l = 0; l < level; l++) {
      const words = this.memory.page(table)!;
      const i = (Math.floor(ipa / LEVEL_SIZE[l]!) % 512) << 1;
      const cur = words[i]!;
      if ((cur & DESC_VALID) === 0 || (cur & DESC_TYPE) === 0) {
        const next = this.allocateTable();
        // A block above the new entry becomes a table of its 512 pieces, so the rest of it stays mapped.
        if ((cur & DESC_VALID) !== 0) this.fillFromBlock(next, l + 1, cur, words[i + 1]!);
        words[i] = (DESC_VALID | DESC_TYPE | (next % TWO_32)) >>> 0;
        words[i + 1] = Math.floor(next / TWO_32);
        table = next;
      } else {
        table = outputAddress(cur, words[i + 1]!);
      }
    }
    const words = this.memory.page(table)!;
    const i = (Math.floor(ipa / LEVEL_SIZE[level]!) % 512) << 1;
    // A table replaced by a block is left unreferenced (its page is not reused, GuestTableMemory).
    words[i] = lo;
    words[i + 1] = hi;
    return table + i * 4;
  }

  private fillFromBlock(page: number, childLevel: number, lo: number, hi: number): void {
    const words = this.memory.page(page)!;
    const childSize = LEVEL_SIZE[childLevel]!;
    const attrLo = (lo & ~OA_LO_MASK & ~DESC_TYPE) | (childLevel === 3 ? DESC_TYPE : 0);
    const attrHi = hi & ~OA_HI_MASK;
    const oa = outputAddress(lo, hi);
    for (let k = 0; k < 512; k++) {
      const d = withOutputAddress(attrLo, attrHi, oa + k * childSize);
      words[k << 1] = d.lo;
      words[(k << 1) + 1] = d.hi;
    }
  }

  private allocateTable(): number {
    const page = this.memory.allocate();
    // Callers check pagesNeeded first; running out here would be a model bug.
    if (page === undefined) throw new Error('GuestStage2Table: L1 table memory exhausted after the pagesNeeded check');
    return page;
  }
}

