import type { AccessOp } from '@mteperm/events';
import { decodeEsr } from '@mteperm/arm64';
import type { L0Prot } from '../test/two-stage';
import { L1_RAM, mapL0, mapL1, resolve, world } from '../test/two-stage';
import type { GuestS2Attr } from './guest-descriptor';

const L2 = 0x20_0000; // L2 IPA of the page under test
const L1IPA = L1_RAM.base + 0x10_0000; // where L1 maps it
const HOST_PA = 0x8_0000_0000;

type Backing = 'tagged-ram' | 'notagaccess' | 'device';
// L0's own decision for the L1 IPA (DOMAIN B §5.4 rows 3, 6, 7).
const L0_PROT: Record<Backing, L0Prot> = {
  'tagged-ram': { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false },
  notagaccess: { memType: 'normal_wb', noTagAccess: true, r: true, w: true, x: false },
  device: { memType: 'device_ngnre', noTagAccess: false, r: true, w: true, x: false },
};

const OPS: AccessOp[] = ['read', 'write', 'ldg', 'stg', 'dc_gva', 'checked_read', 'checked_write'];
const TAG_EFFECT = new Set<AccessOp>(['ldg', 'stg', 'dc_gva', 'checked_read', 'checked_write']);
const TAG_WRITE = new Set<AccessOp>(['stg', 'dc_gva']);

function expected(l1: GuestS2Attr, l0: Backing, op: AccessOp): string {
  if (!TAG_EFFECT.has(op)) return 'complete';
  if (l1 === 'normal_notagaccess') return 'inject'; // A.2.8: L1's NoTagAccess → the fault is L1's
  // A.3.5: DC GVA where either stage is Device takes the Alignment fault KVM refuses (-EFAULT).
  if (op === 'dc_gva' && (l1 === 'device' || l0 === 'device')) return 'unsupported-fsc';
  if (l1 === 'device' || l0 === 'device') return 'complete'; // never Tagged: RAZ/WI (C §6)
  return l0 === 'notagaccess' ? 'tag-fault-in-l0' : 'complete'; // A.2.8: else exit as A.2.5
}

const rows: Array<[GuestS2Attr, Backing, AccessOp, boolean]> = [];
for (const fwb of [false, true]) {
  for (const l1 of ['normal', 'normal_notagaccess', 'device'] as GuestS2Attr[]) {
    for (const l0 of ['tagged-ram', 'notagaccess', 'device'] as Backing[]) for (const op of OPS) rows.push([l1, l0, op, fwb]);
  }
}

describe('one L2 access through both stages (DOMAIN A.2.8, C §5, B §6.1)', () => {
  it.each(rows)('L1 %s × L0 %s × %s, host FWB %s', (l1Attr, l0, op, fwb) => {
    const w = world({ fwb, mtePerm: true });
    mapL1(w, L2, L1IPA, 0x1000, { attr: l1Attr, ap: 'rw' });
    mapL0(w, L1IPA & ~0x1f_ffff, HOST_PA, 0x20_0000, L0_PROT[l0]);
    const d = resolve(w, L2 + 0x40, op);
    expect(d.kind).toBe(expected(l1Attr, l0, op));
    if (d.kind === 'inject') {
      // C §5 rule 3 / C §8 row 58: EC 0x24, Permission at L1's leaf level (3), bit 41, WnR per tag effect.
      // A.3.3: a checked load/store is a single-register access: ISV 1, SAS 0b11 (8 bytes), SRT 0, SF 1.
      const isv = op === 'checked_read' || op === 'checked_write';
      expect(decodeEsr(d.fault.esr)).toMatchObject({ ec: 0x24, il: true, isv, ea: false, wnr: TAG_WRITE.has(op), fsc: 0b001111, kind: 'permission', level: 3, iss2: 1 << 9, tagAccess: true });
      expect(d.fault.esr).toBe(TAG_WRITE.has(op) ? 0x0000_0200_9200_004fn : isv ? 0x0000_0200_93c0_800fn : 0x0000_0200_9200_000fn);
    }
    if (d.kind === 'tag-fault-in-l0') expect(d.l1Ipa).toBe(L1IPA + 0x40); // the exit's gpa is this page (A.2.5)
    if (d.kind === 'complete') {
      expect(d.pa).toBe(HOST_PA + 0x10_0000 + 0x40);
      expect(d.tagStorageTouched).toBe(TAG_EFFECT.has(op) && l1Attr === 'normal' && l0 === 'tagged-ram');
    }
  });

  it('installs one shadow leaf: 4 KiB (the smaller mapping), RW ∩ RO, NoTagAccess from L1, L1 level 3 in SW1|SW0 (FWB host: 0b1111, C §5 rule 2)', () => {
    const w = world({ fwb: true, mtePerm: true });
    mapL1(w, L2, L1IPA, 0x1000, { attr: 'normal_notagaccess', ap: 'rw' });
    mapL0(w, L1_RAM.base, HOST_PA, 0x20_0000 * 8, { ...L0_PROT['tagged-ram'], w: false });
    expect(resolve(w, L2, 'read').kind).toBe('complete');
    const leaves = w.shadow.leafDescriptors();
    // valid|page (0x3), MemAttr 0b1111 (0x3c), S2AP R (0x40), SH IS (0x300), AF (0x400); XN (bit 54), SW = 3 (bits 56:55).
    expect(leaves).toEqual([{ ipa: BigInt(L2), level: 3, desc: 0x01c0_0008_0010_077fn }]);
  });

  it('keeps L1 FWB=1 NoTagAccess as written (0b1110) and uses 0b1110 for L0\'s own NoTagAccess; without host FWB 0b0100 (C §5 rule 2, A.2.3)', () => {
    const attrOf = (hostFwb: boolean, l1Fwb: boolean, l1: GuestS2Attr, l0: Backing): bigint => {
      const w = world({ fwb: hostFwb, mtePerm: true }, { fwb: l1Fwb, mtePerm: true });
      mapL1(w, 0, L1IPA & ~0x1f_ffff, 0x20_0000, { attr: l1, ap: 'rw' });
      mapL0(w, L1IPA & ~0x1f_ffff, HOST_PA, 0x20_0000, L0_PROT[l0]);
      resolve(w, 0, 'read');
      return (w.shadow.leafDescriptors()[0]!.desc >> 2n) & 0xfn;
    };
    expect(attrOf(true, true, 'normal_notagaccess', 'tagged-ram')).toBe(0b1110n);
    expect(attrOf(true, false, 'normal', 'notagaccess')).toBe(0b1110n);
    expect(attrOf(true, false, 'normal', 'tagged-ram')).toBe(0b0110n);
    expect(attrOf(false, true, 'normal_notagaccess', 'tagged-ram')).toBe(0b0100n);
    expect(attrOf(false, false, 'device', 'notagaccess')).toBe(0b0001n);
  });

  it('a 2 MiB L1 block over 2 MiB of L0 gives a 2 MiB shadow block with SW level 2', () => {
    const w = world({ fwb: false, mtePerm: true });
    mapL1(w, 0x4000_0000, 0x4020_0000, 0x20_0000, { attr: 'normal', ap: 'ro' });
    mapL0(w, 0x4020_0000, HOST_PA, 0x20_0000, L0_PROT['tagged-ram']);
    expect(resolve(w, 0x4000_5000, 'read')).toMatchObject({ kind: 'complete', pa: HOST_PA + 0x5000 });
    expect(w.shadow.leafDescriptors()).toEqual([{ ipa: 0x4000_0000n, level: 2, desc: 0x0140_0008_0000_077dn }]);
  });

  it('base-permission faults in L1\'s tables come before NoTagAccess: STG to an L1 read-only NoTagAccess page is a plain write permission fault (R_LTQNW, C §8 row 28)', () => {
    const w = world({ fwb: false, mtePerm: true });
    mapL1(w, L2, L1IPA, 0x1000, { attr: 'normal_notagaccess', ap: 'ro' });
    mapL0(w, L1IPA, HOST_PA, 0x1000, L0_PROT['tagged-ram']);
    const d = resolve(w, L2, 'stg');
    expect(d).toMatchObject({ kind: 'inject', fault: { kind: 'permission', level: 3, tagAccess: false, esr: 0x9200_004fn } });
  });

  it('L1 translation and ap none faults are injected at L1\'s level; L0 not mapped yet asks L0\'s path for the base access', () => {
    const w = world({ fwb: false, mtePerm: true });
    // Nothing written: the level-0 entry is invalid, DFSC 0b000100; a read is a single-register load (A.3.3: ISV, SAS 0b11, SF: 0x01c0_8000).
    expect(resolve(w, L2, 'read')).toMatchObject({ kind: 'inject', fault: { kind: 'translation', level: 0, esr: 0x93c0_8004n } });
    mapL1(w, L2, L1IPA, 0x1000, { attr: 'normal', ap: 'none' });
    expect(resolve(w, L2, 'read')).toMatchObject({ kind: 'inject', fault: { kind: 'permission', level: 3, esr: 0x93c0_800fn } });
    mapL1(w, L2, L1IPA, 0x1000, { attr: 'normal', ap: 'rw' });
    expect(resolve(w, L2 + 8, 'stg')).toEqual({ kind: 'fault-in-l0', l1Ipa: L1IPA + 8, op: 'write' });
  });

  it('s1 untagged or tcf none: NoTagAccess is ignored at both stages and the access completes with tags ignored (A.2.5, A.2.6)', () => {
    const w = world({ fwb: false, mtePerm: true });
    mapL1(w, L2, L1IPA, 0x1000, { attr: 'normal_notagaccess', ap: 'rw' });
    mapL0(w, L1IPA, HOST_PA, 0x1000, L0_PROT.notagaccess);
    expect(resolve(w, L2, 'ldg', 'sync', 'untagged')).toMatchObject({ kind: 'complete', tagsIgnored: true, tagStorageTouched: false });
    expect(resolve(w, L2, 'checked_write', 'none')).toMatchObject({ kind: 'complete', tagsIgnored: true, tagStorageTouched: false });
    expect(resolve(w, L2, 'checked_write', 'async')).toMatchObject({ kind: 'inject', fault: { tagAccess: true, wnr: false } });
  });

  it('an L1 without MTEPERM in its view writes 0b0100 as a reserved encoding: never NoTagAccess (C §8 row 40, §5)', () => {
    const w = world({ fwb: false, mtePerm: true }, { fwb: false, mtePerm: false });
    mapL1(w, L2, L1IPA, 0x1000, { attr: 'normal_notagaccess', ap: 'rw' });
    mapL0(w, L1IPA, HOST_PA, 0x1000, L0_PROT['tagged-ram']);
    expect(resolve(w, L2, 'stg')).toMatchObject({ kind: 'complete', tagStorageTouched: true });
  });
});
