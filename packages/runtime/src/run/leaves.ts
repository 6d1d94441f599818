import { stage2LeavesJson } from '@mteperm/pgtable';
import type { Model } from './compose';
import type { LeafResult } from './result';

/**
 * `tagged` in the result means tag storage is valid (CONTRACT §3): pgtable's Normal WB without
 * NoTagAccess, and the host page's tags sanitised by the mmu.
 */
function withSanitisedTags(model: Model, leaves: readonly LeafResult[]): LeafResult[] {
  return leaves.map((l) => {
    const pa = Number(BigInt(l.pa));
    const region = model.mmu.regionOfHost(pa);
    return { ...l, tagged: l.tagged && region !== undefined && region.isTagged(pa) };
  });
}

/** The VM's stage-2 leaves for the result, in IPA order. */
export function stage2Leaves(model: Model, vm: number): LeafResult[] {
  const table = model.stage2.table(vm);
  return table === undefined ? [] : withSanitisedTags(model, stage2LeavesJson(table));
}

/** The shadow stage-2 leaves of the VM's guest hypervisors, keyed by L2 IPA with the host PA. */
export function shadowStage2Leaves(model: Model, vm: number): LeafResult[] {
  return withSanitisedTags(model, model.nested.shadowLeavesJson(vm));
}
