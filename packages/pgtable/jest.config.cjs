module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'pgtable',
  rootDir: __dirname,
};
