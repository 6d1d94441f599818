import type { UapiCommand } from './commands';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import { cap, given, HOSTS, retOf, vcpu, when } from './testing/fixtures';

describe('KVM_ENABLE_CAP', () => {
  it.each<[string, readonly UapiCommand[], UapiCommand, HostCaps, KernelProfile, number]>([
    ['KVM_CAP_ARM_MTE on an MTE host: 0 (DOMAIN B §3.1)', [], cap('KVM_CAP_ARM_MTE'), HOSTS.full, 'v2', 0],
    ['KVM_CAP_ARM_MTE with flags ≠ 0: -EINVAL (DOMAIN B §3.1)', [], cap('KVM_CAP_ARM_MTE', { flags: 1n }), HOSTS.full, 'v2', -22],
    ['KVM_CAP_ARM_MTE on a host without ARM64_MTE: -EINVAL (DOMAIN B §3.1)', [], cap('KVM_CAP_ARM_MTE'), HOSTS.mte1, 'baseline', -22],
    ['KVM_CAP_ARM_MTE after a vCPU exists: -EINVAL, not -EBUSY (DOMAIN B §3.1)', [vcpu(0)], cap('KVM_CAP_ARM_MTE'), HOSTS.full, 'baseline', -22],
    ['KVM_CAP_ARM_MTE twice: 0 (DOMAIN B §3.1)', [cap('KVM_CAP_ARM_MTE')], cap('KVM_CAP_ARM_MTE'), HOSTS.full, 'v2', 0],
    ['KVM_CAP_ARM_MTE_PERM on a v2 MTE_PERM host: 0 (DOMAIN A.2.1)', [], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'v2', 0],
    ['KVM_CAP_ARM_MTE_PERM before KVM_CAP_ARM_MTE is allowed: 0 (DOMAIN A.2.1)', [], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'v2', 0],
    ['KVM_CAP_ARM_MTE_PERM after KVM_CAP_ARM_MTE: 0 (DOMAIN A.2.1)', [cap('KVM_CAP_ARM_MTE')], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'v2', 0],
    ['KVM_CAP_ARM_MTE_PERM twice: 0 (DOMAIN A.2.1)', [cap('KVM_CAP_ARM_MTE_PERM')], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'v2', 0],
    ['KVM_CAP_ARM_MTE_PERM with flags ≠ 0: -EINVAL (DOMAIN A.2.1)', [], cap('KVM_CAP_ARM_MTE_PERM', { flags: 2n }), HOSTS.full, 'v2', -22],
    ['KVM_CAP_ARM_MTE_PERM on a host without FEAT_MTE_PERM: -EINVAL (DOMAIN A.2.1)', [], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.noPerm, 'v2', -22],
    ['KVM_CAP_ARM_MTE_PERM after a vCPU exists: -EINVAL (DOMAIN A.2.1)', [vcpu(0)], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'v2', -22],
    ['KVM_CAP_ARM_MTE_PERM under baseline: unknown capability, -EINVAL (DOMAIN A.1)', [], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'baseline', -22],
    ['KVM_CAP_ARM_MTE_PERM under v1: no capability, -EINVAL (DOMAIN A.1)', [], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'v1', -22],
    ['KVM_CAP_ARM_MTE_PERM under drop-check: -EINVAL (DOMAIN A.1)', [], cap('KVM_CAP_ARM_MTE_PERM'), HOSTS.full, 'drop-check', -22],
    ['an unknown capability number: -EINVAL', [], { kind: 'enable_cap', cap: 9999, cap_name: '', flags: 0n, args: [] }, HOSTS.full, 'v2', -22],
  ])('%s', (_what, history, command, host, kernel, want) => {
    const vm = given(history, host, kernel);
    expect(retOf(when(command, vm, host, kernel))).toBe(want);
  });

  it('records the step and sets only the enabled flag (DOMAIN A.2.1, A.2.9)', () => {
    const vm = given([cap('KVM_CAP_ARM_MTE_PERM', { step: 3 })], HOSTS.full, 'v2');
    expect([vm.mteEnabled, vm.mtePermEnabled]).toEqual([false, true]);
    expect(vm.setup).toEqual([{ op: 'enable_cap', step: 3, cap: 239, cap_name: 'KVM_CAP_ARM_MTE_PERM', flags: 0n, args: [] }]);
  });

  it('leaves a refused enable out of the setup a migration re-runs (DOMAIN A.2.9)', () => {
    const vm = given([cap('KVM_CAP_ARM_MTE', { flags: 1n })], HOSTS.full, 'v2');
    expect([vm.mteEnabled, vm.setup]).toEqual([false, []]);
  });
});
