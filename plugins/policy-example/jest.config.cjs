module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'policy-example',
  rootDir: __dirname,
};
