/** Unit (`*.spec.ts` beside the code), integration (`*.int-spec.ts`) and e2e (`test/*.e2e-spec.ts`) in one run. */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: '(src/.*\\.(spec|int-spec)\\.ts|test/.*\\.e2e-spec\\.ts)$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60000,
  // Every test closes what it opens, and most runs of the whole suite end on their own; but on 2026-12-01 some
  // runs (1 of 3 in the morning, 1 of 8 at midday) kept the process alive after the last test, and CI would have
  // waited forever. What held it was one timer, alive from the first suites on, with no socket, server or child
  // process; --detectOpenHandles cannot show it (Jest reports only timers created from test code, and no
  // sockets). A Redis client left retrying after an app closed is the likeliest source, not yet reproduced. The
  // results are in by then, and the global teardown, which drops the database and the Redis keys, runs first.
  forceExit: true,
};
