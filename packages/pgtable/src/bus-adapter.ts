/**
 * The pgtable package on the bus: folds host and VM events into `Stage2State`, serves stage-2 map /
 * unmap / relax requests and level-1 guest accesses, and publishes the outcomes with causation.
 * Published Stage2* events are exactly what `Stage2State.evolve` needs to rebuild the tables.
 */
import type { EventBus, PublishContext } from '@mteperm/bus';
import type { Envelope, EnvelopeOf } from '@mteperm/events';
import { LEVEL_SIZE, descToBigInt } from './descriptor';
import { checkAccess } from './access-check';
import type { PgtableError } from './errors';
import type { Stage2Observer, WalkResult } from './stage2-page-table';
import { Stage2State } from './stage2-state';

const SUBSCRIBER = 'pgtable';

function contextOf(envelope: Envelope): PublishContext {
  return { vm: envelope.vm, vcpu: envelope.vcpu, causation: envelope.seq };
}

/** Turns table operations into Stage2BlockSplit / Stage2Unmapped (break) / Stage2Mapped events. */
function publishingObserver(bus: EventBus, context: PublishContext): Stage2Observer {
  return {
    split: (ipa, level) => bus.publish({ type: 'Stage2BlockSplit', data: { ipa: BigInt(ipa), level } }, context),
    broke: (ipa, level) =>
      bus.publish({ type: 'Stage2Unmapped', data: { ipa: BigInt(ipa), size: BigInt(LEVEL_SIZE[level]!) } }, context),
    leaf: (ipa, level, lo, hi) =>
      bus.publish(
        { type: 'Stage2Mapped', data: { ipa: BigInt(ipa), size: BigInt(LEVEL_SIZE[level]!), level, desc: descToBigInt(lo, hi) } },
        context,
      ),
  };
}

function publishRefusal(bus: EventBus, request: string, ipa: bigint, size: bigint, error: PgtableError, context: PublishContext): void {
  bus.publish({ type: 'Stage2RequestRefused', data: { request, ipa, size, ret: error.ret, code: error.code } }, context);
}

/** Subscribes the pgtable package to `bus`; returns its state (read-only use) and an unsubscribe. */
export function attachPgtable(bus: EventBus, state: Stage2State = new Stage2State()): { state: Stage2State; detach: () => void } {
  const fold = (e: Envelope): void => state.evolve(e);
  const walkResults = new Map<number, WalkResult>(); // reused per VM: walks do not allocate

  const onMap = (e: EnvelopeOf<'Stage2MapRequested'>): void => {
    const table = state.table(e.vm);
    if (table === undefined) return;
    const d = e.data;
    const ctx = contextOf(e);
    const r = table.map(Number(d.ipa), Number(d.pa), Number(d.size), { memType: d.mem_type, noTagAccess: d.no_tag_access, r: d.r, w: d.w, x: d.x, sw: d.sw }, publishingObserver(bus, ctx));
    if (!r.ok) publishRefusal(bus, 'map', d.ipa, d.size, r.error, ctx);
  };

  const onUnmap = (e: EnvelopeOf<'Stage2UnmapRequested'>): void => {
    const table = state.table(e.vm);
    if (table === undefined) return;
    const ctx = contextOf(e);
    const r = table.unmap(Number(e.data.ipa), Number(e.data.size), publishingObserver(bus, ctx));
    if (r.ok) bus.publish({ type: 'Stage2Unmapped', data: { ipa: e.data.ipa, size: e.data.size } }, ctx);
    else publishRefusal(bus, 'unmap', e.data.ipa, e.data.size, r.error, ctx);
  };

  const onRelax = (e: EnvelopeOf<'Stage2RelaxRequested'>): void => {
    const table = state.table(e.vm);
    if (table === undefined) return;
    const ctx = contextOf(e);
    const r = table.relax(Number(e.data.ipa), { r: e.data.r, w: e.data.w, x: e.data.x, sw: e.data.sw });
    if (r.ok) {
      const { base, level, lo, hi } = r.value;
      bus.publish({ type: 'Stage2Relaxed', data: { ipa: BigInt(base), level, desc: descToBigInt(lo, hi) } }, ctx);
    } else {
      publishRefusal(bus, 'relax', e.data.ipa, 0x1000n, r.error, ctx);
    }
  };

  const onAccess = (e: EnvelopeOf<'AccessRequested'>): void => {
    // Level-2 (nested guest) accesses go through the shadow stage 2 (packages/nested).
    if (e.data.level !== 1) return;
    const table = state.table(e.vm);
    if (table === undefined) return;
    let w = walkResults.get(e.vm);
    if (w === undefined) walkResults.set(e.vm, (w = table.createWalkResult()));
    const ipa = Number(e.data.gpa);
    table.walk(ipa, w);
    const outcome = checkAccess(w, { ipa, op: e.data.op, tcf: e.data.tcf, s1: e.data.s1 });
    const ctx = contextOf(e);
    if (outcome.kind === 'ok') {
      bus.publish({ type: 'AccessCompleted', data: { gpa: e.data.gpa, op: e.data.op, pa: BigInt(outcome.pa), tags_ignored: outcome.tagsIgnored } }, ctx);
    } else {
      bus.publish(
        {
          type: 'Stage2FaultTaken',
          data: { ipa: e.data.gpa, esr: outcome.esr, kind: outcome.kind, level: outcome.level, tag_access: outcome.tagAccess, op: e.data.op },
        },
        ctx,
      );
    }
  };

  const unsubscribe = [
    bus.subscribe(SUBSCRIBER, 'HostCpusProbed', fold),
    bus.subscribe(SUBSCRIBER, 'VmCreated', (e) => {
      walkResults.delete(e.vm);
      fold(e);
    }),
    bus.subscribe(SUBSCRIBER, 'Stage2MapRequested', onMap),
    bus.subscribe(SUBSCRIBER, 'Stage2UnmapRequested', onUnmap),
    bus.subscribe(SUBSCRIBER, 'Stage2RelaxRequested', onRelax),
    bus.subscribe(SUBSCRIBER, 'AccessRequested', onAccess),
  ];
  return { state, detach: () => unsubscribe.forEach((u) => u()) };
}
