#!/usr/bin/env node
'use strict';
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
