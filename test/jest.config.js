/** End-to-end tests: real Postgres, real Redis, real Socket.IO clients. */
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  // The packaging test builds the library into dist/; jest must not mistake it for the source.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/libs/**/*.spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  moduleNameMapper: {
    '^nestjs-inbox$': '<rootDir>/libs/nestjs-inbox/src',
    '^nestjs-inbox/(.*)$': '<rootDir>/libs/nestjs-inbox/src/$1',
  },
  testTimeout: 20000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};
