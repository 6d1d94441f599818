import { DECISIONS, definePolicy } from '@mteperm/plugin-api';

/**
 * Injects a synchronous external abort into the guest for every tag-access fault (DOMAIN A.2.7),
 * as Catalin Marinas suggested for guests that use tags on memory they know is not standard RAM
 * (DOMAIN B §1.2): the guest takes a data abort (EC 0x25, DFSC 0x10), the VMM sees no exit.
 */
export const injectSea = definePolicy({
  name: 'inject-sea',
  version: '0.1.0',
  decide: () => DECISIONS['inject-sea'],
});

export default injectSea;
