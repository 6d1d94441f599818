import type { UapiCommand } from './commands';
import type { HostCaps } from './host';
import { cap, given, HOSTS, retOf, vcpu, when } from './testing/fixtures';

const NO_NV: HostCaps = { mte: 3, mtePerm: true, s2fwb: true, nv: false };

describe('KVM_CREATE_VCPU + KVM_ARM_VCPU_INIT', () => {
  it.each<[string, readonly UapiCommand[], UapiCommand, HostCaps, number]>([
    ['an EL1 vCPU: 0', [], vcpu(0), HOSTS.none, 0],
    ['an EL2 vCPU on an NV host: 0 (CONTRACT §1.4, DOMAIN B §6.1)', [], vcpu(0, true), HOSTS.full, 0],
    ['an EL2 vCPU on a host without NV: -EINVAL (model decision, DOMAIN B §6.1 vcpu_has_nv)', [], vcpu(0, true), NO_NV, -22],
    ['the same id twice: -EEXIST', [vcpu(0)], vcpu(0), HOSTS.full, -17],
    ['id 511, the last one: 0', [], vcpu(511), HOSTS.full, 0],
    ['id 512 ≥ KVM_MAX_VCPU_IDS: -EINVAL', [], vcpu(512), HOSTS.full, -22],
  ])('%s', (_what, history, command, host, want) => {
    const e = when(command, given(history, host, 'v2'), host, 'v2');
    expect(e.type === 'VcpuCreated' && e.data.ret).toBe(want);
  });

  it('a refused EL2 vCPU is not created, so KVM_CAP_ARM_MTE can still be enabled (model decision, DOMAIN B §3.1)', () => {
    const vm = given([vcpu(0, true)], NO_NV, 'v2');
    expect(vm.vcpus.size).toBe(0);
    expect(retOf(when(cap('KVM_CAP_ARM_MTE'), vm, NO_NV, 'v2'))).toBe(0);
  });
});
