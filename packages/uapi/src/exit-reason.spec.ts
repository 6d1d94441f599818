import { EventBus } from '@mteperm/bus';
import { decodeKvmRun, exitReasonName, memoryFaultExit, KVM_RUN_SIZE } from './kvm-run';
import { evolve, initialUapiState } from './vm-state';

describe('exit reasons: one number → name mapping (include/uapi/linux/kvm.h; DOMAIN A.1, A.2.5, B §3.3)', () => {
  it.each([
    [6, 'KVM_EXIT_MMIO'],
    [39, 'KVM_EXIT_MEMORY_FAULT'],
    [40, 'KVM_EXIT_ARM_NOTAG_ACCESS'], // v1 only, never merged
    [0, undefined], // KVM_EXIT_UNKNOWN: not one the model builds
    [28, undefined],
  ])('%i is %s', (n, name) => {
    expect(exitReasonName(n)).toBe(name);
  });

  it('memory-fault exits: 39 (v2, drop-check) and 40 (v1) only', () => {
    expect(memoryFaultExit(39, 0x10n, 0x1000_0000n, 0x1000n)).toEqual({ reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: 39, flags: 0x10n, gpa: 0x1000_0000n, size: 0x1000n });
    expect(memoryFaultExit(40, 0n, 0x1000_0000n, 0x1000n)).toMatchObject({ reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', exit_reason: 40 });
    expect(memoryFaultExit(6, 0n, 0n, 0n)).toBeUndefined();
  });

  it('a kvm_run image with another exit reason decodes to nothing', () => {
    const image = new Uint8Array(KVM_RUN_SIZE);
    new DataView(image.buffer).setUint32(8, 7, true);
    expect(decodeKvmRun(image)).toBeUndefined();
  });

  it('a folded MemoryFaultExit of v1 fills the vCPU’s kvm_run with exit 40 (DOMAIN A.1)', () => {
    const bus = new EventBus();
    let state = initialUapiState('v1');
    bus.all().subscribe((e) => (state = evolve(state, e)));
    bus.publish({ type: 'HostCpusProbed', data: { cpus: [], sanitised: { id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 1n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0n }, mte: 3, mte_perm: true, s2fwb: true, nv: false } });
    bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 1 });
    bus.publish({ type: 'VcpuCreated', data: { id: 0, el2: false, ret: 0 } }, { vm: 1, vcpu: 0 });
    bus.publish({ type: 'MemoryFaultExit', data: { exit_reason: 40, gpa: 0x1000_0000n, size: 0x1000n, flags: 0n, ret: 0 } }, { vm: 1, vcpu: 0 });
    expect(state.vms.get(1)?.vcpus.get(0)?.exit).toEqual({ reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', exit_reason: 40, flags: 0n, gpa: 0x1000_0000n, size: 0x1000n });
  });
});
