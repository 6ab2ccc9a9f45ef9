import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  hashLeaf,
  inclusionProof,
  MerkleError,
  rootFromFlat,
  rootFromLeafHashes,
} from '../src/index';
import { makeLeafHashes, refPath, refProof, refRoot } from './reference';
import { CONSISTENCY_VECTORS, INCLUSION_VECTORS, LEAF_INPUTS, ROOTS, toHex } from './vectors';

const LEAF_HASHES = LEAF_INPUTS.map(hashLeaf);
const hexAll = (hs: readonly Uint8Array[]): string[] => hs.map(toHex);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof MerkleError ? e.code : `not a MerkleError: ${String(e)}`;
  }
  return undefined;
}

describe('tree', () => {
  it('computes the published roots of the reference tree for sizes 0 to 8', () => {
    for (let size = 0; size <= 8; size++) {
      expect(toHex(rootFromLeafHashes(LEAF_HASHES.slice(0, size)))).toBe(toHex(ROOTS[size]!));
    }
  });

  it('produces the published inclusion proofs', () => {
    for (const v of INCLUSION_VECTORS) {
      expect(hexAll(inclusionProof(LEAF_HASHES.slice(0, v.size), v.index))).toEqual(hexAll(v.proof));
    }
  });

  it('produces the published consistency proofs', () => {
    for (const v of CONSISTENCY_VECTORS) {
      expect(hexAll(consistencyProof(LEAF_HASHES.slice(0, v.size2), v.size1))).toEqual(hexAll(v.proof));
    }
  });

  it('matches the naive RFC 9162 reference for random trees (root, every path, every proof)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 130 }), fc.nat(), (n, seed) => {
        const leaves = makeLeafHashes(n, seed);
        expect(toHex(rootFromLeafHashes(leaves))).toBe(toHex(refRoot(leaves)));
        for (let m = 0; m < n; m++)
          expect(hexAll(inclusionProof(leaves, m))).toEqual(hexAll(refPath(m, leaves)));
        for (let m = 1; m <= n; m++)
          expect(hexAll(consistencyProof(leaves, m))).toEqual(hexAll(refProof(m, leaves)));
      }),
      { numRuns: 40 },
    );
  });

  it('computes large roots (the word/SIMD hasher path) exactly as the reference', () => {
    fc.assert(
      fc.property(fc.integer({ min: 131, max: 3000 }), fc.nat(), (n, seed) => {
        const leaves = makeLeafHashes(n, seed);
        expect(toHex(rootFromLeafHashes(leaves))).toBe(toHex(refRoot(leaves)));
      }),
      { numRuns: 25 },
    );
    for (const n of [256, 511, 512, 513, 2048]) {
      const leaves = makeLeafHashes(n, n);
      expect(toHex(rootFromLeafHashes(leaves))).toBe(toHex(refRoot(leaves)));
    }
  });

  it('computes the root of flat (back-to-back) leaf hashes exactly as the reference', () => {
    const flatOf = (leaves: Uint8Array[], pad: number): Uint8Array => {
      // A view at an offset of a larger buffer, as a batch's hash block is.
      const buf = new Uint8Array(pad + leaves.length * 32 + 7);
      for (let i = 0; i < leaves.length; i++) buf.set(leaves[i]!, pad + i * 32);
      return buf.subarray(pad, pad + leaves.length * 32);
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.nat(),
        fc.integer({ min: 0, max: 64 }),
        (n, seed, pad) => {
          const leaves = makeLeafHashes(n, seed);
          expect(toHex(rootFromFlat(flatOf(leaves, pad)))).toBe(toHex(refRoot(leaves)));
        },
      ),
      { numRuns: 40 },
    );
    const one = makeLeafHashes(1, 3);
    const flat = flatOf(one, 0);
    const root = rootFromFlat(flat);
    root[0]! ^= 1;
    expect(toHex(flat)).toBe(toHex(one[0]!));
    expect(codeOf(() => rootFromFlat(new Uint8Array(33)))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => rootFromFlat('ab' as unknown as Uint8Array))).toBe('INVALID_TYPE');
  });

  it('returns proofs and roots that do not alias the input leaf hashes', () => {
    const leaves = makeLeafHashes(3);
    const root1 = rootFromLeafHashes(leaves.slice(0, 1));
    const proof = inclusionProof(leaves.slice(0, 2), 0);
    root1[0]! ^= 1;
    proof[0]![0]! ^= 1;
    expect(toHex(rootFromLeafHashes(leaves.slice(0, 1)))).toBe(toHex(leaves[0]!));
    expect(toHex(inclusionProof(leaves.slice(0, 2), 0)[0]!)).toBe(toHex(leaves[1]!));
  });

  it('rejects out-of-range indices and sizes with typed errors', () => {
    const leaves = LEAF_HASHES;
    expect(codeOf(() => inclusionProof(leaves, 8))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => inclusionProof([], 0))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => inclusionProof(leaves, -1))).toBe('INVALID_INTEGER');
    expect(codeOf(() => inclusionProof(leaves, 1.5))).toBe('INVALID_INTEGER');
    expect(codeOf(() => consistencyProof(leaves, 9))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => consistencyProof(leaves, 0))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => consistencyProof(leaves, Number.NaN))).toBe('INVALID_INTEGER');
    expect(() => inclusionProof(leaves, 8)).toThrow('index: expected 0 ≤ index < 8 (tree size), got 8');
    expect(consistencyProof(leaves, 8)).toEqual([]);
  });

  it('rejects leaf lists that are not arrays of 32-byte Uint8Arrays', () => {
    expect(codeOf(() => rootFromLeafHashes([new Uint8Array(31)]))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => rootFromLeafHashes(['ab' as unknown as Uint8Array]))).toBe('INVALID_TYPE');
    expect(codeOf(() => rootFromLeafHashes('ab' as unknown as Uint8Array[]))).toBe('INVALID_TYPE');
    expect(() => inclusionProof([LEAF_HASHES[0]!, new Uint8Array(33)], 0)).toThrow(
      'leafHashes[1]: expected 32 bytes, got 33',
    );
  });
});
