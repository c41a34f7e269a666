import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Sources import './x.js' (as Node ESM requires); jest resolves the .ts behind it.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The example app imports the package by name, as users do; in tests that is the source.
    '^sovendus-express$': '<rootDir>/src/index.ts',
    '^sovendus-express/testing$': '<rootDir>/src/testing/index.ts',
    '^sovendus-express/bullmq$': '<rootDir>/src/bullmq.ts',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 20_000,
};

export default config;
