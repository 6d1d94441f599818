// Shared Jest settings: Node environment (the Nx preset would default to jsdom), the swc transform
// (fast; type safety comes from the separate `typecheck` target), and the `@mteperm/source` export
// condition so tests run against workspace sources without a build.
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: {
    customExportConditions: ['@mteperm/source', 'node', 'require', 'default'],
  },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: [require.resolve('./jest.fast-check.js')],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
};
