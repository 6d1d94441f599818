import type { UapiCommand } from './commands';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import { checkMigration, migrationResultOf } from './migration';
import { cap, given, HOSTS, probedOf, slot, vcpu } from './testing/fixtures';

const MTE = cap('KVM_CAP_ARM_MTE', { step: 2 });
const PERM = cap('KVM_CAP_ARM_MTE_PERM', { step: 3 });
const RAM = slot(0, 0x8000_0000n, 0x2000_0000n, 'anon', { step: 4 });
const BAR = slot(1, 0x1000_0000n, 0x100_0000n, 'vfio-bar-wb', { step: 5 });

type Row = readonly [string, readonly UapiCommand[], HostCaps, KernelProfile, unknown];

describe('migration check (DOMAIN A.2.9, CONTRACT §1.5, §3)', () => {
  it.each<Row>([
    ['v2 VM with MTE_PERM to a host without FEAT_MTE_PERM: refused at its enable_cap, -EINVAL (DOMAIN A.2.9)', [MTE, PERM, RAM, BAR, vcpu(0)], HOSTS.noPerm, 'v2',
      { accepted: false, failed: { step: 3, op: 'enable_cap', cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22, errno: 'EINVAL' } }],
    ['v2 VM with MTE_PERM to an identical host: accepted (DOMAIN A.2.9)', [MTE, PERM, RAM, BAR, vcpu(0)], HOSTS.full, 'v2', { accepted: true, failed: null }],
    ['an MTE VM to a host without MTE2: refused at KVM_CAP_ARM_MTE (DOMAIN B §3.1)', [MTE, RAM], HOSTS.mte1, 'v2',
      { accepted: false, failed: { step: 2, op: 'enable_cap', cap: 'KVM_CAP_ARM_MTE', ret: -22, errno: 'EINVAL' } }],
    ['v1 VM with a VFIO BAR WB to a host without FEAT_MTE_PERM: refused at the memslot, -EINVAL (DOMAIN B §3.4, §5.1)', [MTE, RAM, BAR], HOSTS.noPerm, 'v1',
      { accepted: false, failed: { step: 5, op: 'set_user_memory_region', slot: 1, ret: -22, errno: 'EINVAL' } }],
    ['a VM without MTE to a host without MTE: accepted', [RAM, BAR], HOSTS.none, 'baseline', { accepted: true, failed: null }],
    ['memslots registered before MTE was enabled replay in order and pass (baseline, DOMAIN B §3.4 "exact same setup")', [BAR, MTE], HOSTS.full, 'baseline', { accepted: true, failed: null }],
  ])('%s', (_what, history, target, kernel, want) => {
    const vm = given(history, HOSTS.full, kernel);
    expect(checkMigration(vm, probedOf(target), kernel).result).toEqual(want);
  });

  it('records the failure in MigrationChecked and reads it back as the CONTRACT §3 object', () => {
    const vm = given([MTE, PERM, RAM], HOSTS.full, 'v2');
    const { event, result } = checkMigration(vm, probedOf(HOSTS.noPerm), 'v2');
    expect(event).toMatchObject({ accepted: false, failed_step: 3, failed_op: 'enable_cap', failed_cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22 });
    expect(event.target_cpus).toHaveLength(1);
    expect(migrationResultOf(event)).toEqual(result);
  });

  it('skips steps the source refused: a refused MTE_PERM enable is not re-run (DOMAIN A.2.9)', () => {
    const vm = given([MTE, PERM, RAM], HOSTS.noPerm, 'v2');
    expect(checkMigration(vm, probedOf(HOSTS.noPerm), 'v2').result).toEqual({ accepted: true, failed: null });
  });

  it('reports a step recorded without a scenario index by its setup position', () => {
    const vm = given([cap('KVM_CAP_ARM_MTE'), cap('KVM_CAP_ARM_MTE_PERM')], HOSTS.full, 'v2');
    expect(checkMigration(vm, probedOf(HOSTS.noPerm), 'v2').result.failed).toMatchObject({ step: 1, cap: 'KVM_CAP_ARM_MTE_PERM' });
  });
});
