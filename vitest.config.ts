import { defineConfig } from 'vitest/config';

// Real-CRIU tests freeze and dump real processes; run files one at a time so two dumps never
// compete for the 2 cores and timing assertions about progress stay meaningful.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    exclude: ['test/vm/**'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
