import { hashLeaf, inclusionProof, rootFromLeafHashes } from '@sealog/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefixRootFromInclusion } from '../src/prefix-root';

/** Lowest set bit of a positive integer. */
function lowBit(n: number): number {
  let b = 1;
  while (n % (b * 2) === 0) b *= 2;
  return b;
}

describe('prefix root from an inclusion proof', () => {
  it('gives the root of the first `size` leaves exactly when the audit path fixes that tree', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 300 })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 1, max: n })),
          ),
        ([n, m, size]) => {
          const leaves = Array.from({ length: n }, (_, i) => hashLeaf(new TextEncoder().encode(`leaf ${i}`)));
          const proof = inclusionProof(leaves, m);
          const got = prefixRootFromInclusion(leaves[m]!, m, n, proof, size);
          const fixed = m === size - 1 || (m >= size && m < size + lowBit(size));
          if (fixed) expect(got).toEqual(rootFromLeafHashes(leaves.slice(0, size)));
          else expect(got).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a proof of the wrong length', () => {
    const leaves = Array.from({ length: 20 }, (_, i) => hashLeaf(new Uint8Array([i])));
    const proof = inclusionProof(leaves, 12);
    expect(prefixRootFromInclusion(leaves[12]!, 12, 20, proof.slice(1), 12)).toBeUndefined();
    expect(prefixRootFromInclusion(leaves[12]!, 12, 20, [...proof, proof[0]!], 12)).toBeUndefined();
  });
});
