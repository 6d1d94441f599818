import type { EventData } from '@mteperm/events';
import { fail } from './errno';
import type { CreateVm } from './commands';

/** KVM_PHYS_SHIFT: the IPA size of a VM created with type 0 (40 bits). */
export const KVM_PHYS_SHIFT = 40;
/** ARM64_MIN_PARANGE_BITS: the smallest IPA size KVM accepts. */
export const ARM64_MIN_PARANGE_BITS = 32;
/**
 * The host's kvm_ipa_limit. The contract has no ID_AA64MMFR0_EL1 (PARange), so the model fixes a
 * 48-bit PA host with 4 KiB pages and no LPA2 (model decision, README).
 */
export const KVM_IPA_LIMIT = 48;
/** KVM_VM_TYPE_ARM_IPA_SIZE_MASK: the machine type's IPA-size byte; other type bits are refused. */
export const KVM_VM_TYPE_ARM_IPA_SIZE_MASK = 0xff;

/**
 * KVM_CREATE_VM with KVM_VM_TYPE_ARM_IPA_SIZE(ipa_bits): 0 → 40 bits; otherwise it must lie in
 * [32, kvm_ipa_limit], else -EINVAL (kvm_init_ipa_range).
 */
export function createVm(cmd: CreateVm): EventData<'VmCreated'> {
  const bits = cmd.ipa_bits;
  if (!Number.isInteger(bits) || bits < 0 || bits > KVM_VM_TYPE_ARM_IPA_SIZE_MASK) return { ipa_bits: 0, ret: fail('EINVAL') };
  if (bits === 0) return { ipa_bits: KVM_PHYS_SHIFT, ret: 0 };
  if (bits < ARM64_MIN_PARANGE_BITS || bits > KVM_IPA_LIMIT) return { ipa_bits: bits, ret: fail('EINVAL') };
  return { ipa_bits: bits, ret: 0 };
}
