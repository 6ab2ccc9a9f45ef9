import { defineConfig } from 'vitest/config';

// One vitest run covers every package (`pnpm test`); each package also runs alone
// (`pnpm --filter @sealog/<name> test`) with its own vitest.config.ts.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'benchmarks'],
  },
});
