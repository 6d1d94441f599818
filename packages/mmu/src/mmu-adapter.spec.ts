import { accessRequested, at, busSpec, capEnabled, hostProbed, memslotRegistered, runStarted, vmCreated } from '@mteperm/bus/testing';
import type { MteEvent } from '@mteperm/events';
import { attachMmu, MAX_FAULTS_PER_ACCESS } from './mmu-adapter';

// The mmu alone on the bus: the faults pgtable would take are given as events, and what the mmu
// decides is what comes out (pgtable's answers are not part of these cases).
const mmu = busSpec((bus) => attachMmu(bus), { vm: 1 });
const vcpu0 = { vm: 1, vcpu: 0 };

/** A v2 VM with both capabilities: 512 MiB of anonymous RAM at 0x8000_0000, a VFIO BAR (WB) at 0x1000_0000. */
const vm = (kernel = 'v2') =>
  mmu.given(
    runStarted(kernel),
    hostProbed(),
    vmCreated(),
    capEnabled('KVM_CAP_ARM_MTE'),
    capEnabled('KVM_CAP_ARM_MTE_PERM'),
    memslotRegistered(0, 0x8000_0000n, 0x2000_0000n),
    memslotRegistered(1, 0x1000_0000n, 0x100_0000n, { backing: 'vfio-bar-wb', mte_allowed: false, pfnmap: true, shared: true }),
  );

const fault = (ipa: bigint, op: 'write' | 'stg', kind: 'translation' | 'permission', tagAccess = false): MteEvent => ({
  type: 'Stage2FaultTaken',
  data: { ipa, esr: 0x9200_0045n, kind, level: kind === 'translation' ? 1 : 3, tag_access: tagAccess, op },
});

describe('mmu on the bus', () => {
  it('a write to unmapped RAM: sanitises the 2 MiB block and maps it tagged RW (XN: not an exec fault), marked retry_access (DOMAIN B §5.4 row 1, A.2.3)', () => {
    vm()
      .given(at(vcpu0, accessRequested(0x8000_1000n, 'write')))
      .when(at(vcpu0, fault(0x8000_1000n, 'write', 'translation')))
      .then(
        // Schema 2: the sanitising rides on the map request (sanitise_tags), no TagsSanitised event.
        {
          type: 'Stage2MapRequested',
          vcpu: 0,
          causedBy: 'when',
          data: { ipa: 0x8000_0000n, pa: 0x8_0000_0000n, size: 0x20_0000n, mem_type: 'normal_wb', no_tag_access: false, r: true, w: true, x: false, sw: 0, retry_access: true, sanitise_tags: true },
        },
      );
  });

  it('a write to the VFIO BAR (WB, no VM_MTE_ALLOWED) under v2: Normal WB with NoTagAccess, no tag sanitising (DOMAIN A.2.3)', () => {
    vm()
      .given(at(vcpu0, accessRequested(0x1000_0040n, 'write')))
      .when(at(vcpu0, fault(0x1000_0040n, 'write', 'translation')))
      .then({ type: 'Stage2MapRequested', data: expect.objectContaining({ ipa: '0x10000000n', mem_type: 'normal_wb', no_tag_access: true, retry_access: true }) });
  });

  it('an STG to that NoTagAccess page goes to the policy chain; the default exit-to-vmm decides (DOMAIN A.2.5, A.2.7)', () => {
    vm()
      .given(at(vcpu0, accessRequested(0x1000_0040n, 'stg')))
      .when(at(vcpu0, fault(0x1000_0040n, 'stg', 'permission', true)))
      .then({ type: 'PolicyDecided', vcpu: 0, causedBy: 'when', data: expect.objectContaining({ ipa: '0x10000040n', plugin: 'exit-to-vmm', decision: 'exit-to-vmm' }) });
  });

  it('a refused map request fails KVM_RUN with its errno (user_mem_abort propagates it: DOMAIN B §4.3)', () => {
    vm()
      .given(at(vcpu0, accessRequested(0x8000_1000n, 'write')), at(vcpu0, fault(0x8000_1000n, 'write', 'translation')))
      // bus.seq: the Stage2MapRequested the fault led to, which pgtable refuses.
      .when(({ bus }) =>
        bus.publish({ type: 'Stage2RequestRefused', data: { request: 'map', ipa: 0x8000_0000n, size: 0x20_0000n, ret: -22, code: 'MTEPERM_S2_PROT' } }, { ...vcpu0, causation: bus.seq }),
      )
      .then({ type: 'Stage2RequestRefused' }, { type: 'KvmRunFailed', vcpu: 0, causedBy: 'Stage2RequestRefused', data: expect.objectContaining({ gpa: '0x80001000n', ret: -22 }) });
  });

  it(`an access that keeps faulting without progress fails KVM_RUN -EFAULT after ${MAX_FAULTS_PER_ACCESS} faults`, () => {
    const faults = Array.from({ length: MAX_FAULTS_PER_ACCESS }, () => at(vcpu0, fault(0x8000_1000n, 'write', 'translation')));
    vm()
      .given(at(vcpu0, accessRequested(0x8000_1000n, 'write')), faults)
      .when(at(vcpu0, fault(0x8000_1000n, 'write', 'translation')))
      .then({ type: 'KvmRunFailed', vcpu: 0, data: expect.objectContaining({ gpa: '0x80001000n', ret: -14 }) });
  });

  it('deleting a memslot unmaps its IPA range (kvm_arch_flush_shadow_memslot)', () => {
    vm()
      .when(memslotRegistered(0, 0x8000_0000n, 0x2000_0000n, {}, { change: 'delete' }))
      .then({ type: 'Stage2UnmapRequested', data: { ipa: 0x8000_0000n, size: 0x2000_0000n } });
  });

  it('a fault of an L2 access (no level-1 AccessRequested in flight) is folded, nothing decided (DOMAIN A.2.8: nested owns it)', () => {
    vm()
      .given(at(vcpu0, accessRequested(0x8000_1000n, 'write', { level: 2 })))
      .when(at(vcpu0, fault(0x8000_1000n, 'write', 'translation')))
      .then();
  });
});
