import type { BackingSpec } from './backing';
import type { UapiCommand } from './commands';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import { cap, given, HOSTS, slot, vcpu, when } from './testing/fixtures';

const MiB = 0x10_0000n;
const MTE = cap('KVM_CAP_ARM_MTE');
const PERM = cap('KVM_CAP_ARM_MTE_PERM');
const RAM = slot(0, 0x8000_0000n, 512n * MiB, 'anon');

type Row = [string, readonly UapiCommand[], UapiCommand, HostCaps, KernelProfile, string, number, string?];

/** Outcome as "<event type>/<change>" plus ret and refusal reason. */
function run(history: readonly UapiCommand[], command: UapiCommand, host: HostCaps, kernel: KernelProfile) {
  const e = when(command, given(history, host, kernel), host, kernel);
  if (e.type === 'MemslotRefused') return { what: `refused/${e.data.change}`, ret: e.data.ret, reason: e.data.reason };
  if (e.type === 'MemslotRegistered') return { what: `registered/${e.data.change}`, ret: 0, reason: undefined };
  throw new Error(`unexpected ${e.type}`);
}

/** Rows as [name, rest] so Jest never mistakes an absent reason for its `done` callback. */
const rows = (rs: readonly Row[]) => rs.map(([name, ...rest]) => [name, rest] as const);

const vfio = (b: BackingSpec, flags = 0) => slot(1, 0x1000_0000n, 16n * MiB, b, { flags });

describe('KVM_SET_USER_MEMORY_REGION: per-VMA MTE check by profile (DOMAIN B §5.1 table, A.2.2)', () => {
  it.each(rows([
    // baseline: kvm_has_mte && !VM_MTE_ALLOWED
    ['baseline, MTE on, VFIO BAR: -EINVAL (DOMAIN B §5.1)', [MTE], vfio('vfio-bar'), HOSTS.full, 'baseline', 'refused/create', -22, 'mte-not-allowed'],
    ['baseline, MTE on, file-shared: -EINVAL (DOMAIN B §1.1)', [MTE], vfio('file-shared'), HOSTS.full, 'baseline', 'refused/create', -22, 'mte-not-allowed'],
    ['baseline, MTE on, anon: accepted (DOMAIN B §5.1)', [MTE], vfio('anon'), HOSTS.full, 'baseline', 'registered/create', 0],
    ['baseline, MTE on, hugetlb: accepted (DOMAIN B §1.1)', [MTE], vfio('hugetlb'), HOSTS.full, 'baseline', 'registered/create', 0],
    ['baseline, MTE off, VFIO BAR: accepted (DOMAIN B §5.1)', [], vfio('vfio-bar'), HOSTS.full, 'baseline', 'registered/create', 0],
    ['baseline, MTE refused by the host, VFIO BAR: accepted (kvm_has_mte false, DOMAIN B §3.1)', [MTE], vfio('vfio-bar'), HOSTS.mte1, 'baseline', 'registered/create', 0],
    ['baseline, MTE on, file-shared overridden mte_allowed: accepted (CONTRACT §1.2)', [MTE], vfio({ kind: 'file-shared', mte_allowed: true }), HOSTS.full, 'baseline', 'registered/create', 0],
    // v1: && !system_supports_notagaccess()
    ['v1, MTE on, MTE_PERM host, VFIO BAR WB: accepted without a capability (DOMAIN B §5.1)', [MTE], vfio('vfio-bar-wb'), HOSTS.full, 'v1', 'registered/create', 0],
    ['v1, MTE on, host without MTE_PERM, VFIO BAR WB: -EINVAL (DOMAIN B §5.1)', [MTE], vfio('vfio-bar-wb'), HOSTS.noPerm, 'v1', 'refused/create', -22, 'mte-not-allowed'],
    // v2: && !kvm_has_mte_perm
    ['v2, MTE + MTE_PERM, VFIO BAR WB: accepted (DOMAIN A.2.2)', [MTE, PERM], vfio('vfio-bar-wb'), HOSTS.full, 'v2', 'registered/create', 0],
    ['v2, MTE_PERM enabled before MTE, dax-pmem: accepted (DOMAIN A.2.1, A.2.2)', [PERM, MTE], vfio('dax-pmem'), HOSTS.full, 'v2', 'registered/create', 0],
    ['v2, MTE only, VFIO BAR WB: -EINVAL (DOMAIN A.2.2)', [MTE], vfio('vfio-bar-wb'), HOSTS.full, 'v2', 'refused/create', -22, 'mte-not-allowed'],
    ['v2, MTE + refused MTE_PERM (no FEAT_MTE_PERM), VFIO BAR: -EINVAL (DOMAIN A.2.2)', [MTE, PERM], vfio('vfio-bar'), HOSTS.noPerm, 'v2', 'refused/create', -22, 'mte-not-allowed'],
    ['v2, MTE_PERM only (no MTE), file-shared: accepted, kvm_has_mte false (DOMAIN A.2.2)', [PERM], vfio('file-shared'), HOSTS.full, 'v2', 'registered/create', 0],
    // drop-check: no check
    ['drop-check, MTE on, VFIO BAR WB: accepted, the check is removed (DOMAIN A.1, B §5.1)', [MTE], vfio('vfio-bar-wb'), HOSTS.noPerm, 'drop-check', 'registered/create', 0],
    ['drop-check, MTE on, file-shared: accepted (DOMAIN A.1)', [MTE], vfio('file-shared'), HOSTS.full, 'drop-check', 'registered/create', 0],
  ]))('%s', (_what, [history, command, host, kernel, what, ret, reason]) => {
    expect(run(history, command, host, kernel)).toEqual({ what, ret, reason });
  });
});

describe('KVM_SET_USER_MEMORY_REGION: other checks and their order (DOMAIN B §5.1, A.2.2)', () => {
  const moved = (gpa: bigint, flags = 0) => slot(0, gpa, 512n * MiB, 'anon', { flags });
  it.each(rows([
    ['beyond the 40-bit IPA size: -EFAULT (DOMAIN B §5.1 step 1)', [], slot(0, 0xff_ffff_f000n, 0x2000n, 'anon'), HOSTS.full, 'v2', 'refused/create', -14, 'beyond-ipa-size'],
    ['ending exactly at 2^40: accepted (DOMAIN B §5.1 step 1)', [], slot(0, 0xff_ffff_f000n, 0x1000n, 'anon'), HOSTS.full, 'v2', 'registered/create', 0],
    ['the IPA bound is checked before the MTE check: -EFAULT (DOMAIN B §5.1 order)', [MTE], slot(1, 0x100_0000_0000n, MiB, 'vfio-bar'), HOSTS.full, 'baseline', 'refused/create', -14, 'beyond-ipa-size'],
    ['overlapping another slot: -EEXIST (DOMAIN A.2.2)', [RAM], slot(1, 0x9000_0000n, MiB, 'anon'), HOSTS.full, 'v2', 'refused/create', -17, 'overlap'],
    ['adjacent to another slot: accepted (DOMAIN A.2.2)', [RAM], slot(1, 0xa000_0000n, MiB, 'anon'), HOSTS.full, 'v2', 'registered/create', 0],
    ['overlap is checked before the IPA bound: -EEXIST (DOMAIN B §5.1: generic checks first)', [RAM], slot(1, 0x8000_0000n, 0x100_0000_0000n, 'anon'), HOSTS.full, 'v2', 'refused/create', -17, 'overlap'],
    ['VM_PFNMAP with KVM_MEM_LOG_DIRTY_PAGES: -EINVAL (DOMAIN A.2.2)', [], vfio('vfio-bar', 1), HOSTS.full, 'v2', 'refused/create', -22, 'pfnmap-dirty-logging'],
    ['dirty logging on anon: accepted (DOMAIN B §5.1)', [], slot(0, 0x8000_0000n, MiB, 'anon', { flags: 1 }), HOSTS.full, 'v2', 'registered/create', 0],
    ['MTE check before the PFNMAP check under baseline: reason mte-not-allowed (DOMAIN B §5.1 order)', [MTE], vfio('vfio-bar', 1), HOSTS.full, 'baseline', 'refused/create', -22, 'mte-not-allowed'],
    ['unknown flags (guest_memfd, 4): -EINVAL', [], slot(0, 0x8000_0000n, MiB, 'anon', { flags: 4 }), HOSTS.full, 'v2', 'refused/create', -22, 'invalid-flags'],
    ['unaligned guest_phys_addr: -EINVAL', [], slot(0, 0x8000_0800n, MiB, 'anon'), HOSTS.full, 'v2', 'refused/create', -22, 'unaligned'],
    ['unaligned size: -EINVAL', [], slot(0, 0x8000_0000n, 0x1800n, 'anon'), HOSTS.full, 'v2', 'refused/create', -22, 'unaligned'],
    ['slot id 32767 ≥ KVM_USER_MEM_SLOTS: -EINVAL', [], slot(32767, 0x8000_0000n, MiB, 'anon'), HOSTS.full, 'v2', 'refused/create', -22, 'invalid-slot'],
    ['address space 1: -EINVAL', [], slot(0x1_0000, 0x8000_0000n, MiB, 'anon'), HOSTS.full, 'v2', 'refused/create', -22, 'invalid-slot'],
    ['a range wrapping past 2^64: -EINVAL', [], slot(0, 0xffff_ffff_ffff_f000n, 0x2000n, 'anon'), HOSTS.full, 'v2', 'refused/create', -22, 'address-wraps'],
    // delete, move, flags-only
    ['delete (size 0) of an existing slot: accepted, no arch checks (DOMAIN B §5.1)', [RAM], slot(0, 0n, 0n, undefined), HOSTS.full, 'v2', 'registered/delete', 0],
    ['delete of a missing slot: -EINVAL', [], slot(3, 0n, 0n, undefined), HOSTS.full, 'v2', 'refused/delete', -22, 'no-such-slot'],
    ['move to a new guest_phys_addr: accepted (DOMAIN A.2.2)', [RAM], moved(0x1_0000_0000n), HOSTS.full, 'v2', 'registered/move', 0],
    ['move beyond the IPA size: -EFAULT (DOMAIN B §5.1 covers KVM_MR_MOVE)', [RAM], moved(0xff_f000_0000n), HOSTS.full, 'v2', 'refused/move', -14, 'beyond-ipa-size'],
    ['move onto another slot: -EEXIST (DOMAIN A.2.2)', [RAM, slot(1, 0x1_0000_0000n, MiB, 'anon')], moved(0x1_0000_0000n), HOSTS.full, 'v2', 'refused/move', -17, 'overlap'],
    ['move of a disallowed VMA once MTE is on (baseline): -EINVAL (DOMAIN B §5.1 covers KVM_MR_MOVE)', [vfio('file-shared'), MTE], slot(1, 0x2000_0000n, 16n * MiB, 'file-shared'), HOSTS.full, 'baseline', 'refused/move', -22, 'mte-not-allowed'],
    ['flags-only: turning on dirty logging on anon: accepted (DOMAIN B §5.1)', [RAM], moved(0x8000_0000n, 1), HOSTS.full, 'v2', 'registered/flags_only', 0],
    ['flags-only: dirty logging on a VFIO BAR: -EINVAL, re-checked (DOMAIN B §5.1)', [vfio('vfio-bar')], vfio('vfio-bar', 1), HOSTS.full, 'v2', 'refused/flags_only', -22, 'pfnmap-dirty-logging'],
    ['flags-only on a disallowed VMA after MTE was enabled (baseline): -EINVAL (DOMAIN B §5.1)', [vfio('file-shared'), MTE], vfio('file-shared', 1), HOSTS.full, 'baseline', 'refused/flags_only', -22, 'mte-not-allowed'],
    ['toggling KVM_MEM_READONLY: -EINVAL', [RAM], moved(0x8000_0000n, 2), HOSTS.full, 'v2', 'refused/flags_only', -22, 'readonly-changed'],
    ['a different size for an existing slot: -EINVAL', [RAM], slot(0, 0x8000_0000n, MiB, 'anon'), HOSTS.full, 'v2', 'refused/move', -22, 'slot-changed'],
    ['a different backing for an existing slot (userspace_addr): -EINVAL', [RAM], slot(0, 0x8000_0000n, 512n * MiB, 'shmem'), HOSTS.full, 'v2', 'refused/move', -22, 'slot-changed'],
    ['the same region again: 0, nothing changes', [RAM], RAM, HOSTS.full, 'v2', 'registered/unchanged', 0],
    ['memslots may still be added after vCPUs exist (DOMAIN B §5.1 has no vCPU rule)', [vcpu(0)], RAM, HOSTS.full, 'v2', 'registered/create', 0],
  ]))('%s', (_what, [history, command, host, kernel, what, ret, reason]) => {
    expect(run(history, command, host, kernel)).toEqual({ what, ret, reason });
  });

  it('records the VMA flags, not the backing name, in the event (CONTRACT §1.2)', () => {
    const e = when(vfio({ kind: 'file-shared', mte_allowed: true }), given([], HOSTS.full, 'v2'), HOSTS.full, 'v2');
    expect(e).toMatchObject({ type: 'MemslotRegistered', data: { slot: 1, change: 'create', vma: { backing: 'file-shared', mte_allowed: true, pfnmap: false } } });
  });

  it('a deleted slot frees its range for another (DOMAIN A.2.2)', () => {
    const vm = given([RAM, slot(0, 0n, 0n, undefined)], HOSTS.full, 'v2');
    expect(vm.memslots.size).toBe(0);
    expect(run([RAM, slot(0, 0n, 0n, undefined)], slot(1, 0x8000_0000n, MiB, 'anon'), HOSTS.full, 'v2').what).toBe('registered/create');
  });
});
