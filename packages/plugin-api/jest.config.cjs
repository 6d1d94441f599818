module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'plugin-api',
  rootDir: __dirname,
};
