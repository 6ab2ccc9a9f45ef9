/**
 * Roots of many-leaf subtrees with the word-based node hasher (sha256-node.ts), four nodes at a
 * time in WebAssembly SIMD where the runtime has it (sha256-simd.ts): a `node:crypto` call costs
 * ~1.1 µs per 64-byte node whatever the input on our VMs, the SIMD lanes ~0.2 µs. Used where a
 * whole subtree is hashed at once (a frame's batch root, the inside of a tile for a proof), not
 * for single nodes.
 *
 * Results equal `node:crypto`'s (property tests against the reference `rootFromLeafHashes`).
 */
import { HASH_BYTES } from './hashing';
import { bytesFromWords, HASH_WORDS, hashNodeWords, wordsFromBytes } from './sha256-node';
import { SimdHasher } from './sha256-simd';

/** Below this many nodes the per-call setup of the SIMD path is not worth it. */
const SIMD_MIN_NODES = 8;

let scratch = new Int32Array(256 * HASH_WORDS);

function simdHasher(): SimdHasher | null {
  return SimdHasher.shared() ?? null;
}

/**
 * RFC 9162 root of the perfect subtree over the `count` 32-byte hashes at `bytes[offset …)`
 * (`count` a power of two ≥ 1). Returns a fresh 32-byte array.
 */
export function perfectRootOfBytes(bytes: Uint8Array, offset: number, count: number): Uint8Array {
  const out = new Uint8Array(HASH_BYTES);
  if (count === 1) {
    out.set(bytes.subarray(offset, offset + HASH_BYTES));
    return out;
  }
  const hasher = count >= SIMD_MIN_NODES ? simdHasher() : null;
  if (hasher !== null) {
    // Ping-pong between two regions of the wasm memory: [0, count) hashes and [count, 1.5 count).
    const a = 0;
    const b = count * HASH_WORDS;
    hasher.ensure(b + (count / 2) * HASH_WORDS);
    wordsFromBytes(bytes, offset, hasher.words, a, count);
    let src = a;
    let dst = b;
    for (let n = count; n > 1; n >>= 1) {
      hasher.hash(src, dst, n >> 1);
      const t = src;
      src = dst;
      dst = t;
    }
    bytesFromWords(hasher.words, src, out, 0, 1);
    return out;
  }
  if (scratch.length < count * HASH_WORDS) scratch = new Int32Array(count * HASH_WORDS);
  const w = scratch;
  wordsFromBytes(bytes, offset, w, 0, count);
  // In place: node j of the next level (words 8j) is written after its children (16j) were read.
  for (let n = count; n > 1; n >>= 1) {
    for (let j = 0; j < n >> 1; j++) hashNodeWords(w, 2 * HASH_WORDS * j, w, HASH_WORDS * j);
  }
  bytesFromWords(w, 0, out, 0, 1);
  return out;
}

/**
 * Interior node hashes of `pairs` adjacent pairs: node `j` = `H(0x01 ‖ src[2j] ‖ src[2j+1])` for
 * the 32-byte hashes at `src[srcOffset …)`, written to `dst[dstOffset + 32j …)`. Through the SIMD
 * lanes for runs of at least {@link SIMD_MIN_NODES} pairs, the word-based hasher otherwise: no
 * allocation either way (a `node:crypto` call returns a fresh buffer per node, one more
 * `ArrayBuffer` for the calling thread's GC to sweep).
 */
export function hashPairsOfBytes(
  src: Uint8Array,
  srcOffset: number,
  pairs: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  const hasher = pairs >= SIMD_MIN_NODES ? simdHasher() : null;
  if (hasher === null) {
    if (scratch.length < 2 * pairs * HASH_WORDS) scratch = new Int32Array(2 * pairs * HASH_WORDS);
    const w = scratch;
    wordsFromBytes(src, srcOffset, w, 0, 2 * pairs);
    // In place, as in perfectRootOfBytes: node j (words 8j) is written after its children (16j) were read.
    for (let j = 0; j < pairs; j++) hashNodeWords(w, 2 * HASH_WORDS * j, w, HASH_WORDS * j);
    bytesFromWords(w, 0, dst, dstOffset, pairs);
    return;
  }
  const out = 2 * pairs * HASH_WORDS;
  hasher.ensure(out + pairs * HASH_WORDS);
  wordsFromBytes(src, srcOffset, hasher.words, 0, 2 * pairs);
  hasher.hash(0, out, pairs);
  bytesFromWords(hasher.words, out, dst, dstOffset, pairs);
}

/**
 * `H(0x01 ‖ left ‖ right)` of the 32-byte hashes `left` and `right[rightOffset …)`, written to
 * `dst[dstOffset …)` without allocating.
 */
export function hashNodeOfBytes(
  left: Uint8Array,
  right: Uint8Array,
  rightOffset: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  const w = scratch;
  wordsFromBytes(left, 0, w, 0, 1);
  wordsFromBytes(right, rightOffset, w, HASH_WORDS, 1);
  hashNodeWords(w, 0, w, 0);
  bytesFromWords(w, 0, dst, dstOffset, 1);
}
