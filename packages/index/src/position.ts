/**
 * A record's position `(logId, leafIndex)` packed into one integer, the table's rowid:
 * `logCode × 2^40 + leafIndex`, where `logCode` numbers the logs in the order the index first saw
 * them (0, 1, …). One integer key makes the primary key the rowid (no separate primary-key index),
 * rides along in every secondary index for free, and breaks ties of equal times in one comparison.
 *
 * Limits (so every position stays a safe JavaScript integer, < 2^53): leaf indexes below 2^40
 * (~1.1 × 10^12 records per log) and at most 2^13 = 8,192 logs per index.
 */

/** Exclusive upper bound of a leaf index the index can hold: 2^40. */
export const LEAF_INDEX_LIMIT: number = 2 ** 40;
/** Most logs one index can hold: 2^13 (so positions stay below 2^53). */
export const MAX_LOGS: number = 2 ** 13;

/** Position of leaf `leafIndex` of the log numbered `logCode` (both already range-checked). */
export function positionOf(logCode: number, leafIndex: number): number {
  return logCode * LEAF_INDEX_LIMIT + leafIndex;
}

/** The log number of a position. */
export function logCodeOf(position: number): number {
  return Math.floor(position / LEAF_INDEX_LIMIT);
}

/** The leaf index of a position. */
export function leafIndexOf(position: number): number {
  return position % LEAF_INDEX_LIMIT;
}
