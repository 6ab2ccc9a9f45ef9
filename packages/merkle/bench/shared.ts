/**
 * Shared settings of the merkle benchmarks. `SEALOG_BENCH_QUICK=1` runs small inputs for a few
 * short iterations (a smoke test that the benches still run and self-check); otherwise realistic
 * sizes. Every bench checks the output of what it times before timing it.
 */
import { createHash } from 'node:crypto';

/** Smoke mode: small sizes, ~50 ms per bench. */
export const QUICK: boolean = process.env.SEALOG_BENCH_QUICK === '1';

/** Options for a normal bench: realistic time budget, or a short one in quick mode. */
export const BENCH_OPTIONS: {
  time: number;
  iterations: number;
  warmupTime: number;
  warmupIterations: number;
} = QUICK
  ? { time: 50, iterations: 3, warmupTime: 10, warmupIterations: 1 }
  : { time: 1000, iterations: 10, warmupTime: 200, warmupIterations: 5 };

/** Options for a bench whose single call takes a second or more (O(n) proofs at n = 1M). */
export const SLOW_BENCH_OPTIONS: {
  time: number;
  iterations: number;
  warmupTime: number;
  warmupIterations: number;
} = QUICK
  ? { time: 0, iterations: 2, warmupTime: 0, warmupIterations: 0 }
  : { time: 0, iterations: 3, warmupTime: 0, warmupIterations: 1 };

/** Throws unless `ok`: benchmarks check their output before timing it. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
}

/** Byte equality for self-checks. */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.length),
      Buffer.from(b.buffer, b.byteOffset, b.length),
    ) === 0
  );
}

/** Reference leaf hash through a plain `createHash`, for self-checks. */
export function referenceLeaf(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Uint8Array.of(0)).update(data).digest());
}

/** Deterministic pseudo-random bytes (xorshift), so runs are comparable. */
export function pseudoRandomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
