import { accessRequested, at, busSpec, capEnabled, hostProbed, mapRequested, memslotRegistered, vcpuCreated, vmCreated } from '@mteperm/bus/testing';
import type { Subject } from '@mteperm/bus/testing';
import { attachPgtable } from '@mteperm/pgtable';
import { NestedAdapter } from '@mteperm/nested';

type GuestEntry = Parameters<NestedAdapter['writeGuestStage2']>[0]['map'][number];

// Nested on a bus with pgtable (the composition runtime makes; nested never imports pgtable): an L2 access whose L1 IPA L0 has not mapped goes down L0's own path.
const nested = busSpec(
  (bus) => {
    attachPgtable(bus);
    return new NestedAdapter(bus);
  },
  { vm: 1 },
);
const vcpu0 = { vm: 1, vcpu: 0 };

/** given: a host with MTE_PERM, S2FWB and NV, VM 1 with MTE_PERM, 1 GiB of RAM at 0x4000_0000, EL2 vCPU 0, EL1 vCPU 1. */
const vm = () =>
  nested.given(
    hostProbed(),
    vmCreated(),
    capEnabled('KVM_CAP_ARM_MTE_PERM'),
    memslotRegistered(0, 0x4000_0000n, 0x4000_0000n),
    at(vcpu0, vcpuCreated(0, true)),
    at({ vm: 1, vcpu: 1 }, vcpuCreated(1, false)),
    // L0 already maps the first 2 MiB of RAM tagged (as mmu would after a fault, B §5.4 row 3).
    mapRequested(0x4000_0000n, 0x8_0000_0000n, 0x20_0000n),
  );

/** guest_stage2 of the guest hypervisor on vCPU 0 (CONTRACT §1.4). */
const guestStage2 =
  (...map: GuestEntry[]) =>
  ({ subject }: Subject<NestedAdapter>) =>
    subject.writeGuestStage2({ vcpu: 0, map }, { vm: 1 });
const entry = (ipa: bigint, pa: bigint, size: bigint, attr: string, ap: string): GuestEntry => ({ ipa, pa, size, attr, ap });
/** An access by the nested (L2) guest of vCPU 0. */
const l2 = (gpa: bigint, op: 'read' | 'stg' | 'ldg') => at(vcpu0, accessRequested(gpa, op, { step: 9, level: 2 }));

describe('nested on the bus (DOMAIN A.2.8)', () => {
  it('guest_stage2 writes GuestStage2Written per entry and returns the descriptors at their L1 IPAs', () => {
    vm()
      .when(guestStage2(entry(0x0n, 0x4000_0000n, 0x1000n, 'normal_notagaccess', 'rw')))
      .returns({ ret: 0, leaves: [{ ipa: '0x0', level: 3, desc: '0x400007d3', at: '0x7fffc000' }] })
      .then({ type: 'GuestStage2Written', vcpu: 0, data: { ipa: 0n, pa: 0x4000_0000n, size: 0x1000n, attr: 'normal_notagaccess', ap: 'rw' } });
  });

  it.each([
    ['an EL1 vCPU: -EINVAL', { vcpu: 1 }, {}, { code: 'MTEPERM_NESTED_NOT_EL2', ret: -22 }],
    ['an unknown vCPU: -EBADF', { vcpu: 7 }, {}, { code: 'MTEPERM_NESTED_NO_VCPU', ret: -9 }],
    ['a misaligned entry: -EINVAL', { vcpu: 0 }, { size: 0x10n }, { code: 'MTEPERM_NESTED_ALIGN', ret: -22 }],
    ['an unknown attr: -EINVAL', { vcpu: 0 }, { attr: 'weird' }, { code: 'MTEPERM_NESTED_ATTR', ret: -22 }],
  ])('refuses guest_stage2 from %s, with a stable code and no event', (_what, { vcpu }, change, error) => {
    vm()
      .when(({ subject }) => subject.writeGuestStage2({ vcpu, map: [{ ...entry(0n, 0x4000_0000n, 0x1000n, 'normal', 'rw'), ...change }] }, { vm: 1 }).error)
      .returns(expect.objectContaining(error))
      .then();
  });

  it('an L2 STG to an L1 NoTagAccess page is injected into L1 (EC 0x24, level 3 permission, bit 41, WnR)', () => {
    vm()
      .given(guestStage2(entry(0x0n, 0x4000_0000n, 0x1000n, 'normal_notagaccess', 'rw')))
      .when(l2(0x10n, 'stg'))
      .then({ type: 'InjectedAbort', vcpu: 0, causedBy: 'when', data: { kind: 'stage2', ipa: 0x10n, esr: 0x0000_0200_9200_004fn, target_level: 2 } });
  });

  it("an L2 read installs a shadow leaf (ShadowStage2Mapped) and completes at level 2; rewriting L1's entry invalidates it", () => {
    vm()
      .given(guestStage2(entry(0x0n, 0x4000_0000n, 0x1000n, 'normal', 'ro')))
      .when(l2(0x10n, 'read'))
      .then(
        // FWB host, Normal WB forced 0b0110, S2AP R only (L1 read-only), XN, SW = L1 level 3.
        { type: 'ShadowStage2Mapped', data: { ipa: 0n, l1_ipa: 0x4000_0000n, pa: 0x8_0000_0000n, size: 0x1000n, level: 3, desc: 0x01c0_0008_0000_075bn } },
        { type: 'AccessCompleted', data: { gpa: 0x10n, op: 'read', pa: 0x8_0000_0010n, tags_ignored: false, level: 2 } },
      )
      .and(({ subject }) => expect(subject.shadowLeavesJson(1)).toHaveLength(1));
    vm()
      .given(guestStage2(entry(0x0n, 0x4000_0000n, 0x1000n, 'normal', 'ro')), l2(0x10n, 'read'))
      .when(guestStage2(entry(0x0n, 0x4000_1000n, 0x1000n, 'normal', 'rw')))
      .then({ type: 'GuestStage2Written' }, { type: 'ShadowStage2Invalidated', vcpu: 0, data: { ipa: 0n, size: 0x1000n } })
      .and(({ subject }) => expect(subject.shadowLeavesJson(1)).toEqual([]));
  });

  it('L0 unmapping the L1 IPA invalidates the shadow leaf built on it', () => {
    const shadowed = vm().given(guestStage2(entry(0x20_0000n, 0x4000_0000n, 0x20_0000n, 'normal', 'rw')), l2(0x20_0010n, 'read'));
    expect(shadowed.state.shadowLeavesJson(1).map((l) => [l.ipa, l.size, l.pa])).toEqual([['0x200000', '0x200000', '0x800000000']]);
    shadowed
      .when({ type: 'Stage2UnmapRequested', data: { ipa: 0x4000_1000n, size: 0x1000n } })
      // L0's 2 MiB block is split to unmap one page (B §4), and the shadow leaf over it goes.
      .then({ type: 'Stage2BlockSplit' }, { type: 'Stage2Unmapped' }, { type: 'ShadowStage2Invalidated', data: { ipa: 0x20_0000n, size: 0x20_0000n } })
      .and(({ subject }) => expect(subject.shadowLeavesJson(1)).toEqual([]));
  });

  it("an L2 access whose L1 IPA L0 has not mapped goes down L0's path as a level-1 access of the L1 IPA", () => {
    // pgtable alone (no mmu here) reports L0's translation fault for the L1 IPA with the base access.
    vm()
      .given(guestStage2(entry(0x0n, 0x5000_0000n, 0x1000n, 'normal', 'rw')))
      .when(l2(0x8n, 'stg'))
      .then(
        { type: 'AccessRequested', data: expect.objectContaining({ gpa: '0x50000008n', op: 'write', level: 1 }) },
        { type: 'Stage2FaultTaken', data: expect.objectContaining({ ipa: '0x50000008n', op: 'write', kind: 'translation' }) },
      );
  });

  it('an L2 access from an EL1-only vCPU fails KVM_RUN -EINVAL', () => {
    vm()
      .when(at({ vm: 1, vcpu: 1 }, accessRequested(0x0n, 'read', { step: 9, level: 2 })))
      .then({ type: 'KvmRunFailed', vcpu: 1, data: expect.objectContaining({ ret: -22 }) });
  });

  it('replaying the log into a fresh adapter rebuilds the same nested state (ARCHITECTURE "Event flow")', () => {
    vm()
      .given(guestStage2(entry(0x0n, 0x4000_0000n, 0x20_0000n, 'normal_notagaccess', 'rw')), l2(0x1000n, 'read'))
      .when(l2(0x2000n, 'stg'))
      .and(({ log, subject }) => {
        const fresh = new NestedAdapter();
        for (const e of log) fresh.apply(e);
        expect(fresh.state.snapshot()).toEqual(subject.state.snapshot());
        expect(fresh.shadowLeavesJson(1)).toEqual(subject.shadowLeavesJson(1));
        // L1 (FWB=0) 0b0100 in a host FWB shadow: 0b1111, stage-1 attributes + NoTagAccess (C §5 rule 2).
        expect(subject.shadowLeavesJson(1)[0]).toMatchObject({ ipa: '0x0', memattr: '0b1111', notagaccess: true });
      });
  });
});
