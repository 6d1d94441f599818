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
main.main(process.argv).then((code) => {
  process.exitCode = code;
});
