/** Jest runs the TypeScript sources as ESM through ts-jest (see README "Development"). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {
    '^.+\\.ts$': ['ts-jest', {useESM: true, tsconfig: 'tsconfig.json'}],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  verbose: true,
  testTimeout: 60000,
  // Two test files at a time: much of a file's time is spent waiting on the CLI processes and the disk, so two workers
  // use both cores of the CI machine (in-process command tests run in separate workers, so their working folder and
  // environment never overlap).
  maxWorkers: 2,
}
