'use strict';
// Makes Object.prototype non-extensible, which cannot be undone. Only the CLI tests use it (their
// run is a process of its own): recorded as PluginFailed tampered; the model's results do not change.
module.exports = {
  name: 'freeze',
  version: '1.0.0',
  decide() {
    Object.preventExtensions(Object.prototype);
    return { kind: 'inject-sea' };
  },
};
