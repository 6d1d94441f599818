/**
 * The pgtable package on the bus: folds host and VM events into `Stage2State`, serves stage-2 map /
 * unmap / relax requests and level-1 guest accesses, and publishes the outcomes with causation.
 * A map or relax marked `retry_access` re-executes the requesting vCPU's last level-1 access once
 * applied (the guest resuming after the fault was fixed). Published Stage2* events are exactly
 * what `Stage2State.evolve` needs to rebuild the tables.
 */
import type { EventBus, PublishContext } from '@mteperm/bus';
import type { AccessOp, Envelope, EnvelopeOf, EventData, MemType, S1Attr, Tcf } from '@mteperm/events';
import { LEVEL_SIZE, checkStage2Leaf, type Stage2AccessQuery, descToBigInt, outputAddress } from '@mteperm/arm64';
import type { PgtableError } from './errors';
import type { Stage2Observer, WalkResult } from './stage2-page-table';
import { Stage2State } from './stage2-state';

const SUBSCRIBER = 'pgtable';

type AccessData = EventData<'AccessRequested'>;
const LEVEL_SIZE_BIG: readonly bigint[] = LEVEL_SIZE.map((s) => BigInt(s));

/** The context of what the adapter publishes while handling one event; one per adapter, set per event. */
interface HandlerContext {
  vm: number;
  vcpu: number;
  causation: bigint;
}

function setContext(ctx: HandlerContext, envelope: Envelope): HandlerContext {
  ctx.vm = envelope.vm;
  ctx.vcpu = envelope.vcpu;
  ctx.causation = envelope.seq;
  return ctx;
}

/**
 * Turns table operations into Stage2BlockSplit / Stage2Unmapped (break) / Stage2Mapped events.
 * Reused for every request: handlers never nest (the bus queues what they publish) and the bus
 * reads the context during `publish`.
 */
class PublishingObserver implements Stage2Observer {
  readonly ctx: HandlerContext = { vm: 0, vcpu: 0, causation: 0n };
  // Consecutive leaves mostly share the high half (attributes, OA[47:32]): its bigint is kept.
  private hi = 0;
  private hiBig = 0n;

  constructor(private readonly bus: EventBus) {}

  /** seq of the last event published for the current request (the request's own seq before any). */
  last = 0n;

  split(ipa: number, level: number): void {
    this.last = this.bus.publish({ type: 'Stage2BlockSplit', data: { ipa: BigInt(ipa), level } }, this.ctx).seq;
  }

  broke(ipa: number, level: number): void {
    this.last = this.bus.publish({ type: 'Stage2Unmapped', data: { ipa: BigInt(ipa), size: LEVEL_SIZE_BIG[level]! } }, this.ctx).seq;
  }

  leaf(ipa: number, level: number, lo: number, hi: number): void {
    if (hi !== this.hi) {
      this.hi = hi;
      this.hiBig = BigInt(hi >>> 0) << 32n;
    }
    const desc = this.hiBig | BigInt(lo >>> 0);
    this.last = this.bus.publish({ type: 'Stage2Mapped', data: { ipa: BigInt(ipa), size: LEVEL_SIZE_BIG[level]!, level, desc } }, this.ctx).seq;
  }
}

function publishRefusal(bus: EventBus, request: string, ipa: bigint, size: bigint, error: PgtableError, context: PublishContext): void {
  bus.publish({ type: 'Stage2RequestRefused', data: { request, ipa, size, ret: error.ret, code: error.code } }, context);
}

/** Subscribes the pgtable package to `bus`; returns its state (read-only use) and an unsubscribe. */
export function attachPgtable(bus: EventBus, state: Stage2State = new Stage2State()): { state: Stage2State; detach: () => void } {
  const fold = (e: Envelope): void => state.evolve(e);
  const walkResults = new Map<number, WalkResult>(); // reused per VM: walks do not allocate
  const observer = new PublishingObserver(bus);
  // Handlers run one at a time: one context, access and protection object serve them all.
  const ctx = observer.ctx;
  const access: { -readonly [K in keyof Stage2AccessQuery]: Stage2AccessQuery[K] } & { op: AccessOp; tcf: Tcf | undefined; s1: S1Attr | undefined } = {
    op: 'read',
    tcf: undefined,
    s1: undefined,
    size: undefined,
    pair: undefined,
    reg: undefined,
    ata: undefined,
    tco: undefined,
  };
  const prot: { memType: MemType; noTagAccess: boolean; r: boolean; w: boolean; x: boolean; sw: number | undefined } = {
    memType: 'normal_wb',
    noTagAccess: false,
    r: false,
    w: false,
    x: false,
    sw: undefined,
  };

  // Each vCPU's last level-1 access, per VM: what a request marked retry_access re-executes.
  const pending = new Map<number, Map<number, AccessData>>();

  const onMap = (e: EnvelopeOf<'Stage2MapRequested'>): void => {
    const table = state.table(e.vm);
    if (table === undefined) return;
    const d = e.data;
    setContext(ctx, e);
    observer.last = e.seq;
    prot.memType = d.mem_type;
    prot.noTagAccess = d.no_tag_access;
    prot.r = d.r;
    prot.w = d.w;
    prot.x = d.x;
    prot.sw = d.sw;
    const error = table.mapProt(Number(d.ipa), Number(d.pa), Number(d.size), prot, observer);
    if (error !== undefined) publishRefusal(bus, 'map', d.ipa, d.size, error, ctx);
    else if (d.retry_access === true) resume(e, observer.last);
  };

  const onUnmap = (e: EnvelopeOf<'Stage2UnmapRequested'>): void => {
    const table = state.table(e.vm);
    if (table === undefined) return;
    setContext(ctx, e);
    const r = table.unmap(Number(e.data.ipa), Number(e.data.size), observer);
    if (r.ok) bus.publish({ type: 'Stage2Unmapped', data: { ipa: e.data.ipa, size: e.data.size } }, ctx);
    else publishRefusal(bus, 'unmap', e.data.ipa, e.data.size, r.error, ctx);
  };

  const onRelax = (e: EnvelopeOf<'Stage2RelaxRequested'>): void => {
    const table = state.table(e.vm);
    if (table === undefined) return;
    setContext(ctx, e);
    const r = table.relax(Number(e.data.ipa), { r: e.data.r, w: e.data.w, x: e.data.x, sw: e.data.sw });
    if (r.ok) {
      const { base, level, lo, hi } = r.value;
      const relaxed = bus.publish({ type: 'Stage2Relaxed', data: { ipa: BigInt(base), level, desc: descToBigInt(lo, hi) } }, ctx);
      if (e.data.retry_access === true) resume(e, relaxed.seq);
    } else {
      publishRefusal(bus, 'relax', e.data.ipa, 0x1000n, r.error, ctx);
    }
  };

  /** Walks the access and publishes AccessCompleted or Stage2FaultTaken, caused by `causation`. */
  const perform = (vm: number, vcpu: number, d: AccessData, causation: bigint): void => {
    const table = state.table(vm);
    if (table === undefined) return;
    let w = walkResults.get(vm);
    if (w === undefined) walkResults.set(vm, (w = table.createWalkResult()));
    const ipa = Number(d.gpa);
    table.walk(ipa, w);
    access.op = d.op;
    access.tcf = d.tcf;
    access.s1 = d.s1;
    // Absent in the event (defaults, old logs): the A.3.3 / A.3.7 defaults.
    access.size = d.size;
    access.pair = d.pair;
    access.reg = d.reg;
    access.ata = d.ata;
    access.tco = d.tco;
    const outcome = checkStage2Leaf(w, access);
    ctx.vm = vm;
    ctx.vcpu = vcpu;
    ctx.causation = causation;
    if (outcome.kind === 'ok') {
      const pa = outputAddress(w.lo, w.hi) + (ipa - w.base);
      bus.publish({ type: 'AccessCompleted', data: { gpa: d.gpa, op: d.op, pa: BigInt(pa), tags_ignored: outcome.tagsIgnored } }, ctx);
    } else {
      bus.publish(
        {
          type: 'Stage2FaultTaken',
          data: { ipa: d.gpa, esr: outcome.esr, kind: outcome.fault, level: outcome.level, tag_access: outcome.tagAccess, op: d.op },
        },
        ctx,
      );
    }
  };

  // The fault path fixed the stage 2 for this vCPU's access: the guest re-executes it (after the
  // entry is in place, so the walk sees it), caused by the last event the request published.
  const resume = (e: Envelope, causation: bigint): void => {
    const d = pending.get(e.vm)?.get(e.vcpu);
    if (d !== undefined) perform(e.vm, e.vcpu, d, causation);
  };

  const onAccess = (e: EnvelopeOf<'AccessRequested'>): void => {
    // Level-2 (nested guest) accesses go through the shadow stage 2 (packages/nested).
    if (e.data.level !== 1) return;
    let byVcpu = pending.get(e.vm);
    if (byVcpu === undefined) pending.set(e.vm, (byVcpu = new Map()));
    byVcpu.set(e.vcpu, e.data);
    perform(e.vm, e.vcpu, e.data, e.seq);
  };

  const unsubscribe = [
    bus.subscribe(SUBSCRIBER, 'HostCpusProbed', fold),
    bus.subscribe(SUBSCRIBER, 'VmCreated', (e) => {
      walkResults.delete(e.vm);
      pending.delete(e.vm);
      fold(e);
    }),
    bus.subscribe(SUBSCRIBER, 'Stage2MapRequested', onMap),
    bus.subscribe(SUBSCRIBER, 'Stage2UnmapRequested', onUnmap),
    bus.subscribe(SUBSCRIBER, 'Stage2RelaxRequested', onRelax),
    bus.subscribe(SUBSCRIBER, 'AccessRequested', onAccess),
  ];
  return { state, detach: () => unsubscribe.forEach((u) => u()) };
}
