/**
 * Shared settings of the codec benchmarks. `SEALOG_BENCH_QUICK=1` runs small inputs for a few
 * iterations (a smoke test that finishes in seconds); otherwise realistic batch sizes.
 */
export const QUICK: boolean = process.env.SEALOG_BENCH_QUICK === '1';
/** Events per batch: 2048 as in PERF-NOTES.md (256 in quick mode). */
export const BATCH: number = QUICK ? 256 : 2048;
/** Options passed to every `bench()`. */
export const OPTIONS: { time: number; iterations: number; warmupTime: number; warmupIterations: number } =
  QUICK
    ? { time: 50, iterations: 3, warmupTime: 10, warmupIterations: 1 }
    : { time: 1500, iterations: 10, warmupTime: 300, warmupIterations: 5 };

/** Throws unless `ok`: benchmarks check their output before timing it. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
}
