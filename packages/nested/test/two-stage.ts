/**
 * A two-stage world for the pure tests: L1's stage 2 in its table memory, L0's stage 2 and the
 * shadow as pgtable tables, and the decision loop KVM runs for one L2 access (install, retry).
 */
import type { AccessOp, S1Attr, Tcf } from '@mteperm/events';
import { Stage2PageTable, type Stage2Host, type Stage2Prot, type WalkResult } from '@mteperm/pgtable';
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
  readonly l0: Stage2PageTable;
  readonly shadow: Stage2PageTable;
  readonly walks: NestedWalks;
}

export function world(host: Stage2Host, l1Regs = { fwb: false, mtePerm: true }): World {
  const memory = new GuestTableMemory(L1_RAM.base, L1_RAM.size);
  const l1 = GuestStage2Table.create(memory, l1Regs)!;
  const l0r = Stage2PageTable.create({ ...host, ipaBits: 40 });
  const sr = Stage2PageTable.create({ ...host, ipaBits: 48 });
  if (!l0r.ok || !sr.ok) throw new Error('tables');
  const l0 = l0r.value;
  const shadow = sr.value;
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

export function mapL0(w: World, ipa: number, pa: number, size: number, prot: Stage2Prot): void {
  const r = w.l0.map(ipa, pa, size, prot);
  if (!r.ok) throw r.error;
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
