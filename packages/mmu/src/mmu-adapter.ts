import type { EventBus } from '@mteperm/bus';
import type { Envelope, EnvelopeOf, EventData, MteEventType } from '@mteperm/events';
import { EFAULT } from './errno';
import type { FaultPolicy } from '@mteperm/plugin-api';
import { decideGuestAbort } from './guest-abort';
import { MmuState } from './mmu-state';

/** A fault that keeps coming back after this many fixes is a bug in the model, not a guest loop. */
export const MAX_FAULTS_PER_ACCESS = 8;

interface InFlight {
  readonly request: EventData<'AccessRequested'>;
  faults: number;
  /** seq of the map/relax request whose completion retries the access. */
  awaiting: bigint;
  /** seq of the AccessRequested this adapter published as the retry. */
  retrySeq: bigint;
}

export interface MmuOptions {
  /** Fault policies in order; empty means the default exit-to-vmm. */
  readonly policies?: readonly FaultPolicy[];
  /** Per-call budget of each policy's decide in ms (default 100; 0 disables the watchdog). */
  readonly policyBudgetMs?: number;
}

const FOLDED: readonly MteEventType[] = [
  'RunStarted',
  'HostCpusProbed',
  'VmCreated',
  'CapabilityEnabled',
  'MemslotRegistered',
  'TagsSanitised',
  'TagStorageAllocated',
];

/**
 * Attaches the stage-2 fault path to a bus: folds the VM's configuration from the events of
 * cpufeature, uapi and pgtable; on each `Stage2FaultTaken` of the VM's own guest (level 1) it
 * decides and publishes what KVM does; after the map or relax it asked for completes it retries
 * the access by publishing the same `AccessRequested` again, caused by the completion.
 */
export function attachMmu(bus: EventBus, options: MmuOptions = {}): MmuState {
  const state = new MmuState();
  const policies = options.policies ?? [];
  const inFlight = new Map<number, InFlight>();

  const fold = (e: Envelope): void => state.evolve(e);
  for (const t of FOLDED) if (t !== 'MemslotRegistered') bus.subscribe('mmu', t, fold);

  // kvm_arch_flush_shadow_memslot: deleting or moving a memslot unmaps its old IPA range from the
  // stage 2, so no leaf outlives the memslot (and its host pages) it was built from.
  bus.subscribe('mmu', 'MemslotRegistered', (e) => {
    const old = state.memslots.find((m) => m.slot === e.data.slot);
    const flush = old === undefined || (e.data.change !== 'delete' && e.data.change !== 'move') ? undefined : { ipa: BigInt(old.base), size: BigInt(old.size) };
    state.evolve(e);
    if (flush !== undefined) bus.publish({ type: 'Stage2UnmapRequested', data: flush }, { vm: e.vm, causation: e.seq });
  });

  bus.subscribe('mmu', 'AccessRequested', (e) => {
    if (e.data.level !== 1) return;
    // Our own retry continues the same access (and its fault count); anything else starts afresh.
    if (inFlight.get(e.vcpu)?.retrySeq === e.seq) return;
    inFlight.set(e.vcpu, { request: e.data, faults: 0, awaiting: 0n, retrySeq: 0n });
  });

  bus.subscribe('mmu', 'Stage2FaultTaken', (e) => {
    state.evolve(e);
    const access = inFlight.get(e.vcpu);
    if (access === undefined) return;
    access.faults++;
    if (access.faults > MAX_FAULTS_PER_ACCESS) {
      inFlight.delete(e.vcpu);
      bus.publish(
        { type: 'KvmRunFailed', data: { gpa: e.data.ipa, ret: -EFAULT, reason: `access faulted ${MAX_FAULTS_PER_ACCESS} times without progress` } },
        { vm: e.vm, vcpu: e.vcpu, causation: e.seq },
      );
      return;
    }
    const decision = decideGuestAbort(
      state,
      { vcpu: e.vcpu, ipa: Number(e.data.ipa), ipaExact: e.data.ipa, kind: e.data.kind, level: e.data.level, tagAccess: e.data.tag_access, op: e.data.op, esr: e.data.esr, faultSeq: e.seq },
      policies,
      options.policyBudgetMs === undefined ? {} : { budgetMs: options.policyBudgetMs },
    );
    let last = 0n;
    for (const ev of decision.events) last = bus.publish(ev, { vm: e.vm, vcpu: e.vcpu, causation: e.seq }).seq;
    if (decision.retry) access.awaiting = last;
    else inFlight.delete(e.vcpu);
  });

  const retry = (e: EnvelopeOf<'Stage2Mapped'> | EnvelopeOf<'Stage2Relaxed'>): void => {
    for (const [vcpu, access] of inFlight) {
      if (access.awaiting === 0n || e.causation !== access.awaiting) continue;
      access.awaiting = 0n;
      access.retrySeq = bus.publish({ type: 'AccessRequested', data: access.request }, { vm: e.vm, vcpu, causation: e.seq }).seq;
      return;
    }
  };
  bus.subscribe('mmu', 'Stage2Mapped', retry);
  bus.subscribe('mmu', 'Stage2Relaxed', retry);

  // pgtable refused what we asked for: KVM_RUN fails with its errno (e.g. -EINVAL from
  // stage2_set_prot_attr), as user_mem_abort propagates it.
  bus.subscribe('mmu', 'Stage2RequestRefused', (e) => {
    for (const [vcpu, access] of inFlight) {
      if (access.awaiting === 0n || e.causation !== access.awaiting) continue;
      inFlight.delete(vcpu);
      bus.publish(
        { type: 'KvmRunFailed', data: { gpa: access.request.gpa, ret: e.data.ret, reason: `stage-2 ${e.data.request} refused: ${e.data.code}` } },
        { vm: e.vm, vcpu, causation: e.seq },
      );
      return;
    }
  });

  // The access is over once it completed or the VMM / guest got something.
  const finish = (e: Envelope): void => {
    inFlight.delete(e.vcpu);
  };
  bus.subscribe('mmu', 'AccessCompleted', finish);
  return state;
}
