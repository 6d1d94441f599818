/**
 * The stage-2 protection of a mapping as three independent fields: memory type, NoTagAccess and the
 * R/W/X permissions (DOMAIN A.2.4; B §4.4, the split of patch 7), plus the software bits.
 * `encodeLeafAttrs` plays stage2_set_prot_attr (DOMAIN B §4.3) and refuses what the kernel refuses.
 */
import type { MemType } from '@mteperm/events';
import {
  DESC_AF,
  DESC_VALID,
  MEMATTR_SHIFT,
  SH_INNER_SHAREABLE,
  SW_SHIFT_HI,
  XN_HI,
} from '@mteperm/arm64';
import { refused, okResult, type S2Result } from './errors';
import { encodeMemAttr } from '@mteperm/arm64';
import { encodeS2ap } from '@mteperm/arm64';
import type { Stage2Host } from '@mteperm/arm64';

export interface Stage2Prot {
  readonly memType: MemType;
  readonly noTagAccess: boolean;
  readonly r: boolean;
  readonly w: boolean;
  readonly x: boolean;
  /** Software bits [58:55] >> 55 (0..15); NV records the L1 mapping level here. */
  readonly sw?: number;
}

/** Host properties the encoding depends on (the table format's, @mteperm/arm64). */
export type { Stage2Host } from '@mteperm/arm64';

/**
 * Attribute bits of a leaf without its output address and type bit, as two halves. Computed once per
 * request so the map loop only ORs in the address.
 */
export interface LeafAttrs {
  readonly lo: number;
  readonly hi: number;
}

/**
 * stage2_set_prot_attr for the model (DOMAIN B §4.3):
 * - exec on device or non-cacheable memory → -EINVAL (kernel, B §4.3 step 1);
 * - NoTagAccess without FEAT_MTE_PERM → -EINVAL (v1 patch: `system_supports_notagaccess()`, B §4.3);
 * - NoTagAccess on device or Normal-NC → -EINVAL: the model's decision. DOMAIN A.2.3 applies
 *   NoTagAccess to cacheable memory only, C §6 says no Device encoding carries it, and B §4.3 calls
 *   v1's silent fallback to Normal for DEVICE|NOTAGACCESS a latent hazard; refusing keeps every
 *   state encodable in both MemAttr tables;
 * - software bits outside [58:55] → -EINVAL.
 * Then XN unless X, S2AP R/W, SH Inner Shareable, AF set, SW bits copied (B §4.3 steps 2–3).
 */
export function encodeLeafAttrs(prot: Stage2Prot, host: Stage2Host): S2Result<LeafAttrs> {
  const sw = prot.sw ?? 0;
  if (prot.x && prot.memType !== 'normal_wb') {
    return refused('MTEPERM_S2_PROT', `exec permission on ${prot.memType} memory (stage2_set_prot_attr: -EINVAL)`);
  }
  if (prot.noTagAccess && !host.mtePerm) {
    return refused('MTEPERM_S2_PROT', 'NoTagAccess on a host without FEAT_MTE_PERM (-EINVAL)');
  }
  if (!Number.isInteger(sw) || sw < 0 || sw > 0b1111) {
    return refused('MTEPERM_S2_PROT', `software bits ${sw} do not fit desc[58:55]`);
  }
  const memAttr = encodeMemAttr(prot.memType, prot.noTagAccess, { fwb: host.fwb, mtePerm: host.mtePerm });
  if (memAttr === undefined) {
    return refused('MTEPERM_S2_PROT', `NoTagAccess on ${prot.memType} memory (only Normal WB carries it, DOMAIN A.2.3)`);
  }
  const lo = DESC_VALID | (memAttr << MEMATTR_SHIFT) | encodeS2ap(prot.r, prot.w) | SH_INNER_SHAREABLE | DESC_AF;
  const hi = (prot.x ? 0 : XN_HI) | (sw << SW_SHIFT_HI);
  return okResult({ lo, hi });
}
