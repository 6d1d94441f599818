/**
 * Regressions for the bugs the invariant properties found (issue 11): deleting or moving a memslot
 * must unmap its old IPA range from the stage 2 (kvm_arch_flush_shadow_memslot), and tag storage a
 * policy gave to a page belongs to that host page, not to the IPA (DOMAIN A.2.7).
 */
import type { Envelope } from '@mteperm/events';
import { runScenario } from '../../src/run/run-scenario';
import { parseScenario } from '../../src/scenario/load';

function run(steps: string, policy = 'exit-to-vmm', pool = 4) {
  const yaml = `
name: flush
host: { cpus: [{ count: 1, features: [mte3, mte_perm] }] }
steps:
  - create_vm: { ipa_bits: 40 }
  - enable_cap: KVM_CAP_ARM_MTE
  - enable_cap: KVM_CAP_ARM_MTE_PERM
  - create_vcpu: { id: 0 }
${steps}
policy: [${policy}]
policy_options: { tag_pool_pages: ${pool} }
`;
  const events: Envelope[] = [];
  const out = runScenario(parseScenario(yaml, { file: 'flush.yaml' }), { sink: (_b, e) => events.push(e) });
  return { result: out.result, events };
}

const TAG_EXIT = { outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x40000000', size: '0x1000', flags: '0x10' } };

describe('memslot delete / move flush the stage 2 (kvm_arch_flush_shadow_memslot; DOMAIN B §5.1)', () => {
  it('deleting an anon slot unmaps its tagged block; an STG to a file-shared slot created at the same IPA then exits 39/TAGACCESS (A.2.5) instead of completing on the old page', () => {
    const r = run(`
  - set_user_memory_region: { slot: 0, guest_phys_addr: "1GiB", memory_size: "2MiB", backing: anon }
  - access: { vcpu: 0, gpa: "0x40000000", op: stg }
  - set_user_memory_region: { slot: 0, guest_phys_addr: "1GiB", memory_size: "0", backing: anon }
  - set_user_memory_region: { slot: 1, guest_phys_addr: "1GiB", memory_size: "2MiB", backing: file-shared }
  - access: { vcpu: 0, gpa: "0x40000000", op: stg }`);
    expect(r.result.steps[5]).toMatchObject({ outcome: 'ok' });
    const unmap = r.events.filter((e) => e.type === 'Stage2UnmapRequested' || e.type === 'Stage2Unmapped').map((e) => [e.type, e.data]);
    expect(unmap).toEqual([
      ['Stage2UnmapRequested', { ipa: 0x4000_0000n, size: 0x20_0000n }],
      ['Stage2Unmapped', { ipa: 0x4000_0000n, size: 0x20_0000n }],
    ]);
    expect(r.result.steps[8]).toEqual({ index: 8, op: 'access', vcpu: 0, gpa: '0x40000000', access: 'stg', ...TAG_EXIT, esr: '0x92000045' });
    // The only leaf left is slot 1's NoTagAccess page (MemAttr 0b0100 without FWB, A.2.3) on its own host region.
    expect(r.result.stage2).toEqual([expect.objectContaining({ ipa: '0x40000000', size: '0x1000', pa: '0x840000000', memattr: '0b0100', notagaccess: true, tagged: false })]);
  });

  it('moving a slot unmaps the old range: a read at the old IPA is MMIO, at the new IPA it maps the same host page', () => {
    const r = run(`
  - set_user_memory_region: { slot: 0, guest_phys_addr: "1GiB", memory_size: "4KiB", backing: anon }
  - access: { vcpu: 0, gpa: "0x40000000", op: read }
  - set_user_memory_region: { slot: 0, guest_phys_addr: "2GiB", memory_size: "4KiB", backing: anon }
  - access: { vcpu: 0, gpa: "0x40000000", op: read }
  - access: { vcpu: 0, gpa: "0x80000000", op: read }`);
    expect(r.result.steps[7]).toMatchObject({ outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_MMIO', phys_addr: '0x40000000' } });
    expect(r.result.steps[8]).toMatchObject({ outcome: 'ok' });
    expect(r.result.stage2.map((l) => [l.ipa, l.pa])).toEqual([['0x80000000', '0x800000000']]);
  });

  it('tag storage given by tag-alloc-retry moves with its slot and leaves with it (A.2.7)', () => {
    const r = run(
      `
  - set_user_memory_region: { slot: 0, guest_phys_addr: "1GiB", memory_size: "8KiB", backing: dax-pmem }
  - access: { vcpu: 0, gpa: "0x40000000", op: stg }
  - set_user_memory_region: { slot: 0, guest_phys_addr: "2GiB", memory_size: "8KiB", backing: dax-pmem }
  - access: { vcpu: 0, gpa: "0x80000000", op: ldg }
  - set_user_memory_region: { slot: 0, guest_phys_addr: "2GiB", memory_size: "0", backing: dax-pmem }
  - set_user_memory_region: { slot: 1, guest_phys_addr: "2GiB", memory_size: "8KiB", backing: dax-pmem }
  - access: { vcpu: 0, gpa: "0x80000000", op: ldg }`,
      'tag-alloc-retry',
      1,
    );
    expect(r.result.steps.slice(5).map((s) => s['outcome'] ?? s['ret'])).toEqual(['retried', 0, 'ok', 0, 0, 'exit']);
    // The moved page still has its tags: mapped tagged Normal (0b1111) at the new IPA without a new allocation.
    expect(r.events.filter((e) => e.type === 'TagStorageAllocated')).toHaveLength(1);
    expect(r.result.steps[10]).toMatchObject({ exit: { gpa: '0x80000000', flags: '0x10' } });
  });
});
