import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests: real Postgres, real Redis, real Socket.IO clients. Nest 12 ships as ES
 * modules only, which Vitest loads natively; SWC compiles the TypeScript with the decorator
 * metadata Nest's dependency injection reads (esbuild does not emit it).
 */
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: [
      { find: /^nestjs-inbox$/, replacement: resolve(import.meta.dirname, 'libs/nestjs-inbox/src/index.ts') },
      { find: /^nestjs-inbox\/(.*)$/, replacement: resolve(import.meta.dirname, 'libs/nestjs-inbox/src/$1') },
    ],
  },
  test: {
    globals: true,
    include: ['test/**/*.e2e-spec.ts', 'libs/**/*.spec.ts'],
    // The fault-injection suite runs on its own (`npm run test:faults`): see test/faults/harness.ts.
    exclude: ['**/node_modules/**', 'dist/**', ...(process.env.INBOX_FAULTS ? [] : ['test/faults/**'])],
    testTimeout: 20000,
    hookTimeout: 60000,
    globalSetup: ['test/support/global-setup.ts'],
    // One suite at a time, as with jest --runInBand: suites start processes and Redis servers.
    fileParallelism: false,
    pool: 'forks',
    // The files share one worker and its module cache: loading Nest, TypeORM and the library
    // again for each of ~110 files took 135 s of a 750-s run on a 2-core machine (CI's limit is
    // 20 minutes). So a file must leave no global behind: it restores its spies and fake timers
    // and disables the OpenTelemetry globals it registers, as every file does.
    isolate: false,
  },
});
