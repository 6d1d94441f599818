import { EventBus } from '@mteperm/bus';
import type { AccessOp, Envelope, MemType, S1Attr, Tcf } from '@mteperm/events';
import { SAMPLE_EVENTS } from '@mteperm/events/testing';
import { attachPgtable } from './bus-adapter';
import {
  DESC_AF,
  DESC_TYPE,
  DESC_VALID,
  MEMATTR_SHIFT,
  S2AP_R,
  S2AP_W,
  XN_HI,
  accessEffect,
  checkStage2Leaf,
  decodeMemAttr,
  encodeEsr,
  esrToBigInt,
  memAttrNoTagAccess,
  memTypeOf,
} from '@mteperm/arm64';
import { encodeLeafAttrs, type Stage2Prot } from './prot';
import { Stage2PageTable, type WalkResult } from './stage2-page-table';

// The hot paths keep caches (encoded protections, decoded MemAttr flags, ESR values) and reuse one
// observer and context per adapter; these tests pin them to the uncached definitions.

const HOSTS = [
  { fwb: false, mtePerm: false },
  { fwb: false, mtePerm: true },
  { fwb: true, mtePerm: false },
  { fwb: true, mtePerm: true },
];
const MEM_TYPES: MemType[] = ['normal_wb', 'normal_nc', 'device_ngnre'];
const OPS: AccessOp[] = ['read', 'write', 'exec', 'ldg', 'ldgm', 'stg', 'st2g', 'stgm', 'dc_gva', 'dc_gzva', 'checked_read', 'checked_write'];

function table(host: { fwb: boolean; mtePerm: boolean }): Stage2PageTable {
  const t = Stage2PageTable.create({ ...host, ipaBits: 40 });
  if (!t.ok) throw t.error;
  return t.value;
}

describe('Stage2PageTable.encodeProt cache', () => {
  it('answers as encodeLeafAttrs for every protection, first and later calls alike (refusals included)', () => {
    for (const host of HOSTS) {
      const t = table(host);
      for (let round = 0; round < 2; round++) {
        for (const memType of MEM_TYPES) {
          for (let bits = 0; bits < 16; bits++) {
            for (const sw of [undefined, 0, 1, 15, 16, -1, 0.5]) {
              const prot: Stage2Prot = { memType, noTagAccess: (bits & 8) !== 0, r: (bits & 4) !== 0, w: (bits & 2) !== 0, x: (bits & 1) !== 0, ...(sw === undefined ? {} : { sw }) };
              const got = t.encodeProt(prot);
              const want = encodeLeafAttrs(prot, host);
              if (want.ok) expect(got).toEqual(want);
              else expect(got.ok ? got : { code: got.error.code, message: got.error.message }).toEqual({ code: want.error.code, message: want.error.message });
            }
          }
        }
      }
    }
  });

  it('mapProt maps and refuses exactly as map', () => {
    const prot: Stage2Prot = { memType: 'normal_wb', noTagAccess: false, r: true, w: true, x: false };
    const cases: Array<[number, number, number, Stage2Prot]> = [
      [0x4000_0000, 0x8_0000_0000, 0x4000_0000 + 0x20_1000, prot],
      [0x4020_1000, 0x9_0000_0000, 0x1000, { ...prot, noTagAccess: true }],
      [0x1001, 0x2000, 0x1000, prot],
      [2 ** 40 - 0x1000, 0x2000, 0x2000, prot],
      [0x1000, 2 ** 48, 0x1000, prot],
      [0x1000, 0x2000, 0x1000, { ...prot, x: true, memType: 'device_ngnre' }],
      [0x1000, 0x2000, 0x1000, { ...prot, sw: 16 }],
    ];
    const a = table({ fwb: true, mtePerm: true });
    const b = table({ fwb: true, mtePerm: true });
    for (const [ipa, pa, size, p] of cases) {
      const r = a.map(ipa, pa, size, p);
      const e = b.mapProt(ipa, pa, size, p);
      expect(e === undefined ? undefined : { code: e.code, message: e.message }).toEqual(r.ok ? undefined : { code: r.error.code, message: r.error.message });
    }
    expect(b.leafDescriptors()).toEqual(a.leafDescriptors());
  });
});

describe('checkStage2Leaf caches, on walk results', () => {
  it('matches the definitions (decodeMemAttr, encodeEsr) for every MemAttr, host, op, TCF and stage 1', () => {
    for (const host of HOSTS) {
      for (let bits = 0; bits < 16; bits++) {
        for (const xn of [false, true]) {
          const lo = (DESC_VALID | DESC_TYPE | DESC_AF | S2AP_R | S2AP_W | (bits << MEMATTR_SHIFT) | 0x8000_0000) >>> 0;
          const walk: WalkResult = { found: true, level: 3, lo, hi: xn ? XN_HI : 0, base: 0x1000, size: 0x1000, ...host };
          const attr = decodeMemAttr(bits, host);
          const noTagAccess = memAttrNoTagAccess(attr);
          const tagged = !noTagAccess && memTypeOf(attr) === 'normal_wb';
          for (const op of OPS) {
            for (const tcf of ['sync', 'none'] as Tcf[]) {
              for (const s1 of ['tagged', 'untagged'] as S1Attr[]) {
                const o = checkStage2Leaf(walk, { op, tcf, s1 });
                if (o.kind === 'ok') {
                  expect({ tagged: o.tagged, noTagAccess: o.noTagAccess }).toEqual({ tagged, noTagAccess });
                } else {
                  const cls = accessEffect(op).cls;
                  const instruction = cls === 'exec';
                  // A.3.3: single-register loads/stores (data and checked) carry the default syndrome (8 bytes, X0).
                  const syndrome = cls === 'data' || cls === 'tag_checked' ? { size: 8, reg: 0 } : undefined;
                  expect(o.esr).toBe(esrToBigInt(encodeEsr({ kind: o.fault, level: o.level, instruction, wnr: o.wnr, tagAccess: o.tagAccess, syndrome })));
                }
              }
            }
          }
        }
      }
    }
  });

  it('gives each fault its own ESR: translation faults at every level, read and write', () => {
    const t = table({ fwb: true, mtePerm: true });
    const w = t.createWalkResult();
    const seen = new Set<bigint>();
    for (const level of [0, 1, 2, 3]) {
      for (const op of ['read', 'write', 'exec'] as AccessOp[]) {
        const o = checkStage2Leaf({ ...w, found: false, level }, { op });
        if (o.kind === 'ok') throw new Error('expected a fault');
        const syndrome = op === 'exec' ? undefined : { size: 8, reg: 0 }; // A.3.3
        expect(o.esr).toBe(esrToBigInt(encodeEsr({ kind: 'translation', level, instruction: op === 'exec', wnr: op === 'write', tagAccess: false, syndrome })));
        seen.add(o.esr);
      }
    }
    expect(seen.size).toBe(12);
  });
});

describe('pgtable adapter: one observer and context for every request', () => {
  it('publishes each request\'s events with that request\'s VM, vCPU and causation, also for requests queued by a handler', () => {
    const bus = new EventBus();
    const seen: Envelope[] = [];
    bus.all().subscribe((e) => seen.push(e));
    attachPgtable(bus);
    bus.publish({ type: 'HostCpusProbed', data: { ...SAMPLE_EVENTS.HostCpusProbed.data, s2fwb: true, mte_perm: true } });
    bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 1 });
    bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 2 });
    const map = (ipa: bigint, size: bigint) =>
      ({ type: 'Stage2MapRequested', data: { ipa, pa: 0x8_0000_0000n + ipa, size, mem_type: 'normal_wb', no_tag_access: false, r: true, w: true, x: false, sw: 0 } }) as const;
    // While vm 1's request is handled, another handler queues one for vm 2 and an access on vm 1.
    let queued = false;
    bus.subscribe('test', 'Stage2MapRequested', (e) => {
      if (queued || e.vm !== 1) return;
      queued = true;
      bus.publish(map(0x2000n, 0x2000n), { vm: 2, vcpu: 5, causation: e.seq });
      bus.publish({ type: 'AccessRequested', data: { step: 1, gpa: 0x1000n, op: 'read', level: 1, tcf: 'sync', s1: 'tagged' } }, { vm: 1, vcpu: 3 });
    });
    const r1 = bus.publish(map(0x1000n, 0x2000n), { vm: 1, vcpu: 7 });
    const byType = (t: string) => seen.filter((e) => e.type === t).map((e) => ({ vm: e.vm, vcpu: e.vcpu, causation: e.causation }));
    const r2 = seen.find((e) => e.type === 'Stage2MapRequested' && e.vm === 2)!;
    const acc = seen.find((e) => e.type === 'AccessRequested')!;
    expect(byType('Stage2Mapped')).toEqual([
      { vm: 1, vcpu: 7, causation: r1.seq },
      { vm: 1, vcpu: 7, causation: r1.seq },
      { vm: 2, vcpu: 5, causation: r2.seq },
      { vm: 2, vcpu: 5, causation: r2.seq },
    ]);
    // The access ran after vm 1's map, before vm 2's: its completion is on vm 1 / vCPU 3.
    expect(byType('AccessCompleted')).toEqual([{ vm: 1, vcpu: 3, causation: acc.seq }]);
    expect(seen.filter((e) => e.type === 'Stage2Mapped').map((e) => e.data)).toEqual([
      { ipa: 0x1000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_17dbn },
      { ipa: 0x2000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_27dbn },
      { ipa: 0x2000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_27dbn },
      { ipa: 0x3000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_37dbn },
    ]);
  });
});
