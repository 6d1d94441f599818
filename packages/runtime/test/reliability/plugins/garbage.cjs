'use strict';
// Returns something that is not a decision, a different thing per call.
let n = 0;
const answers = [
  () => null,
  () => ({ kind: 'format-the-disk' }),
  () => new Proxy({}, { get() { throw new Error('kind getter throws'); } }),
  () => ({ get kind() { for (;;); } }),
  () => Promise.resolve({ kind: 'inject-sea' }),
  () => 10n,
  () => ({ kind: ['inject-sea'] }),
];
module.exports = { name: 'garbage', version: '1.0.0', decide() { return answers[n++ % answers.length](); } };
