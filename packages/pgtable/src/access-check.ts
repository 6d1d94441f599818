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

function fault(kind: FaultKind, level: number, instruction: boolean, wnr: boolean, tagAccess: boolean): AccessOutcome {
  const w = instruction ? false : wnr;
  return {
    kind,
    level,
    esr: esrToBigInt(encodeEsr({ kind, level, instruction, wnr: w, tagAccess })),
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

  const attr = decodeMemAttr((lo & MEMATTR_MASK) >>> MEMATTR_SHIFT, { fwb: walk.fwb, mtePerm: walk.mtePerm });
  const noTagAccess = memAttrNoTagAccess(attr);
  const tagged = !noTagAccess && memTypeOf(attr) === 'normal_wb';
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
