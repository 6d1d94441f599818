/**
 * A two-stage world for the pure tests: L1's stage 2 in its table memory, L0's stage 2 and the
 * shadow in the architecture's table format (@mteperm/arm64 `TranslationTable`, the storage pgtable's
 * tables use too), and the decision loop KVM runs for one L2 access (install, retry).
 */
import type { AccessOp, MemType, S1Attr, Tcf } from '@mteperm/events';
import {
  DESC_AF,
  DESC_TYPE,
  DESC_VALID,
  LEVEL_SIZE,
  MEMATTR_SHIFT,
  SH_INNER_SHAREABLE,
  SW_SHIFT_HI,
  TWO_32,
  XN_HI,
  createTranslationTable,
  encodeMemAttr,
  encodeS2ap,
  type Stage2Host,
  type TranslationTable,
  type WalkResult,
} from '@mteperm/arm64';
import type { GuestLeafSpec } from '../src/guest-descriptor';
import { GuestStage2Table } from '../src/guest-stage2-table';
import { GuestTableMemory } from '../src/guest-table-memory';
import { decideNestedAccess, type NestedDecision, type NestedWalks } from '../src/nested-access';

/** L1's RAM: 1 GiB at L1 IPA 0x4000_0000; its table pages come from the top (0x7fff_f000 down). */
export const L1_RAM = { base: 0x4000_0000, size: 0x4000_0000 };

export interface World {
  readonly host: Stage2Host;
  readonly l1: GuestStage2Table;
  readonly memory: GuestTableMemory;
  readonly l0: TranslationTable;
  readonly shadow: TranslationTable;
  readonly walks: NestedWalks;
}

export function world(host: Stage2Host, l1Regs = { fwb: false, mtePerm: true }): World {
  const memory = new GuestTableMemory(L1_RAM.base, L1_RAM.size);
  const l1 = GuestStage2Table.create(memory, l1Regs)!;
  const l0 = createTranslationTable({ ...host, ipaBits: 40 });
  const shadow = createTranslationTable({ ...host, ipaBits: 48 });
  if (l0 === undefined || shadow === undefined) throw new Error('tables');
  const gw = l1.createWalkResult();
  const l0w = l0.createWalkResult();
  const sw = shadow.createWalkResult();
  const walks: NestedWalks = {
    host,
    shadow: (ipa): WalkResult => shadow.walk(ipa, sw),
    guest: (ipa): WalkResult => l1.walk(ipa, gw),
    host2: (ipa): WalkResult => l0.walk(ipa, l0w),
  };
  return { host, l1, memory, l0, shadow, walks };
}

export function mapL1(w: World, ipa: number, pa: number, size: number, spec: GuestLeafSpec): void {
  w.l1.write(ipa, pa, size, spec);
}

/** L0's protection of a test mapping: the fields of pgtable's Stage2Prot (DOMAIN A.2.4). */
export interface L0Prot {
  readonly memType: MemType;
  readonly noTagAccess: boolean;
  readonly r: boolean;
  readonly w: boolean;
  readonly x: boolean;
  readonly sw?: number;
}

/**
 * Writes L0 leaves for [ipa, ipa+size) as KVM's stage2_set_prot_attr would encode them (DOMAIN B §4.3:
 * MemAttr, S2AP, SH Inner Shareable, AF, XN unless X, SW bits), largest aligned block first (B §4.1).
 * Test scaffolding for valid, aligned mappings only: KVM's refusals are pgtable's and tested there.
 */
export function mapL0(w: World, ipa: number, pa: number, size: number, prot: L0Prot): void {
  const memAttr = encodeMemAttr(prot.memType, prot.noTagAccess, { fwb: w.host.fwb, mtePerm: w.host.mtePerm });
  if (memAttr === undefined) throw new Error(`mapL0: NoTagAccess on ${prot.memType}`);
  const attrLo = DESC_VALID | (memAttr << MEMATTR_SHIFT) | encodeS2ap(prot.r, prot.w) | SH_INNER_SHAREABLE | DESC_AF;
  const attrHi = (prot.x ? 0 : XN_HI) | ((prot.sw ?? 0) << SW_SHIFT_HI);
  while (size > 0) {
    const level = [1, 2].find((l) => size >= LEVEL_SIZE[l]! && ipa % LEVEL_SIZE[l]! === 0 && pa % LEVEL_SIZE[l]! === 0) ?? 3;
    const lo = (attrLo | (level === 3 ? DESC_TYPE : 0) | (pa % TWO_32)) >>> 0;
    const hi = (attrHi | Math.floor(pa / TWO_32)) >>> 0;
    w.l0.installLeaf(ipa, level, lo, hi);
    const step = LEVEL_SIZE[level]!;
    ipa += step;
    pa += step;
    size -= step;
  }
}

/** Runs the decision loop: shadow leaves are installed and the access retried until it settles. */
export function resolve(w: World, ipa: number, op: AccessOp, tcf: Tcf = 'sync', s1: S1Attr = 'tagged'): NestedDecision {
  for (let i = 0; i < 8; i++) {
    const d = decideNestedAccess(w.walks, { ipa, op, tcf, s1 });
    if (d.kind !== 'install') return d;
    w.shadow.installLeaf(d.leaf.ipa, d.leaf.level, d.leaf.lo, d.leaf.hi);
  }
  throw new Error('no progress');
}
