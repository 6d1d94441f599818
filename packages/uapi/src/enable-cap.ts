import type { EventData } from '@mteperm/events';
import { KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, KVM_CAP_ARM_NISV_TO_USER, kernelKnowsCap } from './capability';
import type { EnableCap } from './commands';
import { fail } from './errno';
import { systemSupportsMte } from './host';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import type { VmState } from './vm-state';

/**
 * KVM_ENABLE_CAP on the VM fd (DOMAIN A.2.1, B §3.1, §3.2):
 * - flags ≠ 0 → -EINVAL (checked before the capability);
 * - a capability this kernel does not have → -EINVAL (KVM_CAP_ARM_MTE_PERM exists only in v2);
 * - KVM_CAP_ARM_MTE: host without ARM64_MTE, or any vCPU created → -EINVAL;
 * - KVM_CAP_ARM_MTE_PERM: host without ARM64_MTE_PERM and ARM64_MTE, or any vCPU created → -EINVAL;
 * - KVM_CAP_ARM_NISV_TO_USER: 0, also after vCPUs exist (DOMAIN A.3.4);
 * - otherwise 0, also when enabled again; the two may be enabled in either order.
 */
export function enableCap(cmd: EnableCap, vm: VmState, host: HostCaps, profile: KernelProfile): EventData<'CapabilityEnabled'> {
  const ret = decideRet(cmd, vm, host, profile);
  return { cap: cmd.cap, cap_name: cmd.cap_name, flags: cmd.flags, args: cmd.args, ret, ...(cmd.step === undefined ? {} : { step: cmd.step }) };
}

function decideRet(cmd: EnableCap, vm: VmState, host: HostCaps, profile: KernelProfile): number {
  if (cmd.flags !== 0n) return fail('EINVAL');
  if (!kernelKnowsCap(cmd.cap, profile)) return fail('EINVAL');
  // No vCPU restriction for this one: KVM sets the VM flag whenever asked (DOMAIN A.3.4).
  if (cmd.cap === KVM_CAP_ARM_NISV_TO_USER) return 0;
  // created_vcpus, not EBUSY: the kernel uses -EINVAL here (DOMAIN B §3.1).
  if (vm.vcpus.size > 0) return fail('EINVAL');
  switch (cmd.cap) {
    case KVM_CAP_ARM_MTE:
      return systemSupportsMte(host) ? 0 : fail('EINVAL');
    case KVM_CAP_ARM_MTE_PERM:
      return host.mtePerm && systemSupportsMte(host) ? 0 : fail('EINVAL');
    default:
      return fail('EINVAL');
  }
}
