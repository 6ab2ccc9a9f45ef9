/**
 * Which tree nodes make up a root, an inclusion proof or a consistency proof (internal).
 *
 * A plan lists node ids `(level, index)` — node `(ℓ, i)` is the perfect subtree over leaves
 * `[i·2^ℓ, (i+1)·2^ℓ)` — plus one range `[begin, end)` of ids that must be folded right to left
 * into a single hash (the "ephemeral" node on the right edge of a tree whose size is not a power
 * of two). The same plan drives proofs from a leaf-hash array (sync) and from stored tiles
 * (async), so both produce byte-identical proofs; only the node fetcher differs.
 *
 * Arithmetic: sizes go up to 2^53 − 1, so no 32-bit bitwise operators on sizes; shifts are
 * divisions by powers of two (exact in doubles for integers below 2^53).
 *
 * Not here: argument checks (callers validate first), fetching node hashes.
 */
import { hashNode } from './hashing';

const TWO_POW_32 = 2 ** 32;

/** Node ids in proof order plus the range to fold; see file comment. */
export interface NodePlan {
  /** Level of each node (0 = leaves). */
  readonly levels: number[];
  /** Index of each node within its level. */
  readonly indices: number[];
  /** First id folded into one hash (equals `end` when nothing is folded). */
  begin: number;
  /** One past the last folded id. */
  end: number;
}

function newPlan(): NodePlan {
  return { levels: [], indices: [], begin: -1, end: -1 };
}

/** Marks "nothing to fold" when no ephemeral node was needed. */
function finish(plan: NodePlan): NodePlan {
  if (plan.begin < 0) plan.begin = plan.end = plan.levels.length;
  return plan;
}

function push(plan: NodePlan, level: number, index: number): void {
  plan.levels.push(level);
  plan.indices.push(index);
}

/** `floor(x / 2^k)` for integers 0 ≤ x < 2^53. */
export function shr(x: number, k: number): number {
  return Math.floor(x / 2 ** k);
}

/** Bit `k` of integer 0 ≤ x < 2^53. */
function bit(x: number, k: number): number {
  return shr(x, k) % 2;
}

function bitLength32(x: number): number {
  return 32 - Math.clz32(x);
}

/** Number of bits needed for integer 0 ≤ x < 2^53 (0 for 0). */
export function bitLength(x: number): number {
  if (x < TWO_POW_32) return bitLength32(x);
  return 32 + bitLength32(Math.floor(x / TWO_POW_32));
}

/** Bit length of `a XOR b` for integers below 2^53: one past the highest differing bit. */
function xorBitLength(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_POW_32) ^ Math.floor(b / TWO_POW_32)) >>> 0;
  if (hi !== 0) return 32 + bitLength32(hi);
  // `>>> 0` is ToUint32, i.e. x mod 2^32, exact for integers below 2^53.
  return bitLength32(((a >>> 0) ^ (b >>> 0)) >>> 0);
}

/** Number of trailing zero bits of integer 0 < x < 2^53. */
export function trailingZeros(x: number): number {
  let n = 0;
  let v = x;
  while (v % 2 === 0) {
    v /= 2;
    n++;
  }
  return n;
}

/** Number of set bits of integer 0 ≤ x < 2^53 (= nodes in the compact range of size x). */
export function popCount(x: number): number {
  let n = 0;
  let v = x;
  while (v > 0) {
    if (v % 2 === 1) n++;
    v = Math.floor(v / 2);
  }
  return n;
}

/**
 * Appends the perfect subtrees covering leaves `[start, start + count)` in left-to-right order
 * (descending sizes), for `start` aligned to a power of two ≥ `count`, taking levels below
 * `topLevel` only.
 */
function pushRange(plan: NodePlan, start: number, count: number, topLevel: number): void {
  let pos = start;
  for (let level = topLevel; level >= 0; level--) {
    if (bit(count, level) === 1) {
      push(plan, level, pos / 2 ** level);
      pos += 2 ** level;
    }
  }
}

/**
 * Perfect subtrees of the compact range `[0, size)`, largest first; all folded into the root
 * (RFC 9162 §2.1.1 MTH of a non-power-of-two tree equals this right fold).
 */
export function rootPlan(size: number): NodePlan {
  const plan = newPlan();
  pushRange(plan, 0, size, bitLength(size));
  plan.begin = 0;
  plan.end = plan.levels.length;
  return plan;
}

/**
 * Appends the audit path of node `(fromLevel, index >> fromLevel)` in a tree of `size` leaves,
 * where `index` is any leaf under that node and `index < size`.
 *
 * With `last = size − 1` and `inner = bitLength(index XOR last)`: below level `inner − 1` the
 * siblings are complete nodes; at `inner − 1` the sibling is the node holding `last`, which is
 * ephemeral (a fold of perfect subtrees) unless `size` fills it; above `inner` the path follows
 * the right edge, which has a left sibling exactly where `last` has a 1 bit (RFC 9162 §2.1.3.1
 * PATH restated bottom-up).
 */
function pushInclusion(plan: NodePlan, index: number, size: number, fromLevel: number): void {
  const last = size - 1;
  const inner = xorBitLength(index, last);
  for (let level = fromLevel; level < inner - 1; level++) {
    const i = shr(index, level);
    push(plan, level, i % 2 === 0 ? i + 1 : i - 1);
  }
  if (inner > 0) {
    const level = inner - 1;
    const start = shr(last, level) * 2 ** level;
    const count = size - start;
    if (count === 2 ** level) {
      push(plan, level, shr(last, level));
    } else {
      plan.begin = plan.levels.length;
      pushRange(plan, start, count, level - 1);
      plan.end = plan.levels.length;
    }
  }
  const top = bitLength(last);
  for (let level = inner; level < top; level++) {
    const i = shr(last, level);
    if (i % 2 === 1) push(plan, level, i - 1);
  }
}

/** RFC 9162 §2.1.3.1 inclusion proof nodes for leaf `index` (< `size`). */
export function inclusionPlan(index: number, size: number): NodePlan {
  const plan = newPlan();
  pushInclusion(plan, index, size, 0);
  return finish(plan);
}

/**
 * RFC 9162 §2.1.4.1 consistency proof nodes for `0 < size1 < size2`: the perfect subtree ending at
 * `size1` (omitted when `size1` is a power of two, since it is then the old root itself), then
 * that subtree's audit path in the new tree.
 */
export function consistencyPlan(size1: number, size2: number): NodePlan {
  const plan = newPlan();
  const level = trailingZeros(size1);
  const index = size1 / 2 ** level - 1;
  if (index !== 0) push(plan, level, index);
  pushInclusion(plan, size1 - 1, size2, level);
  return finish(plan);
}

/**
 * Turns the fetched hashes of a plan's nodes (same order as the plan) into the proof: hashes
 * before `begin`, the right fold of `[begin, end)`, then hashes from `end` on. Returns the input
 * array's elements, not copies.
 */
export function assembleProof(plan: NodePlan, hashes: Uint8Array[]): Uint8Array[] {
  const { begin, end } = plan;
  if (end - begin < 2) return hashes;
  let folded = hashes[end - 1]!;
  for (let i = end - 2; i >= begin; i--) folded = hashNode(hashes[i]!, folded);
  const proof = hashes.slice(0, begin);
  proof.push(folded);
  for (let i = end; i < hashes.length; i++) proof.push(hashes[i]!);
  return proof;
}
