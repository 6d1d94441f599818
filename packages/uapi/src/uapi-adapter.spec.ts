import { EventBus } from '@mteperm/bus';
import type { Envelope } from '@mteperm/events';
import { UapiError } from './errors';
import { decodeKvmRun } from './kvm-run';
import { HOSTS, probedOf } from './testing/fixtures';
import { UapiAdapter } from './uapi-adapter';

const MiB = 0x10_0000n;

function setup(kernel = 'v2', host = HOSTS.full) {
  const bus = new EventBus();
  const log: Envelope[] = [];
  bus.all().subscribe((e) => log.push(e));
  const uapi = new UapiAdapter(bus);
  bus.publish({ type: 'RunStarted', data: { scenario: 't', kernel, policies: [], tag_pool_pages: 64n } });
  bus.publish({ type: 'HostCpusProbed', data: probedOf(host) });
  return { bus, log, uapi };
}

/** The CONTRACT §1 example scenario's ioctl steps. */
function contractExample(uapi: UapiAdapter) {
  return [
    uapi.createVm({ ipa_bits: 40 }),
    uapi.checkExtension({ cap: 'KVM_CAP_ARM_MTE_PERM' }),
    uapi.enableCap({ cap: 'KVM_CAP_ARM_MTE', step: 2 }),
    uapi.enableCap({ cap: 'KVM_CAP_ARM_MTE_PERM', step: 3 }),
    uapi.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0x8000_0000n, memory_size: 512n * MiB, backing: 'anon', step: 4 }),
    uapi.setUserMemoryRegion({ slot: 1, guest_phys_addr: 0x1000_0000n, memory_size: 16n * MiB, backing: 'vfio-bar-wb', step: 5 }),
    uapi.createVcpu({ id: 0 }),
  ];
}

describe('uapi on the bus', () => {
  it('runs the CONTRACT §1 example under v2: every ioctl succeeds (DOMAIN A.2.1, A.2.2)', () => {
    const { uapi } = setup();
    expect(contractExample(uapi)).toEqual([{ ret: 0, vm: 1 }, { ret: 1 }, { ret: 0 }, { ret: 0 }, { ret: 0 }, { ret: 0 }, { ret: 0 }]);
  });

  it('runs the same steps under baseline: no MTE_PERM capability, the VFIO BAR WB memslot -EINVAL (DOMAIN A.1, B §5.1)', () => {
    const { uapi } = setup('baseline');
    expect(contractExample(uapi)).toEqual([{ ret: 0, vm: 1 }, { ret: 0 }, { ret: 0 }, { ret: -22, errno: 'EINVAL' }, { ret: 0 }, { ret: -22, errno: 'EINVAL' }, { ret: 0 }]);
  });

  it('publishes one event per decision, tagged with the VM and vCPU', () => {
    const { uapi, log } = setup();
    contractExample(uapi);
    expect(log.slice(2).map((e) => [e.type, e.vm, e.vcpu])).toEqual([
      ['VmCreated', 1, -1],
      ['CapabilityChecked', 1, -1],
      ['CapabilityEnabled', 1, -1],
      ['CapabilityEnabled', 1, -1],
      ['MemslotRegistered', 1, -1],
      ['MemslotRegistered', 1, -1],
      ['VcpuCreated', 1, 0],
    ]);
    expect(log[5]).toMatchObject({ data: { cap: 239, cap_name: 'KVM_CAP_ARM_MTE_PERM', ret: 0, step: 3 } });
  });

  it('rebuilds the same state by folding the published events into a fresh adapter (ARCHITECTURE "Event flow")', () => {
    const { uapi, log } = setup();
    contractExample(uapi);
    uapi.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0x1_0000_0000n, memory_size: 512n * MiB, step: 7 });
    uapi.exitTagAccess(0x1000_0040n, { vcpu: 0 });
    const fresh = new UapiAdapter();
    for (const e of log) fresh.apply(e);
    expect(fresh.state).toEqual(uapi.state);
    expect(fresh.kvmRun(1, 0)).toEqual(uapi.kvmRun(1, 0));
  });

  it('takes the kernel profile from RunStarted (DOMAIN A.1)', () => {
    const { uapi } = setup('drop-check');
    expect(uapi.kernel).toBe('drop-check');
  });

  it('answers check_extension on the system fd before any VM (vm 0) (DOMAIN B §3.1)', () => {
    const { uapi, log } = setup();
    expect(uapi.checkExtension({ cap: 205 })).toEqual({ ret: 1 });
    expect(log.at(-1)).toMatchObject({ type: 'CapabilityChecked', vm: 0, data: { cap: 205, cap_name: 'KVM_CAP_ARM_MTE', ret: 1n } });
  });

  it('numbers VMs from 1 and records a refused create_vm against vm 0', () => {
    const { uapi, log } = setup();
    expect(uapi.createVm({ ipa_bits: 20 })).toEqual({ ret: -22, errno: 'EINVAL' });
    expect(log.at(-1)).toMatchObject({ type: 'VmCreated', vm: 0, data: { ret: -22 } });
    expect(uapi.createVm({ ipa_bits: 0 })).toEqual({ ret: 0, vm: 1 });
    expect(uapi.createVm({ ipa_bits: 44 })).toEqual({ ret: 0, vm: 2 });
    expect(uapi.state.vms.get(1)?.ipaBits).toBe(40);
    // later calls default to the last VM
    expect(uapi.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0xfff_0000_0000n, memory_size: MiB, backing: 'anon' })).toEqual({ ret: 0 });
    expect(uapi.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0xfff_0000_0000n, memory_size: MiB, backing: 'anon' }, { vm: 1 })).toEqual({
      ret: -14,
      errno: 'EFAULT',
    });
  });

  it('writes the tag-access exit into the vCPU’s kvm_run: v2 exit 39 flags 0x10, ret -14 (DOMAIN A.2.5, B §3.3)', () => {
    const { uapi, log } = setup();
    contractExample(uapi);
    const outcome = uapi.exitTagAccess(0x1000_0040n, { vcpu: 0 });
    expect(outcome).toMatchObject({ ret: -14, errno: 'EFAULT', exit: { exit_reason: 39, flags: 0x10n, gpa: 0x1000_0000n, size: 0x1000n } });
    expect(log.at(-1)).toMatchObject({ type: 'MemoryFaultExit', vm: 1, vcpu: 0, data: { exit_reason: 39, ret: -14 } });
    const run = uapi.kvmRun(1, 0);
    expect(new DataView(run.buffer).getUint32(8, true)).toBe(39);
    expect(decodeKvmRun(run)).toEqual(outcome.exit);
  });

  it('under baseline records KvmRunFailed and leaves kvm_run stale (DOMAIN B §3.3)', () => {
    const { uapi, log } = setup('baseline');
    contractExample(uapi);
    expect(uapi.exitDisallowedVma(0x8000_0000n, { vcpu: 0 })).toEqual({ ret: -14, errno: 'EFAULT' });
    expect(log.at(-1)).toMatchObject({ type: 'KvmRunFailed', vcpu: 0, data: { ret: -14 } });
    expect(uapi.kvmRun(1, 0).every((b) => b === 0)).toBe(true);
  });

  it('checks a migration and publishes MigrationChecked (DOMAIN A.2.9, CONTRACT §3)', () => {
    const { uapi, log } = setup();
    contractExample(uapi);
    expect(uapi.migrate({ target: probedOf(HOSTS.noPerm) })).toEqual({
      accepted: false,
      failed: { step: 3, op: 'enable_cap', cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22, errno: 'EINVAL' },
    });
    expect(log.at(-1)).toMatchObject({ type: 'MigrationChecked', vm: 1, data: { accepted: false, failed_step: 3 } });
    expect(uapi.migrate({ target: probedOf(HOSTS.full) })).toEqual({ accepted: true, failed: null });
  });

  it('reports KVM_ARM_MTE_COPY_TAGS on a NoTagAccess page as -EFAULT (DOMAIN A.2.10)', () => {
    const { uapi } = setup();
    contractExample(uapi);
    expect(uapi.mteCopyTags({ guest_ipa: 0x1000_0000n, length: 0x1000n })).toEqual({ ret: -14, errno: 'EFAULT' });
    expect(uapi.mteCopyTags({ guest_ipa: 0x8000_0000n, length: 0x1000n, to_guest: false })).toEqual({ ret: 0x1000 });
  });

  it('folds its own events at once when called from inside another delivery', () => {
    const { bus, uapi } = setup();
    uapi.createVm({ ipa_bits: 40 });
    const results: unknown[] = [];
    bus.subscribe('driver', 'StateHashRecorded', () => {
      results.push(uapi.enableCap({ cap: 'KVM_CAP_ARM_MTE' }));
      results.push(uapi.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0x1000_0000n, memory_size: MiB, backing: 'file-shared' }));
    });
    bus.publish({ type: 'StateHashRecorded', data: { sha256: new Uint8Array(32), events: 0n } });
    expect(results).toEqual([{ ret: 0 }, { ret: -22, errno: 'EINVAL' }]);
    expect(uapi.state.vms.get(1)?.setup).toHaveLength(1);
  });

  it.each([
    ['an ioctl before HostCpusProbed', () => new UapiAdapter(new EventBus()).createVm({ ipa_bits: 40 }), 'MTEPERM_UAPI_NO_HOST'],
    ['a VM ioctl before create_vm', () => setup().uapi.enableCap({ cap: 'KVM_CAP_ARM_MTE' }), 'MTEPERM_UAPI_NO_VM'],
    ['an unknown kernel profile', () => new UapiAdapter(undefined, { kernel: 'v3' }), 'MTEPERM_UAPI_KERNEL'],
    ['a new memslot without a backing', () => {
      const { uapi } = setup();
      uapi.createVm({ ipa_bits: 40 });
      return uapi.setUserMemoryRegion({ slot: 0, guest_phys_addr: 0n, memory_size: MiB });
    }, 'MTEPERM_UAPI_BACKING'],
    ['a negative slot', () => {
      const { uapi } = setup();
      uapi.createVm({ ipa_bits: 40 });
      return uapi.setUserMemoryRegion({ slot: -1, guest_phys_addr: 0n, memory_size: MiB, backing: 'anon' });
    }, 'MTEPERM_UAPI_ARG'],
  ])('refuses %s with a stable code', (_what, f, code) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UapiError);
    expect(err).toMatchObject({ code, name: 'UapiError' });
  });
});
