'use strict';
// Throws on every fault: recorded as PluginFailed (threw) and skipped.
module.exports = { name: 'throws', version: '1.0.0', decide() { throw new RangeError('policy exploded'); } };
