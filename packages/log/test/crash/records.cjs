'use strict';
// Record i of the crash tests' logs, identical in the writer child and in the test: envelopes of
// every event kind with dense seq, some padded to a few KiB so records straddle batch buffers.
const { encodeEnvelope, NO_VCPU } = require('@mteperm/events');
const { SAMPLE_EVENT_LIST } = require('@mteperm/events/testing');

function recordEnvelope(i) {
  const base = SAMPLE_EVENT_LIST[i % SAMPLE_EVENT_LIST.length];
  let event = base;
  if (i % 7 === 0) {
    // A PluginFailed with a long message: a record of 1..6 KiB.
    event = { type: 'PluginFailed', data: { plugin: 'p', hook: 'decide', reason: 'threw', message: 'x'.repeat(1024 * (1 + (i % 6))) } };
  }
  return encodeEnvelope({ seq: BigInt(i), vm: 1, vcpu: i % 3 === 0 ? NO_VCPU : i % 4, causation: BigInt(i - 1) }, event);
}
module.exports = { recordEnvelope };
