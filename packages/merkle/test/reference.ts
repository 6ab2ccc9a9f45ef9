/**
 * Naive reference of RFC 9162 §2.1, written straight from the spec's recursive definitions
 * (MTH, PATH, PROOF/SUBPROOF) and hashing with `createHash` directly, so it shares no code with the
 * package under test. O(n) per call; for tests only.
 */
import { createHash } from 'node:crypto';

export function refHash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const ZERO = Uint8Array.of(0);
const ONE = Uint8Array.of(1);

export function refLeaf(data: Uint8Array): Uint8Array {
  return refHash(ZERO, data);
}

export function refNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return refHash(ONE, left, right);
}

/** Largest power of two strictly less than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes (RFC 9162 §2.1.1, with the leaf hashing already applied). */
export function refRoot(h: readonly Uint8Array[]): Uint8Array {
  if (h.length === 0) return refHash();
  if (h.length === 1) return h[0]!;
  const k = split(h.length);
  return refNode(refRoot(h.slice(0, k)), refRoot(h.slice(k)));
}

/** PATH(m, D[n]) (RFC 9162 §2.1.3.1). */
export function refPath(m: number, h: readonly Uint8Array[]): Uint8Array[] {
  if (h.length <= 1) return [];
  const k = split(h.length);
  if (m < k) return [...refPath(m, h.slice(0, k)), refRoot(h.slice(k))];
  return [...refPath(m - k, h.slice(k)), refRoot(h.slice(0, k))];
}

function subproof(m: number, h: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === h.length) return b ? [] : [refRoot(h)];
  const k = split(h.length);
  if (m <= k) return [...subproof(m, h.slice(0, k), b), refRoot(h.slice(k))];
  return [...subproof(m - k, h.slice(k), false), refRoot(h.slice(0, k))];
}

/** PROOF(m, D[n]) (RFC 9162 §2.1.4.1), 0 < m ≤ n. */
export function refProof(m: number, h: readonly Uint8Array[]): Uint8Array[] {
  return subproof(m, h, true);
}

/** Deterministic pseudo-random 32-byte leaf hashes: leaf i = SHA-256(0x00 ‖ "leaf-" ‖ i). */
export function makeLeafHashes(n: number, seed = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(refLeaf(new TextEncoder().encode(`leaf-${seed}-${i}`)));
  return out;
}

/** The same leaf hashes concatenated. */
export function flatten(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32);
  for (let i = 0; i < hashes.length; i++) out.set(hashes[i]!, i * 32);
  return out;
}
