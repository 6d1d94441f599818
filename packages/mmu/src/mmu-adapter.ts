import type { EventBus } from '@mteperm/bus';
import type { Envelope, EventData, MteEventType } from '@mteperm/events';
import { fail } from '@mteperm/arm64';
import type { FaultPolicy } from '@mteperm/plugin-api';
import { decideGuestAbort } from './guest-abort';
import { MmuState } from './mmu-state';

/** A fault that keeps coming back after this many fixes is a bug in the model, not a guest loop. */
export const MAX_FAULTS_PER_ACCESS = 8;

/** A vCPU's access being handled; one record per vCPU, reused from access to access. */
interface InFlight {
  readonly vcpu: number;
  /** An access is in flight (a retired record stays for the vCPU's next access). */
  active: boolean;
  request: EventData<'AccessRequested'>;
  faults: number;
  /** seq of the map/relax request (marked retry_access) the access now waits on; 0n for none. */
  awaiting: bigint;
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
  'Stage2MapRequested',
  'TagStorageAllocated',
];

/**
 * Attaches the stage-2 fault path to a bus: folds the VM's configuration from the events of
 * cpufeature, uapi and pgtable; on each `Stage2FaultTaken` of the VM's own guest (level 1) it
 * decides and publishes what KVM does. A map or relax it asks for is marked `retry_access`: pgtable
 * re-executes the vCPU's access once it is applied (the guest resuming), so the access goes on
 * with the next Stage2FaultTaken (counted here) or completes. Whether the access is over is not
 * the mmu's to decide: it keeps per vCPU only the fault count (the no-progress guard) and the
 * request it waits on (to turn a refusal into KVM_RUN's errno), and drops them on AccessEnded.
 */
export function attachMmu(bus: EventBus, options: MmuOptions = {}): MmuState {
  const state = new MmuState();
  const policies = options.policies ?? [];
  const chain = options.policyBudgetMs === undefined ? {} : { budgetMs: options.policyBudgetMs };
  const byVcpu = new Map<number, InFlight>();
  // The same records as an array: the completion handlers scan it without a Map iterator.
  const records: InFlight[] = [];
  // Handlers never nest (the bus queues what they publish) and the bus reads the context during
  // publish: one object serves every event the adapter publishes.
  const ctx = { vm: 0, vcpu: 0, causation: 0n };
  const contextOf = (vm: number, vcpu: number, causation: bigint): typeof ctx => {
    ctx.vm = vm;
    ctx.vcpu = vcpu;
    ctx.causation = causation;
    return ctx;
  };
  const active = (vcpu: number): InFlight | undefined => {
    const r = byVcpu.get(vcpu);
    return r !== undefined && r.active ? r : undefined;
  };
  const retire = (r: InFlight): void => {
    r.active = false;
    r.awaiting = 0n;
  };

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
    // A new access (re-executions after a fix are pgtable's, with no AccessRequested of their own).
    const r = byVcpu.get(e.vcpu);
    if (r === undefined) {
      const fresh: InFlight = { vcpu: e.vcpu, active: true, request: e.data, faults: 0, awaiting: 0n };
      byVcpu.set(e.vcpu, fresh);
      records.push(fresh);
      return;
    }
    r.active = true;
    r.request = e.data;
    r.faults = 0;
    r.awaiting = 0n;
  });

  bus.subscribe('mmu', 'Stage2FaultTaken', (e) => {
    state.evolve(e);
    const access = active(e.vcpu);
    if (access === undefined) return;
    access.faults++;
    if (access.faults > MAX_FAULTS_PER_ACCESS) {
      retire(access);
      bus.publish(
        { type: 'KvmRunFailed', data: { gpa: e.data.ipa, ret: fail('EFAULT'), reason: `access faulted ${MAX_FAULTS_PER_ACCESS} times without progress` } },
        contextOf(e.vm, e.vcpu, e.seq),
      );
      return;
    }
    const decision = decideGuestAbort(
      state,
      { vcpu: e.vcpu, ipa: Number(e.data.ipa), ipaExact: e.data.ipa, kind: e.data.kind, level: e.data.level, tagAccess: e.data.tag_access, op: e.data.op, esr: e.data.esr, faultSeq: e.seq },
      policies,
      chain,
    );
    const events = decision.events;
    let last = 0n;
    for (let i = 0; i < events.length; i++) last = bus.publish(events[i]!, contextOf(e.vm, e.vcpu, e.seq)).seq;
    if (decision.retry) access.awaiting = last;
    else retire(access);
  });

  // `awaiting` is the seq of one published request, so at most one record matches.
  const awaitingOf = (causation: bigint): InFlight | undefined => {
    if (causation === 0n) return undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.active && r.awaiting === causation) return r;
    }
    return undefined;
  };

  // pgtable refused what we asked for: KVM_RUN fails with its errno (e.g. -EINVAL from
  // stage2_set_prot_attr), as user_mem_abort propagates it.
  bus.subscribe('mmu', 'Stage2RequestRefused', (e) => {
    const access = awaitingOf(e.causation);
    if (access === undefined) return;
    retire(access);
    bus.publish(
      { type: 'KvmRunFailed', data: { gpa: access.request.gpa, ret: e.data.ret, reason: `stage-2 ${e.data.request} refused: ${e.data.code}` } },
      contextOf(e.vm, access.vcpu, e.seq),
    );
  });

  // KVM_RUN (the uapi) owns the access and says when it is over: the record retires then.
  bus.subscribe('mmu', 'AccessEnded', (e) => {
    const r = byVcpu.get(e.vcpu);
    if (r !== undefined) retire(r);
  });
  return state;
}
