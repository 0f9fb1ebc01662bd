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
}
