/**
 * A fixed-memory latency histogram (log-linear buckets, ~4% relative error) for fsync durations.
 * Recording is O(1) and allocation-free; quantiles walk 1,000 buckets.
 */

/** Buckets per power of two: 2^(1/16) ≈ 4.4% bucket width. */
const SUB_BUCKETS = 16;
/** Smallest tracked value in microseconds; below it everything lands in bucket 0. */
const MIN_US = 1;
/** Number of buckets: covers 1 µs … 2^60 µs. */
const BUCKETS = 60 * SUB_BUCKETS;

/** Summary of recorded latencies, all in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly minMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Records durations (milliseconds, fractional) and answers quantiles. */
export class LatencyHistogram {
  private readonly counts: Float64Array = new Float64Array(BUCKETS);
  private total = 0;
  private sumMs = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  /** Records one duration in milliseconds (≥ 0). */
  record(ms: number): void {
    const us = Math.max(ms * 1000, MIN_US);
    const bucket = Math.min(BUCKETS - 1, Math.floor(Math.log2(us / MIN_US) * SUB_BUCKETS));
    this.counts[bucket]! += 1;
    this.total += 1;
    this.sumMs += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** The duration (ms) below which fraction `q` (0..1) of recordings fall; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        // Upper edge of the bucket, clamped to what was really seen.
        const upperMs = (MIN_US * 2 ** ((i + 1) / SUB_BUCKETS)) / 1000;
        return Math.min(Math.max(upperMs, this.min), this.max);
      }
    }
    return this.max;
  }

  /** Count, min, p50/p90/p99, max and mean in milliseconds. */
  summary(): LatencySummary {
    return {
      count: this.total,
      minMs: this.total === 0 ? 0 : this.min,
      p50Ms: this.quantile(0.5),
      p90Ms: this.quantile(0.9),
      p99Ms: this.quantile(0.99),
      maxMs: this.max,
      meanMs: this.total === 0 ? 0 : this.sumMs / this.total,
    };
  }
}
