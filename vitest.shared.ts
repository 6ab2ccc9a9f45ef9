/**
 * Shared vitest settings for every package: resolve workspace packages to source through the
 * `@sealog/source` condition (no build needed to test), and skip `*.slow.test.ts` unless
 * SEALOG_SLOW=1.
 */
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

export function definePackageTests(
  name: string,
  extra: UserWorkspaceConfig['test'] = {},
): UserWorkspaceConfig {
  const slow = process.env.SEALOG_SLOW === '1';
  return defineProject({
    resolve: { conditions: ['@sealog/source'] },
    ssr: { resolve: { conditions: ['@sealog/source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      exclude: slow ? ['**/node_modules/**'] : ['**/node_modules/**', 'test/**/*.slow.test.ts'],
      benchmark: { include: ['bench/**/*.bench.ts'] },
      testTimeout: 30_000,
      ...extra,
    },
  });
}
