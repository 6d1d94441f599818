import { DECISIONS, definePolicy } from '@mteperm/plugin-api';
import type { FaultPolicy } from '@mteperm/plugin-api';

/**
 * Gives page-cache memory (virtiofs DAX, virtio-shm: backing `file-shared`) tag storage on
 * demand while the pool lasts, so a guest that tags such a page keeps running (DOMAIN A.2.7);
 * everything else is left to the next policy (`pass`), which ends at `exit-to-vmm`.
 */
export const pageCacheTags: FaultPolicy = definePolicy({
  name: 'page-cache-tags',
  version: '1.0.0',
  decide: (fault, ctx) => (fault.backing === 'file-shared' && ctx.tagStorage.canAllocate() ? DECISIONS['allocate-tags-and-retry'] : DECISIONS.pass),
});

export default pageCacheTags;
