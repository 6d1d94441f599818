'use strict';
// Strict mode: writing to the frozen fault and ctx throws TypeError, so the plugin fails.
module.exports = {
  name: 'mutate-inputs',
  version: '1.0.0',
  decide(fault, ctx) {
    ctx.tagStorage.remaining = 1e9;
    fault.ipa = 0n;
    return { kind: 'allocate-tags-and-retry' };
  },
};
