import type { Envelope, MteEvent, Vma } from '@mteperm/events';
import { hostCapsOf } from './host';
import type { HostCaps } from './host';
import { isKernelProfile, DEFAULT_KERNEL_PROFILE } from './kernel-profile';
import type { KernelProfile } from './kernel-profile';
import { KVM_EXIT_MMIO, memoryFaultExit } from './kvm-run';
import type { KvmRunExit } from './kvm-run';

export interface Memslot {
  readonly slot: number;
  readonly guest_phys_addr: bigint;
  readonly memory_size: bigint;
  readonly flags: number;
  readonly vma: Vma;
}

/** A step of the VM's setup that a migration re-runs on the target (DOMAIN A.2.9, CONTRACT §1.5). */
export type SetupStep =
  | { readonly op: 'enable_cap'; readonly step: number | undefined; readonly cap: number; readonly cap_name: string; readonly flags: bigint; readonly args: readonly bigint[] }
  | {
      readonly op: 'set_user_memory_region';
      readonly step: number | undefined;
      readonly slot: number;
      readonly guest_phys_addr: bigint;
      readonly memory_size: bigint;
      readonly flags: number;
      readonly vma: Vma;
    };

export interface VcpuState {
  readonly el2: boolean;
  /** The exit last written to this vCPU's kvm_run (undefined before any). */
  readonly exit: KvmRunExit | undefined;
}

export interface VmState {
  readonly ipaBits: number;
  /** KVM_ARCH_FLAG_MTE_ENABLED. */
  readonly mteEnabled: boolean;
  /** KVM_ARCH_FLAG_MTE_PERM_ENABLED (v2). */
  readonly mtePermEnabled: boolean;
  readonly vcpus: ReadonlyMap<number, VcpuState>;
  readonly memslots: ReadonlyMap<number, Memslot>;
  /** Successful enable_cap and memslot changes, in order. */
  readonly setup: readonly SetupStep[];
}

/** Everything the uapi package knows: the kernel profile, the host, and each VM by id. */
export interface UapiState {
  readonly kernel: KernelProfile;
  readonly host: HostCaps | undefined;
  readonly vms: ReadonlyMap<number, VmState>;
}

export function initialVmState(ipaBits: number): VmState {
  return { ipaBits, mteEnabled: false, mtePermEnabled: false, vcpus: new Map(), memslots: new Map(), setup: [] };
}

export function initialUapiState(kernel: KernelProfile = DEFAULT_KERNEL_PROFILE): UapiState {
  return { kernel, host: undefined, vms: new Map() };
}

// Written out rather than spread: exits fold on the fault path, and a spread copies key by key.
function withVcpus(vm: VmState, vcpus: ReadonlyMap<number, VcpuState>): VmState {
  return { ipaBits: vm.ipaBits, mteEnabled: vm.mteEnabled, mtePermEnabled: vm.mtePermEnabled, vcpus, memslots: vm.memslots, setup: vm.setup };
}

function withVcpu(vm: VmState, id: number, f: (v: VcpuState | undefined) => VcpuState | undefined): VmState {
  const next = f(vm.vcpus.get(id));
  return next === undefined ? vm : withVcpus(vm, new Map(vm.vcpus).set(id, next));
}

/** The vCPU's state after an exit; an unknown vCPU leaves the VM as is. */
function withExit(vm: VmState, id: number, exit: KvmRunExit): VmState {
  const v = vm.vcpus.get(id);
  return v === undefined ? vm : withVcpus(vm, new Map(vm.vcpus).set(id, { el2: v.el2, exit }));
}

/** Folds one VM-scoped event into that VM (events that do not change a VM leave it as is). */
export function evolveVm(vm: VmState, event: MteEvent, vcpu: number): VmState {
  switch (event.type) {
    case 'CapabilityEnabled': {
      const d = event.data;
      if (d.ret !== 0) return vm;
      const setup = [...vm.setup, { op: 'enable_cap' as const, step: d.step, cap: d.cap, cap_name: d.cap_name, flags: d.flags, args: d.args }];
      if (d.cap_name === 'KVM_CAP_ARM_MTE') return { ...vm, mteEnabled: true, setup };
      if (d.cap_name === 'KVM_CAP_ARM_MTE_PERM') return { ...vm, mtePermEnabled: true, setup };
      return { ...vm, setup };
    }
    case 'MemslotRegistered': {
      const d = event.data;
      if (d.change === 'unchanged') return vm;
      const memslots = new Map(vm.memslots);
      if (d.change === 'delete') memslots.delete(d.slot);
      else memslots.set(d.slot, { slot: d.slot, guest_phys_addr: d.guest_phys_addr, memory_size: d.memory_size, flags: d.flags, vma: d.vma });
      const step: SetupStep = {
        op: 'set_user_memory_region',
        step: d.step,
        slot: d.slot,
        guest_phys_addr: d.guest_phys_addr,
        memory_size: d.memory_size,
        flags: d.flags,
        vma: d.vma,
      };
      return { ...vm, memslots, setup: [...vm.setup, step] };
    }
    case 'VcpuCreated':
      return event.data.ret === 0 ? withVcpu(vm, event.data.id, () => ({ el2: event.data.el2, exit: undefined })) : vm;
    case 'MemoryFaultExit': {
      const d = event.data;
      const exit = memoryFaultExit(d.exit_reason, d.flags, d.gpa, d.size);
      // Only uapi publishes MemoryFaultExit, always with 39 or 40: anything else leaves kvm_run as it was.
      return exit === undefined ? vm : withExit(vm, vcpu, exit);
    }
    case 'MmioExit': {
      const d = event.data;
      const exit: KvmRunExit = { reason: 'KVM_EXIT_MMIO', exit_reason: KVM_EXIT_MMIO, phys_addr: d.phys_addr, len: d.len, is_write: d.is_write };
      return withExit(vm, vcpu, exit);
    }
    default:
      // KvmRunFailed leaves kvm_run stale (DOMAIN B §3.3); refusals and queries change nothing.
      return vm;
  }
}

/** Folds one recorded event into the uapi state; replaying a log rebuilds it exactly. */
export function evolve(state: UapiState, e: Envelope): UapiState {
  switch (e.type) {
    case 'RunStarted':
      return isKernelProfile(e.data.kernel) ? { ...state, kernel: e.data.kernel } : state;
    case 'HostCpusProbed':
      return { ...state, host: hostCapsOf(e.data) };
    case 'VmCreated':
      return e.data.ret === 0 ? { ...state, vms: new Map(state.vms).set(e.vm, initialVmState(e.data.ipa_bits)) } : state;
    default: {
      const vm = state.vms.get(e.vm);
      if (vm === undefined) return state;
      const next = evolveVm(vm, e, e.vcpu);
      return next === vm ? state : { kernel: state.kernel, host: state.host, vms: new Map(state.vms).set(e.vm, next) };
    }
  }
}
