module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'cpufeature',
  rootDir: __dirname,
};
