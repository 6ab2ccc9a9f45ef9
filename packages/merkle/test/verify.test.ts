import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompactRange,
  consistencyProof,
  hashChildren,
  hashLeaf,
  inclusionProof,
  MerkleError,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../src/index';
import { assembleProof, consistencyPlan, inclusionPlan, type NodePlan, rootPlan } from '../src/node-plan';
import { makeLeafHashes, refRoot } from './reference';
import { CONSISTENCY_VECTORS, INCLUSION_VECTORS, LEAF_INPUTS, ROOTS, SOME_HASH } from './vectors';

const LEAF_HASHES = LEAF_INPUTS.map(hashLeaf);
const EMPTY_ROOT = ROOTS[0]!;

function flipped(proof: readonly Uint8Array[], i: number, bit: number): Uint8Array[] {
  const out = proof.slice();
  const copy = new Uint8Array(out[i]!);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  out[i] = copy;
  return out;
}

function flipRoot(root: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(root);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('verify', () => {
  it('accepts the published inclusion proofs', () => {
    for (const v of INCLUSION_VECTORS) {
      expect(verifyInclusion(LEAF_HASHES[v.index]!, v.index, v.size, v.proof, ROOTS[v.size]!)).toBe(true);
    }
  });

  it('rejects the published inclusion proofs when corrupted (transparency-dev probe set)', () => {
    for (const { index, size, proof } of INCLUSION_VECTORS) {
      const leaf = LEAF_HASHES[index]!;
      const root = ROOTS[size]!;
      const probes: [string, boolean][] = [
        ['index - 1', index > 0 && verifyInclusion(leaf, index - 1, size, proof, root)],
        ['index + 1', verifyInclusion(leaf, index + 1, size, proof, root)],
        ['index ^ 2', verifyInclusion(leaf, index ^ 2, size, proof, root)],
        ['size * 2', verifyInclusion(leaf, index, size * 2, proof, root)],
        ['size / 2', verifyInclusion(leaf, index, Math.floor(size / 2), proof, root)],
        ['wrong leaf', verifyInclusion(SOME_HASH, index, size, proof, root)],
        ['empty root', verifyInclusion(leaf, index, size, proof, EMPTY_ROOT)],
        ['random root', verifyInclusion(leaf, index, size, proof, SOME_HASH)],
        ['trailing garbage', verifyInclusion(leaf, index, size, [...proof, new Uint8Array(0)], root)],
        ['trailing root', verifyInclusion(leaf, index, size, [...proof, root], root)],
        ['preceding garbage', verifyInclusion(leaf, index, size, [new Uint8Array(0), ...proof], root)],
        ['preceding root', verifyInclusion(leaf, index, size, [root, ...proof], root)],
      ];
      for (let i = 0; i < proof.length; i++) {
        probes.push([
          `modified proof[${i}] bit 3`,
          verifyInclusion(leaf, index, size, flipped(proof, i, 3), root),
        ]);
      }
      if (proof.length > 0) {
        probes.push(['removed component', verifyInclusion(leaf, index, size, proof.slice(0, -1), root)]);
      }
      if (proof.length > 1) {
        const inserted = [proof[0]!, SOME_HASH, ...proof.slice(1)];
        probes.push(['inserted component', verifyInclusion(leaf, index, size, inserted, root)]);
      }
      const accepted = probes.filter(([, ok]) => ok).map(([name]) => `${index}/${size}: ${name}`);
      expect(accepted).toEqual([]);
    }
  });

  it('accepts the published consistency proofs', () => {
    for (const v of CONSISTENCY_VECTORS) {
      expect(verifyConsistency(v.size1, v.size2, v.proof, ROOTS[v.size1]!, ROOTS[v.size2]!)).toBe(true);
    }
  });

  it('rejects the published consistency proofs when corrupted (transparency-dev probe set)', () => {
    for (const { size1, size2, proof } of CONSISTENCY_VECTORS) {
      if (proof.length === 0) continue;
      const r1 = ROOTS[size1]!;
      const r2 = ROOTS[size2]!;
      const v = (s1: number, s2: number, p: Uint8Array[], a: Uint8Array, b: Uint8Array): boolean =>
        verifyConsistency(s1, s2, p, a, b);
      const probes: [string, boolean][] = [
        ['size1 - 1', v(size1 - 1, size2, proof, r1, r2)],
        ['size1 + 1', v(size1 + 1, size2, proof, r1, r2)],
        ['size1 ^ 2', v(size1 ^ 2, size2, proof, r1, r2)],
        ['size2 * 2', v(size1, size2 * 2, proof, r1, r2)],
        ['size2 / 2', v(size1, Math.floor(size2 / 2), proof, r1, r2)],
        ['wrong root1', v(size1, size2, proof, SOME_HASH, r2)],
        ['wrong root2', v(size1, size2, proof, r1, SOME_HASH)],
        ['swapped roots', v(size1, size2, proof, r2, r1)],
        ['empty proof', v(size1, size2, [], r1, r2)],
        ['trailing garbage', v(size1, size2, [...proof, new Uint8Array(0)], r1, r2)],
        ['trailing root1', v(size1, size2, [...proof, r1], r1, r2)],
        ['trailing root2', v(size1, size2, [...proof, r2], r1, r2)],
        ['preceding garbage', v(size1, size2, [new Uint8Array(0), ...proof], r1, r2)],
        ['preceding root1', v(size1, size2, [r1, ...proof], r1, r2)],
        ['preceding root2', v(size1, size2, [r2, ...proof], r1, r2)],
        ['preceding proof[0]', v(size1, size2, [proof[0]!, ...proof], r1, r2)],
        ['truncated proof', v(size1, size2, proof.slice(0, -1), r1, r2)],
      ];
      for (let i = 0; i < proof.length; i++) {
        probes.push([`modified proof[${i}] bit 4`, v(size1, size2, flipped(proof, i, 4), r1, r2)]);
      }
      const accepted = probes.filter(([, ok]) => ok).map(([name]) => `${size1}→${size2}: ${name}`);
      expect(accepted).toEqual([]);
    }
  });

  it('treats equal sizes as needing an empty proof and equal roots, and size1 = 0 as never consistent', () => {
    const r = ROOTS[3]!;
    expect(verifyConsistency(3, 3, [], r, r)).toBe(true);
    expect(verifyConsistency(3, 3, [], r, ROOTS[4]!)).toBe(false);
    expect(verifyConsistency(3, 3, [r], r, r)).toBe(false);
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toBe(false);
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, ROOTS[5]!)).toBe(false);
    expect(verifyConsistency(2, 1, [], ROOTS[2]!, ROOTS[1]!)).toBe(false);
  });

  it('rejects inclusion in an empty tree or past its end, and accepts a 1-leaf tree with an empty proof', () => {
    const leaf = LEAF_HASHES[0]!;
    expect(verifyInclusion(leaf, 0, 0, [], EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(leaf, 1, 1, [], leaf)).toBe(false);
    expect(verifyInclusion(leaf, 0, 1, [], leaf)).toBe(true);
    expect(verifyInclusion(leaf, 0, 1, [], SOME_HASH)).toBe(false);
  });

  it('verifies every proof of random trees and rejects any single flipped bit in a proof or root', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.nat(255),
        (n, seed, a, b, bit) => {
          const leaves = makeLeafHashes(n, seed);
          const root = rootFromLeafHashes(leaves);
          expect(root).toEqual(refRoot(leaves));
          const m = a % n;
          const path = inclusionProof(leaves, m);
          expect(verifyInclusion(leaves[m]!, m, n, path, root)).toBe(true);
          expect(verifyInclusion(leaves[m]!, m, n, path, flipRoot(root, bit))).toBe(false);
          expect(verifyInclusion(flipRoot(leaves[m]!, bit), m, n, path, root)).toBe(false);
          for (let i = 0; i < path.length; i++) {
            expect(verifyInclusion(leaves[m]!, m, n, flipped(path, i, bit), root)).toBe(false);
          }
          const size1 = 1 + (b % n);
          const root1 = rootFromLeafHashes(leaves.slice(0, size1));
          const proof = consistencyProof(leaves, size1);
          expect(verifyConsistency(size1, n, proof, root1, root)).toBe(true);
          if (size1 < n) {
            expect(verifyConsistency(size1, n, proof, flipRoot(root1, bit), root)).toBe(false);
            expect(verifyConsistency(size1, n, proof, root1, flipRoot(root, bit))).toBe(false);
          }
          for (let i = 0; i < proof.length; i++) {
            expect(verifyConsistency(size1, n, flipped(proof, i, bit), root1, root)).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('verifies every inclusion and consistency proof of every tree up to 40 leaves', () => {
    const leaves = makeLeafHashes(40, 7);
    for (let n = 1; n <= 40; n++) {
      const tree = leaves.slice(0, n);
      const root = rootFromLeafHashes(tree);
      for (let m = 0; m < n; m++)
        expect(verifyInclusion(tree[m]!, m, n, inclusionProof(tree, m), root)).toBe(true);
      for (let s1 = 1; s1 <= n; s1++) {
        const root1 = rootFromLeafHashes(tree.slice(0, s1));
        expect(verifyConsistency(s1, n, consistencyProof(tree, s1), root1, root)).toBe(true);
      }
    }
  });

  it('verifies proofs in trees far above 2^32 leaves (no 32-bit overflow in plans or verifiers)', () => {
    // In a tree whose leaves all have the same hash, every perfect subtree of height h has the
    // same hash Z[h], so roots and proofs of huge trees can be assembled from the plans alone.
    const z: Uint8Array[] = [LEAF_HASHES[3]!];
    for (let h = 1; h <= 53; h++) z.push(hashChildren(z[h - 1]!, z[h - 1]!));
    const fetch = (plan: NodePlan): Uint8Array[] => plan.levels.map((level) => z[level]!);
    const rootOf = (size: number): Uint8Array => {
      const plan = rootPlan(size);
      const nodes = fetch(plan);
      let r = nodes[nodes.length - 1]!;
      for (let i = nodes.length - 2; i >= 0; i--) r = hashChildren(nodes[i]!, r);
      return r;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 2 ** 32 - 3, max: Number.MAX_SAFE_INTEGER }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (size, f1, f2) => {
          const root = rootOf(size);
          const range = CompactRange.from(
            size,
            rootPlan(size).levels.map((level) => z[level]!),
          );
          expect(range.root()).toEqual(root);
          const index = Math.min(size - 1, Math.floor(f1 * size));
          const path = assembleProof(inclusionPlan(index, size), fetch(inclusionPlan(index, size)));
          expect(verifyInclusion(z[0]!, index, size, path, root)).toBe(true);
          // (Sizes or indices can't be probed here: in a uniform tree many shapes share hashes.)
          expect(verifyInclusion(LEAF_HASHES[4]!, index, size, path, root)).toBe(false);
          expect(verifyInclusion(z[0]!, index, size, path.slice(1), root)).toBe(false);
          expect(verifyInclusion(z[0]!, index, size, flipped(path, path.length - 1, 9), root)).toBe(false);
          const size1 = Math.max(1, Math.min(size - 1, Math.floor(f2 * size)));
          const plan = consistencyPlan(size1, size);
          const proof = assembleProof(plan, fetch(plan));
          expect(verifyConsistency(size1, size, proof, rootOf(size1), root)).toBe(true);
          expect(
            verifyConsistency(size1, size, flipped(proof, proof.length - 1, 9), rootOf(size1), root),
          ).toBe(false);
          expect(verifyConsistency(size1, size, proof.slice(0, -1), rootOf(size1), root)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws typed errors for misuse: wrong types, non-integers, hashes that are not 32 bytes', () => {
    const leaf = LEAF_HASHES[0]!;
    const codeOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof MerkleError ? e.code : 'other';
      }
      return undefined;
    };
    expect(codeOf(() => verifyInclusion(new Uint8Array(31), 0, 1, [], leaf))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => verifyInclusion(leaf, 0, 1, [], new Uint8Array(0)))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => verifyInclusion(leaf, -1, 1, [], leaf))).toBe('INVALID_INTEGER');
    expect(codeOf(() => verifyInclusion(leaf, 0, 0.5, [], leaf))).toBe('INVALID_INTEGER');
    expect(codeOf(() => verifyInclusion(leaf, 0, 2, ['x' as unknown as Uint8Array], leaf))).toBe(
      'INVALID_TYPE',
    );
    expect(codeOf(() => verifyInclusion(leaf, 0, 2, 'x' as unknown as Uint8Array[], leaf))).toBe(
      'INVALID_TYPE',
    );
    expect(codeOf(() => verifyConsistency(1, 2, [], leaf, new Uint8Array(9)))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => verifyConsistency(-1, 2, [], leaf, leaf))).toBe('INVALID_INTEGER');
    expect(codeOf(() => verifyConsistency(1, 2 ** 53, [], leaf, leaf))).toBe('INVALID_INTEGER');
    expect(() => verifyConsistency(1, 2, [], leaf, new Uint8Array(9))).toThrow(
      'root2: expected 32 bytes, got 9',
    );
  });
});
