import { createVm } from './create-vm';

describe('KVM_CREATE_VM with KVM_VM_TYPE_ARM_IPA_SIZE', () => {
  it.each([
    ['0 selects the default 40-bit IPA', 0, { ipa_bits: 40, ret: 0 }],
    ['32 bits, the minimum (ARM64_MIN_PARANGE_BITS)', 32, { ipa_bits: 32, ret: 0 }],
    ['40 bits', 40, { ipa_bits: 40, ret: 0 }],
    ['48 bits, the model host limit', 48, { ipa_bits: 48, ret: 0 }],
    ['31 bits → -EINVAL', 31, { ipa_bits: 31, ret: -22 }],
    ['52 bits beyond kvm_ipa_limit → -EINVAL', 52, { ipa_bits: 52, ret: -22 }],
    ['a value outside the type byte → -EINVAL', 300, { ipa_bits: 0, ret: -22 }],
    ['a negative value → -EINVAL', -1, { ipa_bits: 0, ret: -22 }],
  ])('%s (CONTRACT §1.3 create_vm, kernel kvm_init_ipa_range)', (_what, ipa_bits, want) => {
    expect(createVm({ kind: 'create_vm', ipa_bits })).toEqual(want);
  });
});
