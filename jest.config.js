/** Jest runs the TypeScript sources as ESM through ts-jest (see README "Development"). */
export default {
  // jest's node environment; its worker starts child processes through a small helper (test/jest-environment.cjs).
  testEnvironment: '<rootDir>/test/jest-environment.cjs',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {
    '^.+\\.ts$': ['ts-jest', {useESM: true, tsconfig: 'tsconfig.json'}],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // A fixed git identity and no global git config of the machine's (test/setup-git-env.ts says why).
  setupFiles: ['<rootDir>/test/setup-git-env.ts'],
  // Removes the process.stdout listeners a test file's modules added (test/setup-stdout-listeners.ts says why).
  setupFilesAfterEnv: ['<rootDir>/test/setup-stdout-listeners.ts'],
  // Only test/ is crawled for jest's module map: the tests reach src/ and dist/ through their imports. The whole
  // folder held bench/.cache too (59,000 files once the benchmarks had run: their photos and datasets), which every
  // worker carried: npm test took 209-210 s of jest on this machine with it, 184 s without (1,558 tests, idle).
  roots: ['<rootDir>/test'],
  verbose: true,
  testTimeout: 60000,
  // Four test files at a time on the 2-core CI machine: much of a file's time is spent waiting on the CLI processes,
  // git and the disk, so two workers left about a fifth of the CPU idle. Measured on main at idle (npm test, wall):
  // 2 workers 254 s, 3 workers 218 s, 4 workers 185–198 s; CPU (user + sys) 411, 399 and 352–378 s (smaller workers
  // fork git and the CLI more cheaply). In-process command tests run in separate workers, so their working folder and environment never
  // overlap.
  maxWorkers: 4,
  // How long a worker may take to exit once jest is done with it before it is killed and jest prints "A worker process
  // has failed to exit gracefully". Jest's default, 500 ms, is shorter than a worker of this suite takes to exit with
  // nothing left open: timed from jest's end message to the worker's exit (2026-12-02, test/reliability, 2 cores),
  // 450–650 ms for each of the 4 workers (their heaps hold every test file's module graph, 0.5–2 GB), and 90–260 ms for
  // a worker that ran one small file; the stdio pipes were the only handles left after each file. A handle that never
  // closes (an interval, a server, a child process) still ends in that kill and the message.
  workerGracefulExitTimeout: 3000,
}
