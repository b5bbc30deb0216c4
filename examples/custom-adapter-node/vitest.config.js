import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.js'],
    // The tests start real worker processes.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
