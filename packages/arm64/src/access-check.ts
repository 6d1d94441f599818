/**
 * The stage-2 outcome of one guest access against one leaf, as a pure function (DOMAIN A.2.5, A.2.6,
 * A.3.3, A.3.5, A.3.7, A.3.8; C §3.1–§3.5). Priority follows R_LTQNW (C §3.2): translation, access flag, base permissions
 * (S2AP/XN), then NoTagAccess; so a tag write to a read-only NoTagAccess page is a plain permission
 * fault with TagAccess = 0 (C §8 row 28).
 */
import { DESC_AF, DESC_TYPE, DESC_VALID, MEMATTR_MASK, MEMATTR_SHIFT, S2AP_R, S2AP_W, XN_HI, descFromBigInt, type Level } from './descriptor';
import { encodeEsr, faultStatusCode, type FaultKind } from './esr';
import { decodeMemAttr, memAttrNoTagAccess, memTypeOf } from './memattr';
import { accessEffect } from './op-class';
import type { AccessOp, S1Attr, Tcf } from './vocabulary';

/** A stage-2 leaf as a 64-bit descriptor; `desc` null or absent: no leaf (a translation fault). */
export interface Stage2Leaf {
  readonly desc?: bigint | null;
  /** The level the walk found the leaf at (or stopped at, without one). */
  readonly level: Level;
  /** HCR_EL2.FWB: which MemAttr table decodes the leaf (C §1.1 / §1.2). */
  readonly fwb: boolean;
  /** FEAT_MTE_PERM implemented: without it no MemAttr means NoTagAccess. */
  readonly mtePerm: boolean;
  /** Every host CPU has FEAT_MTE_ASYNC (A.3.8); absent means true. Without it `tcf: async` is Ignore. */
  readonly mteAsync?: boolean;
  /** Every host CPU has FEAT_MTE_ASYM_FAULT (A.3.8); absent means true. Without it `tcf: asymm` is Ignore. */
  readonly mteAsymm?: boolean;
}

/** A leaf as a page-table walk fills it: two Uint32 halves (`lo` = desc[31:0], `hi` = desc[63:32]). */
export interface Stage2LeafHalves {
  /** A valid leaf was found; when false, `level` is where the walk stopped. */
  readonly found: boolean;
  readonly level: number;
  readonly lo: number;
  readonly hi: number;
  readonly fwb: boolean;
  /** Absent means true (a host with FEAT_MTE_PERM). */
  readonly mtePerm?: boolean;
  /** As `Stage2Leaf.mteAsync` / `mteAsymm` (A.3.8); absent means true. */
  readonly mteAsync?: boolean;
  readonly mteAsymm?: boolean;
}

/** The access, as the guest makes it (CONTRACT §1.3; DOMAIN A.3.3, A.3.7). */
export interface Stage2AccessQuery {
  readonly op: AccessOp;
  /** Guest SCTLR_EL1.TCF for this access; default `sync` (CONTRACT §1.3). */
  readonly tcf?: Tcf;
  /** How the guest's stage 1 maps the page; default `tagged` (MAIR 0xF0). */
  readonly s1?: S1Attr;
  /** Bytes (1, 2, 4, 8; default 8): SAS and SF of the instruction syndrome (A.3.3). */
  readonly size?: number;
  /** LDP/STP (default false; size 4 or 8 only): a pair reports no instruction syndrome (A.3.3). */
  readonly pair?: boolean;
  /** Xt (0–30, default 0): SRT of the instruction syndrome (A.3.3). */
  readonly reg?: number;
  /** SCTLR_ELx.ATA (default true): false makes tag instructions and tag checks touch no tags (A.3.7). */
  readonly ata?: boolean;
  /** PSTATE.TCO (default false): true makes tag-checked accesses unchecked (A.3.7). */
  readonly tco?: boolean;
}

export interface Stage2AccessOk {
  readonly kind: 'ok';
  /** The leaf is Tagged in the final sense: Normal WB without NoTagAccess (tag storage valid). */
  readonly tagged: boolean;
  readonly noTagAccess: boolean;
  /** A tag or tag-checked op completed on a NoTagAccess page because `s1: untagged` or `tcf: none`. */
  readonly tagsIgnored: boolean;
  /** The op read or wrote real allocation tags (Tagged leaf, Tagged stage 1, tags not ignored). */
  readonly tagStorageTouched: boolean;
}

export interface Stage2AccessFault {
  readonly kind: 'fault';
  readonly fault: FaultKind;
  /** Lookup level in the FSC: where the walk stopped, or the leaf's level. */
  readonly level: number;
  /** ESR_EL2 as the hardware reports it. */
  readonly esr: bigint;
  readonly fsc: number;
  /** Instruction abort (exec) rather than data abort. */
  readonly instruction: boolean;
  readonly wnr: boolean;
  /** ISS2.TagAccess (ESR bit 41): a permission fault due to NoTagAccess. */
  readonly tagAccess: boolean;
}

export type Stage2AccessResult = Stage2AccessOk | Stage2AccessFault;

// Results are few and immutable: each is built once and shared, so the hot path allocates nothing.
const FAULTS = new Map<number, Stage2AccessFault>();
const KIND_INDEX: Readonly<Record<FaultKind, number>> = { translation: 0, access_flag: 1, permission: 2, alignment: 3 };

/** `syndrome`: instructionSyndromeBits' input packed as size * 32 + reg, or 0 for ISV = 0. */
function fault(kind: FaultKind, level: number, instruction: boolean, wnr: boolean, tagAccess: boolean, syndrome = 0): Stage2AccessFault {
  const w = instruction ? false : wnr;
  const synd = instruction ? 0 : syndrome;
  // level is a walk level (0..3) in practice; any other number still gets its own key.
  const key = ((((level * 4 + KIND_INDEX[kind]) * 2 + (instruction ? 1 : 0)) * 2 + (w ? 1 : 0)) * 2 + (tagAccess ? 1 : 0)) * 512 + synd;
  let f = FAULTS.get(key);
  if (f === undefined) {
    const esr = BigInt(encodeEsr({ kind, level, instruction, wnr: w, tagAccess, syndrome: synd === 0 ? undefined : { size: synd >>> 5, reg: synd & 31 } }));
    f = Object.freeze({ kind: 'fault', fault: kind, level, esr, fsc: faultStatusCode(kind, level), instruction, wnr: w, tagAccess });
    FAULTS.set(key, f);
  }
  return f;
}

const OKS: Stage2AccessOk[] = [];
for (let i = 0; i < 16; i++) {
  OKS.push(Object.freeze({ kind: 'ok', tagged: (i & 1) !== 0, noTagAccess: (i & 2) !== 0, tagsIgnored: (i & 4) !== 0, tagStorageTouched: (i & 8) !== 0 }));
}

// Per MemAttr encoding and host (FWB, FEAT_MTE_PERM): bit 0 NoTagAccess, bit 1 Normal WB; -1 not yet decoded.
const ATTR_FLAGS = new Int8Array(64).fill(-1);
const ATTR_NO_TAG_ACCESS = 1;
const ATTR_NORMAL_WB = 2;
const ATTR_DEVICE = 4;

function attrFlags(bits: number, fwb: boolean, mtePerm: boolean): number {
  const key = (fwb ? 32 : 0) | (mtePerm ? 16 : 0) | bits;
  let f = ATTR_FLAGS[key]!;
  if (f < 0) {
    const attr = decodeMemAttr(bits, { fwb, mtePerm });
    f = (memAttrNoTagAccess(attr) ? ATTR_NO_TAG_ACCESS : 0) | (memTypeOf(attr) === 'normal_wb' ? ATTR_NORMAL_WB : 0) | (attr.kind === 'device' ? ATTR_DEVICE : 0);
    ATTR_FLAGS[key] = f;
  }
  return f;
}

/**
 * `checkStage2Access` for a leaf held as halves, as a walk fills it (the hot path: no allocation,
 * no bigint). The caller vouches that a `found` leaf is a valid block or page descriptor.
 */
export function checkStage2Leaf(leaf: Stage2LeafHalves, access: Stage2AccessQuery): Stage2AccessResult {
  const effect = accessEffect(access.op);
  const instruction = effect.cls === 'exec';
  const isWrite = effect.needs === 'w';
  // ISV = 1 only for a single-register load/store (read, write and their checked forms); a pair and
  // every tag instruction report ISV = 0 (A.3.3).
  const syndrome = (effect.cls === 'data' || effect.cls === 'tag_checked') && access.pair !== true ? (access.size ?? 8) * 32 + (access.reg ?? 0) : 0;
  if (!leaf.found) return fault('translation', leaf.level, instruction, isWrite, false, syndrome);
  const { lo, hi, level } = leaf;
  // KVM always sets AF; a descriptor without it (e.g. folded from elsewhere) takes an access-flag fault.
  if ((lo & DESC_AF) === 0) return fault('access_flag', level, instruction, isWrite, false, syndrome);
  const allowed = effect.needs === 'r' ? (lo & S2AP_R) !== 0 : effect.needs === 'w' ? (lo & S2AP_W) !== 0 : (hi & XN_HI) === 0;
  if (!allowed) return fault('permission', level, instruction, isWrite, false, syndrome);

  const flags = attrFlags((lo & MEMATTR_MASK) >>> MEMATTR_SHIFT, leaf.fwb, leaf.mtePerm ?? true);
  // DC GZVA / DC GVA to Device memory: an Alignment fault (DFSC 0b100001, no level), WnR = 1 as for
  // any DC ZVA-class write; the CONSTRAINED UNPREDICTABLE choice for DC GVA taken as the same (A.3.5).
  if ((flags & ATTR_DEVICE) !== 0 && (access.op === 'dc_gzva' || access.op === 'dc_gva')) return fault('alignment', level, false, true, false);
  const noTagAccess = (flags & ATTR_NO_TAG_ACCESS) !== 0;
  const tagged = !noTagAccess && (flags & ATTR_NORMAL_WB) !== 0;
  const s1Tagged = access.s1 !== 'untagged';
  // SCTLR_ELx.ATA = 0 disables tag accesses and tag checks alike; PSTATE.TCO only tag checks (A.3.7).
  const ata = access.ata !== false;
  // async / asymm are Ignore on a host without FEAT_MTE_ASYNC / FEAT_MTE_ASYM_FAULT (A.3.8).
  const tcf = access.tcf;
  const checkEffective = tcf === 'async' ? leaf.mteAsync !== false : tcf === 'asymm' ? leaf.mteAsymm !== false : tcf !== 'none';
  // The op reads or writes allocation tags: explicit tag accesses always; tag-checked ones unless
  // TCF makes the check have no effect (R_PYQZB, DOMAIN A.2.6). Where effective, async/asymm count.
  const tagEffect =
    ata && (effect.cls === 'tag_read' || effect.cls === 'tag_write' || (effect.cls === 'tag_checked' && checkEffective && access.tco !== true));
  if (noTagAccess && s1Tagged && tagEffect) {
    // WnR = 1 only for a tag write effect; a checked store's tag effect is a read (DOMAIN A.2.6).
    return fault('permission', level, false, effect.cls === 'tag_write', true, syndrome);
  }
  const isTagOp = effect.cls === 'tag_read' || effect.cls === 'tag_write' || effect.cls === 'tag_checked';
  const tagsIgnored = isTagOp && noTagAccess;
  const tagStorageTouched = tagged && s1Tagged && tagEffect;
  return OKS[(tagged ? 1 : 0) | (noTagAccess ? 2 : 0) | (tagsIgnored ? 4 : 0) | (tagStorageTouched ? 8 : 0)]!;
}

const NO_LEAF = { found: false, level: 0, lo: 0, hi: 0, fwb: false, mtePerm: true };

/**
 * Why `access`'s A.3.3 fields are not an instruction the architecture has, or undefined: `size` one of
 * 1, 2, 4, 8; `pair` only with size 4 or 8 (LDP/STP of W or X registers); `reg` 0..30. The message
 * names the field, for the scenario loader's one-line error.
 */
export function validateSyndromeFields(access: Pick<Stage2AccessQuery, 'size' | 'pair' | 'reg'>): string | undefined {
  const size = access.size ?? 8;
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return `size: expected 1, 2, 4 or 8, got ${String(access.size)}`;
  if (access.pair === true && size < 4) return `pair: a pair (LDP/STP) needs size 4 or 8, got ${size}`;
  const reg = access.reg ?? 0;
  if (!Number.isInteger(reg) || reg < 0 || reg > 30) return `reg: expected an integer 0..30 (Xt), got ${String(access.reg)}`;
  return undefined;
}

/**
 * What the architecture does with `access` at stage 2 against `leaf` (DOMAIN A.2.5, A.2.6, A.3.7,
 * C §3): `ok` with what happened to the tags, or the fault with its ESR_EL2. An invalid descriptor,
 * a level-3 entry with type 0 and a level-0 block are no leaf (D8.3.1): a translation fault.
 * Throws RangeError for a table descriptor (not a leaf) and for A.3.3 syndrome fields no instruction
 * has (`validateSyndromeFields`).
 */
export function checkStage2Access(leaf: Stage2Leaf, access: Stage2AccessQuery): Stage2AccessResult {
  const bad = validateSyndromeFields(access);
  if (bad !== undefined) throw new RangeError(`checkStage2Access: ${bad} (DOMAIN A.3.3)`);
  const { level, fwb, mtePerm, mteAsync, mteAsymm } = leaf;
  if (leaf.desc === undefined || leaf.desc === null) return checkStage2Leaf({ ...NO_LEAF, level, mteAsync, mteAsymm }, access);
  const { lo, hi } = descFromBigInt(leaf.desc);
  const valid = (lo & DESC_VALID) !== 0;
  const type = (lo & DESC_TYPE) !== 0;
  if (valid && type && level < 3) throw new RangeError(`checkStage2Access: a table descriptor at level ${level} is not a leaf`);
  const isLeaf = valid && (level === 3 ? type : level > 0);
  return checkStage2Leaf({ found: isLeaf, level, lo, hi, fwb, mtePerm, mteAsync, mteAsymm }, access);
}
