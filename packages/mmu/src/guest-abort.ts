import type { AccessOp, EventData, FaultKind, MteEvent } from '@mteperm/events';
import { ERRNO, KVM_MEM_READONLY, PAGE_SIZE, WRITE_OPS, decodeEsr, encodeInjectedAbort } from '@mteperm/arm64';
import type { FaultPolicy } from '@mteperm/plugin-api';
import type { ChainOptions } from './fault-policy';
import { runPolicyChain } from './fault-policy';
import { mappingSize } from './mapping-size';
import type { MemslotView, MmuState } from './mmu-state';

/** A stage-2 abort as the mmu sees it (from Stage2FaultTaken plus the access being made). */
export interface GuestAbort {
  readonly vcpu: number;
  readonly ipa: number;
  readonly kind: FaultKind;
  readonly level: number;
  readonly tagAccess: boolean;
  readonly op: AccessOp;
  readonly esr: bigint;
  /** The IPA exactly as the fault reported it (a double cannot hold every IPA up to 2^64). */
  readonly ipaExact?: bigint;
  /** seq of the Stage2FaultTaken event, recorded in PolicyDecided. */
  readonly faultSeq: bigint;
}

/** What handling the abort decided: events to publish, in order, and whether the access is retried (its last event is then a map or relax request marked retry_access). */
export interface AbortDecision {
  readonly events: MteEvent[];
  /** Retry the access after the last map/relax request here completes. */
  readonly retry: boolean;
  /** The step's outcome when the access is retried and completes (`retried` after a policy fixed it). */
  readonly retriedByPolicy: boolean;
}

// What kvm_inject_dabt / kvm_inject_pabt give the guest's EL1, whatever the op (DOMAIN A.3.9):
// 0x96000010 and 0x86000010. The model's vCPUs run the faulting access at EL1.
const SEA_ESR = encodeInjectedAbort({ instruction: false });
const PREFETCH_ESR = encodeInjectedAbort({ instruction: true });
const PAGE_SIZE_BIG = BigInt(PAGE_SIZE);
const { EFAULT, ENOSYS } = ERRNO;

const done = (events: MteEvent[]): AbortDecision => ({ events, retry: false, retriedByPolicy: false });
const fail = (ipa: number, ret: number, reason: string): AbortDecision =>
  done([{ type: 'KvmRunFailed', data: { gpa: BigInt(ipa), ret: -ret, reason } }]);

/**
 * kvm_handle_guest_abort + user_mem_abort for one stage-2 fault (DOMAIN B §5.2–5.4, A.2):
 * memslot lookup; tag-access permission faults intercepted first and offered to the policies
 * (A.2.5, A.2.7); no memslot → MMIO; permission faults relax without touching tags or NoTagAccess
 * (row 8, A.2.4); translation faults choose the memory type, tag sanitising and NoTagAccess per
 * profile (rows 1–7, 10). Pure: reads `state`, returns events.
 */
export function decideGuestAbort(state: MmuState, abort: GuestAbort, policies: readonly FaultPolicy[], chain: ChainOptions = {}): AbortDecision {
  const isWrite = WRITE_OPS.has(abort.op);
  if (abort.ipa >= state.ipaLimit()) {
    // Between the VM's IPA size and the PA range: kvm_handle_guest_abort injects an external abort
    // (a prefetch abort for an instruction fetch) instead of looking for a memslot.
    const ipa = abort.ipaExact ?? BigInt(abort.ipa);
    return done([
      abort.op === 'exec'
        ? { type: 'InjectedAbort', data: { kind: 'prefetch', ipa, esr: PREFETCH_ESR, target_level: 1 } }
        : { type: 'InjectedAbort', data: { kind: 'sea', ipa, esr: SEA_ESR, target_level: 1 } },
    ]);
  }
  if (abort.kind === 'alignment') {
    // kvm_handle_guest_abort handles translation, access-flag and permission FSCs only; any other
    // (here DC GZVA / DC GVA to Device memory, DOMAIN A.3.5) is "Unsupported FSC": -EFAULT, no exit info.
    return fail(abort.ipa, EFAULT, 'stage-2 alignment fault (DC GZVA/GVA to Device memory): unsupported FSC');
  }
  const slot = state.findMemslot(abort.ipa);

  if (abort.tagAccess) {
    return decideTagAccess(state, abort, slot, policies, chain);
  }

  if (slot === undefined || (isWrite && slot.flags & KVM_MEM_READONLY)) {
    return decideNoMemslot(abort, isWrite, state.nisvToUser);
  }

  const device = slot.vma.pfnmap && !slot.vma.cacheable;
  if (abort.op === 'exec' && device) {
    // user_mem_abort returns -ENOEXEC for exec on device memory; KVM injects a prefetch abort.
    return done([{ type: 'InjectedAbort', data: { kind: 'prefetch', ipa: BigInt(abort.ipa), esr: PREFETCH_ESR, target_level: 1 } }]);
  }

  if (abort.kind === 'permission') {
    // Row 8: relax S2AP/XN in place; MemAttr and NoTagAccess are untouched (DOMAIN A.2.4).
    return {
      events: [
        {
          type: 'Stage2RelaxRequested',
          // Relax only adds what the faulting access needs: W for a write, X for an exec.
          data: { ipa: BigInt(pageOf(abort.ipa)), r: true, w: isWrite, x: abort.op === 'exec', sw: 0, retry_access: true },
        },
      ],
      retry: true,
      retriedByPolicy: false,
    };
  }

  return decideTranslation(state, abort, slot, device, isWrite);
}

/** kvm_run.arm_nisv.esr_iss keeps only CM (bit 8), WnR (bit 6) and the FSC (bits 5:0) of ESR_EL2. */
const NISV_ISS_MASK = 0x17fn;

function decideNoMemslot(abort: GuestAbort, isWrite: boolean, nisvToUser: boolean): AbortDecision {
  if (abort.op === 'exec') {
    return done([{ type: 'InjectedAbort', data: { kind: 'prefetch', ipa: BigInt(abort.ipa), esr: PREFETCH_ESR, target_level: 1 } }]);
  }
  const syndrome = decodeEsr(abort.esr);
  if (!syndrome.isv) {
    // A pair or a tag instruction (DOMAIN A.3.3, A.3.4): nothing to emulate the access from, unless
    // the VMM asked for it with KVM_CAP_ARM_NISV_TO_USER.
    if (nisvToUser) {
      const faultIpa = abort.ipaExact ?? BigInt(abort.ipa);
      return done([{ type: 'ArmNisvExit', data: { fault_ipa: faultIpa, esr_iss: abort.esr & NISV_ISS_MASK } }]);
    }
    return fail(abort.ipa, ENOSYS, 'MMIO access with no valid instruction syndrome (ISV=0)');
  }
  return done([{ type: 'MmioExit', data: { phys_addr: BigInt(abort.ipa), len: syndrome.size, is_write: isWrite } }]);
}

function decideTagAccess(state: MmuState, abort: GuestAbort, slot: MemslotView | undefined, policies: readonly FaultPolicy[], chain: ChainOptions): AbortDecision {
  const ipa = BigInt(abort.ipa);
  const fault = {
    vcpu: abort.vcpu,
    ipa,
    op: abort.op,
    esr: abort.esr,
    memslot: { slot: slot?.slot ?? -1, guest_phys_addr: BigInt(slot?.base ?? 0), memory_size: BigInt(slot?.size ?? 0), flags: slot?.flags ?? 0 },
    backing: slot?.vma.backing ?? 'none',
    stage2: { level: abort.level },
    nesting_level: 1,
  };
  const outcome = runPolicyChain(
    policies,
    fault,
    {
      kernel: state.profile,
      tagPoolRemaining: state.tagPoolRemaining,
      faultsSeen: state.tagAccessFaults,
      tagPagesAllocated: state.tagStoragePages.size,
      hasTagStorage: (ipa) => state.tagStoragePages.has(Number(ipa >> 12n)),
    },
    chain,
  );
  const events: MteEvent[] = [];
  for (const f of outcome.failures) {
    events.push({ type: 'PluginFailed', data: { plugin: f.plugin, hook: 'decide', reason: f.reason, message: f.message } });
  }
  for (const d of outcome.decided) {
    events.push({ type: 'PolicyDecided', data: { ipa, plugin: d.plugin, decision: d.decision, fault_seq: abort.faultSeq } });
  }
  if (outcome.plugin === 'exit-to-vmm' && !outcome.decided.some((d) => d.plugin === 'exit-to-vmm')) {
    events.push({ type: 'PolicyDecided', data: { ipa, plugin: 'exit-to-vmm', decision: 'exit-to-vmm', fault_seq: abort.faultSeq } });
  }
  switch (outcome.decision.kind) {
    case 'inject-sea': {
      events.push({ type: 'InjectedAbort', data: { kind: 'sea', ipa, esr: SEA_ESR, target_level: 1 } });
      return done(events);
    }
    case 'allocate-tags-and-retry': {
      if (slot === undefined) break;
      const page = pageOf(abort.ipa);
      const pa = slot.host.base + (page - slot.base);
      events.push({ type: 'TagStorageAllocated', data: { ipa: BigInt(page), pa: BigInt(pa), pages: 1n, pool_remaining: BigInt(state.tagPoolRemaining - 1) } });
      // Tags cleared with the remap (sanitise_tags), as user_mem_abort does before installing it.
      events.push(mapRequest(page, pa, PAGE_SIZE, 'normal_wb', false, !(slot.flags & KVM_MEM_READONLY), false, true));
      return { events, retry: true, retriedByPolicy: true };
    }
    default:
      break;
  }
  // The final PolicyDecided (exit-to-vmm) is the uapi's cue to build the profile's exit (A.2.5).
  return done(events);
}

function decideTranslation(state: MmuState, abort: GuestAbort, slot: MemslotView, device: boolean, isWrite: boolean): AbortDecision {
  // Arrays are built as literals of their final length: push on an empty array reserves 17 slots.
  const writable = !(slot.flags & KVM_MEM_READONLY);
  const exec = abort.op === 'exec';
  if (device) {
    // Rows 2, 4, 7: device memory is Device-nGnRE, never tagged and never NoTagAccess.
    const size = mappingSize(slot, abort.ipa);
    const ipa = Math.floor(abort.ipa / size) * size;
    return { events: [mapRequest(ipa, slot.host.base + (ipa - slot.base), size, 'device_ngnre', false, writable, false)], retry: true, retriedByPolicy: false };
  }
  let noTagAccess = false;
  const page = pageOf(abort.ipa);
  const pageHasTagStorage = state.tagStoragePages.has(page / PAGE_SIZE);
  if (state.kvmHasMte && !slot.vma.mte_allowed && !pageHasTagStorage) {
    if (!state.noTagAccessAllowed) {
      // Rows 5 and 10: KVM will not map it; what KVM_RUN returns is the uapi's to say per profile
      // (-EFAULT, v1's -EINVAL from stage2_set_prot_attr, or drop-check's memory-fault exit).
      return done([{ type: 'DisallowedVmaFault', data: { ipa: BigInt(abort.ipa) } }]);
    }
    noTagAccess = true; // row 6 (DOMAIN A.2.3)
  }
  // A NoTagAccess block must not swallow a page a policy gave tag storage, nor a tagged block an
  // untagged page: such blocks are mapped page by page.
  // Without tag storage given out no block can swallow such a page: no check to build.
  const avoid = state.tagStoragePages.size === 0 ? undefined : (block: number, sz: number) => blockHasTagStoragePage(state, block, sz) && (noTagAccess || !slot.vma.mte_allowed);
  const size = mappingSize(slot, abort.ipa, avoid);
  const ipa = Math.floor(abort.ipa / size) * size;
  const pa = slot.host.base + (ipa - slot.base);
  // Dirty logging maps read faults read-only so the first write can be tracked.
  const w = writable && (isWrite || !(slot.flags & 1));
  // Row 3: with MTE, a tagged Normal mapping has the tags of its host pages not yet PG_mte_tagged
  // cleared before the guest can see them (sanitise_mte_tags in user_mem_abort): the request says
  // so (sanitise_tags) when any page needs it, and the mmu folds it; tagged pages keep their tags.
  const sanitise = state.kvmHasMte && !noTagAccess && (size === PAGE_SIZE ? !slot.host.isTagged(pa) : slot.host.untaggedRanges(pa, size).length > 0);
  return { events: [mapRequest(ipa, pa, size, 'normal_wb', noTagAccess, w, exec, sanitise)], retry: true, retriedByPolicy: false };
}

function blockHasTagStoragePage(state: MmuState, block: number, size: number): boolean {
  if (state.tagStoragePages.size === 0) return false;
  for (const p of state.tagStoragePages) {
    const ipa = p * PAGE_SIZE;
    if (ipa >= block && ipa < block + size) return true;
  }
  return false;
}

function pageOf(ipa: number): number {
  return Math.floor(ipa / PAGE_SIZE) * PAGE_SIZE;
}

function mapRequest(ipa: number, pa: number, size: number, memType: EventData<'Stage2MapRequested'>['mem_type'], noTagAccess: boolean, w: boolean, x: boolean, sanitise = false): MteEvent {
  // Every map the fault path asks for resumes the faulting access (the guest re-executes it).
  if (sanitise) {
    return { type: 'Stage2MapRequested', data: { ipa: BigInt(ipa), pa: BigInt(pa), size: BigInt(size), mem_type: memType, no_tag_access: noTagAccess, r: true, w, x, sw: 0, retry_access: true, sanitise_tags: true } };
  }
  return { type: 'Stage2MapRequested', data: { ipa: BigInt(ipa), pa: BigInt(pa), size: BigInt(size), mem_type: memType, no_tag_access: noTagAccess, r: true, w, x, sw: 0, retry_access: true } };
}
