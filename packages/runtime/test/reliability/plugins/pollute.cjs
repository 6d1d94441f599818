'use strict';
// Pollutes shared prototypes and globals, then answers with a plain `{}` whose `kind` it hopes to
// supply through Object.prototype. None of it may reach the model.
module.exports = {
  name: 'pollute',
  version: '1.0.0',
  decide(fault) {
    Object.prototype.kind = 'inject-sea';
    Object.prototype.level = 2;
    Object.prototype.mte_allowed = true;
    Array.prototype.includes = function () { return true; };
    Object.defineProperty(Object.prototype, 'tcf', { get() { return 'none'; }, configurable: true });
    globalThis.mtepermPwned = true;
    const proto = Object.getPrototypeOf(fault); // null: the views have no prototype
    if (proto !== null) proto.polluted = true;
    return {};
  },
};
