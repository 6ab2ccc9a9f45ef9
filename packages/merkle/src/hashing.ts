/**
 * RFC 9162 §2.1.1 hashing with SHA-256: leaf hash `SHA-256(0x00 ‖ data)`, interior node hash
 * `SHA-256(0x01 ‖ left ‖ right)`, and a batch leaf hasher over one buffer plus offsets.
 *
 * Speed: Node's one-shot `crypto.hash()` (Node ≥ 20.12 / 21.7) hashed 500-byte inputs 1.3–2.7× as
 * fast as a `createHash()` object and 4–7× as fast as @noble/hashes on our machines (README
 * "Benchmarks"), so it is chosen once at module load when present; `createHash` is the fallback. The domain-separation prefix is written into a
 * reused scratch buffer together with the input, so no per-call concatenation buffer is allocated.
 * The scratch is only touched synchronously, so re-entrancy is impossible in one isolate.
 *
 * Not here: tree shapes and proofs (`tree.ts`), input hashing with other algorithms.
 *
 * Buffers: every returned hash is a fresh 32-byte buffer owned by the caller. `hashLeaves` writes
 * into the caller's `out` buffer when one is given. Inputs are never retained or modified.
 */
import * as nodeCrypto from 'node:crypto';
import { MerkleError } from './errors';
import { bytesFromWords, HASH_WORDS } from './sha256-node';
import { SimdHasher } from './sha256-simd';
import { assertBytes, assertCount, copyOf, HASH_BYTES } from './validate';

export { HASH_BYTES };

/** RFC 9162 §2.1.1 domain-separation prefix of a leaf hash input. */
export const LEAF_PREFIX = 0x00;
/** RFC 9162 §2.1.1 domain-separation prefix of an interior node hash input. */
export const NODE_PREFIX = 0x01;

/**
 * Largest leaf input (bytes) hashed through the reused scratch buffer; larger inputs are streamed
 * through `createHash` with two `update` calls, so no copy of a big input is made and the scratch
 * never pins more than 64 KiB (the largest event is 64 KiB of JSON).
 */
export const MAX_SCRATCH_LEAF_BYTES: number = 64 * 1024;

/** A SHA-256 function over one contiguous input, returning a fresh 32-byte buffer. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** Which SHA-256 entry point this process uses: chosen once, at module load. */
export type Sha256Backend = 'crypto.hash' | 'createHash';

// Results are re-wrapped as plain Uint8Array views of the digest's own 32-byte ArrayBuffer: a
// Buffer's `slice()` does not copy and Buffer ≠ Uint8Array under structural equality, both
// surprises for callers of a Uint8Array API. The view is one small object per hash, within run-to-run
// noise in our measurements.
function plain(digest: Uint8Array): Uint8Array {
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}

function sha256CreateHash(data: Uint8Array): Uint8Array {
  return plain(nodeCrypto.createHash('sha256').update(data).digest());
}

/**
 * Returns the SHA-256 implementation for a backend. Internal (tests exercise both paths); the
 * package itself calls it once at load time. `raw` may return a `Buffer`; use it only where the
 * digest is copied at once.
 *
 * @param preferOneShot - use `crypto.hash` when the runtime has it.
 */
export function selectSha256(preferOneShot: boolean): {
  backend: Sha256Backend;
  sha256: Sha256;
  raw: Sha256;
} {
  const oneShot = (nodeCrypto as { hash?: unknown }).hash;
  if (preferOneShot && typeof oneShot === 'function') {
    const hash = oneShot as (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array;
    return {
      backend: 'crypto.hash',
      sha256: (data) => plain(hash('sha256', data, 'buffer')),
      raw: (data) => hash('sha256', data, 'buffer'),
    };
  }
  return {
    backend: 'createHash',
    sha256: sha256CreateHash,
    raw: (data) => nodeCrypto.createHash('sha256').update(data).digest(),
  };
}

const selected = selectSha256(true);
const sha256: Sha256 = selected.sha256;
const sha256Raw: Sha256 = selected.raw;

/** The SHA-256 entry point in use in this process (`crypto.hash` on Node ≥ 20.12). */
export const SHA256_BACKEND: Sha256Backend = selected.backend;

/** SHA-256 of the empty string: RFC 9162 §2.1.1 `MTH({})`, the root of the empty tree. */
const EMPTY_ROOT_BYTES: Uint8Array = sha256(new Uint8Array(0));

/** Returns a fresh copy of the empty tree's root (SHA-256 of ""), 32 bytes. */
export function emptyRoot(): Uint8Array {
  return copyOf(EMPTY_ROOT_BYTES);
}

/**
 * `hashLeaves` of at least this many records goes through the SIMD lanes (four records that pad
 * to the same number of blocks at a time, the rest one by one through node:crypto).
 */
const SIMD_MIN_LEAVES = 4;

// Scratch for `0x00 ‖ data`; grows (doubling) up to MAX_SCRATCH_LEAF_BYTES + 1.
let leafScratch = new Uint8Array(1024);
// Scratch for `0x01 ‖ left ‖ right` with two 32-byte hashes: the hot case, never reallocated.
const nodeScratch = new Uint8Array(1 + 2 * HASH_BYTES);
nodeScratch[0] = NODE_PREFIX;

function leafScratchFor(inputBytes: number): Uint8Array {
  if (leafScratch.length < inputBytes + 1) {
    let next = leafScratch.length;
    while (next < inputBytes + 1) next *= 2;
    leafScratch = new Uint8Array(next);
  }
  return leafScratch;
}

const LEAF_PREFIX_BYTES = new Uint8Array([LEAF_PREFIX]);
const NODE_PREFIX_BYTES = new Uint8Array([NODE_PREFIX]);

function hashLeafUnchecked(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n > MAX_SCRATCH_LEAF_BYTES) {
    return plain(nodeCrypto.createHash('sha256').update(LEAF_PREFIX_BYTES).update(data).digest());
  }
  const scratch = leafScratchFor(n);
  scratch[0] = LEAF_PREFIX;
  scratch.set(data, 1);
  return sha256(scratch.subarray(0, n + 1));
}

/**
 * RFC 9162 §2.1.1 leaf hash: `SHA-256(0x00 ‖ data)`.
 *
 * @param data - the leaf's exact bytes (any length, including 0).
 * @returns a fresh 32-byte hash.
 * @throws {MerkleError} `INVALID_TYPE` if `data` is not a `Uint8Array`.
 * @example
 * ```ts
 * const leaf = hashLeaf(new TextEncoder().encode('record bytes'));
 * ```
 */
export function hashLeaf(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return hashLeafUnchecked(data);
}

/** Interior node hash of two 32-byte hashes, no checks (internal hot path). */
export function hashNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_BYTES);
  return sha256(nodeScratch);
}

/**
 * Interior node hash of the two adjacent 32-byte hashes at `flat[offset … offset + 64)`, no checks
 * (internal hot path: a pair of leaves from a flat batch costs one 64-byte copy and one hash).
 */
export function hashPairAt(flat: Uint8Array, offset: number): Uint8Array {
  // A byte loop beats `set(flat.subarray(…))` here: it avoids allocating a view per call
  // (measured 18 M vs 11 M copies/s of 64 bytes; both small next to ~1 µs per hash).
  for (let j = 0; j < 2 * HASH_BYTES; j++) nodeScratch[1 + j] = flat[offset + j]!;
  return sha256(nodeScratch);
}

/**
 * RFC 9162 §2.1.1 interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
 *
 * @param left - left child's hash; any length (32 bytes inside a tree).
 * @param right - right child's hash; any length (32 bytes inside a tree).
 * @returns a fresh 32-byte hash.
 * @throws {MerkleError} `INVALID_TYPE` if either argument is not a `Uint8Array`.
 * @example
 * ```ts
 * const parent = hashChildren(hashLeaf(a), hashLeaf(b));
 * ```
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertBytes(left, 'left');
  assertBytes(right, 'right');
  if (left.length === HASH_BYTES && right.length === HASH_BYTES) return hashNode(left, right);
  const n = left.length + right.length;
  if (n > MAX_SCRATCH_LEAF_BYTES) {
    return plain(
      nodeCrypto.createHash('sha256').update(NODE_PREFIX_BYTES).update(left).update(right).digest(),
    );
  }
  const scratch = leafScratchFor(n);
  scratch[0] = NODE_PREFIX;
  scratch.set(left, 1);
  scratch.set(right, 1 + left.length);
  return sha256(scratch.subarray(0, n + 1));
}

/**
 * Leaf-hashes many records laid out back to back in one buffer: record `i` is
 * `data[offsets[i] … offsets[i + 1])`, so `offsets` has `count + 1` entries. The 32-byte hashes
 * are written consecutively into `out` (hash `i` at `out[32·i … 32·i + 32)`).
 *
 * From 4 records on it hashes through WebAssembly SIMD lanes where the runtime has them (four
 * records that pad to the same number of 64-byte blocks at a time; the others one by one through
 * node:crypto): no buffer per hash, where each node:crypto call returns a fresh one (README
 * "Benchmarks"). Its flat output feeds `CompactRange.appendFlat` and `TiledTree.appendFlat`
 * without one object per leaf.
 *
 * @param data - the records' bytes.
 * @param offsets - `count + 1` non-decreasing byte offsets into `data`, each ≤ `data.length`.
 * @param out - optional output of at least `32 · count` bytes; allocated when omitted.
 * @returns `out` (or the new buffer), `32 · count` bytes used from its start.
 * @throws {MerkleError} `INVALID_TYPE` for a non-`Uint8Array` `data`/`out`; `OUT_OF_RANGE` for
 *   offsets that decrease or leave `data`, or an `out` shorter than `32 · count`.
 * @example
 * ```ts
 * const hashes = hashLeaves(packed, Uint32Array.of(0, 120, 260)); // two records → 64 bytes
 * ```
 */
export function hashLeaves(data: Uint8Array, offsets: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const { count, target, first } = hashBatch(data, offsets, out, 1);
  if (count < 0) return target;
  let start = first;
  for (let i = 0; i < count; i++) {
    const end = offsets[i + 1]!;
    const n = end - start;
    let h: Uint8Array;
    if (n > MAX_SCRATCH_LEAF_BYTES) {
      h = hashLeafUnchecked(data.subarray(start, end));
    } else {
      const scratch = leafScratchFor(n);
      scratch[0] = LEAF_PREFIX;
      // `set(subarray)` is a memcpy: 11.8 M/s for 500 B vs 2.8 M/s for a byte loop (measured).
      scratch.set(data.subarray(start, end), 1);
      // The digest is copied into `target` at once, so the Buffer needs no plain re-wrap.
      h = sha256Raw(scratch.subarray(0, n + 1));
    }
    target.set(h, i * HASH_BYTES);
    start = end;
  }
  return target;
}

/**
 * Plain SHA-256 of each message `data[offsets[i] … offsets[i + 1])` (no RFC 9162 prefix), like
 * {@link hashLeaves}: from 4 messages on through the SIMD lanes, no buffer per hash. For callers
 * that hash many short keys (the ledger's salted key fingerprints).
 *
 * @returns `out` (or a new buffer), `32 · count` bytes used from its start.
 * @throws {MerkleError} as {@link hashLeaves}.
 * @example
 * ```ts
 * const digests = sha256Many(keys, Uint32Array.of(0, 40, 83)); // two messages → 64 bytes
 * ```
 */
export function sha256Many(data: Uint8Array, offsets: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const { count, target, first } = hashBatch(data, offsets, out, 0);
  if (count < 0) return target;
  for (let i = 0, start = first; i < count; i++) {
    const end = offsets[i + 1]!;
    target.set(sha256Raw(data.subarray(start, end)), i * HASH_BYTES);
    start = end;
  }
  return target;
}

/** Bytes of records {@link hashBatch} stages in wasm memory at a time. */
const STAGE_BYTES = 1 << 20;

/**
 * Checks a batch of `hashLeaves`/`sha256Many` and hashes it through the SIMD lanes when it can
 * (then `count` is -1: done); else returns what the caller's own loop needs.
 */
function hashBatch(
  data: Uint8Array,
  offsets: ArrayLike<number>,
  out: Uint8Array | undefined,
  prefix: 0 | 1,
): { count: number; target: Uint8Array; first: number } {
  assertBytes(data, 'data');
  if (offsets === null || typeof offsets !== 'object' || typeof offsets.length !== 'number') {
    throw new MerkleError('INVALID_TYPE', `offsets: expected an array of numbers, got ${typeof offsets}`);
  }
  const count = offsets.length === 0 ? 0 : offsets.length - 1;
  const target = out ?? new Uint8Array(count * HASH_BYTES);
  assertBytes(target, 'out');
  if (target.length < count * HASH_BYTES) {
    throw new MerkleError(
      'OUT_OF_RANGE',
      `out: expected at least ${count * HASH_BYTES} bytes for ${count} hashes, got ${target.length}`,
    );
  }
  const first = offsets[0] ?? 0;
  assertCount(first, 'offsets[0]');
  let longest = 0;
  for (let i = 0, start = first; i < count; i++) {
    const end = offsets[i + 1]!;
    if (!Number.isInteger(end) || end < start || end > data.length) {
      throw new MerkleError(
        'OUT_OF_RANGE',
        `offsets[${i + 1}]: expected an integer ${start} ≤ offset ≤ ${data.length}, got ${end}`,
      );
    }
    if (end - start > longest) longest = end - start;
    start = end;
  }
  if (count >= SIMD_MIN_LEAVES && longest <= MAX_SCRATCH_LEAF_BYTES) {
    const simd = SimdHasher.shared();
    if (simd !== undefined) {
      // The records are copied into wasm memory (at most STAGE_BYTES at a time, so that the
      // memory does not grow to a whole batch) and laid out from there: no view per record.
      const hashWords = count * HASH_WORDS;
      const staging = hashWords + SimdHasher.leafScratchWords(longest);
      simd.ensure(
        staging + SimdHasher.stagingWords(Math.min(offsets[count]! - first, Math.max(STAGE_BYTES, longest))),
      );
      for (let i = 0; i < count; ) {
        let j = i + 1;
        while (j < count && offsets[j + 1]! - offsets[i]! <= STAGE_BYTES) j++;
        simd.hashRanges(data, offsets, i, j - i, HASH_WORDS * i, hashWords, staging, prefix);
        i = j;
      }
      bytesFromWords(simd.words, 0, target, 0, count);
      return { count: -1, target, first };
    }
  }
  return { count, target, first };
}
