import type { Step } from '@mteperm/bus/testing';
import { at, busSpec, capEnabled, vcpuCreated, vmCreated } from '@mteperm/bus/testing';
import { CpuFeatureAdapter, publishHostCpus } from './cpufeature-adapter';
import { CpuFeatureError } from './errors';
import { hostCpusFromSpec } from './host-cpus';

const cpufeature = busSpec((bus) => new CpuFeatureAdapter(bus), { vm: 1 });
/** Two CPUs alike with these CONTRACT §1.1 features, probed and published as the run does. */
const host =
  (...features: string[]): Step<CpuFeatureAdapter> =>
  ({ bus }) =>
    publishHostCpus(bus, hostCpusFromSpec([{ count: 2, features }]));
const el2Vcpu0 = at({ vm: 1, vcpu: 0 }, vcpuCreated(0, true));
const el1Vcpu1 = at({ vm: 1, vcpu: 1 }, vcpuCreated(1, false));
const guestIdRegs = (vcpu: number) => ({ subject }: { subject: CpuFeatureAdapter }) => subject.guestIdRegs(1, vcpu);

describe('cpufeature on the bus', () => {
  it('publishes HostCpusProbed with raw, sanitised and derived values (DOMAIN B §2.2)', () => {
    cpufeature
      .given()
      .when(host('mte3', 'mte_perm', 's2fwb', 'nv'))
      .then({
        type: 'HostCpusProbed',
        data: expect.objectContaining({ mte: 3, mte_perm: true, s2fwb: true, nv: true, sanitised: expect.objectContaining({ id_aa64pfr1_el1: '0x300n', id_aa64pfr2_el1: '0x1n' }) }),
      })
      .and(({ events }) => expect(events[0]).toMatchObject({ seq: 1n }));
  });

  it('answers the guest view from folded VM events: EL2 vCPU of a v2 VM with both caps reads MTEPERM=1 (DOMAIN A.2.8)', () => {
    const vm = cpufeature.given(host('mte3', 'mte_perm', 'nv'), vmCreated(), capEnabled('KVM_CAP_ARM_MTE'), capEnabled('KVM_CAP_ARM_MTE_PERM'), el2Vcpu0, el1Vcpu1);
    vm.when(guestIdRegs(0)).returns({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0x1n, id_aa64mmfr2_el1: 0x200_0000n }).then();
    vm.when(guestIdRegs(1)).returns({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0x0n, id_aa64mmfr2_el1: 0n });
  });

  it('ignores refused capabilities: MTE stays hidden after enable_cap returned -EINVAL (DOMAIN B §3.1)', () => {
    cpufeature
      .given(host('mte3'), vmCreated(), capEnabled('KVM_CAP_ARM_MTE', -22), at({ vm: 1, vcpu: 0 }, vcpuCreated(0)))
      .when(guestIdRegs(0))
      .returns({ id_aa64pfr1_el1: 0n, id_aa64pfr2_el1: 0n, id_aa64mmfr2_el1: 0n });
  });

  it('hides MTEPERM when the host lacks NV even if an EL2 vCPU was recorded (DOMAIN B §6.1 vcpu_has_nv)', () => {
    cpufeature
      .given(host('mte3', 'mte_perm'), vmCreated(), capEnabled('KVM_CAP_ARM_MTE'), capEnabled('KVM_CAP_ARM_MTE_PERM'), el2Vcpu0)
      .when(guestIdRegs(0))
      .returns({ id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 0n, id_aa64mmfr2_el1: 0n });
  });

  it('rebuilds the same answers by folding the recorded events into a fresh adapter (ARCHITECTURE "Event flow")', () => {
    cpufeature
      .given(host('mte3', 'mte_perm', 'nv'), vmCreated(), capEnabled('KVM_CAP_ARM_MTE_PERM'), el2Vcpu0)
      .when(({ bus }) => bus.seq)
      .and(({ log, subject }) => {
        const fresh = new CpuFeatureAdapter();
        for (const e of log) fresh.apply(e);
        expect(fresh.view).toEqual(subject.view);
        // MTEPERM without KVM_CAP_ARM_MTE: MTE itself stays hidden (DOMAIN A.3.10)
        expect(fresh.guestIdRegs(1, 0)).toEqual({ id_aa64pfr1_el1: 0n, id_aa64pfr2_el1: 0x1n, id_aa64mmfr2_el1: 0x200_0000n });
      });
  });

  it.each([
    ['a query before the host is known', cpufeature.given(), 'MTEPERM_CPU_NO_HOST'],
    ['a query for a vCPU never created', cpufeature.given(host('mte3')), 'MTEPERM_CPU_NO_VCPU'],
  ])('refuses %s with a stable code', (_what, given, code) => {
    expect(() => given.when(guestIdRegs(0))).toThrow(CpuFeatureError);
    expect(() => given.when(guestIdRegs(0))).toThrow(expect.objectContaining({ code }));
  });
});
