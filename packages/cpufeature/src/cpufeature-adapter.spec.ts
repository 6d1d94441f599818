import { EventBus } from '@mteperm/bus';
import type { Envelope } from '@mteperm/events';
import { CpuFeatureAdapter, publishHostCpus } from './cpufeature-adapter';
import { CpuFeatureError } from './errors';
import { hostCpusFromSpec } from './host-cpus';

function setup(features: readonly string[]) {
  const bus = new EventBus();
  const log: Envelope[] = [];
  bus.all().subscribe((e) => log.push(e));
  const adapter = new CpuFeatureAdapter(bus);
  publishHostCpus(bus, hostCpusFromSpec([{ count: 2, features }]));
  return { bus, log, adapter };
}

const enable = (cap: string, ret = 0) => ({ type: 'CapabilityEnabled' as const, data: { cap: cap === 'KVM_CAP_ARM_MTE' ? 205 : 239, cap_name: cap, flags: 0n, args: [], ret } });

describe('cpufeature on the bus', () => {
  it('publishes HostCpusProbed with raw, sanitised and derived values (DOMAIN B §2.2)', () => {
    const { log } = setup(['mte3', 'mte_perm', 's2fwb', 'nv']);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ seq: 1n, type: 'HostCpusProbed', data: { mte: 3, mte_perm: true, s2fwb: true, nv: true } });
  });

  it('answers the guest view from folded VM events: EL2 vCPU of a v2 VM with both caps reads MTEPERM=1 (DOMAIN A.2.8)', () => {
    const { bus, adapter } = setup(['mte3', 'mte_perm', 'nv']);
    bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 1 });
    bus.publish(enable('KVM_CAP_ARM_MTE'), { vm: 1 });
    bus.publish(enable('KVM_CAP_ARM_MTE_PERM'), { vm: 1 });
    bus.publish({ type: 'VcpuCreated', data: { id: 0, el2: true, ret: 0 } }, { vm: 1, vcpu: 0 });
    bus.publish({ type: 'VcpuCreated', data: { id: 1, el2: false, ret: 0 } }, { vm: 1, vcpu: 1 });
    expect(adapter.guestIdRegs(1, 0)).toEqual({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0x1n, id_aa64mmfr2_el1: 0x200_0000n }); // NV2 for EL2 (A.3.10)
    expect(adapter.guestIdRegs(1, 1)).toEqual({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0x0n, id_aa64mmfr2_el1: 0n });
  });

  it('ignores refused capabilities: MTE stays hidden after enable_cap returned -EINVAL (DOMAIN B §3.1)', () => {
    const { bus, adapter } = setup(['mte3']);
    bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 1 });
    bus.publish(enable('KVM_CAP_ARM_MTE', -22), { vm: 1 });
    bus.publish({ type: 'VcpuCreated', data: { id: 0, el2: false, ret: 0 } }, { vm: 1, vcpu: 0 });
    expect(adapter.guestIdRegs(1, 0).id_aa64pfr1_el1).toBe(0n);
  });

  it('hides MTEPERM when the host lacks NV even if an EL2 vCPU was recorded (DOMAIN B §6.1 vcpu_has_nv)', () => {
    const { bus, adapter } = setup(['mte3', 'mte_perm']);
    bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 1 });
    bus.publish(enable('KVM_CAP_ARM_MTE'), { vm: 1 });
    bus.publish(enable('KVM_CAP_ARM_MTE_PERM'), { vm: 1 });
    bus.publish({ type: 'VcpuCreated', data: { id: 0, el2: true, ret: 0 } }, { vm: 1, vcpu: 0 });
    expect(adapter.guestIdRegs(1, 0).id_aa64pfr2_el1).toBe(0n);
  });

  it('rebuilds the same answers by folding the recorded events into a fresh adapter (ARCHITECTURE "Event flow")', () => {
    const { bus, log, adapter } = setup(['mte3', 'mte_perm', 'nv']);
    bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 1 });
    bus.publish(enable('KVM_CAP_ARM_MTE_PERM'), { vm: 1 });
    bus.publish({ type: 'VcpuCreated', data: { id: 0, el2: true, ret: 0 } }, { vm: 1, vcpu: 0 });
    const fresh = new CpuFeatureAdapter();
    for (const e of log) fresh.apply(e);
    expect(fresh.view).toEqual(adapter.view);
    expect(fresh.guestIdRegs(1, 0)).toEqual({ id_aa64pfr1_el1: 0n, id_aa64pfr2_el1: 0x1n, id_aa64mmfr2_el1: 0x200_0000n });
  });

  it('refuses queries before the host is known or for an unknown vCPU with stable codes', () => {
    const fresh = new CpuFeatureAdapter();
    expect(() => fresh.guestIdRegs(1, 0)).toThrow(expect.objectContaining({ code: 'MTEPERM_CPU_NO_HOST' }));
    const { adapter } = setup(['mte3']);
    let err: unknown;
    try {
      adapter.guestIdRegs(1, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CpuFeatureError);
    expect(err).toMatchObject({ code: 'MTEPERM_CPU_NO_VCPU' });
  });
});
