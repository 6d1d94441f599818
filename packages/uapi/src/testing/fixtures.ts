import { deciderSpec } from '@mteperm/bus/testing';
import type { Decider } from '@mteperm/bus/testing';
import type { EventData, MteEvent } from '@mteperm/events';
import { KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM } from '@mteperm/arm64';
import { vmaForBacking } from '../backing';
import type { BackingSpec } from '../backing';
import type { UapiCommand } from '../commands';
import { decide } from '../decide';
import type { HostCaps } from '../host';
import type { KernelProfile } from '../kernel-profile';
import { evolveVm, initialVmState } from '../vm-state';
import type { VmState } from '../vm-state';

/** Host shorthands for the spec tables (what HostCpusProbed would carry). */
export const HOSTS = {
  /** MTE3 + FEAT_MTE_PERM + S2FWB + NV on every CPU. */
  full: { mte: 3, mtePerm: true, s2fwb: true, nv: true },
  /** MTE3 without FEAT_MTE_PERM. */
  noPerm: { mte: 3, mtePerm: false, s2fwb: true, nv: true },
  /** FEAT_MTE only (EL0 instructions, no ARM64_MTE). */
  mte1: { mte: 1, mtePerm: false, s2fwb: false, nv: false },
  /** No MTE at all, no NV. */
  none: { mte: 0, mtePerm: false, s2fwb: false, nv: false },
} as const satisfies Record<string, HostCaps>;

export function probedOf(host: HostCaps): EventData<'HostCpusProbed'> {
  const cpu = { id_aa64pfr1_el1: BigInt(host.mte) << 8n, id_aa64pfr2_el1: host.mtePerm ? 1n : 0n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0n };
  return { cpus: [cpu], sanitised: cpu, mte: host.mte, mte_perm: host.mtePerm, s2fwb: host.s2fwb, nv: host.nv };
}

/** The uapi's VM decider for one host and kernel profile, for the shared kit's deciderSpec. */
export function vmDecider(host: HostCaps, kernel: KernelProfile, ipaBits = 40): Decider<UapiCommand, VmState, MteEvent> {
  return {
    initialState: () => initialVmState(ipaBits),
    decide: (command, vm) => decide(command, vm, { kernel, host }),
    evolve: (vm, event) => evolveVm(vm, event, -1),
  };
}

/** given(commands) → the VM state they leave (the kit's deciderSpec, history given as commands). */
export function given(commands: readonly UapiCommand[], host: HostCaps, kernel: KernelProfile, ipaBits = 40): VmState {
  return deciderSpec(vmDecider(host, kernel, ipaBits)).given().after(...commands).state;
}

/** when(command) → the single event the decider emits. */
export function when(command: UapiCommand, vm: VmState, host: HostCaps, kernel: KernelProfile): MteEvent {
  return deciderSpec(vmDecider(host, kernel, vm.ipaBits)).from(vm).when(command).event;
}

export const cap = (name: 'KVM_CAP_ARM_MTE' | 'KVM_CAP_ARM_MTE_PERM', extra: { flags?: bigint; step?: number } = {}): UapiCommand => ({
  kind: 'enable_cap',
  cap: name === 'KVM_CAP_ARM_MTE' ? KVM_CAP_ARM_MTE : KVM_CAP_ARM_MTE_PERM,
  cap_name: name,
  flags: extra.flags ?? 0n,
  args: [],
  ...(extra.step === undefined ? {} : { step: extra.step }),
});

export const slot = (
  n: number,
  gpa: bigint,
  size: bigint,
  backing: BackingSpec | undefined,
  extra: { flags?: number; step?: number } = {},
): UapiCommand => ({
  kind: 'set_user_memory_region',
  slot: n,
  guest_phys_addr: gpa,
  memory_size: size,
  flags: extra.flags ?? 0,
  vma: backing === undefined ? undefined : vmaForBacking(backing, n),
  ...(extra.step === undefined ? {} : { step: extra.step }),
});

export const vcpu = (id: number, el2 = false): UapiCommand => ({ kind: 'create_vcpu', id, el2 });

/** `ret` of whatever event a decision produced (0 for events without one). */
export function retOf(e: MteEvent): number {
  switch (e.type) {
    case 'VmCreated':
    case 'CapabilityEnabled':
    case 'MemslotRefused':
    case 'VcpuCreated':
    case 'MigrationChecked':
      return e.data.ret;
    case 'CapabilityChecked':
    case 'MteTagsCopied':
      return Number(e.data.ret);
    default:
      return 0;
  }
}
