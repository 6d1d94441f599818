/**
 * What KVM does with one L2 access, as a pure function of three walks (DOMAIN A.2.8, B §5.2, §6,
 * C §5): the shadow stage 2 the hardware walks, L1's stage 2, and L0's stage 2.
 *
 * 1. The shadow allows the access: it completes (tags ignored as in A.2.5/A.2.6).
 * 2. The shadow takes a NoTagAccess fault (TagAccess): if L1's entry refuses the access — it has
 *    NoTagAccess — the fault is L1's and is injected into it with L1's syndrome (EC 0x24, Permission
 *    at L1's leaf level, ESR bit 41, WnR per tag effect, C §5 rule 3); otherwise it is L0's
 *    NoTagAccess and goes down L0's fault path with the L1 IPA (exit to the VMM, A.2.5).
 * 3. Any other shadow fault: walk L1. A translation, access-flag or permission fault there (base
 *    permissions before NoTagAccess, R_LTQNW) is injected into L1. Otherwise L0 must allow the
 *    access's base permission at the L1 IPA; if it does not, L0's fault path maps it first (as for
 *    the VM's own guest). Then the shadow leaf is installed and the access retried.
 */
import type { AccessOp } from '@mteperm/events';
import type { Stage2Host, WalkResult } from '@mteperm/arm64';
import { baseOp, checkStage2Leaf, outputAddress, type FaultKind, type Stage2AccessQuery } from '@mteperm/arm64';
import { combineShadowLeaf, type ShadowLeaf } from './shadow-entry';

/** The walks a decision needs; each fills and returns a reused result. */
export interface NestedWalks {
  readonly host: Stage2Host;
  /** The shadow stage 2 at an L2 IPA. */
  shadow(l2Ipa: number): WalkResult;
  /** L1's stage 2 at an L2 IPA. */
  guest(l2Ipa: number): WalkResult;
  /** L0's stage 2 at an L1 IPA. */
  host2(l1Ipa: number): WalkResult;
}

export interface L1Fault {
  readonly kind: 'translation' | 'access_flag' | 'permission';
  /** Lookup level in the DFSC: where L1's walk stopped, or L1's leaf level. */
  readonly level: number;
  /** ESR_EL2 as L1 reads it at virtual EL2. */
  readonly esr: bigint;
  readonly tagAccess: boolean;
  readonly wnr: boolean;
}

export type NestedDecision =
  | { readonly kind: 'complete'; readonly pa: number; readonly tagsIgnored: boolean; readonly tagStorageTouched: boolean; readonly noTagAccess: boolean }
  | { readonly kind: 'inject'; readonly fault: L1Fault }
  /** L0 lacks the base permission at the L1 IPA: run `op` there through L0's fault path, then retry. */
  | { readonly kind: 'fault-in-l0'; readonly l1Ipa: number; readonly op: AccessOp }
  | { readonly kind: 'install'; readonly leaf: ShadowLeaf }
  /** L0's own NoTagAccess refused a tag access: L0's tag-access fault path with the L1 IPA (A.2.5). */
  | { readonly kind: 'tag-fault-in-l0'; readonly l1Ipa: number }
  /**
   * DC GZVA / DC GVA where either stage makes the page Device: the (shadow) stage-2 Alignment fault,
   * which kvm_handle_guest_abort refuses as an unsupported FSC before any nested handling (A.3.5).
   */
  | { readonly kind: 'unsupported-fsc' };

/** An L2 access at an L2 IPA. */
export interface NestedAccess extends Stage2AccessQuery {
  readonly ipa: number;
}

/** Alignment faults never reach here: decideNestedAccess turns them into 'unsupported-fsc' (A.3.5). */
function l1FaultKind(kind: FaultKind): L1Fault['kind'] {
  if (kind === 'alignment') throw new Error('unreachable: an alignment fault is unsupported-fsc (DOMAIN A.3.5)');
  return kind;
}

function l1Ipa(l1: WalkResult, l2Ipa: number): number {
  return outputAddress(l1.lo, l1.hi) + (l2Ipa - l1.base);
}

export function decideNestedAccess(walks: NestedWalks, access: NestedAccess): NestedDecision {
  const l2Ipa = access.ipa;
  const s = walks.shadow(l2Ipa);
  const shadow = checkStage2Leaf(s, access);
  if (shadow.kind === 'fault' && shadow.fault === 'alignment') return { kind: 'unsupported-fsc' };
  if (shadow.kind === 'ok') {
    return { kind: 'complete', pa: outputAddress(s.lo, s.hi) + (l2Ipa - s.base), tagsIgnored: shadow.tagsIgnored, tagStorageTouched: shadow.tagStorageTouched, noTagAccess: shadow.noTagAccess };
  }
  const l1 = walks.guest(l2Ipa);
  const atL1 = checkStage2Leaf(l1, access);
  // L1's Device leaf makes the shadow leaf Device too: once installed, the retry takes the Alignment fault.
  if (atL1.kind === 'fault' && atL1.fault === 'alignment') return { kind: 'unsupported-fsc' };
  if (atL1.kind === 'fault') {
    return { kind: 'inject', fault: { kind: l1FaultKind(atL1.fault), level: atL1.level, esr: atL1.esr, tagAccess: atL1.tagAccess, wnr: atL1.wnr } };
  }
  const ipa1 = l1Ipa(l1, l2Ipa);
  if (shadow.tagAccess) return { kind: 'tag-fault-in-l0', l1Ipa: ipa1 };
  const op = baseOp(access.op);
  const l0 = walks.host2(ipa1);
  if (checkStage2Leaf(l0, { op }).kind !== 'ok') return { kind: 'fault-in-l0', l1Ipa: ipa1, op };
  return { kind: 'install', leaf: combineShadowLeaf(l2Ipa, l1, l0, walks.host) };
}
