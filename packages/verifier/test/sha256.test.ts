import { hash } from 'node:crypto';
import {
  bytesFromWords,
  HASH_WORDS,
  hashLeaf,
  hashNodeWords,
  rootFromLeafHashes,
  SimdHasher,
  wordsFromBytes,
} from '@sealog/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameTree, LogTree } from '../src/tree-hash';

/** node:crypto's `SHA-256(0x01 ‖ children)`. */
function reference(children: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([Buffer.from([1]), children]), 'buffer') as Buffer;
}

/** 64 child bytes with runs of 0x00 and 0xff mixed in (carries, the last byte's table). */
const children = fc.oneof(
  fc.uint8Array({ minLength: 64, maxLength: 64 }),
  fc.constantFrom(
    new Uint8Array(64),
    new Uint8Array(64).fill(0xff),
    Uint8Array.from({ length: 64 }, (_, i) => i),
  ),
);

describe('sha256-node', () => {
  it('converts hashes to words and back, a few or many at a time, at any offset', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 9 }), (count, at) => {
        const bytes = Uint8Array.from({ length: at + 32 * count }, (_, i) => (i * 151 + 7) & 0xff);
        const words = new Int32Array(3 + count * HASH_WORDS);
        wordsFromBytes(bytes, at, words, 3, count);
        const view = new DataView(bytes.buffer);
        for (let i = 0; i < count * HASH_WORDS; i++) expect(words[3 + i]).toBe(view.getInt32(at + 4 * i));
        const back = new Uint8Array(32 * count);
        bytesFromWords(words, 3, back, 0, count);
        expect(back).toEqual(bytes.subarray(at));
      }),
      { numRuns: 100 },
    );
  });

  it('hashes interior nodes exactly as node:crypto', () => {
    fc.assert(
      fc.property(children, (c) => {
        const w = new Int32Array(2 * HASH_WORDS);
        wordsFromBytes(c, 0, w, 0, 2);
        const out = new Int32Array(HASH_WORDS);
        hashNodeWords(w, 0, out, 0);
        const bytes = new Uint8Array(32);
        bytesFromWords(out, 0, bytes, 0, 1);
        expect(Buffer.from(bytes)).toEqual(reference(c));
      }),
      { numRuns: 500 },
    );
  });
});

describe('sha256-simd', () => {
  const simd = SimdHasher.create();

  it('is available on the supported Node versions', () => {
    expect(simd).toBeDefined();
  });

  it('hashes any number of nodes, four lanes at a time, exactly as node:crypto', () => {
    fc.assert(
      fc.property(fc.array(children, { minLength: 1, maxLength: 23 }), (nodes) => {
        const h = simd!;
        const n = nodes.length;
        h.ensure(n * 24);
        for (let i = 0; i < n; i++) wordsFromBytes(nodes[i]!, 0, h.words, 16 * i, 2);
        h.hash(0, 16 * n, n);
        const bytes = new Uint8Array(32);
        for (let i = 0; i < n; i++) {
          bytesFromWords(h.words, 16 * n + 8 * i, bytes, 0, 1);
          expect(Buffer.from(bytes), `node ${i} of ${n}`).toEqual(reference(nodes[i]!));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps its results across memory growth', () => {
    const h = SimdHasher.create()!;
    h.ensure(16 * 4);
    const c = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
    for (let i = 0; i < 4; i++) wordsFromBytes(c, 0, h.words, 16 * i, 2);
    h.ensure(1 << 20);
    h.hash(0, 1 << 19, 4);
    const bytes = new Uint8Array(32);
    bytesFromWords(h.words, (1 << 19) + 24, bytes, 0, 1);
    expect(Buffer.from(bytes)).toEqual(reference(c));
  });
});

describe('leaf hashes', () => {
  it('hashes records four lanes at a time, exactly as node:crypto, whatever their lengths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 400 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (leaves, simd) => {
          const t = new FrameTree({ simd });
          const words = t.leafWordsOf(leaves);
          const bytes = new Uint8Array(32);
          for (let i = 0; i < leaves.length; i++) {
            bytesFromWords(words, i * HASH_WORDS, bytes, 0, 1);
            expect(bytes, `leaf ${i}`).toEqual(hashLeaf(leaves[i]!));
          }
        },
      ),
      { numRuns: 200 },
    );
    // Many of one length: all in groups of four (lengths 55 … 120 cross the block boundaries).
    for (let len = 50; len <= 130; len++) {
      const leaves = Array.from({ length: 9 }, (_, i) => new Uint8Array(len).fill(i));
      const words = new FrameTree().leafWordsOf(leaves);
      const bytes = new Uint8Array(32);
      bytesFromWords(words, 8 * HASH_WORDS, bytes, 0, 1);
      expect(bytes, `length ${len}`).toEqual(hashLeaf(leaves[8]!));
      bytesFromWords(words, 3 * HASH_WORDS, bytes, 0, 1);
      expect(bytes, `length ${len}`).toEqual(hashLeaf(leaves[3]!));
    }
  });
});

describe('tree-hash', () => {
  it('gives RFC 9162 batch roots and log roots, with and without the SIMD path', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 1, max: 300 }), (first, count) => {
        const leaves = Array.from({ length: first + count }, (_, i) =>
          hashLeaf(new Uint8Array([i & 0xff, i >> 8])),
        );
        const want = rootFromLeafHashes(leaves.slice(first));
        for (const simd of [true, false]) {
          const t = new FrameTree({ simd });
          const words = t.leafWords(count);
          for (let i = 0; i < count; i++) wordsFromBytes(leaves[first + i]!, 0, words, i * HASH_WORDS, 1);
          t.build(first, count);
          const root = new Int32Array(HASH_WORDS);
          t.root(root);
          const bytes = new Uint8Array(32);
          bytesFromWords(root, 0, bytes, 0, 1);
          expect(bytes).toEqual(want);
          // The log tree from a seed of the first leaves plus the frame's aligned nodes.
          const log = new LogTree();
          if (first > 0) {
            const levels: number[] = [];
            for (let l = 20; l >= 0; l--) if (Math.floor(first / 2 ** l) % 2 === 1) levels.push(l);
            const seed = new Int32Array(levels.length * HASH_WORDS);
            let start = 0;
            levels.forEach((l, k) => {
              const r = rootFromLeafHashes(leaves.slice(start, start + 2 ** l));
              wordsFromBytes(r, 0, seed, k * HASH_WORDS, 1);
              start += 2 ** l;
            });
            log.seed(first, levels, seed);
          }
          t.pieces(0, count, (level, w, o) => log.addAligned(level, w, o), undefined);
          log.root(root);
          bytesFromWords(root, 0, bytes, 0, 1);
          expect(bytes).toEqual(rootFromLeafHashes(leaves));
        }
      }),
      { numRuns: 60 },
    );
  });
});
