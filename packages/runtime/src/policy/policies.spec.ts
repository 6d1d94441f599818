import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Envelope, EventData, MteEventType } from '@mteperm/events';
import { runScenario } from '../run/run-scenario';
import type { RunOptions } from '../run/run-scenario';
import { scenarioYaml } from '../../test/fixtures/scenario-builder';
import { parseScenario } from '../scenario/load';
import { PolicyLoadError } from './errors';

const FIXTURES = resolve(__dirname, '../../test/fixtures/policies');

/**
 * The cover letter's VM (DOMAIN B §1.1): RAM plus a write-back cacheable VFIO BAR, MTE and
 * MTE_PERM on, so the BAR is mapped NoTagAccess (A.2.3) and tag accesses to it fault (A.2.5).
 */
function scenario(policy: string, accesses: string, options: { pool?: number; features?: string; sandbox?: boolean } = {}): string {
  // fixture cover-letter-vm, with a virtiofs DAX window (file-shared) as slot 2 before the vCPU
  const text = scenarioYaml('cover-letter-vm', {
    name: 'policies',
    ...(options.features === undefined ? {} : { features: options.features.replace(/[[\]\s]/g, '').split(',') }),
    before: { op: 'create_vcpu', steps: '  - set_user_memory_region: { slot: 2, guest_phys_addr: "0xc0000000", memory_size: "4MiB", backing: file-shared }' },
    steps: accesses,
    ...(options.pool === undefined ? {} : { policy_options: { tag_pool_pages: options.pool, ...(options.sandbox === true ? { sandbox: true } : {}) } }),
  });
  return policy === '' ? text : `${text}policy: ${policy}\n`;
}
const access = (gpa: string, op: string) => `  - access: { vcpu: 0, gpa: "${gpa}", op: ${op} }`;

function run(yaml: string, options: RunOptions = {}) {
  const events: Envelope[] = [];
  const outcome = runScenario(parseScenario(yaml, { file: 't.yaml' }), { ...options, sink: (_b, e) => events.push(e) });
  const of = <T extends MteEventType>(type: T): EventData<T>[] => events.filter((e) => e.type === type).map((e) => e.data as EventData<T>);
  return { result: outcome.result, outcome, events, of };
}

const EXIT_BAR_PAGE = (gpa: string) => ({ outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa, size: '0x1000', flags: '0x10' } });

describe('exit-to-vmm, the default (DOMAIN A.2.5, A.2.7)', () => {
  it('a scenario naming no policy records exit-to-vmm and the STG exits 39 / TAGACCESS / -EFAULT', () => {
    const r = run(scenario('', access('0x10000040', 'stg')));
    expect(r.of('RunStarted')[0]).toMatchObject({ policies: ['exit-to-vmm'], tag_pool_pages: 64n });
    expect(r.result.steps[7]).toMatchObject(EXIT_BAR_PAGE('0x10000000'));
    expect(r.of('PolicyDecided')).toEqual([{ ipa: 0x1000_0040n, plugin: 'exit-to-vmm', decision: 'exit-to-vmm', fault_seq: expect.any(BigInt) }]);
  });
});

describe('tag-alloc-retry (DOMAIN A.2.7)', () => {
  const accesses = [access('0x10000040', 'stg'), access('0x10001000', 'st2g'), access('0x10000080', 'ldg')].join('\n');

  it('allocates a pool page, remaps the page tagged Normal WB (FWB MemAttr 0b0110) and retries: outcome retried', () => {
    const r = run(scenario('[tag-alloc-retry]', accesses, { pool: 1 }));
    expect(r.result.steps[7]).toEqual({ index: 7, op: 'access', vcpu: 0, gpa: '0x10000040', access: 'stg', outcome: 'retried', esr: '0x92000045' }); // esr: the first touch's translation fault (A.3.3)
    expect(r.of('TagStorageAllocated')).toEqual([{ ipa: 0x1000_0000n, pa: 0x400_0000_0000n, pages: 1n, pool_remaining: 0n }]);
    // The tags of the new tag storage are cleared before the guest can see them.
    expect(r.of('Stage2MapRequested')).toContainEqual(expect.objectContaining({ pa: 0x400_0000_0000n, size: 0x1000n, sanitise_tags: true }));
    // Page descriptor: valid|page 0b11, MemAttr 0b0110 at [5:2], S2AP RW, SH IS, AF, XN (bit 54).
    const [page, next] = r.result.stage2.filter((l) => l.ipa === '0x10000000' || l.ipa === '0x10001000');
    expect(page).toEqual({ ipa: '0x10000000', level: 3, size: '0x1000', pa: '0x40000000000', desc: '0x400400000007db', memattr: '0b0110', notagaccess: false, tagged: true });
    // The rest of the split block keeps NoTagAccess (A.2.4).
    expect(next).toMatchObject({ ipa: '0x10001000', level: 3, memattr: '0b1110', notagaccess: true, tagged: false });
  });

  it('with the pool empty it passes, and the exit-to-vmm fallback gives the A.2.5 exit', () => {
    const r = run(scenario('[tag-alloc-retry]', accesses, { pool: 1 }));
    expect(r.result.steps[8]).toMatchObject({ access: 'st2g', ...EXIT_BAR_PAGE('0x10001000') });
    const fault = r.of('PolicyDecided').filter((d) => d.ipa === 0x1000_1000n);
    expect(fault.map((d) => `${d.plugin}: ${d.decision}`)).toEqual(['tag-alloc-retry: pass', 'exit-to-vmm: exit-to-vmm']);
  });

  it('a later tag access to the page that got tag storage no longer faults (outcome ok)', () => {
    const r = run(scenario('[tag-alloc-retry]', accesses, { pool: 1 }));
    expect(r.result.steps[9]).toMatchObject({ access: 'ldg', outcome: 'ok' });
    expect(r.of('Stage2FaultTaken').filter((f) => f.tag_access)).toHaveLength(2);
  });

  it('without FWB the retried page is Normal WB 0b1111 and its neighbours NoTagAccess 0b0100 (DOMAIN A.2.3)', () => {
    const r = run(scenario('[tag-alloc-retry]', accesses, { pool: 1, features: '[mte3, mte_perm]' }));
    expect(r.result.stage2.filter((l) => l.ipa === '0x10000000' || l.ipa === '0x10001000').map((l) => [l.ipa, l.memattr, l.tagged])).toEqual([
      ['0x10000000', '0b1111', true],
      ['0x10001000', '0b0100', false],
    ]);
  });

  it('the pool size comes from policy_options.tag_pool_pages (default 64)', () => {
    const pages = Array.from({ length: 3 }, (_, i) => access(`0xc000${i}000`, 'dc_gzva')).join('\n');
    expect(run(scenario('[tag-alloc-retry]', pages, { pool: 2 })).result.steps.slice(7).map((s) => s['outcome'])).toEqual(['retried', 'retried', 'exit']);
    const r = run(scenario('[tag-alloc-retry]', pages));
    expect(r.result.steps.slice(7).map((s) => s['outcome'])).toEqual(['retried', 'retried', 'retried']);
    expect(r.of('TagStorageAllocated').map((t) => t.pool_remaining)).toEqual([63n, 62n, 61n]);
  });

  it('test/scenarios/migrate-tag-alloc-retry.yaml meets its own expectations', () => {
    const yaml = readFileSync(resolve(__dirname, '../../test/scenarios/migrate-tag-alloc-retry.yaml'), 'utf8');
    const r = run(yaml);
    expect(r.result.steps.slice(6, 9).map((s) => s['outcome'])).toEqual(['retried', 'retried', 'exit']);
    expect(r.result.steps[8]).toMatchObject(EXIT_BAR_PAGE('0x80002000'));
  });
});

describe('inject-sea (DOMAIN A.2.7)', () => {
  it('injects a synchronous external abort: outcome injected, ESR_EL1 EC 0x25 | IL | DFSC 0x10, no WnR (DOMAIN A.3.9)', () => {
    const r = run(scenario('[inject-sea]', [access('0x10000040', 'stg'), access('0x10000080', 'ldg')].join('\n')));
    expect(r.result.steps[7]).toEqual({ index: 7, op: 'access', vcpu: 0, gpa: '0x10000040', access: 'stg', outcome: 'injected', abort: { kind: 'sea', esr: '0x96000010' }, esr: '0x92000045' });
    // kvm_inject_dabt builds one syndrome whatever the op: the LDG's is the STG's (A.3.9).
    expect(r.result.steps[8]).toMatchObject({ outcome: 'injected', abort: { kind: 'sea', esr: '0x96000010' } });
    expect(r.of('MemoryFaultExit')).toEqual([]);
    // Nothing was remapped: the BAR stays NoTagAccess.
    expect(r.result.stage2.find((l) => l.ipa === '0x10000000')).toMatchObject({ size: '0x200000', memattr: '0b1110', notagaccess: true });
  });
});

describe('chains: the first non-pass wins', () => {
  const two = [access('0x10000040', 'stg'), access('0x10001000', 'stg')].join('\n');

  it('[inject-sea, tag-alloc-retry]: inject-sea decides every fault', () => {
    expect(run(scenario('[inject-sea, tag-alloc-retry]', two)).result.steps.slice(7).map((s) => s['outcome'])).toEqual(['injected', 'injected']);
  });

  it('[tag-alloc-retry, inject-sea] with one pool page: retried, then injected', () => {
    expect(run(scenario('[tag-alloc-retry, inject-sea]', two, { pool: 1 })).result.steps.slice(7).map((s) => s['outcome'])).toEqual(['retried', 'injected']);
  });

  it('the example device-sea before tag-alloc-retry: SEA on the VFIO BAR, tag storage for the DAX window (DOMAIN B §1.2)', () => {
    const r = run(scenario('[device-sea, tag-alloc-retry]', [access('0x10000040', 'stg'), access('0xc0000040', 'stg')].join('\n')));
    expect(r.result.steps.slice(7).map((s) => [s['gpa'], s['outcome']])).toEqual([
      ['0x10000040', 'injected'],
      ['0xc0000040', 'retried'],
    ]);
    expect(r.of('PolicyDecided').map((d) => `${d.plugin}: ${d.decision}`)).toEqual(['device-sea: inject-sea', 'device-sea: pass', 'tag-alloc-retry: allocate-tags-and-retry']);
  });

  it('a file policy named in the scenario resolves from policyCwd and is recorded by its name', () => {
    const three = [access('0xc0000000', 'stg'), access('0xc0001000', 'stg'), access('0xc0002000', 'stg')].join('\n');
    const r = run(scenario('[./retry-first-two.cjs]', three), { policyCwd: FIXTURES });
    expect(r.of('RunStarted')[0]!.policies).toEqual(['./retry-first-two.cjs']);
    expect(r.result.steps.slice(7).map((s) => s['outcome'])).toEqual(['retried', 'retried', 'exit']);
  });

  it('policyNames (CLI --policy) overrides the scenario', () => {
    const r = run(scenario('[tag-alloc-retry]', access('0x10000040', 'stg')), { policyNames: ['inject-sea'] });
    expect(r.of('RunStarted')[0]!.policies).toEqual(['inject-sea']);
    expect(r.result.steps[7]).toMatchObject({ outcome: 'injected' });
  });

  it('an unknown policy is refused before the run starts', () => {
    expect(() => run(scenario('[tag-alloc-retyr]', access('0x10000040', 'stg')))).toThrow(PolicyLoadError);
  });
});

describe('isolation in a run (ARCHITECTURE "Fault-policy plugins")', () => {
  it('a plugin that never returns is cut off after 100 ms, recorded as PluginFailed timeout, and skipped', () => {
    const r = run(scenario('[./spin.cjs, tag-alloc-retry]', access('0x10000040', 'stg')), { policyCwd: FIXTURES });
    expect(r.of('PluginFailed')).toEqual([{ plugin: 'spin', hook: 'decide', reason: 'timeout', message: 'decide() did not return within 100 ms' }]);
    expect(r.result.steps[7]).toMatchObject({ outcome: 'retried' });
  });

  it('a plugin writing to its inputs changes no model state: the pool, the page and the fault are the mmu\'s', () => {
    const r = run(scenario('[./mutator.cjs]', [access('0x10000040', 'stg'), access('0x10001000', 'stg')].join('\n'), { pool: 1 }), { policyCwd: FIXTURES });
    expect(r.of('PluginFailed')).toEqual([]);
    expect(r.of('TagStorageAllocated')).toEqual([{ ipa: 0x1000_0000n, pa: 0x400_0000_0000n, pages: 1n, pool_remaining: 0n }]);
    expect(r.outcome.model.mmu.tagPoolRemaining).toBe(0);
    expect(r.result.steps.slice(7).map((s) => s['outcome'])).toEqual(['retried', 'exit']);
    expect(r.result.stage2.filter((l) => l.tagged && l.ipa < '0x80000000').map((l) => l.ipa)).toEqual(['0x10000000']);
  });
});

describe('plugins that misbehave while loading or deciding are recorded and skipped (issue 21, README "Plugin isolation")', () => {
  const accesses = [access('0x10000040', 'stg'), access('0x10001000', 'st2g')].join('\n');
  const yaml = (chain: string, extra = '') => scenario(chain, accesses, { pool: 1 }) + extra;

  it('a policy that loops while loading: PluginFailed {hook: load, timeout} once, right after RunStarted; plugin_failures step null', () => {
    const r = run(yaml('[./loop-on-load.cjs, tag-alloc-retry]'), { policyCwd: FIXTURES });
    expect(r.events[1]).toMatchObject({ type: 'PluginFailed', data: { plugin: './loop-on-load.cjs', hook: 'load', reason: 'timeout', message: 'loading did not finish within 2000 ms' } });
    expect(r.result.plugin_failures).toEqual([{ plugin: './loop-on-load.cjs', step: null, reason: 'timeout' }]);
    // The chain goes on without it: tag-alloc-retry retries the first fault from its one page (DOMAIN A.2.7).
    expect(r.result.steps.slice(7).map((s) => s['outcome'])).toEqual(['retried', 'exit']);
  });

  it('process.exit in decide: PluginFailed exited at each fault, listed by step', () => {
    const r = run(yaml('[./exit-in-decide.cjs, tag-alloc-retry]'), { policyCwd: FIXTURES });
    expect(r.of('PluginFailed')).toEqual(Array(2).fill({ plugin: 'exit-in-decide', hook: 'decide', reason: 'exited', message: 'decide() called process.exit(), which is refused to plugins' }));
    expect(r.result.plugin_failures).toEqual([
      { plugin: 'exit-in-decide', step: 7, reason: 'exited' },
      { plugin: 'exit-in-decide', step: 8, reason: 'exited' },
    ]);
  });

  it('policy_options.sandbox: true runs file policies sandboxed: the events of the in-process run, and a file write refused', () => {
    const sandboxed = (chain: string) => scenario(chain, accesses, { pool: 1, sandbox: true });
    expect(parseScenario(sandboxed('[x]'), { file: 't.yaml' }).policy_options).toEqual({ tag_pool_pages: 1, sandbox: true });
    const plain = run(yaml('[./retry-first-two.cjs]'), { policyCwd: FIXTURES });
    const boxed = run(sandboxed('[./retry-first-two.cjs]'), { policyCwd: FIXTURES });
    expect(boxed.result).toEqual(plain.result);
    expect(boxed.events.map((e) => [e.type, e.data])).toEqual(plain.events.map((e) => [e.type, e.data]));
    const writer = run(sandboxed('[./writes-file.cjs]'), { policyCwd: FIXTURES });
    expect(writer.of('PluginFailed')[0]).toEqual({ plugin: 'writes-file', hook: 'decide', reason: 'denied', message: `decide() was denied FileSystemWrite (${resolve(FIXTURES, 'written-by-policy.txt')})` });
  });
});
