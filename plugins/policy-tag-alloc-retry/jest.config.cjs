module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'policy-tag-alloc-retry',
  rootDir: __dirname,
};
