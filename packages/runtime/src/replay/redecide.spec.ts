import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { injectSea } from '@mteperm/policy-inject-sea';
import { recordScenario } from '../run/run-scenario';
import { parseScenario } from '../scenario/load';
import { redecideLog } from './redecide';
import { scenarioYaml } from '../../test/fixtures/scenario-builder';

/**
 * A VM with RAM, a write-back VFIO BAR and a virtiofs DAX window (DOMAIN B §1.2), tag accesses to
 * both non-RAM regions (two to the same BAR page), then the ioctl steps whose results depend on
 * the model (copy-tags, migration), all recorded under exit-to-vmm with a 2-page pool.
 */
const SCENARIO = scenarioYaml('cover-letter-vm', {
  name: 'redecide',
  count: 4,
  after: { index: 0, steps: [{ check_extension: 'KVM_CAP_ARM_MTE_PERM' }] },
  before: { op: 'create_vcpu', steps: '  - set_user_memory_region: { slot: 2, guest_phys_addr: "0xc0000000", memory_size: "4MiB", backing: file-shared }' },
  steps: `
  - access: { vcpu: 0, gpa: "0x80001000", op: write }
  - access: { vcpu: 0, gpa: "0x10000040", op: stg }
  - access: { vcpu: 0, gpa: "0x10000080", op: ldg }
  - access: { vcpu: 0, gpa: "0xc0000000", op: dc_gzva }
  - access: { vcpu: 0, gpa: "0xc0001000", op: checked_read }
  - mte_copy_tags: { gpa: "0x80001000", length: "4KiB" }
  - migrate: { to: { cpus: [{ count: 2, features: [mte3, s2fwb] }] } }
`,
  policy: ['exit-to-vmm'],
  policy_options: { tag_pool_pages: 2 },
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mteperm-redecide-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function record(name: string, policyNames?: string[]): string {
  const log = join(dir, `${name}.mtelog`);
  recordScenario(parseScenario(SCENARIO, { file: 't.yaml' }), log, policyNames === undefined ? {} : { policyNames });
  return log;
}

describe('redecideLog (replay re-decide, CONTRACT §2 `replay LOG --policy`)', () => {
  it('with the recorded policies nothing changes, down to the final state hash', () => {
    const r = redecideLog(record('same'));
    expect(r.faults.every((f) => !f.changed)).toBe(true);
    expect(r.totals.recorded).toEqual(r.totals.redecided);
    expect(r.totals.recorded).toEqual({ faults: 4, exits: 4, retried: 0, injected: 0, tag_pages_used: 0, plugin_failures: 0 });
    expect(r.state_sha256.redecided).toBe(r.state_sha256.recorded);
    expect(r.state_sha256.recorded).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tag-alloc-retry over an exit-to-vmm log: per fault, what was done and what would be done (DOMAIN A.2.7)', () => {
    const r = redecideLog(record('exit'), { policyNames: ['tag-alloc-retry'] });
    expect({ scenario: r.scenario, kernel: r.kernel, recorded: r.recorded_policies, now: r.policies, pool: r.tag_pool_pages, damage: r.damage }).toEqual({
      scenario: 'redecide',
      kernel: 'v2',
      recorded: ['exit-to-vmm'],
      now: ['tag-alloc-retry'],
      pool: 2,
      damage: null,
    });
    const exit = { plugin: 'exit-to-vmm', decision: 'exit-to-vmm', outcome: 'exit', plugin_failures: 0 };
    expect(r.faults.map((f) => [f.step, f.gpa, f.op, f.ipa, f.recorded, f.redecided, f.changed])).toEqual([
      [9, '0x10000040', 'stg', '0x10000040', exit, { plugin: 'tag-alloc-retry', decision: 'allocate-tags-and-retry', outcome: 'retried', plugin_failures: 0 }, true],
      // The page got tag storage at step 9: the LDG no longer faults at all.
      [10, '0x10000080', 'ldg', '0x10000080', exit, { plugin: null, decision: null, outcome: 'ok', plugin_failures: 0 }, true],
      [11, '0xc0000000', 'dc_gzva', '0xc0000000', exit, { plugin: 'tag-alloc-retry', decision: 'allocate-tags-and-retry', outcome: 'retried', plugin_failures: 0 }, true],
      // The 2-page pool is empty: tag-alloc-retry passes, the fallback exits (A.2.5, A.2.6).
      [12, '0xc0001000', 'checked_read', '0xc0001000', exit, exit, false],
    ]);
    // ESR_EL2 of the STG's permission fault: EC 0x24, IL, WnR (tag write), ISS2.TagAccess (bit 41).
    expect(BigInt(r.faults[0]!.esr) & ((1n << 41n) | 0x40n | (0x3fn << 26n))).toBe((1n << 41n) | 0x40n | (0x24n << 26n));
    expect(r.totals).toEqual({
      recorded: { faults: 4, exits: 4, retried: 0, injected: 0, tag_pages_used: 0, plugin_failures: 0 },
      redecided: { faults: 3, exits: 1, retried: 2, injected: 0, tag_pages_used: 2, plugin_failures: 0 },
      exits_avoided: 3,
      changed: 3,
    });
    expect(r.state_sha256.redecided).not.toBe(r.state_sha256.recorded);
  });

  it.each([[['tag-alloc-retry']], [['inject-sea']], [['device-sea', 'tag-alloc-retry']], [['tag-alloc-retry', 'inject-sea']]])(
    're-deciding with %j gives the same totals and final state as a fresh run with it',
    (policies) => {
      const redecided = redecideLog(record(`base-${policies.join('+')}`), { policyNames: policies });
      const fresh = redecideLog(record(`fresh-${policies.join('+')}`, policies));
      expect(redecided.totals.redecided).toEqual(fresh.totals.recorded);
      expect(redecided.state_sha256.redecided).toBe(fresh.state_sha256.recorded);
      // Fault by fault too: what the new chain decided is what the fresh run recorded.
      const taken = (faults: typeof redecided.faults, side: 'recorded' | 'redecided') => faults.filter((f) => f[side].decision !== null).map((f) => [f.step, f[side]]);
      expect(taken(redecided.faults, 'redecided')).toEqual(taken(fresh.faults, 'recorded'));
    },
  );

  it('inject-sea as loaded plugins: every fault injected, no exits left', () => {
    const r = redecideLog(record('sea'), { policies: [injectSea], policyNames: ['inject-sea'] });
    expect(r.faults.map((f) => f.redecided.outcome)).toEqual(['injected', 'injected', 'injected', 'injected']);
    expect(r.totals.redecided).toEqual({ faults: 4, exits: 0, retried: 0, injected: 4, tag_pages_used: 0, plugin_failures: 0 });
    expect(r.totals.exits_avoided).toBe(4);
  });

  it('is deterministic: the same log and plugins give byte-identical JSON', () => {
    const log = record('det');
    const a = JSON.stringify(redecideLog(log, { policyNames: ['tag-alloc-retry', 'inject-sea'] }));
    const b = JSON.stringify(redecideLog(log, { policyNames: ['tag-alloc-retry', 'inject-sea'] }));
    expect(a).toBe(b);
  });

  it('replays a nested run (guest_stage2 writes, L2 accesses) to the recorded state with the same chain (DOMAIN A.2.8)', () => {
    const yaml = readFileSync(resolve(__dirname, '../../test/scenarios/nested-notagaccess.yaml'), 'utf8');
    const log = join(dir, 'nested.mtelog');
    recordScenario(parseScenario(yaml, { file: 'nested-notagaccess.yaml' }), log);
    const same = redecideLog(log);
    expect(same.state_sha256.redecided).toBe(same.state_sha256.recorded);
    expect(same.totals.redecided).toEqual(same.totals.recorded);
    expect(same.faults.filter((f) => f.changed)).toEqual([]);
  });
});
