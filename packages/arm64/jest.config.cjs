module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'arm64',
  rootDir: __dirname,
};
