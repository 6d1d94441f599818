import type { Envelope } from '@mteperm/events';
import { parseScenario } from '../scenario/load';
import { runScenario } from './run-scenario';
import { scenarioFixture } from '../../test/fixtures/scenario-builder';

// The mmu keeps one in-flight record per vCPU and reuses it from access to access, and pgtable one
// pending access per vCPU; accesses on two vCPUs in turn must still be re-executed on their own
// vCPU, after their own map or relax.
const YAML = scenarioFixture('two-vcpus');

describe('accesses on two vCPUs in turn (mmu in-flight records)', () => {
  const events: Envelope[] = [];
  const { result } = runScenario(parseScenario(YAML, { file: 'two-vcpus.yaml' }), { sink: (_bytes, e) => events.push(e) });

  it('gives each access its outcome', () => {
    expect(result.steps.slice(7).map((s) => [s['vcpu'], s['outcome']])).toEqual([
      [0, 'ok'],
      [1, 'ok'],
      [1, 'retried'], // tag storage from the one-page pool
      [0, 'ok'], // permission fault on the read-only (dirty-logged) page: relax, retry
      [0, 'exit'], // pool empty: exit-to-vmm
      [1, 'ok'],
      [1, 'exit'], // no memslot: MMIO
    ]);
  });

  it('re-executes each fixed access on its vCPU, caused by the request (retry_access) its own fault made', () => {
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    // pgtable re-executes after a map or relax marked retry_access: no AccessRequested of its own.
    expect(events.filter((e) => e.type === 'AccessRequested' && e.causation !== 0n)).toEqual([]);
    const reruns = events.filter((e) => (e.type === 'AccessCompleted' || e.type === 'Stage2FaultTaken') && ['Stage2Mapped', 'Stage2Relaxed'].includes(bySeq.get(e.causation)?.type ?? ''));
    expect(reruns).toHaveLength(5);
    for (const r of reruns) {
      const done = bySeq.get(r.causation)!;
      const request = bySeq.get(done.causation)!;
      expect(['Stage2MapRequested', 'Stage2RelaxRequested']).toContain(request.type);
      if (request.type === 'Stage2MapRequested' || request.type === 'Stage2RelaxRequested') expect(request.data.retry_access).toBe(true);
      const fault = bySeq.get(request.causation)!;
      expect(fault.type).toBe('Stage2FaultTaken');
      expect([request.vcpu, fault.vcpu]).toEqual([r.vcpu, r.vcpu]);
      // Back along the chain to the access the runtime published: the re-execution is of it.
      let original = bySeq.get(fault.causation)!;
      while (original.type !== 'AccessRequested') original = bySeq.get(bySeq.get(bySeq.get(original.causation)!.causation)!.causation)!;
      expect(original.causation).toBe(0n);
      const [gpa, op] = r.type === 'AccessCompleted' ? [r.data.gpa, r.data.op] : r.type === 'Stage2FaultTaken' ? [r.data.ipa, r.data.op] : [];
      if (original.type === 'AccessRequested') expect([gpa, op]).toEqual([original.data.gpa, original.data.op]);
    }
    // The BAR STG is re-executed twice: after its NoTagAccess map (faults again), then after the tagged remap.
    expect(reruns.map((r) => [r.vcpu, r.type])).toEqual([
      [0, 'AccessCompleted'],
      [1, 'AccessCompleted'],
      [1, 'Stage2FaultTaken'],
      [1, 'AccessCompleted'],
      [0, 'AccessCompleted'],
    ]);
  });
});
