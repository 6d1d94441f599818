/**
 * The nested package on the bus. Folds what it needs into NestedState; serves the `guest_stage2`
 * step (writeGuestStage2) and level-2 accesses; keeps the shadow stage 2 coherent with L1's and
 * L0's stage 2. Everything it decides is published with causation, and applied to its own state
 * through `evolve` at publish time, so applying the log to a fresh `NestedAdapter` rebuilds it.
 *
 * An L2 access runs the decision of nested-access.ts in a loop: install a shadow leaf and retry,
 * complete, inject into L1, or hand the L1 IPA to L0's path by publishing a level-1 AccessRequested
 * (pgtable walks L0's stage 2, the mmu maps, relaxes or exits to the VMM with the L1 IPA). When that
 * level-1 access completes the L2 access continues. KVM_RUN (the uapi) owns the access and ends it
 * with AccessEnded (also when L0's path exits, fails or injects); the flight is dropped then.
 */
import type { EventBus, PublishContext } from '@mteperm/bus';
import type { AccessOp, Envelope, EnvelopeOf, EventData, MteEvent, MteEventType, S1Attr, Tcf } from '@mteperm/events';
import { stage2LeavesJson, type Stage2LeafJson, type WalkResult } from '@mteperm/arm64';
import { NestedError } from './errors';
import { GUEST_IPA_LIMIT, GUEST_S2_APS, GUEST_S2_ATTRS, type GuestS2Ap, type GuestS2Attr } from './guest-descriptor';
import { LEVEL_SIZE, PAGE_SIZE, descToBigInt, fail, outputAddress } from '@mteperm/arm64';
import { GuestStage2Table } from './guest-stage2-table';
import { decideNestedAccess, type NestedWalks } from './nested-access';
import { NestedState, type GuestHypervisor } from './nested-state';

/** An L2 access that keeps needing fixes after this many rounds is a model bug, reported as -EFAULT. */
export const MAX_NESTED_ROUNDS = 8;

const SUBSCRIBER = 'nested';
const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** One entry of a `guest_stage2` step (CONTRACT §1.4; `attr: invalid` unmaps). */
export interface GuestStage2EntryRequest {
  readonly ipa: bigint;
  readonly pa: bigint;
  readonly size: bigint;
  readonly attr: GuestS2Attr | string;
  readonly ap: GuestS2Ap | string;
}

/** A descriptor L1 wrote: its L2 IPA, level, value, and its L1 IPA in L1's memory (`at`). */
export interface GuestLeafJson {
  readonly ipa: string;
  readonly level: number;
  readonly desc: string;
  readonly at: string;
}

export interface GuestStage2Result {
  /** 0, or the negative errno of `error`. */
  readonly ret: number;
  readonly error?: NestedError;
  /** Every entry written, in order (invalid ones with desc 0x0). */
  readonly leaves: readonly GuestLeafJson[];
}

interface Flight {
  readonly request: EventData<'AccessRequested'>;
  readonly access: { ipa: number; op: AccessOp; tcf: Tcf; s1: S1Attr; size?: number; pair?: boolean; reg?: number; ata?: boolean; tco?: boolean };
  rounds: number;
  /** L1 IPA of the level-1 access whose completion continues this one; -1 when none. */
  awaiting: number;
  /** L1's stage 2 is off: the L2 IPA is the L1 IPA and L0 alone decides. */
  direct: boolean;
}

/** Types this adapter folds as other packages publish them (its own events it applies at publish). */
const FOLDED: readonly MteEventType[] = ['HostCpusProbed', 'VmCreated', 'CapabilityEnabled', 'MemslotRegistered', 'VcpuCreated', 'Stage2Mapped', 'Stage2Relaxed', 'Stage2BlockSplit'];

export class NestedAdapter {
  readonly state: NestedState;
  private readonly flights = new Map<GuestHypervisor, Flight>();
  private readonly walks = new Map<GuestHypervisor, NestedWalks>();
  private readonly l0Walks = new Map<number, WalkResult>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus?: EventBus,
    state: NestedState = new NestedState(),
  ) {
    this.state = state;
    if (bus === undefined) return;
    const fold = (e: Envelope): void => this.state.evolve(e);
    for (const t of FOLDED) this.unsubscribe.push(bus.subscribe(SUBSCRIBER, t, fold));
    this.unsubscribe.push(
      bus.subscribe(SUBSCRIBER, 'Stage2Unmapped', (e) => this.onL0Unmapped(e)),
      bus.subscribe(SUBSCRIBER, 'AccessRequested', (e) => this.onAccess(e)),
      bus.subscribe(SUBSCRIBER, 'AccessCompleted', (e) => this.onL1Completed(e)),
      bus.subscribe(SUBSCRIBER, 'AccessEnded', (e) => this.onEnded(e)),
    );
  }

  /** Folds one recorded event (how a log is replayed into a fresh adapter). */
  apply(e: Envelope): void {
    this.state.evolve(e);
  }

  /**
   * The `guest_stage2` step: guest hypervisor `vcpu` writes `map` into its stage 2, entry by entry
   * (GuestStage2Written each), and the shadow leaves those L2 ranges covered are invalidated
   * (ShadowStage2Invalidated). Checked as a whole first: nothing is written if any entry is refused.
   */
  writeGuestStage2(req: { readonly vcpu: number; readonly map: readonly GuestStage2EntryRequest[] }, ctx: { readonly vm: number }): GuestStage2Result {
    const refused = this.checkWrite(ctx.vm, req.vcpu, req.map);
    if (refused !== undefined) return { ret: refused.ret, error: refused, leaves: [] };
    const leaves: GuestLeafJson[] = [];
    const pub = { vm: ctx.vm, vcpu: req.vcpu };
    for (const m of req.map) {
      const env = this.publish({ type: 'GuestStage2Written', data: { ipa: m.ipa, pa: m.pa, size: m.size, attr: m.attr, ap: m.ap } }, pub, false);
      for (const w of this.state.applyGuestWrite(ctx.vm, req.vcpu, env.data)) {
        leaves.push({ ipa: hex(w.ipa), level: w.level, desc: hex(descToBigInt(w.lo, w.hi)), at: hex(w.at) });
      }
      this.invalidateShadow(this.state.hypervisor(ctx.vm, req.vcpu)!, Number(m.ipa), Number(m.size), 'l2', { ...pub, causation: env.seq });
    }
    return { ret: 0, leaves };
  }

  /** Every shadow stage-2 leaf of `vm` (CONTRACT §3 `shadow_stage2`): by L2 IPA, then vCPU. */
  shadowLeavesJson(vm: number): Stage2LeafJson[] {
    const all = this.state.hypervisors(vm).flatMap((h) => stage2LeavesJson(h.shadow));
    // Array.prototype.sort is stable, so equal IPAs stay in vCPU order.
    return all.sort((a, b) => (BigInt(a.ipa) < BigInt(b.ipa) ? -1 : BigInt(a.ipa) > BigInt(b.ipa) ? 1 : 0));
  }

  dispose(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  // ------------------------------------------------------------------ guest_stage2

  private checkWrite(vm: number, vcpu: number, map: readonly GuestStage2EntryRequest[]): NestedError | undefined {
    if (!this.state.hasVcpu(vm, vcpu)) return new NestedError('MTEPERM_NESTED_NO_VCPU', `guest_stage2: vCPU ${vcpu} was not created`);
    const h = this.state.hypervisor(vm, vcpu);
    if (h === undefined) return new NestedError('MTEPERM_NESTED_NOT_EL2', `guest_stage2: vCPU ${vcpu} has no EL2 (create_vcpu el2: true on an NV host)`);
    let pages = h.table === undefined ? 1 : 0;
    for (const [i, m] of map.entries()) {
      const where = `guest_stage2 map[${i}]`;
      if (!(GUEST_S2_ATTRS as readonly string[]).includes(m.attr)) return new NestedError('MTEPERM_NESTED_ATTR', `${where}: attr ${m.attr} is not one of ${GUEST_S2_ATTRS.join(', ')}`);
      if (!(GUEST_S2_APS as readonly string[]).includes(m.ap)) return new NestedError('MTEPERM_NESTED_ATTR', `${where}: ap ${m.ap} is not one of ${GUEST_S2_APS.join(', ')}`);
      const g = BigInt(PAGE_SIZE);
      if (m.size <= 0n || m.ipa % g !== 0n || m.pa % g !== 0n || m.size % g !== 0n) {
        return new NestedError('MTEPERM_NESTED_ALIGN', `${where}: ipa ${hex(m.ipa)} pa ${hex(m.pa)} size ${hex(m.size)} are not whole 4 KiB granules`);
      }
      const limit = BigInt(GUEST_IPA_LIMIT);
      if (m.ipa + m.size > limit || m.pa + m.size > limit) return new NestedError('MTEPERM_NESTED_RANGE', `${where}: beyond the 48-bit range of the guest hypervisor's stage 2`);
      pages += GuestStage2Table.pagesNeeded(Number(m.ipa), Number(m.size));
    }
    const memory = this.state.tableMemory(vm);
    if (memory === undefined || memory.freePages < pages) {
      return new NestedError('MTEPERM_NESTED_NO_TABLE_MEMORY', `guest_stage2: no RAM memslot with ${pages} free pages for the guest hypervisor's table pages`);
    }
    return undefined;
  }

  // ------------------------------------------------------------------ L2 accesses

  private onAccess(e: EnvelopeOf<'AccessRequested'>): void {
    if (e.data.level !== 2) return;
    const h = this.state.hypervisor(e.vm, e.vcpu);
    if (h === undefined) {
      const error = new NestedError('MTEPERM_NESTED_NOT_EL2', `vCPU ${e.vcpu} has no EL2: it runs no nested guest`);
      this.publish({ type: 'KvmRunFailed', data: { gpa: e.data.gpa, ret: error.ret, reason: `${error.code}: ${error.message}` } }, this.ctxOf(e), true);
      return;
    }
    const d = e.data;
    this.flights.set(h, { request: d, access: { ipa: Number(d.gpa), op: d.op, tcf: d.tcf, s1: d.s1, size: d.size, pair: d.pair, reg: d.reg, ata: d.ata, tco: d.tco }, rounds: 0, awaiting: -1, direct: false });
    this.advance(h, this.ctxOf(e));
  }

  private onL1Completed(e: EnvelopeOf<'AccessCompleted'>): void {
    if (e.data.level === 2) return;
    const h = this.state.hypervisor(e.vm, e.vcpu);
    const f = h === undefined ? undefined : this.flights.get(h);
    if (h === undefined || f === undefined || f.awaiting !== Number(e.data.gpa)) return;
    f.awaiting = -1;
    if (f.direct) {
      this.flights.delete(h);
      this.publish({ type: 'AccessCompleted', data: { gpa: f.request.gpa, op: f.request.op, pa: e.data.pa, tags_ignored: e.data.tags_ignored, level: 2 } }, this.ctxOf(e), true);
      return;
    }
    this.advance(h, this.ctxOf(e));
  }

  /** KVM_RUN ended the vCPU's access (e.g. L0's path exited to the VMM with the L1 IPA): the L2 access is over. */
  private onEnded(e: EnvelopeOf<'AccessEnded'>): void {
    const h = this.state.hypervisor(e.vm, e.vcpu);
    if (h !== undefined) this.flights.delete(h);
  }

  private advance(h: GuestHypervisor, ctx: PublishContext): void {
    const f = this.flights.get(h)!;
    const walks = this.walksOf(h);
    for (;;) {
      if (++f.rounds > MAX_NESTED_ROUNDS) {
        this.flights.delete(h);
        const error = new NestedError('MTEPERM_NESTED_NO_PROGRESS', `L2 access at ${hex(f.request.gpa)} still faulting after ${MAX_NESTED_ROUNDS} rounds`);
        this.publish({ type: 'KvmRunFailed', data: { gpa: f.request.gpa, ret: error.ret, reason: `${error.code}: ${error.message}` } }, ctx, true);
        return;
      }
      if (h.table === undefined) {
        // No stage 2 written: L1's virtual HCR_EL2.VM is 0 and L2 IPAs are L1 IPAs (B §5.2).
        f.direct = true;
        this.toL0(f, f.access.ipa, f.request.op, ctx);
        return;
      }
      const d = decideNestedAccess(walks, f.access);
      switch (d.kind) {
        case 'complete':
          this.flights.delete(h);
          this.publish({ type: 'AccessCompleted', data: { gpa: f.request.gpa, op: f.request.op, pa: BigInt(d.pa), tags_ignored: d.tagsIgnored, level: 2 } }, ctx, true);
          return;
        case 'inject':
          this.flights.delete(h);
          this.publish({ type: 'InjectedAbort', data: { kind: 'stage2', ipa: f.request.gpa, esr: d.fault.esr, target_level: 2 } }, ctx, true);
          return;
        case 'unsupported-fsc':
          this.flights.delete(h);
          this.publish({ type: 'KvmRunFailed', data: { gpa: f.request.gpa, ret: fail('EFAULT'), reason: 'stage-2 alignment fault (DC GZVA/GVA to Device memory): unsupported FSC' } }, ctx, true);
          return;
        case 'install': {
          const l = d.leaf;
          const env = this.publish(
            { type: 'ShadowStage2Mapped', data: { ipa: BigInt(l.ipa), l1_ipa: BigInt(l.l1Ipa), pa: BigInt(l.pa), size: BigInt(l.size), level: l.level, desc: descToBigInt(l.lo, l.hi) } },
            ctx,
            true,
          );
          ctx = { ...ctx, causation: env.seq };
          continue;
        }
        case 'fault-in-l0':
          this.toL0(f, d.l1Ipa, d.op, ctx);
          return;
        case 'tag-fault-in-l0':
          this.toL0(f, d.l1Ipa, f.request.op, ctx);
          return;
      }
    }
  }

  /** Runs `op` at L1 IPA `l1Ipa` through L0's own path (pgtable walk, mmu decisions, uapi exits). */
  private toL0(f: Flight, l1Ipa: number, op: AccessOp, ctx: PublishContext): void {
    f.awaiting = l1Ipa;
    const r = f.request;
    this.publish({ type: 'AccessRequested', data: { ...r, gpa: BigInt(l1Ipa), op, level: 1 } }, ctx, false);
  }

  private walksOf(h: GuestHypervisor): NestedWalks {
    let w = this.walks.get(h);
    if (w !== undefined) return w;
    const state = this.state;
    const missing: WalkResult = { found: false, level: 0, lo: 0, hi: 0, base: 0, size: 0, fwb: false, mtePerm: false };
    w = {
      get host() {
        return state.host;
      },
      shadow: (ipa) => h.shadow.walk(ipa, h.shadowWalk),
      guest: (ipa) => (h.table === undefined || h.guestWalk === undefined ? missing : h.table.walk(ipa, h.guestWalk)),
      host2: (ipa) => {
        const t = state.l0.table(h.vm);
        if (t === undefined) return missing;
        let r = this.l0Walks.get(h.vm);
        if (r === undefined) this.l0Walks.set(h.vm, (r = t.createWalkResult()));
        return t.walk(ipa, r);
      },
    };
    this.walks.set(h, w);
    return w;
  }

  // ------------------------------------------------------------------ shadow coherence

  /** L0 unmapped (or broke before remapping) L1 IPAs: shadow leaves built on them are stale. */
  private onL0Unmapped(e: EnvelopeOf<'Stage2Unmapped'>): void {
    this.state.evolve(e);
    const ctx = this.ctxOf(e);
    for (const h of this.state.hypervisors(e.vm)) this.invalidateShadow(h, Number(e.data.ipa), Number(e.data.size), 'l1', { ...ctx, vcpu: h.vcpu });
  }

  /**
   * Invalidates every shadow leaf of `h` that overlaps [start, start + size) in L2 IPA space
   * (`l2`), or whose L1 IPA range overlaps it (`l1`; the L1 IPA comes from L1's current table, which
   * every live shadow leaf agrees with because L1's changes invalidate first).
   */
  private invalidateShadow(h: GuestHypervisor, start: number, size: number, space: 'l1' | 'l2', ctx: PublishContext): void {
    const stale: Array<[number, number]> = [];
    const end = start + size;
    const table = h.table;
    const walk = h.guestWalk;
    h.shadow.forEachLeaf((ipa, level) => {
      const len = LEVEL_SIZE[level]!;
      let from = ipa;
      if (space === 'l1') {
        if (table === undefined || walk === undefined) return;
        const w = table.walk(ipa, walk);
        from = w.found ? outputAddress(w.lo, w.hi) + (ipa - w.base) : -Infinity;
      }
      if (from === -Infinity || (from < end && start < from + len)) stale.push([ipa, len]);
    });
    for (const [ipa, len] of stale) {
      this.publish({ type: 'ShadowStage2Invalidated', data: { ipa: BigInt(ipa), size: BigInt(len) } }, { ...ctx, vcpu: h.vcpu }, true);
    }
  }

  // ------------------------------------------------------------------ publishing

  private ctxOf(e: Envelope): PublishContext {
    return { vm: e.vm, vcpu: e.vcpu, causation: e.seq };
  }

  /** Publishes; `own` events of the nested state are folded at once, in seq order (see header). */
  private publish<E extends MteEvent>(event: E, ctx: PublishContext, own: boolean): Envelope<E> {
    if (this.bus === undefined) throw new Error('NestedAdapter without a bus can only replay events');
    const env = this.bus.publish(event, ctx);
    if (own) this.state.evolve(env);
    return env;
  }
}
