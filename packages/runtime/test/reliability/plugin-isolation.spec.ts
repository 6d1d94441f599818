/**
 * Plugin isolation under fault injection (issue 11; ARCHITECTURE "Fault-policy plugins": a plugin
 * that throws or returns garbage is recorded as PluginFailed and skipped; DOMAIN A.2.7). Each
 * hostile plugin is loaded from a file, put first in the chain, and the run must equal the run
 * without it: same steps, same stage-2 and shadow leaves, same events once RunStarted's policy list
 * and the PluginFailed records are left out.
 */
import fc from 'fast-check';
import { resolve } from 'node:path';
import type { Envelope, EventData } from '@mteperm/events';
import { resolvePolicies } from '../../src/policy/resolve-policies';
import { runScenario } from '../../src/run/run-scenario';
import { parseScenario } from '../../src/scenario/load';
import type { Scenario } from '../../src/scenario/types';
import { scenarioDoc, toScenario } from './scenario-arbitrary';
import { scenarioFixture } from '../fixtures/scenario-builder';

const PLUGINS = resolve(__dirname, 'plugins');
const RUNS = Math.max(10, Math.floor((Number(process.env['MTEPERM_PROPS_RUNS'] ?? '') || 150) / 5));

const YAML = scenarioFixture('plugin-isolation');
const SCENARIO = parseScenario(YAML, { file: 'isolation.yaml' });

interface Run {
  readonly result: ReturnType<typeof runScenario>['result'];
  readonly events: Envelope[];
  readonly failed: EventData<'PluginFailed'>[];
}

function run(scenario: Scenario, chain: readonly string[]): Run {
  const events: Envelope[] = [];
  const policies = resolvePolicies(chain, { cwd: PLUGINS });
  const out = runScenario(scenario, { policyNames: chain, policies, sink: (_b, e) => events.push(e) });
  return { result: out.result, events, failed: events.filter((e) => e.type === 'PluginFailed').map((e) => e.data as EventData<'PluginFailed'>) };
}

/** The events that say what the model did: no RunStarted (it names the chain), no PluginFailed, no seq references. */
function modelEvents(r: Run): string[] {
  // fault_seq points at a seq, and seqs shift by the PluginFailed records left out.
  const canon = (k: string, v: unknown) => (k === 'fault_seq' ? undefined : typeof v === 'bigint' ? `${v}n` : v);
  return r.events.filter((e) => e.type !== 'RunStarted' && e.type !== 'PluginFailed' && e.type !== 'StateHashRecorded').map((e) => JSON.stringify([e.type, e.vm, e.vcpu, e.data], canon));
}

function expectSameModel(bad: Run, good: Run): void {
  // The result lists the skipped calls (CONTRACT §3 plugin_failures), one per PluginFailed; the rest is the same.
  const { plugin_failures: skipped, ...rest } = bad.result;
  expect(skipped.map((f) => [f.plugin, f.reason])).toEqual(bad.failed.map((f) => [f.plugin, f.reason]));
  const { plugin_failures: none, ...same } = good.result;
  expect(none).toEqual([]);
  expect(rest).toEqual(same);
  expect(modelEvents(bad)).toEqual(modelEvents(good));
}

describe('hostile plugins loaded from files are recorded, skipped and change nothing (ARCHITECTURE "Fault-policy plugins")', () => {
  const good = () => run(SCENARIO, ['tag-alloc-retry', 'inject-sea']);
  const FAULTS = 5; // the tag accesses above that fault (ops with a tag effect on NoTagAccess pages)

  it('the reference run: 5 tag-access faults, 2 retried from the pool, 3 injected; tcf none, s1 untagged and the page given tags complete (DOMAIN A.2.6, A.2.7)', () => {
    const g = good();
    expect(g.result.steps.slice(8).map((s) => s['outcome'])).toEqual(['retried', 'retried', 'injected', 'ok', 'injected', 'injected', 'ok', 'ok', 'ok']);
    expect(g.events.filter((e) => e.type === 'Stage2FaultTaken' && e.data.tag_access)).toHaveLength(FAULTS);
  });

  it('a plugin that throws: PluginFailed threw with its message, once per fault', () => {
    const bad = run(SCENARIO, ['./throws.cjs', 'tag-alloc-retry', 'inject-sea']);
    expect(bad.failed).toHaveLength(FAULTS);
    expect(bad.failed[0]).toEqual({ plugin: 'throws', hook: 'decide', reason: 'threw', message: 'RangeError: policy exploded' });
    expectSameModel(bad, good());
  });

  it('a plugin that throws a value every read of which throws: PluginFailed threw, nothing escapes', () => {
    const bad = run(SCENARIO, ['./throws-hostile.cjs', 'tag-alloc-retry', 'inject-sea']);
    expect(bad.failed).toHaveLength(FAULTS);
    expect(bad.failed.every((f) => f.plugin === 'throws-hostile' && f.reason === 'threw')).toBe(true);
    expectSameModel(bad, good());
  });

  it('a plugin that never returns: PluginFailed timeout after the 100 ms budget, every fault', () => {
    const t0 = Date.now();
    const bad = run(SCENARIO, ['./spin.cjs', 'tag-alloc-retry', 'inject-sea']);
    expect(bad.failed).toEqual(Array(FAULTS).fill({ plugin: 'spin-forever', hook: 'decide', reason: 'timeout', message: 'decide() did not return within 100 ms' }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(FAULTS * 100);
    expectSameModel(bad, good());
  });

  it('a plugin returning garbage (null, an unknown kind, a throwing getter, a looping getter, a Promise): invalid-decision / threw / timeout, skipped', () => {
    const bad = run(SCENARIO, ['./garbage.cjs', 'tag-alloc-retry', 'inject-sea']);
    expect(bad.failed.map((f) => [f.reason, f.message])).toEqual([
      ['invalid-decision', 'decide() returned null'],
      ['invalid-decision', 'decide() returned {"kind":"format-the-disk"}'],
      ['threw', 'Error: kind getter throws'],
      ['timeout', 'decide() did not return within 100 ms'],
      ['invalid-decision', 'decide() returned {}'],
    ]);
    expectSameModel(bad, good());
  });

  it('a strict-mode plugin writing to its frozen fault and ctx: PluginFailed threw (TypeError), pool untouched', () => {
    const bad = run(SCENARIO, ['./mutate-inputs.cjs', 'tag-alloc-retry', 'inject-sea']);
    expect(bad.failed).toHaveLength(FAULTS);
    expect(bad.failed[0]!.reason).toBe('threw');
    expect(bad.failed[0]!.message).toMatch(/^TypeError: Cannot assign to read only property 'remaining'/);
    expectSameModel(bad, good());
  });

  it('a plugin polluting Object.prototype, Array.prototype and globals: PluginFailed tampered, the pollution undone, the model unchanged', () => {
    const bad = run(SCENARIO, ['./pollute.cjs', 'tag-alloc-retry', 'inject-sea']);
    try {
      expect(bad.failed).toHaveLength(FAULTS);
      expect(bad.failed[0]).toEqual({
        plugin: 'pollute',
        hook: 'decide',
        reason: 'tampered',
        message: 'decide() changed shared built-ins (Object.prototype.kind, Object.prototype.level, Object.prototype.mte_allowed, Object.prototype.tcf, Array.prototype.includes); the changes were undone',
      });
      expect(({} as { kind?: unknown }).kind).toBeUndefined();
      expect([1].includes(2)).toBe(false);
      expectSameModel(bad, good());
    } finally {
      delete (globalThis as { mtepermPwned?: unknown }).mtepermPwned;
    }
  });

  it('random v2 scenarios: [throws | garbage | pollute | mutate-inputs, ...chain] gives the same model as [...chain]', () => {
    const bad = fc.constantFrom('./throws.cjs', './pollute.cjs', './mutate-inputs.cjs', './throws-hostile.cjs');
    fc.assert(
      fc.property(scenarioDoc({ kernel: 'v2', mteOn: true }), bad, (doc, plugin) => {
        const scenario = toScenario(doc);
        const chain = scenario.policy;
        const b = run(scenario, [plugin, ...chain]);
        const g = run(scenario, chain);
        expect(b.failed).toHaveLength(g.events.filter((e) => e.type === 'Stage2FaultTaken' && e.data.tag_access).length);
        expectSameModel(b, g);
      }),
      { numRuns: RUNS },
    );
  });
});
