import { decodeKvmRun, disallowedVmaOutcome, encodeKvmRun, mmioOutcome, outcomeEvent, tagAccessOutcome, KVM_RUN_SIZE } from './kvm-run';

describe('kvm_run exits', () => {
  it.each([
    [
      'v2: ret -14 EFAULT, KVM_EXIT_MEMORY_FAULT (39), flags 0x10, gpa page-aligned, size 0x1000 (DOMAIN A.2.5)',
      'v2',
      { ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: 39, flags: 0x10n, gpa: 0x1000_0000n, size: 0x1000n } },
    ],
    [
      'drop-check: the same memory-fault exit with TAGACCESS (DOMAIN A.1)',
      'drop-check',
      { ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: 39, flags: 0x10n, gpa: 0x1000_0000n, size: 0x1000n } },
    ],
    [
      'v1: ret 0, KVM_EXIT_ARM_NOTAG_ACCESS (40), flags 0, gfn << PAGE_SHIFT, PAGE_SIZE (DOMAIN B §3.3)',
      'v1',
      { ret: 0, exit: { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', exit_reason: 40, flags: 0n, gpa: 0x1000_0000n, size: 0x1000n } },
    ],
    ['baseline: -EFAULT with no exit info (DOMAIN A.1, B §3.3)', 'baseline', { ret: -14, errno: 'EFAULT' }],
  ] as const)('tag access, %s', (_what, profile, want) => {
    expect(tagAccessOutcome(profile, 0x1000_0040n)).toEqual(want);
  });

  it.each([
    ['baseline: -EFAULT, no exit info (DOMAIN B §5.4 row 5)', 'baseline', { ret: -14, errno: 'EFAULT' }],
    ['v2 without kvm_has_mte_perm: -EFAULT, no exit info (DOMAIN B §5.4 row 5)', 'v2', { ret: -14, errno: 'EFAULT' }],
    ['v1 on a host without FEAT_MTE_PERM: -EINVAL from stage2_set_prot_attr (DOMAIN B §7.4 item 5)', 'v1', { ret: -22, errno: 'EINVAL' }],
    [
      'drop-check: memory-fault exit with TAGACCESS even without a tag access (DOMAIN B §5.4 row 10)',
      'drop-check',
      { ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: 39, flags: 0x10n, gpa: 0x8000_3000n, size: 0x1000n } },
    ],
  ] as const)('disallowed VMA at fault time, %s', (_what, profile, want) => {
    expect(disallowedVmaOutcome(profile, 0x8000_3abcn)).toEqual(want);
  });

  it('lays out memory_fault as exit_reason@8, flags@32, gpa@40, size@48, little-endian (DOMAIN B §3.3)', () => {
    const bytes = encodeKvmRun(tagAccessOutcome('v2', 0x1_2345_6789n).exit!);
    expect(bytes.length).toBe(KVM_RUN_SIZE);
    expect(KVM_RUN_SIZE).toBe(256 + 32);
    expect([...bytes.subarray(8, 12)]).toEqual([39, 0, 0, 0]);
    expect([...bytes.subarray(32, 40)]).toEqual([0x10, 0, 0, 0, 0, 0, 0, 0]);
    expect([...bytes.subarray(40, 48)]).toEqual([0x00, 0x60, 0x45, 0x23, 0x01, 0, 0, 0]);
    expect([...bytes.subarray(48, 56)]).toEqual([0x00, 0x10, 0, 0, 0, 0, 0, 0]);
    expect(bytes.subarray(56).every((b) => b === 0)).toBe(true);
  });

  it('writes v1’s exit 40 with the same union layout (DOMAIN B §3.3)', () => {
    const bytes = encodeKvmRun(tagAccessOutcome('v1', 0x2000n).exit!);
    const view = new DataView(bytes.buffer);
    expect([view.getUint32(8, true), view.getBigUint64(32, true), view.getBigUint64(40, true), view.getBigUint64(48, true)]).toEqual([40, 0n, 0x2000n, 0x1000n]);
  });

  it('writes KVM_EXIT_MMIO (6): phys_addr@32, len@48, is_write@52 (include/uapi/linux/kvm.h)', () => {
    const bytes = encodeKvmRun(mmioOutcome(0x900_0000n, 4, true).exit!);
    const view = new DataView(bytes.buffer);
    expect([view.getUint32(8, true), view.getBigUint64(32, true), view.getUint32(48, true), view.getUint8(52)]).toEqual([6, 0x900_0000n, 4, 1]);
  });

  it('decodes what it encodes, and clears a previous exit’s union (DOMAIN B §3.3)', () => {
    const mf = tagAccessOutcome('v2', 0x8000_0000n).exit!;
    const mmio = mmioOutcome(0x10n, 2, false).exit!;
    const image = encodeKvmRun(mf);
    expect(decodeKvmRun(image)).toEqual(mf);
    encodeKvmRun(mmio, image);
    expect(decodeKvmRun(image)).toEqual(mmio);
    expect(image.subarray(53).every((b) => b === 0)).toBe(true);
  });

  it('records an outcome as MemoryFaultExit, or KvmRunFailed when there is no exit (DOMAIN B §3.3)', () => {
    expect(outcomeEvent(tagAccessOutcome('v2', 0x1000_0040n), 0x1000_0040n)).toEqual({
      type: 'MemoryFaultExit',
      data: { exit_reason: 39, gpa: 0x1000_0000n, size: 0x1000n, flags: 0x10n, ret: -14 },
    });
    expect(outcomeEvent(tagAccessOutcome('baseline', 0x1000_0040n), 0x1000_0040n, 'why')).toEqual({ type: 'KvmRunFailed', data: { gpa: 0x1000_0040n, ret: -14, reason: 'why' } });
  });
});
