import { checkStage2Access, type Stage2AccessQuery, type Stage2AccessResult, type Stage2Leaf } from './access-check';
import type { AccessOp } from './vocabulary';

// Real descriptors, bit by bit (DOMAIN B §4.1): a level-3 page at PA 0x8_0000_0000 has
// lo = valid|page 0x3 | MemAttr << 2 | S2AP R 0x40, W 0x80 | SH Inner Shareable 0x300 | AF 0x400,
// hi = XN (desc[54], 0x0040_0000) | PA[47:32] 0x8. A level-2 block has type 0 and PA 0x8_0020_0000.
const PAGE_FWB_NTA = 0x0040_0008_0000_07fbn; // MemAttr 0b1110, FWB: NoTagAccess (A.2.3)
const PAGE_FWB_WB = 0x0040_0008_0000_07dbn; // MemAttr 0b0110, FWB: forced Normal WB
const PAGE_FWB_S1_NTA = 0x0040_0008_0000_07ffn; // MemAttr 0b1111, FWB: stage 1 + NoTagAccess (A.2.6)
const PAGE_NTA = 0x0040_0008_0000_07d3n; // MemAttr 0b0100, FWB = 0: NoTagAccess
const PAGE_WB = 0x0040_0008_0000_07ffn; // MemAttr 0b1111, FWB = 0: Normal WB (Tagged)
const PAGE_WB_WT = 0x0040_0008_0000_07fbn; // MemAttr 0b1110, FWB = 0: Outer WB Inner WT (C §8 row 36)
const PAGE_DEVICE = 0x0040_0008_0000_07c7n; // MemAttr 0b0001: Device-nGnRE
const RO = ~0x80n; // clear S2AP W
const NO_AF = ~0x400n;
const X = ~(1n << 54n); // clear XN
const BLOCK2_NTA = 0x0040_0008_0020_07f9n; // level-2 block, MemAttr 0b1110, FWB

// ESR_EL2 by hand (DOMAIN C §3.3): EC 0x24 << 26 | IL 1 << 25 = 0x9200_0000; EC 0x20 → 0x8200_0000;
// WnR 0x40; DFSC 0b0001LL translation, 0b0010LL access flag, 0b0011LL permission; TagAccess 1 << 41.
const NTA_READ_L3 = 0x0000_0200_9200_000fn; // C §3.3 worked value (LDG)
const NTA_WRITE_L3 = 0x0000_0200_9200_004fn; // C §3.3 worked value (STG)
// A single-register load/store adds its instruction syndrome (A.3.3): ISV 1 << 24, SAS [23:22],
// SRT [20:16], SF 1 << 15. The default (size 8, X0): 0x0100_0000 | 3 << 22 | 0x8000 = 0x01c0_8000.
const ISV_X0_64 = 0x01c0_8000n;
const NTA_CHECKED_L3 = NTA_READ_L3 | ISV_X0_64; // checked_read / checked_write: WnR = 0, ISV = 1

const leaf = (desc: bigint | null, fwb: boolean, level: Stage2Leaf['level'] = 3): Stage2Leaf => ({ desc, level, fwb, mtePerm: true });
const esrOf = (r: Stage2AccessResult): bigint | undefined => (r.kind === 'fault' ? r.esr : undefined);
const ok = (tagged: boolean, noTagAccess: boolean, tagsIgnored: boolean, tagStorageTouched: boolean) => ({ kind: 'ok', tagged, noTagAccess, tagsIgnored, tagStorageTouched });

describe('checkStage2Access: tag and tag-checked accesses to NoTagAccess (DOMAIN A.2.5, A.2.6, C §3.4)', () => {
  const rows: [AccessOp, bigint][] = [
    ['ldg', NTA_READ_L3],
    ['ldgm', NTA_READ_L3],
    ['stg', NTA_WRITE_L3],
    ['st2g', NTA_WRITE_L3],
    ['stgm', NTA_WRITE_L3],
    ['dc_gva', NTA_WRITE_L3], // a tag write: WnR = 1 (C §8 row 6)
    ['dc_gzva', NTA_WRITE_L3],
    ['checked_read', NTA_CHECKED_L3],
    ['checked_write', NTA_CHECKED_L3], // WnR = 0: a checked store's tag effect is a read (A.2.6)
  ];
  for (const [name, desc, fwb] of [
    ['FWB 0b1110', PAGE_FWB_NTA, true],
    ['FWB 0b1111', PAGE_FWB_S1_NTA, true],
    ['no FWB 0b0100', PAGE_NTA, false],
  ] as const) {
    it.each(rows)(`${name}: %s → Permission fault with TagAccess, ESR_EL2 %s`, (op, esr) => {
      expect(checkStage2Access(leaf(desc, fwb), { op })).toEqual({
        kind: 'fault',
        fault: 'permission',
        level: 3,
        esr,
        fsc: 0b001111,
        instruction: false,
        wnr: esr === NTA_WRITE_L3,
        tagAccess: true,
      });
    });
  }

  it('reports the leaf level in the DFSC: a 2 MiB block → 0b001110 (DOMAIN C §3.3)', () => {
    expect(esrOf(checkStage2Access(leaf(BLOCK2_NTA, true, 2), { op: 'ldg' }))).toBe(0x0000_0200_9200_000en);
  });

  it.each(['read', 'write'] as const)('a plain %s completes on NoTagAccess: Tag Unchecked (DOMAIN C §3.5)', (op) => {
    expect(checkStage2Access(leaf(PAGE_FWB_NTA, true), { op })).toEqual(ok(false, true, false, false));
  });

  it.each(['ldg', 'stg', 'dc_gzva', 'checked_read', 'checked_write'] as const)('s1 untagged: %s ignores NoTagAccess (DOMAIN A.2.5)', (op) => {
    expect(checkStage2Access(leaf(PAGE_NTA, false), { op, s1: 'untagged' })).toEqual(ok(false, true, true, false));
  });

  it.each<[string, Stage2AccessQuery, string]>([
    ['tcf none, checked_read', { op: 'checked_read', tcf: 'none' }, 'ok'],
    ['tcf none, stg (explicit tag access)', { op: 'stg', tcf: 'none' }, 'fault'],
    ['tcf async, checked_write', { op: 'checked_write', tcf: 'async' }, 'fault'],
    ['tcf asymm, checked_read', { op: 'checked_read', tcf: 'asymm' }, 'fault'],
    ['tco, checked_write', { op: 'checked_write', tco: true }, 'ok'],
    ['tco, ldg (explicit tag access)', { op: 'ldg', tco: true }, 'fault'],
    ['ata false, stg', { op: 'stg', ata: false }, 'ok'],
    ['ata false, checked_read', { op: 'checked_read', ata: false }, 'ok'],
  ])('%s → %s (DOMAIN A.2.6 R_PYQZB, A.3.7)', (_name, access, kind) => {
    expect(checkStage2Access(leaf(PAGE_FWB_NTA, true), access).kind).toBe(kind);
  });
});

describe('checkStage2Access: priority translation → access flag → S2AP/XN → NoTagAccess (DOMAIN C §3.2 R_LTQNW)', () => {
  it.each<[string, Stage2Leaf, Stage2AccessQuery, bigint]>([
    ['no leaf at level 1: read', leaf(null, true, 1), { op: 'read' }, 0x93c0_8005n],
    ['no leaf at level 1: stg (WnR)', leaf(null, true, 1), { op: 'stg' }, 0x9200_0045n],
    ['no leaf at level 1: exec (EC 0x20)', leaf(null, true, 1), { op: 'exec' }, 0x8200_0005n],
    ['invalid descriptor 0 at level 3: write', leaf(0n, true, 3), { op: 'write' }, 0x93c0_8047n],
    ['level-3 entry with type 0 (reserved): read', leaf(PAGE_FWB_WB & ~2n, true, 3), { op: 'read' }, 0x93c0_8007n],
    ['level-0 block (no blocks at level 0, D8.3.1): read', leaf(PAGE_FWB_WB & ~2n, true, 0), { op: 'read' }, 0x93c0_8004n],
    ['AF clear: read → access flag 0b001011', leaf(PAGE_FWB_WB & NO_AF, true), { op: 'read' }, 0x93c0_800bn],
    ['AF clear beats NoTagAccess: ldg', leaf(PAGE_FWB_NTA & NO_AF, true), { op: 'ldg' }, 0x9200_000bn],
    ['read-only NoTagAccess: stg is a plain permission fault, no TagAccess (C §8 row 28)', leaf(PAGE_NTA & RO, false), { op: 'stg' }, 0x9200_004fn],
    ['read-only: checked_write faults on the data write, WnR = 1', leaf(PAGE_FWB_NTA & RO, true), { op: 'checked_write' }, 0x93c0_804fn],
    ['XN: exec → instruction abort, permission (B §4.3)', leaf(PAGE_FWB_WB, true), { op: 'exec' }, 0x8200_000fn],
  ])('%s: ESR_EL2 %s', (_name, l, access, esr) => {
    const r = checkStage2Access(l, access);
    expect(r.kind).toBe('fault');
    expect(esrOf(r)).toBe(esr);
    expect(r.kind === 'fault' && r.tagAccess).toBe(false);
  });

  it('exec on an executable Normal page completes (XN clear)', () => {
    expect(checkStage2Access(leaf(PAGE_WB & X, false), { op: 'exec' })).toEqual(ok(true, false, false, false));
  });
});

describe('checkStage2Access: Tagged and untagged memory (DOMAIN C §2.2, §3.5, §8 rows 34/36/37)', () => {
  it('tag ops on Normal WB (FWB 0b0110, non-FWB 0b1111) touch tag storage', () => {
    expect(checkStage2Access(leaf(PAGE_FWB_WB, true), { op: 'stg' })).toEqual(ok(true, false, false, true));
    expect(checkStage2Access(leaf(PAGE_WB, false), { op: 'checked_read' })).toEqual(ok(true, false, false, true));
    expect(checkStage2Access(leaf(PAGE_WB, false), { op: 'checked_read', tcf: 'none' })).toEqual(ok(true, false, false, false));
    expect(checkStage2Access(leaf(PAGE_WB, false), { op: 'ldg', s1: 'untagged' })).toEqual(ok(true, false, false, false));
  });
  it('without FWB 0b1110 is Outer WB Inner WT: neither NoTagAccess nor Tagged, LDG completes (C §8 row 36)', () => {
    expect(checkStage2Access(leaf(PAGE_WB_WT, false), { op: 'ldg' })).toEqual(ok(false, false, false, false));
  });
  it('LDG/STG on Device-nGnRE complete untagged (RAZ/WI, C §8 row 34)', () => {
    for (const op of ['ldg', 'stg'] as const) expect(checkStage2Access(leaf(PAGE_DEVICE, true), { op })).toEqual(ok(false, false, false, false));
  });
  it('without FEAT_MTE_PERM the FWB 0b1110 leaf is plain Normal WB: STG touches tags (C §8 row 54)', () => {
    expect(checkStage2Access({ desc: PAGE_FWB_NTA, level: 3, fwb: true, mtePerm: false }, { op: 'stg' })).toEqual(ok(true, false, false, true));
  });
});

describe('checkStage2Access: arguments it refuses', () => {
  it('a table descriptor is not a leaf', () => {
    expect(() => checkStage2Access(leaf(0x8000_0003n, false, 1), { op: 'read' })).toThrow(/table descriptor at level 1/);
  });
  it.each<[Stage2AccessQuery, RegExp]>([
    [{ op: 'read', size: 3 }, /size: expected 1, 2, 4 or 8/],
    [{ op: 'read', size: 16 }, /size/],
    [{ op: 'write', pair: true, size: 2 }, /pair: a pair \(LDP\/STP\) needs size 4 or 8/],
    [{ op: 'read', reg: 31 }, /reg: expected an integer 0\.\.30/],
    [{ op: 'read', reg: -1 }, /reg/],
  ])('an instruction no A64 load/store has (DOMAIN A.3.3): %o', (access, message) => {
    expect(() => checkStage2Access(leaf(PAGE_FWB_WB, true), access)).toThrow(message);
  });
  it('the defaults of A.3.3 are accepted: size 8, no pair, reg 0', () => {
    expect(checkStage2Access(leaf(PAGE_FWB_WB, true), { op: 'read', size: 8, pair: false, reg: 0 }).kind).toBe('ok');
  });
});
