module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'uapi',
  rootDir: __dirname,
};
