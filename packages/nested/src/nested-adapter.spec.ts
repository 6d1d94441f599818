import { EventBus } from '@mteperm/bus';
import type { Envelope, MteEvent } from '@mteperm/events';
import { attachPgtable } from '@mteperm/pgtable';
import { NestedAdapter } from './nested-adapter';

/** given: a host with MTE_PERM, S2FWB and NV, VM 1 with MTE_PERM, 1 GiB of RAM at 0x4000_0000, EL2 vCPU 0, EL1 vCPU 1. */
function given() {
  const bus = new EventBus();
  const log: Envelope[] = [];
  bus.all().subscribe((e) => log.push(e));
  attachPgtable(bus);
  const nested = new NestedAdapter(bus);
  const sanitised = { id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 1n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0n };
  const setup: Array<[MteEvent, number]> = [
    [{ type: 'HostCpusProbed', data: { cpus: [], sanitised, mte: 3, mte_perm: true, s2fwb: true, nv: true } }, -1],
    [{ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, -1],
    [{ type: 'CapabilityEnabled', data: { cap: 239, cap_name: 'KVM_CAP_ARM_MTE_PERM', flags: 0n, args: [], ret: 0 } }, -1],
    [{ type: 'MemslotRegistered', data: { slot: 0, change: 'create', guest_phys_addr: 0x4000_0000n, memory_size: 0x4000_0000n, flags: 0, vma: { backing: 'anon', mte_allowed: true, pfnmap: false, shared: false, cacheable: true, hugetlb: false, userspace_addr: 0n } } }, -1],
    [{ type: 'VcpuCreated', data: { id: 0, el2: true, ret: 0 } }, 0],
    [{ type: 'VcpuCreated', data: { id: 1, el2: false, ret: 0 } }, 1],
    // L0 already maps the first 2 MiB of RAM tagged (as mmu would after a fault, B §5.4 row 3).
    [{ type: 'Stage2MapRequested', data: { ipa: 0x4000_0000n, pa: 0x8_0000_0000n, size: 0x20_0000n, mem_type: 'normal_wb', no_tag_access: false, r: true, w: true, x: false, sw: 0 } }, -1],
  ];
  for (const [e, vcpu] of setup) bus.publish(e, { vm: 1, vcpu });
  return { bus, log, nested };
}

const access = (gpa: bigint, op: 'read' | 'stg' | 'ldg', level = 2): MteEvent => ({ type: 'AccessRequested', data: { step: 9, gpa, op, level, tcf: 'sync', s1: 'tagged' } });

describe('nested on the bus (DOMAIN A.2.8)', () => {
  it('guest_stage2 writes GuestStage2Written per entry and returns the descriptors at their L1 IPAs', () => {
    const { nested, log } = given();
    const r = nested.writeGuestStage2({ vcpu: 0, map: [{ ipa: 0x0n, pa: 0x4000_0000n, size: 0x1000n, attr: 'normal_notagaccess', ap: 'rw' }] }, { vm: 1 });
    expect(r).toEqual({ ret: 0, leaves: [{ ipa: '0x0', level: 3, desc: '0x400007d3', at: '0x7fffc000' }] });
    expect(log.filter((e) => e.type === 'GuestStage2Written').map((e) => [e.vcpu, e.data])).toEqual([
      [0, { ipa: 0n, pa: 0x4000_0000n, size: 0x1000n, attr: 'normal_notagaccess', ap: 'rw' }],
    ]);
  });

  it('refuses with stable codes: EL1 vCPU -EINVAL, unknown vCPU -EBADF, misaligned -EINVAL, unknown attr -EINVAL', () => {
    const { nested } = given();
    const e = { ipa: 0n, pa: 0x4000_0000n, size: 0x1000n, attr: 'normal', ap: 'rw' };
    expect(nested.writeGuestStage2({ vcpu: 1, map: [e] }, { vm: 1 }).error).toMatchObject({ code: 'MTEPERM_NESTED_NOT_EL2', ret: -22 });
    expect(nested.writeGuestStage2({ vcpu: 7, map: [e] }, { vm: 1 }).error).toMatchObject({ code: 'MTEPERM_NESTED_NO_VCPU', ret: -9 });
    expect(nested.writeGuestStage2({ vcpu: 0, map: [{ ...e, size: 0x10n }] }, { vm: 1 }).error).toMatchObject({ code: 'MTEPERM_NESTED_ALIGN', ret: -22 });
    expect(nested.writeGuestStage2({ vcpu: 0, map: [{ ...e, attr: 'weird' }] }, { vm: 1 }).error).toMatchObject({ code: 'MTEPERM_NESTED_ATTR', ret: -22 });
  });

  it('an L2 STG to an L1 NoTagAccess page is injected into L1 (EC 0x24, level 3 permission, bit 41, WnR)', () => {
    const { bus, nested, log } = given();
    nested.writeGuestStage2({ vcpu: 0, map: [{ ipa: 0x0n, pa: 0x4000_0000n, size: 0x1000n, attr: 'normal_notagaccess', ap: 'rw' }] }, { vm: 1 });
    const from = log.length;
    bus.publish(access(0x10n, 'stg'), { vm: 1, vcpu: 0 });
    const caused = log.slice(from + 1);
    expect(caused.map((e) => e.type)).toEqual(['InjectedAbort']);
    expect(caused[0]!.data).toEqual({ kind: 'stage2', ipa: 0x10n, esr: 0x0000_0200_9200_004fn, target_level: 2 });
  });

  it('an L2 read installs a shadow leaf (ShadowStage2Mapped) and completes at level 2; rewriting L1\'s entry invalidates it', () => {
    const { bus, nested, log } = given();
    nested.writeGuestStage2({ vcpu: 0, map: [{ ipa: 0x0n, pa: 0x4000_0000n, size: 0x1000n, attr: 'normal', ap: 'ro' }] }, { vm: 1 });
    const from = log.length;
    bus.publish(access(0x10n, 'read'), { vm: 1, vcpu: 0 });
    const caused = log.slice(from + 1);
    expect(caused.map((e) => e.type)).toEqual(['ShadowStage2Mapped', 'AccessCompleted']);
    // FWB host, Normal WB forced 0b0110, S2AP R only (L1 read-only), XN, SW = L1 level 3.
    expect(caused[0]!.data).toEqual({ ipa: 0n, l1_ipa: 0x4000_0000n, pa: 0x8_0000_0000n, size: 0x1000n, level: 3, desc: 0x01c0_0008_0000_075bn });
    expect(caused[1]!.data).toEqual({ gpa: 0x10n, op: 'read', pa: 0x8_0000_0010n, tags_ignored: false, level: 2 });
    expect(nested.shadowLeavesJson(1)).toHaveLength(1);
    nested.writeGuestStage2({ vcpu: 0, map: [{ ipa: 0x0n, pa: 0x4000_1000n, size: 0x1000n, attr: 'normal', ap: 'rw' }] }, { vm: 1 });
    expect(log.at(-1)).toMatchObject({ type: 'ShadowStage2Invalidated', vcpu: 0, data: { ipa: 0n, size: 0x1000n } });
    expect(nested.shadowLeavesJson(1)).toEqual([]);
  });

  it('L0 unmapping the L1 IPA invalidates the shadow leaf built on it', () => {
    const { bus, nested, log } = given();
    nested.writeGuestStage2({ vcpu: 0, map: [{ ipa: 0x20_0000n, pa: 0x4000_0000n, size: 0x20_0000n, attr: 'normal', ap: 'rw' }] }, { vm: 1 });
    bus.publish(access(0x20_0010n, 'read'), { vm: 1, vcpu: 0 });
    expect(nested.shadowLeavesJson(1).map((l) => [l.ipa, l.size, l.pa])).toEqual([['0x200000', '0x200000', '0x800000000']]);
    bus.publish({ type: 'Stage2UnmapRequested', data: { ipa: 0x4000_1000n, size: 0x1000n } }, { vm: 1 });
    expect(log.filter((e) => e.type === 'ShadowStage2Invalidated').map((e) => e.data)).toEqual([{ ipa: 0x20_0000n, size: 0x20_0000n }]);
    expect(nested.shadowLeavesJson(1)).toEqual([]);
  });

  it('an L2 access whose L1 IPA L0 has not mapped goes down L0\'s path as a level-1 access of the L1 IPA', () => {
    const { bus, nested, log } = given();
    nested.writeGuestStage2({ vcpu: 0, map: [{ ipa: 0x0n, pa: 0x5000_0000n, size: 0x1000n, attr: 'normal', ap: 'rw' }] }, { vm: 1 });
    const from = log.length;
    bus.publish(access(0x8n, 'stg'), { vm: 1, vcpu: 0 });
    // pgtable alone (no mmu here) reports L0's translation fault for the L1 IPA with the base access.
    expect(log.slice(from + 1).map((e) => [e.type, e.type === 'AccessRequested' || e.type === 'Stage2FaultTaken' ? e.data.op : ''])).toEqual([
      ['AccessRequested', 'write'],
      ['Stage2FaultTaken', 'write'],
    ]);
    expect(log.at(-2)!.data).toMatchObject({ gpa: 0x5000_0008n, level: 1 });
  });

  it('an L2 access from an EL1-only vCPU fails KVM_RUN -EINVAL', () => {
    const { bus, log } = given();
    bus.publish(access(0x0n, 'read'), { vm: 1, vcpu: 1 });
    expect(log.at(-1)).toMatchObject({ type: 'KvmRunFailed', data: { ret: -22 } });
  });

  it('replaying the log into a fresh adapter rebuilds the same nested state (ARCHITECTURE "Event flow")', () => {
    const { bus, nested, log } = given();
    nested.writeGuestStage2({ vcpu: 0, map: [{ ipa: 0x0n, pa: 0x4000_0000n, size: 0x20_0000n, attr: 'normal_notagaccess', ap: 'rw' }] }, { vm: 1 });
    bus.publish(access(0x1000n, 'read'), { vm: 1, vcpu: 0 });
    bus.publish(access(0x2000n, 'stg'), { vm: 1, vcpu: 0 });
    const fresh = new NestedAdapter();
    for (const e of log) fresh.apply(e);
    expect(fresh.state.snapshot()).toEqual(nested.state.snapshot());
    expect(fresh.shadowLeavesJson(1)).toEqual(nested.shadowLeavesJson(1));
    // L1 (FWB=0) 0b0100 in a host FWB shadow: 0b1111, stage-1 attributes + NoTagAccess (C §5 rule 2).
    expect(nested.shadowLeavesJson(1)[0]).toMatchObject({ ipa: '0x0', memattr: '0b1111', notagaccess: true });
  });
});
