import type { UapiCommand } from './commands';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import { cap, given, HOSTS, slot, when } from './testing/fixtures';

const MTE = cap('KVM_CAP_ARM_MTE');
const PERM = cap('KVM_CAP_ARM_MTE_PERM');
const RAM = slot(0, 0x8000_0000n, 0x10_0000n, 'anon');
const BAR = slot(1, 0x1000_0000n, 0x10_0000n, 'vfio-bar-wb');
const DAX = slot(2, 0x2000_0000n, 0x10_0000n, 'dax-pmem');
const RO = slot(3, 0x3000_0000n, 0x10_0000n, 'anon', { flags: 2 });
const copy = (guest_ipa: bigint, length: bigint, flags = 1n): UapiCommand => ({ kind: 'mte_copy_tags', guest_ipa, length, flags });

type Row = readonly [string, readonly UapiCommand[], UapiCommand, HostCaps, KernelProfile, bigint];

describe('KVM_ARM_MTE_COPY_TAGS', () => {
  it.each<Row>([
    ['two MTE pages from the guest: returns the length (DOMAIN B §3.1)', [MTE, RAM], copy(0x8000_0000n, 0x2000n), HOSTS.full, 'v2', 0x2000n],
    ['a VM without MTE: -EINVAL (DOMAIN B §3.1)', [RAM], copy(0x8000_0000n, 0x1000n), HOSTS.full, 'v2', -22n],
    ['unaligned guest_ipa: -EINVAL', [MTE, RAM], copy(0x8000_0010n, 0x1000n), HOSTS.full, 'v2', -22n],
    ['unaligned length: -EINVAL', [MTE, RAM], copy(0x8000_0000n, 0x10n), HOSTS.full, 'v2', -22n],
    ['unknown flags: -EINVAL', [MTE, RAM], copy(0x8000_0000n, 0x1000n, 2n), HOSTS.full, 'v2', -22n],
    ['no memslot at the address: -EFAULT', [MTE, RAM], copy(0x7000_0000n, 0x1000n), HOSTS.full, 'v2', -14n],
    ['a NoTagAccess page (v2, cacheable VFIO BAR): -EFAULT (DOMAIN A.2.10)', [MTE, PERM, BAR], copy(0x1000_0000n, 0x1000n), HOSTS.full, 'v2', -14n],
    ['a NoTagAccess page (v2, dax-pmem) to the guest: -EFAULT (DOMAIN A.2.10)', [MTE, PERM, DAX], copy(0x2000_0000n, 0x1000n, 0n), HOSTS.full, 'v2', -14n],
    ['a NoTagAccess page under v1 (host FEAT_MTE_PERM): -EFAULT (DOMAIN A.2.10, B §5.3)', [MTE, DAX], copy(0x2000_0000n, 0x1000n), HOSTS.full, 'v1', -14n],
    ['dax-pmem registered before MTE under baseline is not NoTagAccess: copied (DOMAIN B §5.1: no NoTagAccess in baseline)', [DAX, MTE], copy(0x2000_0000n, 0x1000n), HOSTS.full, 'baseline', 0x1000n],
    ['writing tags into a read-only slot: -EFAULT', [MTE, RO], copy(0x3000_0000n, 0x1000n, 0n), HOSTS.full, 'v2', -14n],
    ['reading tags from a read-only slot: copied', [MTE, RO], copy(0x3000_0000n, 0x1000n, 1n), HOSTS.full, 'v2', 0x1000n],
    ['a range running off the end of a slot: the bytes copied before it', [MTE, RAM], copy(0x800f_e000n, 0x4000n), HOSTS.full, 'v2', 0x2000n],
    ['length 0: 0', [MTE, RAM], copy(0x8000_0000n, 0n), HOSTS.full, 'v2', 0n],
  ])('%s', (_what, history, command, host, kernel, want) => {
    const e = when(command, given(history, host, kernel), host, kernel);
    expect(e.type === 'MteTagsCopied' && e.data.ret).toBe(want);
  });

  it('records the direction: flags 0 is KVM_ARM_TAGS_TO_GUEST (include/uapi/linux/kvm.h)', () => {
    const e = when(copy(0x8000_0000n, 0x1000n, 0n), given([MTE, RAM], HOSTS.full, 'v2'), HOSTS.full, 'v2');
    expect(e).toEqual({ type: 'MteTagsCopied', data: { guest_ipa: 0x8000_0000n, length: 0x1000n, to_guest: true, ret: 0x1000n } });
  });
});
