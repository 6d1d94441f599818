module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'mmu',
  rootDir: __dirname,
};
