/**
 * RFC 9162 §2.1.3.2 and §2.1.4.2 proof verification: recompute the root(s) from a proof and compare.
 *
 * Verifiers answer `false` for anything that does not check out — a wrong proof, a proof element
 * that is not 32 bytes, a proof that is too short or too long, an index outside the tree, sizes
 * that do not match the proof. They throw only for misuse: arguments of the wrong type, sizes or
 * indices that are not non-negative safe integers, and leaf hashes or roots that are not 32 bytes.
 *
 * Not here: proof generation. Nothing is retained; no input buffer is modified.
 */
import { timingSafeEqual } from 'node:crypto';
import { hashNode } from './hashing';
import { assertArray, assertBytes, assertCount, assertHash, HASH_BYTES } from './validate';

/**
 * Longest proof worth hashing: a tree of at most 2^53 − 1 leaves has height ≤ 53, so an inclusion
 * proof has ≤ 53 elements and a consistency proof ≤ 54. Longer proofs are rejected before hashing
 * so a hostile proof cannot make a verifier do unbounded work.
 */
const MAX_PROOF_ELEMENTS = 64;

/** Constant-time equality of two 32-byte hashes (STYLE: hashes are compared in constant time). */
function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(a, b);
}

/** Checks the proof's container and element types; returns false if any element is not 32 bytes. */
function proofShapeOk(proof: readonly Uint8Array[]): boolean {
  assertArray(proof, 'proof');
  if (proof.length > MAX_PROOF_ELEMENTS) return false;
  let ok = true;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i];
    assertBytes(p, `proof[${i}]`);
    if (p.length !== HASH_BYTES) ok = false;
  }
  return ok;
}

/**
 * Verifies an RFC 9162 §2.1.3.2 inclusion proof: that `leafHash` is leaf `index` of the tree of
 * `size` leaves whose root is `root`.
 *
 * @param leafHash - the leaf's 32-byte hash (`hashLeaf(record bytes)`).
 * @param index - leaf index, integer ≥ 0 (index ≥ size → false).
 * @param size - tree size in leaves, integer ≥ 0 (0 → false).
 * @param proof - audit path, 32-byte hashes from the leaf up.
 * @param root - the tree's 32-byte root.
 * @returns true iff the proof recomputes `root`.
 * @throws {MerkleError} `INVALID_TYPE` for non-`Uint8Array` hashes or a non-array proof;
 *   `INVALID_HASH_LENGTH` if `leafHash` or `root` is not 32 bytes; `INVALID_INTEGER` if `index`
 *   or `size` is not a non-negative safe integer.
 * @example
 * ```ts
 * if (!verifyInclusion(hashLeaf(recordBytes), 42, treeSize, proof, checkpointRoot)) reject();
 * ```
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  assertHash(leafHash, 'leafHash');
  assertCount(index, 'index');
  assertCount(size, 'size');
  assertHash(root, 'root');
  if (!proofShapeOk(proof)) return false;
  if (index >= size) return false;
  // RFC 9162 §2.1.3.2 steps 2–6, with shifts written as divisions (sizes may exceed 2^32).
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashNode(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashNode(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(r, root);
}

/**
 * Verifies an RFC 9162 §2.1.4.2 consistency proof: that the tree of `size1` leaves with root
 * `root1` is a prefix of the tree of `size2` leaves with root `root2`.
 *
 * A proof from size 0 is meaningless (every tree extends the empty one), so `size1 = 0` → false.
 * `size1 = size2` → true iff the proof is empty and the roots are equal.
 *
 * @param size1 - old tree size, integer ≥ 0.
 * @param size2 - new tree size, integer ≥ 0 (size1 > size2 → false).
 * @param proof - consistency proof, 32-byte hashes.
 * @param root1 - old root, 32 bytes.
 * @param root2 - new root, 32 bytes.
 * @returns true iff the proof recomputes both roots.
 * @throws {MerkleError} `INVALID_TYPE` for non-`Uint8Array` hashes or a non-array proof;
 *   `INVALID_HASH_LENGTH` if a root is not 32 bytes; `INVALID_INTEGER` for a size that is not a
 *   non-negative safe integer.
 * @example
 * ```ts
 * if (!verifyConsistency(old.size, next.size, proof, old.root, next.root)) alarm('fork');
 * ```
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  assertCount(size1, 'size1');
  assertCount(size2, 'size2');
  assertHash(root1, 'root1');
  assertHash(root2, 'root2');
  if (!proofShapeOk(proof)) return false;
  if (size1 === 0 || size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && sameHash(root1, root2);
  if (proof.length === 0) return false;
  // RFC 9162 §2.1.4.2 step 2: when size1 is a power of two the old root is itself the first node
  // of the path and is not sent.
  let next = 0;
  let first = root1;
  if (!isPowerOfTwo(size1)) {
    first = proof[0]!;
    next = 1;
  }
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = first;
  let sr = first;
  for (let i = next; i < proof.length; i++) {
    const c = proof[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashNode(c, fr);
      sr = hashNode(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashNode(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, root1) && sameHash(sr, root2);
}

function isPowerOfTwo(x: number): boolean {
  if (x <= 0) return false;
  let v = x;
  while (v % 2 === 0) v /= 2;
  return v === 1;
}
