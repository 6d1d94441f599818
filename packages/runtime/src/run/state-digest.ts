import { createHash } from 'node:crypto';
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
  // Fed piece by piece: the stage-2 part grows with the mapped pages, and one JSON document of every
  // leaf would make the final hash the peak of a run's or a replay's memory.
  const h = createHash('sha256');
  const put = (label: string, v: unknown): void => {
    h.update(`${label}=${JSON.stringify(v, canonical)}\n`);
  };
  const vms = [...model.uapi.state.vms.entries()].sort(([a], [b]) => a - b);
  put('kernel', model.uapi.state.kernel);
  for (const [id, vm] of vms) {
    put(`vm ${id}`, { ...vm, setup: undefined });
    const table = model.stage2.table(id);
    h.update(`stage2 ${id}\n`);
    // The raw descriptor words of every leaf, in IPA order: all a leaf is.
    table?.forEachLeaf((ipa, level, lo, hi) => {
      h.update(`${ipa.toString(16)} ${level} ${(hi >>> 0).toString(16)} ${(lo >>> 0).toString(16)}\n`);
    });
  }
  const mmu = model.mmu;
  for (const m of mmu.memslots) {
    h.update(`tagged ${m.slot} ${m.host.base.toString(16)}\n`);
    h.update(m.host.tagged);
  }
  put('tag_pool_remaining', mmu.tagPoolRemaining);
  put('tag_storage_pages', [...mmu.tagStoragePages].sort((a, b) => a - b));
  put('nested', model.nested.state.snapshot());
  return h.digest('hex');
}
