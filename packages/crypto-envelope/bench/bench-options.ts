/**
 * Shared settings for this package's vitest benchmarks. `SEALOG_BENCH_QUICK=1` is a smoke run:
 * small inputs and ~50 ms per case, so the whole package finishes in well under 30 s.
 */
export const QUICK: boolean = process.env.SEALOG_BENCH_QUICK === '1';

/** Options for one `bench()` case: short in quick mode, ~1 s otherwise. */
export const BENCH_OPTIONS: {
  time: number;
  iterations: number;
  warmupTime: number;
  warmupIterations: number;
} = QUICK
  ? { time: 50, iterations: 5, warmupTime: 10, warmupIterations: 2 }
  : { time: 1000, iterations: 50, warmupTime: 200, warmupIterations: 20 };

/** Throws unless `condition` holds: benchmarks verify their output before timing it. */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark self-check failed: ${what}`);
}
