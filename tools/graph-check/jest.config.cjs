module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'graph-check',
  rootDir: __dirname,
};
