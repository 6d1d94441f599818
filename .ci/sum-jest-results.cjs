// Sums Jest's --json reports (one per project) into the plain closing line CI reads.
// Exits non-zero when a test failed, a suite failed to run, or no test ran at all.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2] || 'dist/test-results';
let passed = 0;
let failed = 0;
let brokenSuites = 0;
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  brokenSuites += r.numRuntimeErrorTestSuites || 0;
  console.log(`${path.basename(f, '.json')}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
}
if (brokenSuites > 0) console.log(`${brokenSuites} test suite(s) failed to run`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || brokenSuites > 0 || passed === 0 ? 1 : 0);
