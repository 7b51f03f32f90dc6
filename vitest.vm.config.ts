import { defineConfig } from 'vitest/config';

// The tests that need a kernel with soft-dirty tracking (pre-dump, incremental dump). They run inside the
// qemu VM of scripts/vm (run them with `npm run test:vm`), where compute is 8-10x slower than on the host:
// timeouts are generous, and files run one at a time so CRIU's freezes and the dirtier's pacing never
// compete for the guest's 2 vCPUs.
export default defineConfig({
  test: {
    include: ['test/vm/**/*.test.ts'],
    globalSetup: ['test/vm/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 60_000,
    reporters: ['verbose'],
  },
});
