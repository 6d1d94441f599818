module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'policy-exit-to-vmm',
  rootDir: __dirname,
};
