import type { CpuIdRegs, Envelope } from '@mteperm/events';
import { CpuFeatureError } from './errors';
import { guestIdRegs } from './guest-view';
import type { GuestIdRegs } from './guest-view';

// Capability names as the uapi package publishes them (DOMAIN A.2.1: symbolic in every output).
const CAP_MTE = 'KVM_CAP_ARM_MTE';
const CAP_MTE_PERM = 'KVM_CAP_ARM_MTE_PERM';

export interface VmView {
  readonly mteEnabled: boolean;
  readonly mtePermEnabled: boolean;
  /** vCPU id → created with EL2. */
  readonly vcpus: ReadonlyMap<number, boolean>;
}

/** What the guest view needs, folded from HostCpusProbed, VmCreated, CapabilityEnabled, VcpuCreated. */
export interface GuestViewState {
  readonly host: { readonly sanitised: CpuIdRegs; readonly mte: number; readonly mtePerm: boolean; readonly nv: boolean } | undefined;
  readonly vms: ReadonlyMap<number, VmView>;
}

export function initialGuestViewState(): GuestViewState {
  return { host: undefined, vms: new Map() };
}

const EMPTY_VM: VmView = { mteEnabled: false, mtePermEnabled: false, vcpus: new Map() };

function withVm(state: GuestViewState, vm: number, f: (v: VmView) => VmView): GuestViewState {
  const vms = new Map(state.vms);
  vms.set(vm, f(state.vms.get(vm) ?? EMPTY_VM));
  return { ...state, vms };
}

/** Folds one event; events this view does not depend on leave the state unchanged. */
export function evolveGuestView(state: GuestViewState, e: Envelope): GuestViewState {
  switch (e.type) {
    case 'HostCpusProbed':
      return { ...state, host: { sanitised: e.data.sanitised, mte: e.data.mte, mtePerm: e.data.mte_perm, nv: e.data.nv } };
    case 'VmCreated':
      return e.data.ret === 0 ? withVm(state, e.vm, () => EMPTY_VM) : state;
    case 'CapabilityEnabled':
      if (e.data.ret !== 0) return state;
      if (e.data.cap_name === CAP_MTE) return withVm(state, e.vm, (v) => ({ ...v, mteEnabled: true }));
      if (e.data.cap_name === CAP_MTE_PERM) return withVm(state, e.vm, (v) => ({ ...v, mtePermEnabled: true }));
      return state;
    case 'VcpuCreated':
      if (e.data.ret !== 0) return state;
      return withVm(state, e.vm, (v) => ({ ...v, vcpus: new Map(v.vcpus).set(e.data.id, e.data.el2) }));
    default:
      return state;
  }
}

/** The ID registers vCPU `vcpu` of VM `vm` reads (DOMAIN A.2.8, B §2.4). */
export function guestIdRegsOf(state: GuestViewState, vm: number, vcpu: number): GuestIdRegs {
  const host = state.host;
  if (host === undefined) throw new CpuFeatureError('MTEPERM_CPU_NO_HOST', 'no HostCpusProbed event seen yet');
  const v = state.vms.get(vm);
  const el2 = v?.vcpus.get(vcpu);
  if (v === undefined || el2 === undefined) throw new CpuFeatureError('MTEPERM_CPU_NO_VCPU', `VM ${vm} has no vCPU ${vcpu}`);
  return guestIdRegs(host.sanitised, {
    kvmHasMte: host.mte >= 2 && v.mteEnabled,
    kvmHasMtePerm: host.mtePerm && v.mtePermEnabled,
    vcpuHasEl2: el2 && host.nv,
  });
}
