import { DECISIONS, definePolicy } from '@mteperm/plugin-api';

/**
 * Lazily gives tag storage to the faulting page (DOMAIN A.2.7; Marc Zyngier's "lazily allocate
 * MTE-capable memory", DOMAIN B §1.2): while the bounded pool (`policy_options.tag_pool_pages`,
 * default 64) has a page, the mmu allocates it, clears its tags, remaps the page tagged Normal WB
 * and retries the access (outcome `retried`). With the pool empty it passes to the next policy.
 */
export const tagAllocRetry = definePolicy({
  name: 'tag-alloc-retry',
  version: '0.1.0',
  decide: (_fault, ctx) => (ctx.tagStorage.canAllocate(1) ? DECISIONS['allocate-tags-and-retry'] : DECISIONS.pass),
});

export default tagAllocRetry;
