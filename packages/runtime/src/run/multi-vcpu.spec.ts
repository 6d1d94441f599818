import type { Envelope } from '@mteperm/events';
import { parseScenario } from '../scenario/load';
import { runScenario } from './run-scenario';

// The mmu keeps one in-flight record per vCPU and reuses it from access to access; accesses on two
// vCPUs in turn must still retry on their own vCPU, after their own map or relax.
const YAML = `
name: two-vcpus
host:
  cpus: [{ count: 2, features: [mte3, mte_perm, s2fwb] }]
policy: [tag-alloc-retry, exit-to-vmm]
policy_options: { tag_pool_pages: 1 }
steps:
  - create_vm: { ipa_bits: 40 }
  - enable_cap: KVM_CAP_ARM_MTE
  - enable_cap: KVM_CAP_ARM_MTE_PERM
  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x80000000", memory_size: "64MiB", backing: anon, flags: [KVM_MEM_LOG_DIRTY_PAGES] }
  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "16MiB", backing: vfio-bar-wb }
  - create_vcpu: { id: 0 }
  - create_vcpu: { id: 1 }
  - access: { vcpu: 0, gpa: "0x80001000", op: write }
  - access: { vcpu: 1, gpa: "0x80002000", op: read }
  - access: { vcpu: 1, gpa: "0x10000040", op: stg }
  - access: { vcpu: 0, gpa: "0x80002008", op: write }
  - access: { vcpu: 0, gpa: "0x10001040", op: stg }
  - access: { vcpu: 1, gpa: "0x80001010", op: read }
  - access: { vcpu: 1, gpa: "0x90000000", op: read }
`;

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

  it('retries each fixed access on its vCPU, caused by the completion of the request its fault made', () => {
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    const retries = events.filter((e) => e.type === 'AccessRequested' && e.causation !== 0n);
    expect(retries).toHaveLength(5);
    for (const r of retries) {
      const done = bySeq.get(r.causation)!;
      expect(['Stage2Mapped', 'Stage2Relaxed']).toContain(done.type);
      const request = bySeq.get(done.causation)!;
      const fault = bySeq.get(request.causation)!;
      expect(fault.type).toBe('Stage2FaultTaken');
      expect([request.vcpu, fault.vcpu]).toEqual([r.vcpu, r.vcpu]);
      const original = bySeq.get(fault.causation)!;
      expect(original.type).toBe('AccessRequested');
      if (original.type === 'AccessRequested' && r.type === 'AccessRequested') expect(r.data).toEqual(original.data);
    }
    // The BAR STG is retried twice: after its NoTagAccess map, then after the tagged remap.
    expect(retries.map((r) => r.vcpu)).toEqual([0, 1, 1, 1, 0]);
  });
});
