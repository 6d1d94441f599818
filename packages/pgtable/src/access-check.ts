/**
 * The stage-2 outcome of one guest access, as a pure function of a walk result (DOMAIN A.2.5, A.2.6;
 * C §3.1–§3.5). Priority follows R_LTQNW (C §3.2): translation, access flag, base permissions
 * (S2AP/XN), then NoTagAccess; so a tag write to a read-only NoTagAccess page is a plain permission
 * fault with TagAccess = 0 (C §8 row 28).
 */
import type { AccessOp, S1Attr, Tcf } from '@mteperm/events';
import { DESC_AF, MEMATTR_MASK, MEMATTR_SHIFT, S2AP_R, S2AP_W, XN_HI, outputAddress } from './descriptor';
import { encodeEsr, esrToBigInt, faultStatusCode, type FaultKind } from './esr';
import { decodeMemAttr, memAttrNoTagAccess, memTypeOf } from './memattr';
import type { WalkResult } from './stage2-page-table';
import { accessEffect } from './tag-access';

export interface Stage2Access {
  /** The faulting IPA (any byte address). */
  readonly ipa: number;
  readonly op: AccessOp;
  /** Guest SCTLR_EL1.TCF for this access; default `sync` (CONTRACT §1.3). */
  readonly tcf?: Tcf;
  /** How the guest's stage 1 maps the page; default `tagged` (MAIR 0xF0). */
  readonly s1?: S1Attr;
}

export type AccessOutcome =
  | {
      readonly kind: 'ok';
      /** Host physical address reached. */
      readonly pa: number;
      /** The leaf is Tagged in the final sense: Normal WB without NoTagAccess (tag storage valid). */
      readonly tagged: boolean;
      readonly noTagAccess: boolean;
      /** A tag or tag-checked op completed on a NoTagAccess page because `s1: untagged` or `tcf: none`. */
      readonly tagsIgnored: boolean;
      /** The op read or wrote real allocation tags (Tagged leaf, Tagged stage 1, tags not ignored). */
      readonly tagStorageTouched: boolean;
    }
  | {
      readonly kind: FaultKind;
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
    };

// ESR_EL2 bigints by (kind, level, instruction, WnR, TagAccess): few distinct values, built once each.
const ESR_CACHE = new Map<number, bigint>();
const KIND_INDEX: Readonly<Record<FaultKind, number>> = { translation: 0, access_flag: 1, permission: 2 };

function esrOf(kind: FaultKind, level: number, instruction: boolean, wnr: boolean, tagAccess: boolean): bigint {
  // level is a walk level (0..3) in practice; any other number still gets its own key.
  const key = (((level * 4 + KIND_INDEX[kind]) * 2 + (instruction ? 1 : 0)) * 2 + (wnr ? 1 : 0)) * 2 + (tagAccess ? 1 : 0);
  let esr = ESR_CACHE.get(key);
  if (esr === undefined) {
    esr = esrToBigInt(encodeEsr({ kind, level, instruction, wnr, tagAccess }));
    ESR_CACHE.set(key, esr);
  }
  return esr;
}

// Per MemAttr encoding and host (FWB, FEAT_MTE_PERM): bit 0 NoTagAccess, bit 1 Normal WB; -1 not yet decoded.
const ATTR_FLAGS = new Int8Array(64).fill(-1);
const ATTR_NO_TAG_ACCESS = 1;
const ATTR_NORMAL_WB = 2;

function attrFlags(bits: number, fwb: boolean, mtePerm: boolean): number {
  const key = (fwb ? 32 : 0) | (mtePerm ? 16 : 0) | bits;
  let f = ATTR_FLAGS[key]!;
  if (f < 0) {
    const attr = decodeMemAttr(bits, { fwb, mtePerm });
    f = (memAttrNoTagAccess(attr) ? ATTR_NO_TAG_ACCESS : 0) | (memTypeOf(attr) === 'normal_wb' ? ATTR_NORMAL_WB : 0);
    ATTR_FLAGS[key] = f;
  }
  return f;
}

function fault(kind: FaultKind, level: number, instruction: boolean, wnr: boolean, tagAccess: boolean): AccessOutcome {
  const w = instruction ? false : wnr;
  return {
    kind,
    level,
    esr: esrOf(kind, level, instruction, w, tagAccess),
    fsc: faultStatusCode(kind, level),
    instruction,
    wnr: w,
    tagAccess,
  };
}

/** Outcome of `access` against the stage-2 walk `walk` (of `access.ipa`). */
export function checkAccess(walk: WalkResult, access: Stage2Access): AccessOutcome {
  const effect = accessEffect(access.op);
  const instruction = effect.cls === 'exec';
  const isWrite = effect.needs === 'w';
  if (!walk.found) return fault('translation', walk.level, instruction, isWrite, false);
  const { lo, hi, level } = walk;
  // KVM always sets AF; a descriptor without it (e.g. folded from elsewhere) takes an access-flag fault.
  if ((lo & DESC_AF) === 0) return fault('access_flag', level, instruction, isWrite, false);
  const allowed = effect.needs === 'r' ? (lo & S2AP_R) !== 0 : effect.needs === 'w' ? (lo & S2AP_W) !== 0 : (hi & XN_HI) === 0;
  if (!allowed) return fault('permission', level, instruction, isWrite, false);

  // decodeMemAttr reads a missing mtePerm as true.
  const flags = attrFlags((lo & MEMATTR_MASK) >>> MEMATTR_SHIFT, !!walk.fwb, walk.mtePerm ?? true);
  const noTagAccess = (flags & ATTR_NO_TAG_ACCESS) !== 0;
  const tagged = !noTagAccess && (flags & ATTR_NORMAL_WB) !== 0;
  const s1Tagged = (access.s1 ?? 'tagged') === 'tagged';
  const tcfNone = (access.tcf ?? 'sync') === 'none';
  // The op reads or writes allocation tags: explicit tag accesses always; tag-checked ones unless
  // TCF makes the check have no effect (R_PYQZB, DOMAIN A.2.6). async/asymm still count.
  const tagEffect = effect.cls === 'tag_read' || effect.cls === 'tag_write' || (effect.cls === 'tag_checked' && !tcfNone);
  if (noTagAccess && s1Tagged && tagEffect) {
    // WnR = 1 only for a tag write effect; a checked store's tag effect is a read (DOMAIN A.2.6).
    return fault('permission', level, false, effect.cls === 'tag_write', true);
  }
  const isTagOp = effect.cls === 'tag_read' || effect.cls === 'tag_write' || effect.cls === 'tag_checked';
  return {
    kind: 'ok',
    pa: outputAddress(lo, hi) + (access.ipa - walk.base),
    tagged,
    noTagAccess,
    tagsIgnored: isTagOp && noTagAccess,
    tagStorageTouched: tagged && s1Tagged && tagEffect,
  };
}
