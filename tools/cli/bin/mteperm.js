#!/usr/bin/env node
'use strict';
// A reader that stops early (`mteperm run ... | head`) closes the pipe: that is not an error.
process.stdout.on('error', (e) => {
  if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
// The compiled CLI is built by `npm ci` (the root `prepare` script) or `npm run build`.
let main;
try {
  main = require('../dist/main.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/main.js')) {
    process.stderr.write('mteperm: the CLI is not built yet: run `npm run build` in the repository root\n');
    process.exit(3);
  }
  throw e;
}
// Taken before any plugin loads: the exit below is ours, whatever a plugin did to process.exit.
const exit = process.exit.bind(process);
main.main(process.argv).then((code) => {
  process.exitCode = code;
  // The work is done: timers or handles a policy plugin left behind must not keep the process
  // alive (README "Plugin isolation"). stdout and stderr are flushed first.
  process.stdout.write('', () => process.stderr.write('', () => exit(code)));
});
