import fc from 'fast-check';
import type { AccessOp, S1Attr, Tcf } from '@mteperm/events';
import { decodeDescriptor } from '@mteperm/arm64';
import type { L0Prot } from '../test/two-stage';
import { mapL0, mapL1, resolve, world } from '../test/two-stage';
import type { GuestS2Ap, GuestS2Attr } from './guest-descriptor';

const RUNS = Number(process.env['MTEPERM_PROPS_RUNS'] ?? 200);
const PAGE = 0x1000;
const BLOCK = 0x20_0000;
const TAG_OPS: AccessOp[] = ['ldg', 'stg', 'st2g', 'stgm', 'ldgm', 'dc_gva', 'dc_gzva', 'checked_read', 'checked_write'];
const OPS: AccessOp[] = ['read', 'write', 'exec', ...TAG_OPS];

// Layouts over 4 L2 blocks of 2 MiB; each L1 entry is a 2 MiB block or a 4 KiB page, each L0 region a block or a page.
const l1Entry = fc.record({
  block: fc.integer({ min: 0, max: 3 }),
  page: fc.option(fc.integer({ min: 0, max: 511 }), { nil: undefined }),
  target: fc.integer({ min: 0, max: 3 }),
  attr: fc.constantFrom<GuestS2Attr>('normal', 'normal_notagaccess', 'device', 'invalid'),
  ap: fc.constantFrom<GuestS2Ap>('rw', 'ro', 'none'),
});
const l0Region = fc.record({
  block: fc.integer({ min: 0, max: 3 }),
  page: fc.option(fc.integer({ min: 0, max: 511 }), { nil: undefined }),
  kind: fc.constantFrom('tagged', 'notagaccess', 'device'),
  r: fc.boolean(),
  w: fc.boolean(),
});
const access = fc.record({
  block: fc.integer({ min: 0, max: 3 }),
  offset: fc.integer({ min: 0, max: BLOCK / 16 - 1 }).map((x) => x * 16),
  op: fc.constantFrom(...OPS),
  tcf: fc.constantFrom<Tcf>('sync', 'async', 'asymm', 'none'),
  s1: fc.constantFrom<S1Attr>('tagged', 'untagged'),
});

const L1_BASE = 0x4000_0000; // L1 IPAs of the 4 target blocks start here
const HOST = 0x8_0000_0000;

describe('properties over random two-level layouts (DOMAIN A.2.8, C §3, §5)', () => {
  it('no allocation-tag access touches tag storage on a page either stage marks NoTagAccess or whose L0 leaf has none, and shadow permissions never exceed either stage', () => {
    // Every block mapped at both stages first (so accesses reach L0 often), then random overlays.
    const base = (b: number) => ({ block: fc.constant(b), page: fc.constant(undefined), target: fc.integer({ min: 0, max: 3 }) });
    const l1Base = fc.tuple(...[0, 1, 2, 3].map((b) => fc.record({ ...base(b), attr: fc.constantFrom<GuestS2Attr>('normal', 'normal_notagaccess', 'device'), ap: fc.constantFrom<GuestS2Ap>('rw', 'rw', 'ro') })));
    const l0Base = fc.tuple(...[0, 1, 2, 3].map((b) => fc.record({ block: fc.constant(b), page: fc.constant(undefined), kind: fc.constantFrom('tagged', 'tagged', 'notagaccess', 'device'), r: fc.constant(true), w: fc.boolean() })));
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), l1Base, l0Base, fc.array(l1Entry, { maxLength: 6 }), fc.array(l0Region, { maxLength: 6 }), fc.array(access, { minLength: 1, maxLength: 6 }), (hostFwb, l1Fwb, l1b, l0b, l1o, l0o, accesses) => {
        const l1s = [...l1b, ...l1o];
        const l0s = [...l0b, ...l0o];
        const w = world({ fwb: hostFwb, mtePerm: true }, { fwb: l1Fwb, mtePerm: true });
        for (const e of l1s) {
          const off = e.page === undefined ? 0 : e.page * PAGE;
          mapL1(w, e.block * BLOCK + off, L1_BASE + e.target * BLOCK + off, e.page === undefined ? BLOCK : PAGE, { attr: e.attr, ap: e.ap });
        }
        for (const r of l0s) {
          const off = r.page === undefined ? 0 : r.page * PAGE;
          const prot: L0Prot = { memType: r.kind === 'device' ? 'device_ngnre' : 'normal_wb', noTagAccess: r.kind === 'notagaccess', r: r.r, w: r.w, x: false };
          mapL0(w, L1_BASE + r.block * BLOCK + off, HOST + r.block * BLOCK + off, r.page === undefined ? BLOCK : PAGE, prot);
        }
        for (const a of accesses) {
          const ipa = a.block * BLOCK + a.offset;
          const d = resolve(w, ipa, a.op, a.tcf, a.s1);
          const g = w.l1.walk(ipa, w.l1.createWalkResult());
          if (d.kind === 'complete' && d.tagStorageTouched) {
            const l1 = decodeDescriptor(BigInt(g.hi) * 2n ** 32n + BigInt(g.lo >>> 0), g.level, { fwb: l1Fwb, mtePerm: true });
            const l1Ipa = Number(BigInt(g.hi & 0xffff) * 2n ** 32n + BigInt((g.lo & 0xfffff000) >>> 0)) + (ipa - g.base);
            const h = w.l0.walk(l1Ipa, w.l0.createWalkResult());
            const l0 = decodeDescriptor(BigInt(h.hi) * 2n ** 32n + BigInt(h.lo >>> 0), h.level, { fwb: hostFwb, mtePerm: true });
            expect(l1.kind === 'block' || l1.kind === 'page' ? l1.noTagAccess : true).toBe(false);
            expect(l0.kind === 'block' || l0.kind === 'page' ? l0.tagged : false).toBe(true);
          }
          if (d.kind === 'complete' && TAG_OPS.includes(a.op) && d.noTagAccess) expect(d.tagsIgnored).toBe(true);
        }
        // Every shadow leaf: R/W/X within L1's and L0's, NoTagAccess iff either has it (Normal WB only).
        w.shadow.forEachLeaf((ipa, level, lo, hi) => {
          const g = w.l1.walk(ipa, w.l1.createWalkResult());
          expect(g.found).toBe(true);
          const l1Ipa = (g.hi & 0xffff) * 2 ** 32 + ((g.lo & 0xfffff000) >>> 0) + (ipa - g.base);
          const h = w.l0.walk(l1Ipa, w.l0.createWalkResult());
          expect(h.found).toBe(true);
          const s = (lo >>> 6) & 3;
          expect(s & ~((g.lo >>> 6) & 3)).toBe(0);
          expect(s & ~((h.lo >>> 6) & 3)).toBe(0);
          const exec = (hi & (1 << 22)) === 0;
          if (exec) expect((g.hi & (1 << 22)) === 0 && (h.hi & (1 << 22)) === 0).toBe(true);
          expect(2 ** (12 + 9 * (3 - level))).toBeLessThanOrEqual(Math.min(g.size, h.size));
          const sd = decodeDescriptor(BigInt(hi) * 2n ** 32n + BigInt(lo >>> 0), level, { fwb: hostFwb, mtePerm: true });
          const gd = decodeDescriptor(BigInt(g.hi) * 2n ** 32n + BigInt(g.lo >>> 0), g.level, { fwb: l1Fwb, mtePerm: true });
          const hd = decodeDescriptor(BigInt(h.hi) * 2n ** 32n + BigInt(h.lo >>> 0), h.level, { fwb: hostFwb, mtePerm: true });
          if (sd.kind !== 'block' && sd.kind !== 'page') throw new Error('shadow leaf');
          const either = (gd.kind === 'block' || gd.kind === 'page') && gd.noTagAccess ? true : (hd.kind === 'block' || hd.kind === 'page') && hd.noTagAccess;
          expect(sd.noTagAccess).toBe(either && sd.memType === 'normal_wb');
          expect((hi >>> 23) & 3).toBe(g.level); // KVM_NV_GUEST_MAP_SZ
        });
      }),
      { numRuns: RUNS },
    );
  });
});
