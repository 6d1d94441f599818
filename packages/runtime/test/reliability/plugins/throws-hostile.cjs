'use strict';
// Throws a value whose every read throws again: formatting it must not escape the chain.
const evil = new Proxy({}, { get() { throw new Error('you cannot read me'); }, getPrototypeOf() { throw new Error('nor my prototype'); } });
module.exports = { name: 'throws-hostile', version: '1.0.0', decide() { throw evil; } };
