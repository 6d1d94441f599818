import type { EventBus } from '@mteperm/bus';
import { CpuFeatureAdapter } from '@mteperm/cpufeature';
import type { Envelope } from '@mteperm/events';
import { attachMmu, MmuState } from '@mteperm/mmu';
import type { FaultPolicy } from '@mteperm/mmu';
import { NestedAdapter } from '@mteperm/nested';
import { attachPgtable, Stage2State } from '@mteperm/pgtable';
import { UapiAdapter } from '@mteperm/uapi';

/** The domain packages of one run, each holding its own folded state. */
export interface Model {
  readonly uapi: UapiAdapter;
  readonly cpufeature: CpuFeatureAdapter;
  readonly stage2: Stage2State;
  readonly mmu: MmuState;
  readonly nested: NestedAdapter;
}

/**
 * Wires every domain package onto one bus (ARCHITECTURE "Layout": the runtime wires them; they
 * only talk through events). Subscription order is fixed, so delivery order is too.
 */
export function composeLiveModel(bus: EventBus, options: { readonly policies: readonly FaultPolicy[] }): Model {
  const cpufeature = new CpuFeatureAdapter(bus);
  const uapi = new UapiAdapter(bus);
  const { state: stage2 } = attachPgtable(bus);
  const mmu = attachMmu(bus, { policies: options.policies });
  const nested = new NestedAdapter(bus);
  return { uapi, cpufeature, stage2, mmu, nested };
}

/**
 * The same packages with no bus: state only, for rebuilding from a recorded log (replay
 * *rebuild*). `apply` folds one recorded event into every package, deciding nothing.
 */
export function composeRebuildModel(): Model & { apply(e: Envelope): void } {
  const cpufeature = new CpuFeatureAdapter();
  const uapi = new UapiAdapter();
  const stage2 = new Stage2State();
  const mmu = new MmuState();
  const nested = new NestedAdapter();
  return {
    uapi,
    cpufeature,
    stage2,
    mmu,
    nested,
    apply(e: Envelope): void {
      cpufeature.apply(e);
      uapi.apply(e);
      stage2.evolve(e);
      mmu.evolve(e);
      nested.apply(e);
    },
  };
}
