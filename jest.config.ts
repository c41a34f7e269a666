import type { Config } from 'jest';

/**
 * The unit tier (`npm run test:unit`): test files of pure logic, which start no Redis, no HTTP
 * server and no child process, and read no build. Kept here, in one place; every other file
 * of `test/` is an integration test.
 */
const UNIT_TESTS = ['claim-ledger', 'config', 'config-input', 'retry-policy', 'token'];

/** The soak runs on its own, after everything else (`npm run test:soak`), on a Redis of its own. */
const SOAK_TEST = 'soak';

const testFile = (name: string) => `<rootDir>/test/${name}.test.ts`;

/** What every project shares: how the TypeScript sources are loaded. */
const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // `isolatedModules` in tsconfig.json makes ts-jest transpile each file on its own, without
  // type-checking: `npm run typecheck` checks the types.
  transform: { '^.+\\.c?ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Jest's own, and .cts: a module that is CommonJS in both builds.
  moduleFileExtensions: ['js', 'mjs', 'cjs', 'json', 'node', 'ts', 'cts'],
  // Sources import './x.js' (as Node ESM requires); jest resolves the .ts behind it, and the
  // .cts behind './x.cjs'.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^(\\.{1,2}/.*)\\.cjs$': ['$1.cts', '$1.cjs'],
    // The example app imports the package by name, as users do; in tests that is the source.
    '^sovendus-express$': '<rootDir>/src/index.ts',
    '^sovendus-express/testing$': '<rootDir>/src/testing/index.ts',
    '^sovendus-express/bullmq$': '<rootDir>/src/bullmq.ts',
  },
} satisfies Config;

const config: Config = {
  // A setting of the whole run: within a project, Jest ignores it.
  testTimeout: 20_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: UNIT_TESTS.map(testFile) },
    {
      ...shared,
      displayName: 'integration',
      // Jest fills in <rootDir> only at a pattern's start, so not after a negation's `!`.
      testMatch: [
        testFile('*'),
        ...[...UNIT_TESTS, SOAK_TEST].map((name) => `!**/test/${name}.test.ts`),
      ],
      // Finds (or starts) the Redis the integration tests share.
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    { ...shared, displayName: 'soak', testMatch: [testFile(SOAK_TEST)] },
  ],
};

export default config;
