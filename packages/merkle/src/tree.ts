/**
 * RFC 9162 §2.1 over a complete list of leaf hashes held in memory: the tree head (MTH), the
 * inclusion proof (PATH) and the consistency proof (PROOF), for tree size = `leafHashes.length`.
 *
 * Each call hashes O(n) nodes (a proof needs the roots of its sibling subtrees); for O(log n)
 * proofs over a growing log use `TiledTree`, which reads stored tree hashes instead.
 *
 * Not here: verification (`verify.ts`), incremental growth (`compact-range.ts`).
 *
 * Buffers: returned hashes are fresh buffers owned by the caller; a proof never aliases
 * `leafHashes`. Inputs are never retained or modified.
 */
import { MerkleError } from './errors';
import { perfectRootOfBytes } from './fast-root';
import { emptyRoot, HASH_BYTES, hashNode } from './hashing';
import { assembleProof, consistencyPlan, inclusionPlan, type NodePlan } from './node-plan';
import { assertBytes, assertCount, assertHashArray, copyOf } from './validate';

/** Deepest possible stack of pending subtrees: one per bit of a 53-bit size, plus slack. */
const MAX_TREE_HEIGHT = 64;

// Reused across calls; filled and drained synchronously, so never observed half-used.
const stack: Uint8Array[] = new Array<Uint8Array>(MAX_TREE_HEIGHT);

/**
 * Root of the perfect subtree over `leafHashes[start … start + count)`, `count` a power of two.
 * A copy is returned for `count === 1` so callers never alias the input.
 */
function perfectRoot(leafHashes: readonly Uint8Array[], start: number, count: number): Uint8Array {
  if (count === 1) return copyOf(leafHashes[start]!);
  let sp = 0;
  for (let i = 0; i < count; i++) {
    let h = leafHashes[start + i]!;
    // Leaf i completes one subtree per trailing 1 bit of i, i.e. trailing 0 bit of i + 1.
    for (let x = i + 1; x % 2 === 0; x /= 2) h = hashNode(stack[--sp]!, h);
    stack[sp++] = h;
  }
  const root = stack[0]!;
  stack.fill(undefined as unknown as Uint8Array, 0, sp);
  return root;
}

function fetchNodes(leafHashes: readonly Uint8Array[], plan: NodePlan): Uint8Array[] {
  const out = new Array<Uint8Array>(plan.levels.length);
  for (let i = 0; i < out.length; i++) {
    const count = 2 ** plan.levels[i]!;
    out[i] = perfectRoot(leafHashes, plan.indices[i]! * count, count);
  }
  return out;
}

/**
 * RFC 9162 §2.1.1 Merkle Tree Hash of the leaves' hashes.
 *
 * @param leafHashes - 32-byte leaf hashes (see `hashLeaf`), in leaf order; may be empty.
 * @returns the 32-byte root; for 0 leaves SHA-256 of the empty string.
 * @throws {MerkleError} `INVALID_TYPE` / `INVALID_HASH_LENGTH` for a non-array or an element
 *   that is not a 32-byte `Uint8Array`.
 * @example
 * ```ts
 * const root = rootFromLeafHashes(records.map(hashLeaf));
 * ```
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  assertHashArray(leafHashes, 'leafHashes');
  const n = leafHashes.length;
  if (n === 0) return emptyRoot();
  if (n === 1) return copyOf(leafHashes[0]!);
  if (n >= FAST_ROOT_MIN) return fastRoot(leafHashes);
  let sp = 0;
  for (let i = 0; i < n; i++) {
    let h = leafHashes[i]!;
    for (let x = i + 1; x % 2 === 0; x /= 2) h = hashNode(stack[--sp]!, h);
    stack[sp++] = h;
  }
  // What is left is the compact range of [0, n), largest subtree first; RFC 9162's MTH of a
  // non-power-of-two tree is exactly its right fold.
  let root = stack[sp - 1]!;
  for (let j = sp - 2; j >= 0; j--) root = hashNode(stack[j]!, root);
  stack.fill(undefined as unknown as Uint8Array, 0, sp);
  return root;
}

/** Leaf counts from which {@link rootFromLeafHashes} hashes through fast-root.ts. */
const FAST_ROOT_MIN = 8;
/** Reused flat copy of the leaf hashes for {@link fastRoot}. */
let flat = new Uint8Array(256 * HASH_BYTES);

/**
 * MTH of `n ≥ 2` leaves as the right fold of its perfect subtrees (the binary digits of n, largest
 * first), each hashed by {@link perfectRootOfBytes}.
 */
function fastRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const n = leafHashes.length;
  if (flat.length < n * HASH_BYTES) flat = new Uint8Array(n * HASH_BYTES);
  for (let i = 0; i < n; i++) flat.set(leafHashes[i]!, i * HASH_BYTES);
  return flatRoot(flat, n);
}

function flatRoot(bytes: Uint8Array, n: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let bit = 2 ** Math.floor(Math.log2(n)); bit >= 1; bit /= 2) {
    if (n - start >= bit) {
      parts.push(perfectRootOfBytes(bytes, start * HASH_BYTES, bit));
      start += bit;
    }
  }
  let root = parts[parts.length - 1]!;
  for (let j = parts.length - 2; j >= 0; j--) root = hashNode(parts[j]!, root);
  return root;
}

/**
 * RFC 9162 §2.1.1 Merkle Tree Hash of leaf hashes stored back to back (the output of
 * `hashLeaves`): the same result as {@link rootFromLeafHashes}, without one object per leaf.
 *
 * @param flatHashes - `32 · n` bytes, leaf hash `i` at `[32·i, 32·i + 32)`; may be empty.
 * @returns the 32-byte root (fresh); for 0 leaves SHA-256 of the empty string.
 * @throws {MerkleError} `INVALID_TYPE` if not a `Uint8Array`; `INVALID_HASH_LENGTH` if its length
 *   is not a multiple of 32.
 * @example
 * ```ts
 * const root = rootFromFlat(hashLeaves(batchBytes, offsets));
 * ```
 */
export function rootFromFlat(flatHashes: Uint8Array): Uint8Array {
  assertBytes(flatHashes, 'flatHashes');
  if (flatHashes.length % HASH_BYTES !== 0) {
    throw new MerkleError(
      'INVALID_HASH_LENGTH',
      `flatHashes: expected a multiple of ${HASH_BYTES} bytes, got ${flatHashes.length}`,
    );
  }
  const n = flatHashes.length / HASH_BYTES;
  if (n === 0) return emptyRoot();
  if (n === 1) return copyOf(flatHashes, 0, HASH_BYTES);
  return flatRoot(flatHashes, n);
}

/**
 * RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf `index` in the tree of all `leafHashes`.
 *
 * @param leafHashes - 32-byte leaf hashes in leaf order; tree size = `leafHashes.length`.
 * @param index - leaf index, 0 ≤ index < `leafHashes.length`.
 * @returns sibling hashes from the leaf up (fresh 32-byte buffers; empty for a 1-leaf tree).
 * @throws {MerkleError} `INVALID_INTEGER` for a negative/fractional index; `OUT_OF_RANGE` if
 *   index ≥ size; `INVALID_TYPE` / `INVALID_HASH_LENGTH` for bad leaf hashes.
 * @example
 * ```ts
 * const proof = inclusionProof(leafHashes, 5);
 * verifyInclusion(leafHashes[5], 5, leafHashes.length, proof, root); // true
 * ```
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  assertHashArray(leafHashes, 'leafHashes');
  assertCount(index, 'index');
  const size = leafHashes.length;
  if (index >= size) {
    throw new MerkleError('OUT_OF_RANGE', `index: expected 0 ≤ index < ${size} (tree size), got ${index}`);
  }
  const plan = inclusionPlan(index, size);
  return assembleProof(plan, fetchNodes(leafHashes, plan));
}

/**
 * RFC 9162 §2.1.4.1 consistency proof from the tree of the first `size1` leaves to the tree of all
 * `leafHashes`.
 *
 * @param leafHashes - 32-byte leaf hashes in leaf order; new tree size = `leafHashes.length`.
 * @param size1 - old tree size, 1 ≤ size1 ≤ `leafHashes.length` (a proof from size 0 is
 *   meaningless, so it is refused rather than returned unverifiable).
 * @returns proof hashes (fresh 32-byte buffers; empty when size1 = size).
 * @throws {MerkleError} `INVALID_INTEGER` for a negative/fractional size1; `OUT_OF_RANGE` for
 *   size1 = 0 or size1 > size; `INVALID_TYPE` / `INVALID_HASH_LENGTH` for bad leaf hashes.
 * @example
 * ```ts
 * const proof = consistencyProof(leafHashes, oldSize);
 * verifyConsistency(oldSize, leafHashes.length, proof, oldRoot, newRoot); // true
 * ```
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], size1: number): Uint8Array[] {
  assertHashArray(leafHashes, 'leafHashes');
  assertCount(size1, 'size1');
  const size = leafHashes.length;
  if (size1 === 0 || size1 > size) {
    throw new MerkleError('OUT_OF_RANGE', `size1: expected 1 ≤ size1 ≤ ${size} (tree size), got ${size1}`);
  }
  if (size1 === size) return [];
  const plan = consistencyPlan(size1, size);
  return assembleProof(plan, fetchNodes(leafHashes, plan));
}
