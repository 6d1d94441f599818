'use strict';
// Lets a child `node` process run the workspace's TypeScript sources, as Jest does (swc, CommonJS):
// node --conditions=@mteperm/source -r ./ts-register.cjs child.cjs
const fs = require('node:fs');
const swc = require('@swc/core');
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: false,
  });
  module._compile(code, filename);
};
