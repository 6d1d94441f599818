/**
 * DOMAIN A.3.3 (instruction syndrome), A.3.5 (DC GZVA / DC GVA to Device memory), A.3.7 (ATA / TCO)
 * and A.3.8 (async / asymm need the host feature), against real descriptors and hand-built ESR_EL2.
 */
import { checkStage2Access, type Stage2AccessQuery, type Stage2Leaf } from './access-check';
import { decodeEsr } from './esr';
import type { AccessOp } from './vocabulary';

const PAGE_FWB_NTA = 0x0040_0008_0000_07fbn; // MemAttr 0b1110, FWB: NoTagAccess (A.2.3)
const PAGE_DEVICE = 0x0040_0008_0000_07c7n; // MemAttr 0b0001: Device-nGnRE, S2AP RW, AF
const PAGE_FWB_WB = 0x0040_0008_0000_07dbn; // MemAttr 0b0110, FWB: Normal WB
const page = (desc: bigint | null, extra: Partial<Stage2Leaf> = {}): Stage2Leaf => ({ desc, level: 3, fwb: true, mtePerm: true, ...extra });
const esrOf = (l: Stage2Leaf, a: Stage2AccessQuery): bigint | undefined => {
  const r = checkStage2Access(l, a);
  return r.kind === 'fault' ? r.esr : undefined;
};

describe('A.3.3 instruction syndrome: every op at every size, Xt = X5, level-3 translation fault', () => {
  // ESR_EL2 by hand: EC 0x24 | IL = 0x9200_0000, DFSC 0b000111; ISV 1 << 24, SAS [23:22] = log2(size),
  // SRT [20:16] = 5 → 0x05_0000, SF 1 << 15 for size 8 only, WnR 0x40. Tag instructions: ISV = 0.
  const rows: [AccessOp, number, bigint][] = [
    ['read', 1, 0x9305_0007n],
    ['read', 2, 0x9345_0007n],
    ['read', 4, 0x9385_0007n],
    ['read', 8, 0x93c5_8007n],
    ['write', 1, 0x9305_0047n],
    ['write', 2, 0x9345_0047n],
    ['write', 4, 0x9385_0047n],
    ['write', 8, 0x93c5_8047n],
    ['checked_read', 1, 0x9305_0007n],
    ['checked_read', 2, 0x9345_0007n],
    ['checked_read', 4, 0x9385_0007n],
    ['checked_read', 8, 0x93c5_8007n],
    ['checked_write', 1, 0x9305_0047n],
    ['checked_write', 2, 0x9345_0047n],
    ['checked_write', 4, 0x9385_0047n],
    ['checked_write', 8, 0x93c5_8047n],
  ];
  for (const op of ['ldg', 'ldgm'] as const) for (const size of [1, 2, 4, 8]) rows.push([op, size, 0x9200_0007n]);
  for (const op of ['stg', 'st2g', 'stgm', 'dc_gva', 'dc_gzva'] as const) for (const size of [1, 2, 4, 8]) rows.push([op, size, 0x9200_0047n]);
  // An instruction abort has no ISV (EC 0x20, ISS[24:14] RES0).
  for (const size of [1, 2, 4, 8]) rows.push(['exec', size, 0x8200_0007n]);

  it.each(rows)('%s, size %i → ESR_EL2 %s', (op, size, esr) => {
    expect(esrOf(page(null), { op, size, reg: 5 })).toBe(esr);
  });

  it('decodes back: SAS, SSE = 0, SRT, SF, AR = 0 (D24.2.46)', () => {
    expect(decodeEsr(0x9385_0047n)).toMatchObject({ isv: true, size: 4, sse: false, srt: 5, sf: false, ar: false, wnr: true });
    expect(decodeEsr(0x93c5_8007n)).toMatchObject({ isv: true, size: 8, srt: 5, sf: true });
  });

  it.each<[AccessOp, number, bigint]>([
    ['read', 4, 0x9200_0007n],
    ['read', 8, 0x9200_0007n],
    ['write', 4, 0x9200_0047n],
    ['write', 8, 0x9200_0047n],
    ['checked_write', 8, 0x9200_0047n],
  ])('a pair (LDP/STP) %s of size %i reports ISV = 0: %s', (op, size, esr) => {
    expect(esrOf(page(null), { op, size, pair: true, reg: 7 })).toBe(esr);
  });

  it('Xt = X30 is SRT 0b11110; the NoTagAccess fault of a 32-bit checked load carries it with TagAccess', () => {
    // 0x0000_0200_9200_000f (C §3.3) | ISV | SAS 2 << 22 | 30 << 16 = 0x0000_0200_939e_000f.
    expect(esrOf(page(PAGE_FWB_NTA), { op: 'checked_read', size: 4, reg: 30 })).toBe(0x0000_0200_939e_000fn);
  });
});

describe('A.3.5 DC GZVA / DC GVA to a stage-2 Device mapping: Alignment fault (DFSC 0b100001)', () => {
  it.each(['dc_gzva', 'dc_gva'] as const)('%s → alignment, ESR_EL2 0x92000061 (EC 0x24, IL, WnR, DFSC 0b100001)', (op) => {
    expect(checkStage2Access(page(PAGE_DEVICE), { op })).toEqual({
      kind: 'fault',
      fault: 'alignment',
      level: 3,
      esr: 0x9200_0061n,
      fsc: 0b100001,
      instruction: false,
      wnr: true,
      tagAccess: false,
    });
  });
  it.each(['ldg', 'ldgm', 'stg', 'st2g', 'stgm', 'checked_read', 'checked_write', 'read', 'write'] as const)('%s to Device stays ok, untagged', (op) => {
    expect(checkStage2Access(page(PAGE_DEVICE), { op })).toMatchObject({ kind: 'ok', tagged: false, tagStorageTouched: false });
  });
  it('DC GZVA to Normal WB memory completes and writes tags', () => {
    expect(checkStage2Access(page(PAGE_FWB_WB), { op: 'dc_gzva' })).toMatchObject({ kind: 'ok', tagged: true, tagStorageTouched: true });
  });
});

describe('A.3.7 guest context on a NoTagAccess page: every ata × tco combination', () => {
  // [op, ata, tco, outcome]: ATA = 0 turns off tag accesses and tag checks; TCO only tag checks.
  const rows: [AccessOp, boolean, boolean, 'ok' | 'fault'][] = [];
  for (const op of ['ldg', 'stg', 'dc_gzva'] as const) {
    rows.push([op, true, false, 'fault'], [op, true, true, 'fault'], [op, false, false, 'ok'], [op, false, true, 'ok']);
  }
  for (const op of ['checked_read', 'checked_write'] as const) {
    rows.push([op, true, false, 'fault'], [op, true, true, 'ok'], [op, false, false, 'ok'], [op, false, true, 'ok']);
  }
  it.each(rows)('%s with ata %s, tco %s → %s', (op, ata, tco, kind) => {
    expect(checkStage2Access(page(PAGE_FWB_NTA), { op, ata, tco }).kind).toBe(kind);
  });
});

describe('A.3.8 async / asymm are Ignore without FEAT_MTE_ASYNC / FEAT_MTE_ASYM_FAULT', () => {
  it.each<[string, Partial<Stage2Leaf>, Stage2AccessQuery, 'ok' | 'fault']>([
    ['async on a host with FEAT_MTE_ASYNC', { mteAsync: true }, { op: 'checked_read', tcf: 'async' }, 'fault'],
    ['async on a host without it', { mteAsync: false }, { op: 'checked_read', tcf: 'async' }, 'ok'],
    ['asymm on a host without FEAT_MTE_ASYM_FAULT', { mteAsync: true, mteAsymm: false }, { op: 'checked_write', tcf: 'asymm' }, 'ok'],
    ['asymm on an MTE3 host', { mteAsync: true, mteAsymm: true }, { op: 'checked_write', tcf: 'asymm' }, 'fault'],
    ['sync is unaffected by the lack of async', { mteAsync: false, mteAsymm: false }, { op: 'checked_read', tcf: 'sync' }, 'fault'],
    ['an explicit tag access is not a tag check', { mteAsync: false }, { op: 'stg', tcf: 'async' }, 'fault'],
  ])('%s → %s', (_name, host, access, kind) => {
    expect(checkStage2Access(page(PAGE_FWB_NTA, host), access).kind).toBe(kind);
  });
});
