import { createHash } from 'node:crypto';
import { stage2LeavesJson } from '@mteperm/pgtable';
import type { Model } from './compose';

function canonical(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (v instanceof Map) return [...v.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

/**
 * SHA-256 of the model's final state in a canonical form: the uapi's VMs (capabilities, memslots,
 * vCPUs and their last exits), every stage-2 leaf, the host pages with sanitised tags, and the tag
 * storage handed out, and the nested state (guest hypervisors' stage-2 descriptors and table pages,
 * shadow stage-2 leaves). Live runs record it in `StateHashRecorded`; replay *rebuild* recomputes it
 * from the folded log and compares.
 */
export function stateDigest(model: Model): string {
  const vms = [...model.uapi.state.vms.entries()].sort(([a], [b]) => a - b);
  const stage2 = vms.map(([id]) => {
    const table = model.stage2.table(id);
    return [id, table === undefined ? [] : stage2LeavesJson(table)];
  });
  const mmu = model.mmu;
  const doc = {
    kernel: model.uapi.state.kernel,
    vms: vms.map(([id, vm]) => [id, { ...vm, setup: undefined }]),
    stage2,
    tagged: mmu.memslots.map((m) => [m.slot, m.host.base, m.host.tagged]),
    tag_pool_remaining: mmu.tagPoolRemaining,
    tag_storage_pages: [...mmu.tagStoragePages].sort((a, b) => a - b),
    nested: model.nested.state.snapshot(),
  };
  return createHash('sha256').update(JSON.stringify(doc, canonical)).digest('hex');
}
