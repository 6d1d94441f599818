import type { EventData } from '@mteperm/events';
import type { CreateVcpu } from './commands';
import { fail } from './errno';
import type { HostCaps } from './host';
import type { VmState } from './vm-state';

/** KVM_MAX_VCPU_IDS on arm64 (= KVM_MAX_VCPUS, the GICv3 limit of 512). */
export const KVM_MAX_VCPU_IDS = 512;

/**
 * KVM_CREATE_VCPU followed by KVM_ARM_VCPU_INIT, as one step:
 * - id ≥ KVM_MAX_VCPU_IDS → -EINVAL; an id already in use → -EEXIST (kvm_vm_ioctl_create_vcpu);
 * - KVM_ARM_VCPU_HAS_EL2 on a host without ARM64_HAS_NESTED_VIRT → -EINVAL (VCPU_INIT's feature check).
 * A refused step creates nothing (model decision: the kernel would keep the vCPU fd of a failed
 * VCPU_INIT, but a VMM gives up on such a vCPU).
 */
export function createVcpu(cmd: CreateVcpu, vm: VmState, host: HostCaps): EventData<'VcpuCreated'> {
  const result = (ret: number): EventData<'VcpuCreated'> => ({ id: cmd.id, el2: cmd.el2, ret });
  if (!Number.isInteger(cmd.id) || cmd.id < 0 || cmd.id >= KVM_MAX_VCPU_IDS) return result(fail('EINVAL'));
  if (vm.vcpus.has(cmd.id)) return result(fail('EEXIST'));
  if (cmd.el2 && !host.nv) return result(fail('EINVAL'));
  return result(0);
}
