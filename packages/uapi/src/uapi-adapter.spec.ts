import { EventBus } from '@mteperm/bus';
import { busSpec, hostProbed, runStarted } from '@mteperm/bus/testing';
import type { Subject } from '@mteperm/bus/testing';
import { UapiError } from './errors';
import { decodeKvmRun } from './kvm-run';
import { HOSTS, probedOf } from './testing/fixtures';
import { UapiAdapter } from './uapi-adapter';

const MiB = 0x10_0000n;
const uapi = busSpec((bus) => new UapiAdapter(bus));
type Uapi = Subject<UapiAdapter>;

/** A run of this kernel profile (DOMAIN A.1) on this host. */
const run = (kernel = 'v2', host: { mte?: number; mtePerm?: boolean; s2fwb?: boolean; nv?: boolean } = {}) => uapi.given(runStarted(kernel), hostProbed(host));

/** The CONTRACT §1 example scenario's ioctl steps, with what each returned. */
const contractExample = ({ subject: u }: Uapi) => [
  u.createVm({ ipa_bits: 40 }),
  u.checkExtension({ cap: 'KVM_CAP_ARM_MTE_PERM' }),
  u.enableCap({ cap: 'KVM_CAP_ARM_MTE', step: 2 }),
  u.enableCap({ cap: 'KVM_CAP_ARM_MTE_PERM', step: 3 }),
  u.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0x8000_0000n, memory_size: 512n * MiB, backing: 'anon', step: 4 }),
  u.setUserMemoryRegion({ slot: 1, guest_phys_addr: 0x1000_0000n, memory_size: 16n * MiB, backing: 'vfio-bar-wb', step: 5 }),
  u.createVcpu({ id: 0 }),
];

describe('uapi on the bus', () => {
  it('runs the CONTRACT §1 example under v2: every ioctl succeeds, one event each, tagged with the VM and vCPU (DOMAIN A.2.1, A.2.2)', () => {
    run()
      .when(contractExample)
      .returns([{ ret: 0, vm: 1 }, { ret: 1 }, { ret: 0 }, { ret: 0 }, { ret: 0 }, { ret: 0 }, { ret: 0 }])
      .then(
        { type: 'VmCreated', vm: 1, vcpu: -1 },
        { type: 'CapabilityChecked', vm: 1, vcpu: -1 },
        { type: 'CapabilityEnabled', vm: 1, vcpu: -1 },
        { type: 'CapabilityEnabled', vm: 1, vcpu: -1, data: { cap: 239, cap_name: 'KVM_CAP_ARM_MTE_PERM', flags: 0n, args: [], ret: 0, step: 3 } },
        { type: 'MemslotRegistered', vm: 1, vcpu: -1 },
        { type: 'MemslotRegistered', vm: 1, vcpu: -1 },
        { type: 'VcpuCreated', vm: 1, vcpu: 0 },
      );
  });

  it('runs the same steps under baseline: no MTE_PERM capability, the VFIO BAR WB memslot -EINVAL (DOMAIN A.1, B §5.1)', () => {
    run('baseline')
      .when(contractExample)
      .returns([{ ret: 0, vm: 1 }, { ret: 0 }, { ret: 0 }, { ret: -22, errno: 'EINVAL' }, { ret: 0 }, { ret: -22, errno: 'EINVAL' }, { ret: 0 }]);
  });

  it('rebuilds the same state by folding the published events into a fresh adapter (ARCHITECTURE "Event flow")', () => {
    run()
      .given(contractExample)
      .when(({ subject: u }) => {
        u.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0x1_0000_0000n, memory_size: 512n * MiB, step: 7 });
        return u.exitTagAccess(0x1000_0040n, { vcpu: 0 });
      })
      .and(({ log, subject }) => {
        const fresh = new UapiAdapter();
        for (const e of log) fresh.apply(e);
        expect(fresh.state).toEqual(subject.state);
        expect(fresh.kvmRun(1, 0)).toEqual(subject.kvmRun(1, 0));
      });
  });

  it('takes the kernel profile from RunStarted (DOMAIN A.1)', () => {
    expect(run('drop-check').state.kernel).toBe('drop-check');
  });

  it('answers check_extension on the system fd before any VM (vm 0) (DOMAIN B §3.1)', () => {
    run()
      .when(({ subject }) => subject.checkExtension({ cap: 205 }))
      .returns({ ret: 1 })
      .then({ type: 'CapabilityChecked', vm: 0, data: { cap: 205, cap_name: 'KVM_CAP_ARM_MTE', ret: 1n } });
  });

  it('records a refused create_vm against vm 0 and numbers VMs from 1 (DOMAIN B §3.1)', () => {
    const host = run();
    host
      .when(({ subject }) => subject.createVm({ ipa_bits: 20 }))
      .returns({ ret: -22, errno: 'EINVAL' })
      .then({ type: 'VmCreated', vm: 0, data: { ipa_bits: 20, ret: -22 } });
    host.when(({ subject }) => [subject.createVm({ ipa_bits: 0 }), subject.createVm({ ipa_bits: 44 })]).returns([{ ret: 0, vm: 1 }, { ret: 0, vm: 2 }]);
    expect(host.state.state.vms.get(1)?.ipaBits).toBe(40); // 0 means the default, 40 bits
    // later calls default to the last VM: 0xfff_0000_0000 fits VM 2's 44 bits, not VM 1's 40 (-EFAULT: DOMAIN A.2.2)
    const slot = { slot: 0, guest_phys_addr: 0xfff_0000_0000n, memory_size: MiB, backing: 'anon' } as const;
    host.when(({ subject }) => [subject.setUserMemoryRegion(slot), subject.setUserMemoryRegion(slot, { vm: 1 })]).returns([{ ret: 0 }, { ret: -14, errno: 'EFAULT' }]);
  });

  it('writes the tag-access exit into the vCPU’s kvm_run: v2 exit 39 flags 0x10, ret -14 (DOMAIN A.2.5, B §3.3)', () => {
    run()
      .given(contractExample)
      .when(({ subject }) => subject.exitTagAccess(0x1000_0040n, { vcpu: 0 }))
      .returns({ ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: 39, flags: 0x10n, gpa: 0x1000_0000n, size: 0x1000n } })
      .then({ type: 'MemoryFaultExit', vm: 1, vcpu: 0, data: { exit_reason: 39, gpa: 0x1000_0000n, size: 0x1000n, flags: 0x10n, ret: -14 } })
      .and(({ subject, result }) => {
        const kvmRun = subject.kvmRun(1, 0);
        expect(new DataView(kvmRun.buffer).getUint32(8, true)).toBe(39);
        expect(decodeKvmRun(kvmRun)).toEqual(result.exit);
      });
  });

  it('under baseline records KvmRunFailed and leaves kvm_run stale (DOMAIN A.1, B §3.3)', () => {
    run('baseline')
      .given(contractExample)
      .when(({ subject }) => subject.exitDisallowedVma(0x8000_0000n, { vcpu: 0 }))
      .returns({ ret: -14, errno: 'EFAULT' })
      .then({ type: 'KvmRunFailed', vcpu: 0, data: expect.objectContaining({ ret: -14 }) })
      .and(({ subject }) => expect(subject.kvmRun(1, 0).every((b) => b === 0)).toBe(true));
  });

  it('checks a migration and publishes MigrationChecked (DOMAIN A.2.9, CONTRACT §3)', () => {
    const vm = run().given(contractExample);
    vm.when(({ subject }) => subject.migrate({ target: probedOf(HOSTS.noPerm) }))
      .returns({ accepted: false, failed: { step: 3, op: 'enable_cap', cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22, errno: 'EINVAL' } })
      .then({ type: 'MigrationChecked', vm: 1, data: expect.objectContaining({ accepted: false, failed_step: 3 }) });
    vm.when(({ subject }) => subject.migrate({ target: probedOf(HOSTS.full) })).returns({ accepted: true, failed: null });
  });

  it('reports KVM_ARM_MTE_COPY_TAGS on a NoTagAccess page as -EFAULT, and copies a tagged page (DOMAIN A.2.10, A.3.11)', () => {
    run()
      .given(contractExample)
      .when(({ subject }) => [subject.mteCopyTags({ guest_ipa: 0x1000_0000n, length: 0x1000n }), subject.mteCopyTags({ guest_ipa: 0x8000_0000n, length: 0x1000n, to_guest: false })])
      .returns([{ ret: -14, errno: 'EFAULT' }, { ret: 0x1000 }])
      .thenTypes('MteTagsCopied', 'MteTagsCopied');
  });

  it('folds its own events at once when called from inside another delivery', () => {
    run()
      .given(({ subject }) => subject.createVm({ ipa_bits: 40 }))
      .when(({ bus, subject }) => {
        const results: unknown[] = [];
        bus.subscribe('driver', 'StateHashRecorded', () => {
          results.push(subject.enableCap({ cap: 'KVM_CAP_ARM_MTE' }));
          results.push(subject.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0x1000_0000n, memory_size: MiB, backing: 'file-shared' }));
        });
        bus.publish({ type: 'StateHashRecorded', data: { sha256: new Uint8Array(32), events: 0n } });
        return results;
      })
      // KVM_CAP_ARM_MTE already folded when the memslot is checked: file-shared is not VM_MTE_ALLOWED (DOMAIN A.2.2)
      .returns([{ ret: 0 }, { ret: -22, errno: 'EINVAL' }])
      .and(({ subject }) => expect(subject.state.vms.get(1)?.setup).toHaveLength(1));
  });

  it.each([
    ['an ioctl before HostCpusProbed', () => new UapiAdapter(new EventBus()).createVm({ ipa_bits: 40 }), 'MTEPERM_UAPI_NO_HOST'],
    ['a VM ioctl before create_vm', () => run().state.enableCap({ cap: 'KVM_CAP_ARM_MTE' }), 'MTEPERM_UAPI_NO_VM'],
    ['an unknown kernel profile', () => new UapiAdapter(undefined, { kernel: 'v3' }), 'MTEPERM_UAPI_KERNEL'],
    ['a new memslot without a backing', () => run().given(({ subject }) => subject.createVm({ ipa_bits: 40 })).state.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0n, memory_size: MiB }), 'MTEPERM_UAPI_BACKING'],
    ['a negative slot', () => run().given(({ subject }) => subject.createVm({ ipa_bits: 40 })).state.setUserMemoryRegion({ slot: -1, guest_phys_addr: 0n, memory_size: MiB, backing: 'anon' }), 'MTEPERM_UAPI_ARG'],
    [
      'an ioctl on a replay-only adapter (no bus), even with a VM in the folded log (ARCHITECTURE "Event flow": replay folds, never decides)',
      () => {
        const replay = new UapiAdapter();
        const probed = hostProbed();
        for (const [seq, e] of [runStarted(), probed, { type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }].entries()) {
          replay.apply({ ...(e as typeof probed), seq: BigInt(seq + 1), vm: 1, vcpu: -1, causation: 0n, schema: 1 });
        }
        expect(replay.state.vms.has(1)).toBe(true);
        return replay.enableCap({ cap: 'KVM_CAP_ARM_MTE' }, { vm: 1 });
      },
      'MTEPERM_UAPI_NO_BUS',
    ],
  ])('refuses %s with a stable code', (_what, f, code) => {
    expect(f).toThrow(UapiError);
    expect(f).toThrow(expect.objectContaining({ code, name: 'UapiError' }));
  });
});
