module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'policy-inject-sea',
  rootDir: __dirname,
};
