/**
 * Shared tsup preset: every package builds `src/index.ts` to ESM + .d.ts in `dist/`.
 * Packages call `definePackage()` from their own `tsup.config.ts` and add entries only when
 * they expose more than one entry point (e.g. a worker file).
 */
import { defineConfig, type Options } from 'tsup';

export function definePackage(overrides: Options = {}): ReturnType<typeof defineConfig> {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    // The tsconfig is a composite project for `tsc -b`; tsup's dts pass compiles one entry alone.
    dts: { compilerOptions: { composite: false, incremental: false } },
    sourcemap: true,
    clean: true,
    treeshake: true,
    splitting: false,
    ...overrides,
  });
}
