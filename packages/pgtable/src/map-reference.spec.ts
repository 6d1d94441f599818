import fc from 'fast-check';
import type { MemType } from '@mteperm/events';
import { MapReferenceStage2 } from './map-reference';
import type { Stage2Prot } from './prot';
import { Stage2PageTable } from './stage2-page-table';

const NUM_RUNS = Number(process.env.MTEPERM_PROPS_RUNS ?? 200);
const MiB = 0x10_0000;
const GiB = 0x4000_0000;

// IPAs cluster in a few 1 GiB regions so operations overlap; offsets are page multiples within 6 MiB
// so 2 MiB blocks and partial overlaps are common. Sizes ≥ 1 GiB only at 1 GiB-aligned offsets keep
// the Map reference small.
const region = fc.constantFrom(0, GiB, 3 * GiB);
const offset = fc.integer({ min: 0, max: 6 * 256 - 1 }).map((p) => p * 0x1000);
const smallSize = fc.oneof(
  fc.integer({ min: 1, max: 8 }).map((p) => p * 0x1000),
  fc.constantFrom(2 * MiB, 2 * MiB + 0x1000, 4 * MiB, 4 * MiB - 0x3000),
);
const prot: fc.Arbitrary<Stage2Prot> = fc.record({
  memType: fc.constantFrom<MemType>('normal_wb', 'normal_wb', 'normal_nc', 'device_ngnre'),
  noTagAccess: fc.boolean(),
  r: fc.boolean(),
  w: fc.boolean(),
  x: fc.boolean(),
  sw: fc.constantFrom(0, 0, 1, 0b1111),
});

type Op =
  | { kind: 'map'; ipa: number; pa: number; size: number; prot: Stage2Prot }
  | { kind: 'unmap'; ipa: number; size: number }
  | { kind: 'relax'; ipa: number; r: boolean; w: boolean; x: boolean; sw: number }
  | { kind: 'split'; ipa: number }
  | { kind: 'walk'; ipa: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('map' as const), ipa: fc.tuple(region, offset).map(([r, o]) => r + o), pa: fc.tuple(fc.constantFrom(0x80 * GiB, 0x81 * GiB), offset, fc.boolean()).map(([b, o, skew]) => b + o + (skew ? 0x1000 : 0)), size: smallSize, prot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('map' as const), ipa: region, pa: fc.constantFrom(0x80 * GiB, 0x100 * GiB), size: fc.constantFrom(GiB, GiB + 2 * MiB), prot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unmap' as const), ipa: fc.tuple(region, offset).map(([r, o]) => r + o), size: fc.oneof(smallSize, fc.constant(GiB)) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('relax' as const), ipa: fc.tuple(region, offset).map(([r, o]) => r + o), r: fc.boolean(), w: fc.boolean(), x: fc.boolean(), sw: fc.constantFrom(0, 0, 0, 2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), ipa: fc.tuple(region, offset).map(([r, o]) => r + o) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('walk' as const), ipa: fc.tuple(region, fc.integer({ min: 0, max: 8 * MiB - 1 })).map(([r, o]) => r + o) }) },
);

const outcome = (r: { ok: boolean; error?: { code: string; ret: number } }) => (r.ok ? 'ok' : `${r.error!.code} ${r.error!.ret}`);

describe('Stage2PageTable agrees with the JS Map reference (property)', () => {
  it.each([
    [false, 40],
    [true, 40],
    [true, 36],
  ])('random map/unmap/relax/split/walk sequences, FWB=%p, %i-bit IPA', (fwb, ipaBits) => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), fc.boolean(), (ops, mtePerm) => {
        const created = Stage2PageTable.create({ fwb, mtePerm, ipaBits, initialTables: 2 });
        if (!created.ok) throw created.error;
        const table = created.value;
        const ref = new MapReferenceStage2({ fwb, mtePerm }, ipaBits);
        const w = table.createWalkResult();
        for (const o of ops) {
          switch (o.kind) {
            case 'map':
              expect(outcome(table.map(o.ipa, o.pa, o.size, o.prot) as never)).toBe(outcome(ref.map(o.ipa, o.pa, o.size, o.prot) as never));
              break;
            case 'unmap':
              expect(outcome(table.unmap(o.ipa, o.size) as never)).toBe(outcome(ref.unmap(o.ipa, o.size) as never));
              break;
            case 'relax':
              expect(outcome(table.relax(o.ipa, o) as never)).toBe(outcome(ref.relax(o.ipa, o) as never));
              break;
            case 'split':
              expect(outcome(table.split(o.ipa) as never)).toBe(outcome(ref.split(o.ipa) as never));
              break;
            case 'walk': {
              table.walk(o.ipa, w);
              const r = ref.walk(o.ipa);
              expect({ found: w.found, level: w.level }).toEqual({ found: r.found, level: r.level });
              if (r.found) expect([w.base, (BigInt(w.hi) << 32n) | BigInt(w.lo)]).toEqual([r.base, r.desc]);
              break;
            }
          }
        }
        expect(table.leafDescriptors()).toEqual(ref.leaves());
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
