import type { AccessOp, S1Attr, Tcf } from '@mteperm/events';
import { checkStage2Leaf, outputAddress } from '@mteperm/arm64';
import type { Stage2Prot } from './prot';
import { Stage2PageTable } from './stage2-page-table';

// ESR_EL2 goldens by hand (DOMAIN C §3.3): EC 0x24 << 26 | IL (1 << 25) = 0x9200_0000 (data abort),
// EC 0x20 → 0x8200_0000 (instruction abort); WnR 0x40; DFSC 0b0001LL / 0b0010LL / 0b0011LL;
// ISS2.TagAccess = bit 41 = 0x0000_0200_0000_0000.
const NTA_READ_L3 = 0x0000_0200_9200_000fn; // DOMAIN C §3.3 worked value (LDG)
const NTA_WRITE_L3 = 0x0000_0200_9200_004fn; // DOMAIN C §3.3 worked value (STG)

const PAGE = 0x1000_0000;
const PA = 0x8_0000_0000;
const RW_NTA: Stage2Prot = { memType: 'normal_wb', noTagAccess: true, r: true, w: true, x: false };
const RW_WB: Stage2Prot = { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false };

function tableWith(fwb: boolean, ipa: number, size: number, prot: Stage2Prot, pa = PA): Stage2PageTable {
  const t = Stage2PageTable.create({ fwb, mtePerm: true, ipaBits: 40 });
  if (!t.ok) throw t.error;
  const r = t.value.map(ipa, pa, size, prot);
  if (!r.ok) throw r.error;
  return t.value;
}

// The access check of @mteperm/arm64 on this table's walks: what the bus adapter does per access.
// Faults are flattened to `kind: <fault>` and completions carry the PA, so each row reads as one value.
function access(t: Stage2PageTable, a: { ipa: number; op: AccessOp; tcf?: Tcf; s1?: S1Attr }) {
  const w = t.walk(a.ipa, t.createWalkResult());
  const o = checkStage2Leaf(w, a);
  if (o.kind === 'ok') {
    const { tagged, noTagAccess, tagsIgnored, tagStorageTouched } = o;
    return { kind: 'ok' as const, pa: outputAddress(w.lo, w.hi) + (a.ipa - w.base), tagged, noTagAccess, tagsIgnored, tagStorageTouched };
  }
  const { fault, level, esr, fsc, instruction, wnr, tagAccess } = o;
  return { kind: fault, level, esr, fsc, instruction, wnr, tagAccess };
}

const esrOf = (o: ReturnType<typeof access>): bigint | undefined => (o.kind === 'ok' ? undefined : o.esr);

describe('allocation-tag and tag-checked accesses to a NoTagAccess page (DOMAIN A.2.5, A.2.6, C §3.4)', () => {
  const cases: [AccessOp, bigint][] = [
    ['ldg', NTA_READ_L3],
    ['ldgm', NTA_READ_L3],
    ['stg', NTA_WRITE_L3],
    ['st2g', NTA_WRITE_L3],
    ['stgm', NTA_WRITE_L3],
    ['dc_gva', NTA_WRITE_L3],
    ['dc_gzva', NTA_WRITE_L3],
    // A.3.3: a checked load/store is a single-register access: ISV, SAS 0b11, SF (0x01c0_8000).
    ['checked_read', NTA_READ_L3 | 0x01c0_8000n],
    ['checked_write', NTA_READ_L3 | 0x01c0_8000n], // WnR = 0: a checked store's tag effect is a read (A.2.6)
  ];
  for (const fwb of [false, true]) {
    it.each(cases)(`FWB=${fwb}: %s → permission fault, ESR_EL2 %s (DOMAIN A.2.5/A.2.6)`, (op, esr) => {
      const o = access(tableWith(fwb, PAGE, 0x1000, RW_NTA), { ipa: PAGE + 0x40, op });
      expect(o).toEqual({ kind: 'permission', level: 3, esr, fsc: 0b001111, instruction: false, wnr: esr === NTA_WRITE_L3, tagAccess: true });
    });
  }

  it.each(['read', 'write'] as const)('an ordinary %s completes on a NoTagAccess page (DOMAIN C §3.5: Tag Unchecked)', (op) => {
    const o = access(tableWith(true, PAGE, 0x1000, RW_NTA), { ipa: PAGE + 0x48, op });
    expect(o).toEqual({ kind: 'ok', pa: PA + 0x48, tagged: false, noTagAccess: true, tagsIgnored: false, tagStorageTouched: false });
  });

  it.each(['ldg', 'stg', 'st2g', 'stgm', 'ldgm', 'dc_gva', 'dc_gzva', 'checked_read', 'checked_write'] as const)(
    's1 untagged: %s ignores NoTagAccess and completes (DOMAIN A.2.5)',
    (op) => {
      const o = access(tableWith(false, PAGE, 0x1000, RW_NTA), { ipa: PAGE, op, s1: 'untagged' });
      expect(o).toEqual({ kind: 'ok', pa: PA, tagged: false, noTagAccess: true, tagsIgnored: true, tagStorageTouched: false });
    },
  );

  it.each(['checked_read', 'checked_write'] as const)('tcf none: %s is Tag Unchecked and completes (DOMAIN A.2.6, R_PYQZB)', (op) => {
    const o = access(tableWith(true, PAGE, 0x1000, RW_NTA), { ipa: PAGE, op, tcf: 'none' });
    expect(o.kind).toBe('ok');
    expect(o.kind === 'ok' && o.tagsIgnored).toBe(true);
  });

  it.each(['async', 'asymm'] as const)('tcf %s still faults synchronously (DOMAIN A.2.6, C §3.2)', (tcf) => {
    expect(esrOf(access(tableWith(true, PAGE, 0x1000, RW_NTA), { ipa: PAGE, op: 'checked_write', tcf }))).toBe(NTA_READ_L3 | 0x01c0_8000n);
  });

  it('tcf none does not exempt explicit tag accesses (DOMAIN A.2.6 applies to tag-checked ops only)', () => {
    expect(esrOf(access(tableWith(true, PAGE, 0x1000, RW_NTA), { ipa: PAGE, op: 'stg', tcf: 'none' }))).toBe(NTA_WRITE_L3);
  });

  it('reports the leaf level in the DFSC: 2 MiB block → 0b001110, 1 GiB block → 0b001101 (DOMAIN C §3.3)', () => {
    expect(esrOf(access(tableWith(false, 0x4000_0000 + 0x20_0000, 0x20_0000, RW_NTA, 0x8_0020_0000), { ipa: 0x4020_0000, op: 'ldg' }))).toBe(
      0x0000_0200_9200_000en,
    );
    expect(esrOf(access(tableWith(false, 0x4000_0000, 0x4000_0000, RW_NTA, 0x80_4000_0000), { ipa: 0x5000_0000, op: 'stg' }))).toBe(
      0x0000_0200_9200_004dn,
    );
  });

  it('with FWB, a raw MemAttr 0b1111 leaf is NoTagAccess too (DOMAIN A.2.6, C §8 row 44)', () => {
    const t = tableWith(true, PAGE, 0x1000, RW_WB);
    const w = t.walk(PAGE, t.createWalkResult());
    t.installLeaf(PAGE, 3, (w.lo | (0b1111 << 2)) >>> 0, w.hi);
    expect(esrOf(access(t, { ipa: PAGE, op: 'st2g' }))).toBe(NTA_WRITE_L3);
  });

  it('without FWB, MemAttr 0b1110 (oWB iWT) is not NoTagAccess and not Tagged: LDG completes (DOMAIN C §8 row 36)', () => {
    const t = tableWith(false, PAGE, 0x1000, RW_WB);
    const w = t.walk(PAGE, t.createWalkResult());
    t.installLeaf(PAGE, 3, ((w.lo & ~0x3c) | (0b1110 << 2)) >>> 0, w.hi);
    expect(access(t, { ipa: PAGE, op: 'ldg' })).toEqual({ kind: 'ok', pa: PA, tagged: false, noTagAccess: false, tagsIgnored: false, tagStorageTouched: false });
  });
});

describe('base permissions, translation and access flag (DOMAIN C §3.2 R_LTQNW, §3.3)', () => {
  it('a tag write to a read-only NoTagAccess page is a plain permission fault, TagAccess = 0, WnR = 1 (DOMAIN C §8 row 28)', () => {
    const o = access(tableWith(false, PAGE, 0x1000, { ...RW_NTA, w: false }), { ipa: PAGE, op: 'stg' });
    expect(o).toEqual({ kind: 'permission', level: 3, esr: 0x9200_004fn, fsc: 0b001111, instruction: false, wnr: true, tagAccess: false });
  });
  it('an ordinary write without S2AP W is a permission fault with WnR = 1 (DOMAIN B §5.4)', () => {
    expect(esrOf(access(tableWith(true, PAGE, 0x1000, { ...RW_WB, w: false }), { ipa: PAGE, op: 'write' }))).toBe(0x93c0_804fn);
  });
  it('a checked store without S2AP W faults on the data write: WnR = 1, no TagAccess', () => {
    expect(esrOf(access(tableWith(true, PAGE, 0x1000, { ...RW_NTA, w: false }), { ipa: PAGE, op: 'checked_write' }))).toBe(0x93c0_804fn);
  });
  it('a read without S2AP R is a permission fault with WnR = 0', () => {
    expect(esrOf(access(tableWith(true, PAGE, 0x1000, { ...RW_WB, r: false, w: false }), { ipa: PAGE, op: 'read' }))).toBe(0x93c0_800fn);
  });
  it('exec on an XN page is an instruction-abort permission fault, EC 0x20 (DOMAIN B §4.3)', () => {
    const o = access(tableWith(true, PAGE, 0x1000, RW_NTA), { ipa: PAGE, op: 'exec' });
    expect(o).toEqual({ kind: 'permission', level: 3, esr: 0x8200_000fn, fsc: 0b001111, instruction: true, wnr: false, tagAccess: false });
  });
  it('exec on an executable page completes', () => {
    expect(access(tableWith(true, PAGE, 0x1000, { ...RW_WB, x: true }), { ipa: PAGE + 4, op: 'exec' }).kind).toBe('ok');
  });
  it('translation fault at the level where the walk stopped: start level 1 for an empty 40-bit table', () => {
    const t = tableWith(true, PAGE, 0x1000, RW_WB);
    expect(esrOf(access(t, { ipa: 0x2_0000_0000, op: 'read' }))).toBe(0x93c0_8005n);
    expect(esrOf(access(t, { ipa: 0x2_0000_0000, op: 'stg' }))).toBe(0x9200_0045n);
    expect(esrOf(access(t, { ipa: 0x2_0000_0000, op: 'exec' }))).toBe(0x8200_0005n);
    // Same 2 MiB region as the mapped page: the walk reaches level 3.
    expect(esrOf(access(t, { ipa: PAGE + 0x1000, op: 'write' }))).toBe(0x93c0_8047n);
    // Same 1 GiB region, another 2 MiB: stops at level 2.
    expect(esrOf(access(t, { ipa: PAGE + 0x20_0000, op: 'checked_read' }))).toBe(0x93c0_8006n); // A.3.3: ISV for a checked load
  });
  it('a leaf without AF takes an access-flag fault 0b0010LL', () => {
    const t = tableWith(true, PAGE, 0x1000, RW_WB);
    const w = t.walk(PAGE, t.createWalkResult());
    t.installLeaf(PAGE, 3, (w.lo & ~0x400) >>> 0, w.hi);
    expect(esrOf(access(t, { ipa: PAGE, op: 'read' }))).toBe(0x93c0_800bn);
  });
});

describe('Tagged pages and untagged memory (DOMAIN C §2.2, §3.5)', () => {
  it('tag ops on Normal WB without NoTagAccess touch tag storage', () => {
    const o = access(tableWith(true, PAGE, 0x1000, RW_WB), { ipa: PAGE, op: 'stg' });
    expect(o).toEqual({ kind: 'ok', pa: PA, tagged: true, noTagAccess: false, tagsIgnored: false, tagStorageTouched: true });
    const u = access(tableWith(true, PAGE, 0x1000, RW_WB), { ipa: PAGE, op: 'ldg', s1: 'untagged' });
    expect(u.kind === 'ok' && [u.tagged, u.tagStorageTouched]).toEqual([true, false]);
  });
  it.each(['device_ngnre', 'normal_nc'] as const)('LDG/STG on %s memory complete untagged (RAZ/WI, DOMAIN C §8 rows 34/37)', (memType) => {
    for (const op of ['ldg', 'stg'] as const) {
      const o = access(tableWith(false, PAGE, 0x1000, { memType, noTagAccess: false, r: true, w: true, x: false }), { ipa: PAGE, op });
      expect(o).toEqual({ kind: 'ok', pa: PA, tagged: false, noTagAccess: false, tagsIgnored: false, tagStorageTouched: false });
    }
  });
});
