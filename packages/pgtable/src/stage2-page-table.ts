/**
 * A VM's stage-2 table with KVM's policies on top of the architecture's table format
 * (@mteperm/arm64 `TranslationTable`: storage, walk, raw leaves, splits): how a map chooses and encodes
 * its leaves (DOMAIN B §4.1, §4.3), relax, and refusals as `PgtableError`s with messages.
 */
import {
  DEFAULT_IPA_BITS,
  DESC_TYPE,
  LEVEL_SIZE,
  MEMATTR_MASK,
  MEMATTR_SHIFT,
  PAGE_SIZE,
  S2AP_R,
  S2AP_W,
  TWO_32,
  TranslationTable,
  XN_HI,
  type MapStats,
  type Stage2Observer,
} from '@mteperm/arm64';
import { refused, okResult, type PgtableError, type S2Result } from './errors';
import { decodeMemAttr, memTypeOf } from '@mteperm/arm64';
import type { LeafAttrs, Stage2Host, Stage2Prot } from './prot';
import { encodeLeafAttrs } from './prot';
import { startLevelFor, type StartLevel } from './vtcr';

export type { MapStats, Stage2Observer, WalkResult } from '@mteperm/arm64';

const MAX_OA = 2 ** 48; // OA[47:12] without LPA2
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

export class Stage2PageTable extends TranslationTable {
  /** Accepted encodings by `protKey`: the host is fixed per table and a run uses few protections. */
  private readonly protCache: (S2Result<LeafAttrs> | undefined)[] = new Array<S2Result<LeafAttrs> | undefined>(PROT_KEYS).fill(undefined);

  /** Creates a table, or refuses an IPA size the 4 KiB granule cannot express without LPA2 (-EINVAL). */
  static create(options: Stage2PageTableOptions): S2Result<Stage2PageTable> {
    const start = startLevelFor(options.ipaBits ?? DEFAULT_IPA_BITS);
    if (!start.ok) return start;
    return okResult(new Stage2PageTable(start.value, options));
  }

  private constructor(start: StartLevel, options: Stage2PageTableOptions) {
    super(start, options);
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

  // ------------------------------------------------------------------ unmap

  /** Unmaps [ipa, ipa+size), splitting blocks that are only partly inside; frees emptied tables. */
  unmap(ipa: number, size: number, observer?: Stage2Observer): S2Result<{ splits: number }> {
    const splits = this.unmapRange(ipa, size, observer);
    if (splits >= 0) return okResult({ splits });
    if (ipa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || !(size > 0) || ipa < 0) {
      return refused('MTEPERM_S2_ALIGN', `unmap ipa 0x${ipa.toString(16)} size 0x${size.toString(16)}: not 4 KiB granules`);
    }
    return refused('MTEPERM_S2_RANGE', `unmap [0x${ipa.toString(16)}, +0x${size.toString(16)}) beyond the ${this.ipaBits}-bit IPA space`);
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
    const done = this.splitBlock(ipa, observer);
    if (done !== undefined) return okResult(done);
    const w = this.walk(ipa, this.createWalkResult());
    return refused('MTEPERM_S2_NOT_BLOCK', `split at 0x${ipa.toString(16)}: no block (${w.found ? 'a page' : 'unmapped'})`);
  }
}
