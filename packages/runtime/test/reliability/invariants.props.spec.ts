/**
 * Security invariants over random scenarios (issue 11; DOMAIN A.2.3–A.2.7, B §4.2, §5.1): random
 * hosts, memslots over all seven backings, memslot changes, accesses of all 12 ops with random tcf
 * and s1, policy chains with small tag pools, nested layouts. Each scenario runs through
 * `runScenario` with its log recorded; every event is checked by InvariantChecker, the final
 * stage-2 and shadow stage-2 leaves are checked against their memslots, and the log is rebuilt and
 * must give the recorded state hash (ARCHITECTURE "Events and log").
 *
 * `MTEPERM_PROPS_RUNS` sets the runs per property (`npm run test:props` uses 10 000); the normal
 * `test` target runs 150.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '@mteperm/events';
import { logSink, openLogWriter } from '@mteperm/log';
import { rebuildFromLog } from '../../src/run/rebuild';
import { PRODUCER, runScenario } from '../../src/run/run-scenario';
import type { ContractResult } from '../../src/run/result';
import { InvariantChecker } from './invariant-checker';
import { scenarioDoc, toScenario } from './scenario-arbitrary';

const RUNS = Number(process.env['MTEPERM_PROPS_RUNS'] ?? '') || 150;
const SEED = process.env['MTEPERM_PROPS_SEED'] === undefined ? undefined : Number(process.env['MTEPERM_PROPS_SEED']);

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'mteperm-props-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Totals over every property, printed at the end (the README's Reliability figures). */
const totals = { scenarios: 0, steps: 0, events: 0, leaves: 0, taggedLeaves: 0, completed: 0, tagCompleted: 0, exits: 0, retried: 0, injected: 0, rebuilt: 0 };
afterAll(() => {
  if (process.env['MTEPERM_PROPS_REPORT'] === '1') process.stdout.write(`reliability props: ${JSON.stringify(totals)}\n`);
});

interface Checked {
  readonly result: Omit<ContractResult, 'log'>;
  readonly checker: InvariantChecker;
  readonly violations: string[];
}

/** Runs one scenario with its log recorded, checks every event, the final leaves and the rebuild. */
function runChecked(doc: Record<string, unknown>): Checked {
  const scenario = toScenario(doc);
  const checker = new InvariantChecker();
  const path = join(dir, `r${n++ % 8}.mtelog`);
  const writer = openLogWriter(path, { profile: scenario.kernel, producer: PRODUCER, atomic: false, fsync: false, flushIntervalMs: 0 });
  const toLog = logSink(writer);
  const events: Envelope[] = [];
  const outcome = runScenario(scenario, {
    sink: (bytes, e) => {
      toLog(bytes, e);
      events.push(e);
      checker.apply(e);
    },
  });
  writer.close();
  const violations = [...checker.violations];

  // Final leaves (CONTRACT §3): every stage-2 and shadow stage-2 leaf against the memslots.
  const res = outcome.result;
  const fwb = res.host.s2fwb;
  const taggedNormal = (m: string) => (fwb ? m === '0b0110' || m === '0b0111' : m === '0b1111');
  const slots = liveSlots(events);
  for (const l of [...res.stage2, ...res.shadow_stage2]) {
    const pa = Number(BigInt(l.pa));
    const s = slots.find((x) => pa >= x.host && pa < x.host + x.size);
    if (s === undefined) violations.push(`final leaf ipa ${l.ipa} pa ${l.pa} is not a live memslot's page`);
    else if (checker.kvmHasMte && taggedNormal(l.memattr) && !s.mteAllowed && !(l.size === '0x1000' && s.tagPages.has(pa / 0x1000))) {
      violations.push(`final leaf ipa ${l.ipa} is tagged Normal (${l.memattr}) on ${s.backing} without tag storage`);
    }
    if (l.tagged && (l.notagaccess || !taggedNormal(l.memattr))) violations.push(`final leaf ipa ${l.ipa}: tagged but MemAttr ${l.memattr} / notagaccess ${l.notagaccess}`);
  }

  // Rebuild replay (ARCHITECTURE "Event flow"): the recorded hash, found again from the log alone.
  const rebuilt = rebuildFromLog(path);
  if (rebuilt.damage !== undefined) violations.push(`log damaged: ${rebuilt.damage.message}`);
  if (rebuilt.recordedSha256 !== outcome.stateSha256 || rebuilt.rebuiltSha256 !== outcome.stateSha256 || rebuilt.matches !== true) {
    violations.push(`rebuild ${rebuilt.rebuiltSha256} / recorded ${String(rebuilt.recordedSha256)} / run ${outcome.stateSha256}`);
  }
  if (rebuilt.events !== outcome.events) violations.push(`rebuild folded ${rebuilt.events} events, the run published ${outcome.events}`);

  totals.scenarios++;
  totals.steps += res.steps.length;
  totals.events += outcome.events;
  totals.leaves += checker.counts.leaves;
  totals.taggedLeaves += checker.counts.taggedLeaves;
  totals.completed += checker.counts.completed;
  totals.tagCompleted += checker.counts.tagCompleted;
  totals.rebuilt++;
  for (const s of res.steps) {
    if (s['outcome'] === 'exit') totals.exits++;
    if (s['outcome'] === 'retried') totals.retried++;
    if (s['outcome'] === 'injected') totals.injected++;
  }
  return { result: res, checker, violations };
}

/** Live memslots at the end, with host regions as README "Model decisions" lays them out. */
function liveSlots(events: readonly Envelope[]) {
  const c = new InvariantChecker();
  const tagPages = new Set<number>();
  const slots = new Map<number, { host: number; size: number; mteAllowed: boolean; backing: string; tagPages: Set<number> }>();
  let ram = 0x8_0000_0000;
  let pfn = 0x400_0000_0000;
  for (const e of events) {
    c.apply(e);
    if (e.type === 'TagStorageAllocated') tagPages.add(Number(e.data.pa) / 0x1000);
    if (e.type !== 'MemslotRegistered') continue;
    const d = e.data;
    if (d.change === 'create') {
      const size = Number(d.memory_size);
      const aligned = Math.ceil(size / 0x4000_0000) * 0x4000_0000;
      const host = d.vma.pfnmap ? pfn : ram;
      if (d.vma.pfnmap) pfn += aligned;
      else ram += aligned;
      slots.set(d.slot, { host, size, mteAllowed: d.vma.mte_allowed, backing: d.vma.backing, tagPages });
    } else if (d.change === 'delete') slots.delete(d.slot);
  }
  return [...slots.values()];
}

const params = (extra: fc.Parameters<[Record<string, unknown>]> = {}): fc.Parameters<[Record<string, unknown>]> => ({
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: SEED }),
  ...extra,
});

const explain = (doc: Record<string, unknown>, c: Checked): string => `${c.violations.join('\n')}\nscenario: ${JSON.stringify(doc)}`;

describe('security invariants over random scenarios (issue 11)', () => {
  it('v2 with MTE enabled: no allocation-tag or tag-checked access completes on memory without tag storage; tagged leaves only on tag-capable, sanitised pages (DOMAIN A.2.3, A.2.5–A.2.7)', () => {
    fc.assert(
      fc.property(scenarioDoc({ kernel: 'v2', mteOn: true }), (doc) => {
        const c = runChecked(doc);
        if (c.violations.length > 0) throw new Error(explain(doc, c));
        // The run really had MTE on (the generator asks for both caps before any vCPU).
        expect(c.checker.kvmHasMte).toBe(true);
      }),
      params(),
    );
  });

  it('every profile, any host and caps: no non-tag-capable page is ever mapped tagged Normal, every leaf is its live memslot\'s page, and rebuild matches the recorded hash (DOMAIN A.1, B §4.2, §5.1)', () => {
    fc.assert(
      fc.property(scenarioDoc(), (doc) => {
        const c = runChecked(doc);
        if (c.violations.length > 0) throw new Error(explain(doc, c));
      }),
      params(),
    );
  });

  it('the checker is not vacuous: over the v2 runs, tag accesses completed, tagged leaves were checked and policies acted', () => {
    // Runs after the two properties above (Jest runs a file's tests in order).
    expect(totals.scenarios).toBeGreaterThanOrEqual(2 * RUNS);
    expect(totals.tagCompleted).toBeGreaterThan(0);
    expect(totals.taggedLeaves).toBeGreaterThan(0);
    expect(totals.exits).toBeGreaterThan(0);
    expect(totals.retried + totals.injected).toBeGreaterThan(0);
  });
});

describe('the checker catches what it is meant to catch (it can fail)', () => {
  const base = {
    name: 'chk',
    kernel: 'v2',
    host: { cpus: [{ count: 1, features: ['mte3', 'mte_perm'] }] },
    steps: [
      { create_vm: { ipa_bits: 40 } },
      { enable_cap: 'KVM_CAP_ARM_MTE' },
      { enable_cap: 'KVM_CAP_ARM_MTE_PERM' },
      { set_user_memory_region: { slot: 0, guest_phys_addr: '0x10000000', memory_size: '0x200000', backing: 'file-shared' } },
      { create_vcpu: { id: 0 } },
      { access: { vcpu: 0, gpa: '0x10000040', op: 'stg' } },
    ],
  };

  it('a forged tagged Normal leaf on file-shared memory is a violation', () => {
    const checker = new InvariantChecker();
    const scenario = toScenario(base);
    runScenario(scenario, {
      sink: (_b, e) => {
        checker.apply(e);
        // Forge what a broken mmu would do: the NoTagAccess leaf (FWB off: MemAttr 0b0100) seen as 0b1111.
        if (e.type === 'Stage2Mapped') checker.apply({ ...e, data: { ...e.data, desc: e.data.desc | (0xfn << 2n) } } as Envelope);
      },
    });
    expect(checker.violations.some((v) => v.includes('tagged Normal leaf (MemAttr 0b1111) at 0x10000000 size 0x1000 on file-shared without tag storage'))).toBe(true);
  });

  it('a forged completed STG on file-shared memory is a violation; the real run exits 39/TAGACCESS instead', () => {
    const checker = new InvariantChecker();
    const out = runScenario(toScenario(base), {
      sink: (_b, e) => {
        checker.apply(e);
        if (e.type === 'MemoryFaultExit') checker.apply({ ...e, type: 'AccessCompleted', data: { gpa: 0x10000040n, op: 'stg', pa: 0x8_0000_0040n, tags_ignored: false } } as Envelope);
      },
    });
    expect(out.result.steps[5]).toMatchObject({ outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10000000', size: '0x1000', flags: '0x10' } });
    expect(checker.violations).toEqual([expect.stringContaining('stg (tcf sync) at 0x10000040 completed on file-shared page 0x800000040 without tag storage')]);
  });
});
