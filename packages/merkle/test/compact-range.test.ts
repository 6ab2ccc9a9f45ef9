import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompactRange, hashLeaf, MerkleError, rootFromLeafHashes } from '../src/index';
import { flatten, makeLeafHashes, refRoot } from './reference';
import { COMPACT_RANGES, LEAF_INPUTS, NODE_HASHES, ROOTS, toHex } from './vectors';

const LEAF_HASHES = LEAF_INPUTS.map(hashLeaf);
const hexAll = (hs: readonly Uint8Array[]): string[] => hs.map(toHex);

type Visit = [number, number, string];

/** Appends `leaves` in chunks of the given sizes using the given method, recording visits. */
function build(
  leaves: Uint8Array[],
  chunks: number[],
  mode: 'one' | 'array' | 'flat',
  onNodeLevelStep?: number,
): [CompactRange, Visit[]] {
  const visits: Visit[] = [];
  const range = new CompactRange({
    onNode: (level, index, hash) => visits.push([level, index, toHex(hash)]),
    ...(onNodeLevelStep === undefined ? {} : { onNodeLevelStep }),
  });
  let at = 0;
  for (const c of chunks) {
    const part = leaves.slice(at, Math.min(leaves.length, at + c));
    at += part.length;
    if (mode === 'one') for (const h of part) range.append(h);
    else if (mode === 'array') range.appendLeafHashes(part);
    else range.appendFlat(flatten(part));
  }
  if (at < leaves.length) range.appendFlat(flatten(leaves.slice(at)));
  return [range, visits];
}

/** Every complete interior node of the first n leaves, from the reference, in level order. */
function expectedNodes(leaves: Uint8Array[]): Visit[] {
  const out: Visit[] = [];
  for (let level = 1; 2 ** level <= leaves.length; level++) {
    for (let i = 0; (i + 1) * 2 ** level <= leaves.length; i++) {
      out.push([level, i, toHex(refRoot(leaves.slice(i * 2 ** level, (i + 1) * 2 ** level)))]);
    }
  }
  return out;
}

const byPosition = (a: Visit, b: Visit): number => a[0] - b[0] || a[1] - b[1];

describe('compact-range', () => {
  it('holds the published compact ranges and roots of the reference tree at every size', () => {
    const range = new CompactRange();
    expect(toHex(range.root())).toBe(toHex(ROOTS[0]!));
    expect(range.hashes).toEqual([]);
    for (let size = 1; size <= 8; size++) {
      range.append(LEAF_HASHES[size - 1]!);
      expect(range.size).toBe(size);
      expect(hexAll(range.hashes)).toEqual(hexAll(COMPACT_RANGES[size]!));
      expect(toHex(range.root())).toBe(toHex(ROOTS[size]!));
    }
  });

  it('reports every interior node of the reference tree once, children before parents', () => {
    const [, visits] = build(LEAF_HASHES, [8], 'one');
    const want: Visit[] = [];
    for (let level = 1; level < NODE_HASHES.length; level++) {
      NODE_HASHES[level]!.forEach((h, i) => {
        want.push([level, i, toHex(h)]);
      });
    }
    expect([...visits].sort(byPosition)).toEqual(want);
    const seenAt = new Map(visits.map((v, i) => [`${v[0]}/${v[1]}`, i]));
    for (const [level, index] of visits) {
      if (level < 2) continue;
      expect(seenAt.get(`${level - 1}/${2 * index}`)!).toBeLessThan(seenAt.get(`${level}/${index}`)!);
      expect(seenAt.get(`${level - 1}/${2 * index + 1}`)!).toBeLessThan(seenAt.get(`${level}/${index}`)!);
    }
  });

  it('matches the reference root and node set for random sizes and random batch splits, in every append mode', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.integer({ min: 0, max: 70 }), { maxLength: 12 }),
        fc.constantFrom<'one' | 'array' | 'flat'>('one', 'array', 'flat'),
        fc.nat(),
        (n, chunks, mode, seed) => {
          const leaves = makeLeafHashes(n, seed);
          const [range, visits] = build(leaves, chunks, mode);
          expect(range.size).toBe(n);
          expect(toHex(range.root())).toBe(toHex(refRoot(leaves)));
          expect([...visits].sort(byPosition)).toEqual(expectedNodes(leaves));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('appends large flat batches (the bulk, level-by-level path) exactly as the reference', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.integer({ min: 1, max: 2100 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (n, chunks, seed) => {
          const leaves = makeLeafHashes(n, seed);
          const [range, visits] = build(leaves, chunks, 'flat');
          expect(toHex(range.root())).toBe(toHex(refRoot(leaves)));
          expect([...visits].sort(byPosition)).toEqual(expectedNodes(leaves));
          const seenAt = new Map(visits.map((v, i) => [`${v[0]}/${v[1]}`, i]));
          for (const [level, index] of visits) {
            if (level < 2) continue;
            expect(seenAt.get(`${level - 1}/${2 * index + 1}`)!).toBeLessThan(
              seenAt.get(`${level}/${index}`)!,
            );
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('reports only the levels that are multiples of onNodeLevelStep, in every append mode', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 6 }),
        fc.constantFrom<'one' | 'array' | 'flat'>('one', 'array', 'flat'),
        fc.integer({ min: 1, max: 9 }),
        fc.nat(),
        (n, chunks, mode, step, seed) => {
          const leaves = makeLeafHashes(n, seed);
          const [range, visits] = build(leaves, chunks, mode, step);
          expect(toHex(range.root())).toBe(toHex(refRoot(leaves)));
          const wanted = expectedNodes(leaves).filter(([level]) => level % step === 0);
          expect([...visits].sort(byPosition)).toEqual(wanted);
        },
      ),
      { numRuns: 60 },
    );
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new CompactRange({ onNodeLevelStep: bad })).toThrow(MerkleError);
    }
  });

  it('round-trips through toJSON and from, and the restored range keeps growing correctly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100 }), (n, more) => {
        const leaves = makeLeafHashes(n + more, 3);
        const range = new CompactRange();
        range.appendLeafHashes(leaves.slice(0, n));
        const json = JSON.parse(JSON.stringify(range)) as { size: number; hashes: string[] };
        expect(json.size).toBe(n);
        const restored = CompactRange.from(json.size, json.hashes);
        const fromBytes = CompactRange.from(n, range.hashes);
        restored.appendLeafHashes(leaves.slice(n));
        fromBytes.appendFlat(flatten(leaves.slice(n)));
        const want = toHex(rootFromLeafHashes(leaves));
        expect(toHex(restored.root())).toBe(want);
        expect(toHex(fromBytes.root())).toBe(want);
      }),
      { numRuns: 60 },
    );
  });

  it('copies what it retains, so callers may reuse their buffers (including Buffers) at once', () => {
    const leaves = makeLeafHashes(5, 11);
    const range = new CompactRange();
    const scratch = Buffer.alloc(32);
    const flat = Buffer.alloc(96);
    for (let i = 0; i < 2; i++) {
      scratch.set(leaves[i]!);
      range.append(scratch);
    }
    flat.set(flatten(leaves.slice(2, 5)));
    range.appendFlat(flat);
    scratch.fill(0xee);
    flat.fill(0xee);
    range.hashes[0]!.fill(0xee);
    expect(toHex(range.root())).toBe(toHex(refRoot(leaves)));
    const clone = range.clone();
    range.append(leaves[0]!);
    expect(clone.size).toBe(5);
    expect(toHex(clone.root())).toBe(toHex(refRoot(leaves)));
  });

  it('rejects inconsistent state and bad hashes with typed errors', () => {
    const codeOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof MerkleError ? e.code : 'other';
      }
      return undefined;
    };
    const h = LEAF_HASHES[0]!;
    expect(codeOf(() => CompactRange.from(3, [h]))).toBe('INVALID_STATE');
    expect(() => CompactRange.from(3, [h])).toThrow('hashes: expected 2 (one per 1 bit of size 3), got 1');
    expect(codeOf(() => CompactRange.from(1, ['zz']))).toBe('INVALID_STATE');
    expect(codeOf(() => CompactRange.from(1, [new Uint8Array(5)]))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => CompactRange.from(-1, []))).toBe('INVALID_INTEGER');
    const range = new CompactRange();
    expect(codeOf(() => range.append(new Uint8Array(33)))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => range.appendFlat(new Uint8Array(33)))).toBe('INVALID_HASH_LENGTH');
    expect(codeOf(() => range.appendLeafHashes([h, new Uint8Array(1)]))).toBe('INVALID_HASH_LENGTH');
    expect(range.size).toBe(0);
    const huge = CompactRange.from(Number.MAX_SAFE_INTEGER, new Array(53).fill(h));
    expect(codeOf(() => huge.append(h))).toBe('OUT_OF_RANGE');
  });
});
