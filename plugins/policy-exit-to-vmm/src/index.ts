import { DECISIONS, definePolicy } from '@mteperm/plugin-api';

/**
 * The default policy: every tag-access fault goes to the VMM as KVM_EXIT_MEMORY_FAULT with
 * KVM_MEMORY_EXIT_FLAG_TAGACCESS (DOMAIN A.2.5). Listing it last in a chain makes the fallback explicit.
 */
export const exitToVmm = definePolicy({
  name: 'exit-to-vmm',
  version: '0.1.0',
  decide: () => DECISIONS['exit-to-vmm'],
});

export default exitToVmm;
