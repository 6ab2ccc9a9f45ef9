import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectSha256 } from '../src/hashing';
import {
  emptyRoot,
  HASH_BYTES,
  hashChildren,
  hashLeaf,
  hashLeaves,
  MAX_SCRATCH_LEAF_BYTES,
  MerkleError,
  SHA256_BACKEND,
  sha256Many,
} from '../src/index';
import { refLeaf, refNode } from './reference';
import { LEAF_INPUTS, NODE_HASHES, ROOTS, toHex } from './vectors';

function offsetsOf(records: readonly Uint8Array[]): { data: Uint8Array; offsets: number[] } {
  const offsets = [0];
  let total = 0;
  for (const r of records) {
    total += r.length;
    offsets.push(total);
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < records.length; i++) data.set(records[i]!, offsets[i]!);
  return { data, offsets };
}

describe('hashing', () => {
  it('hashes the RFC 6962 reference leaves to the published leaf hashes', () => {
    for (let i = 0; i < LEAF_INPUTS.length; i++) {
      expect(toHex(hashLeaf(LEAF_INPUTS[i]!))).toBe(toHex(NODE_HASHES[0]![i]!));
    }
  });

  it('hashes two children to the published parent hash', () => {
    expect(toHex(hashChildren(NODE_HASHES[0]![0]!, NODE_HASHES[0]![1]!))).toBe(toHex(NODE_HASHES[1]![0]!));
    expect(toHex(hashChildren(NODE_HASHES[2]![0]!, NODE_HASHES[2]![1]!))).toBe(toHex(NODE_HASHES[3]![0]!));
  });

  it('returns SHA-256 of the empty string as the empty root, as a fresh copy', () => {
    const a = emptyRoot();
    expect(toHex(a)).toBe(toHex(ROOTS[0]!));
    a[0] = 0;
    expect(toHex(emptyRoot())).toBe(toHex(ROOTS[0]!));
  });

  it('uses crypto.hash on this runtime and both backends agree with createHash', () => {
    expect(SHA256_BACKEND).toBe('crypto.hash');
    const oneShot = selectSha256(true);
    const fallback = selectSha256(false);
    expect(oneShot.backend).toBe('crypto.hash');
    expect(fallback.backend).toBe('createHash');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        const want = createHash('sha256').update(data).digest('hex');
        expect(toHex(oneShot.sha256(data))).toBe(want);
        expect(toHex(fallback.sha256(data))).toBe(want);
      }),
    );
  });

  it('matches the reference leaf hash for any input, including views into larger buffers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(16), (data, pad) => {
        const backing = new Uint8Array(data.length + 2 * pad);
        backing.set(data, pad);
        const view = backing.subarray(pad, pad + data.length);
        expect(toHex(hashLeaf(view))).toBe(toHex(refLeaf(data)));
      }),
    );
  });

  it('hashes leaves larger than the scratch buffer by streaming', () => {
    const big = randomBytes(MAX_SCRATCH_LEAF_BYTES + 1000);
    expect(toHex(hashLeaf(big))).toBe(toHex(refLeaf(big)));
    const exact = randomBytes(MAX_SCRATCH_LEAF_BYTES);
    expect(toHex(hashLeaf(exact))).toBe(toHex(refLeaf(exact)));
  });

  it('hashes children of any length, as RFC 9162 defines the node hash over bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (l, r) => {
        expect(toHex(hashChildren(l, r))).toBe(toHex(refNode(l, r)));
      }),
    );
    const big = randomBytes(MAX_SCRATCH_LEAF_BYTES);
    expect(toHex(hashChildren(big, big))).toBe(toHex(refNode(big, big)));
  });

  it('returns a fresh buffer per call that later calls do not overwrite', () => {
    const a = hashLeaf(LEAF_INPUTS[1]!);
    const b = hashLeaf(LEAF_INPUTS[2]!);
    expect(toHex(a)).toBe(toHex(NODE_HASHES[0]![1]!));
    expect(toHex(b)).toBe(toHex(NODE_HASHES[0]![2]!));
    expect(a.length).toBe(HASH_BYTES);
  });

  it('hashLeaves writes the same hashes as hashLeaf for records laid out back to back', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 20 }), (records) => {
        const { data, offsets } = offsetsOf(records);
        const out = hashLeaves(data, offsets);
        expect(out.length).toBe(records.length * HASH_BYTES);
        for (let i = 0; i < records.length; i++) {
          expect(toHex(out.subarray(i * 32, i * 32 + 32))).toBe(toHex(refLeaf(records[i]!)));
        }
      }),
    );
  });

  it('sha256Many writes the plain SHA-256 of each message, through the lanes or not', () => {
    const sha = (m: Uint8Array) => createHash('sha256').update(m).digest('hex');
    fc.assert(
      fc.property(
        // Lengths around the one- and two-block padding limits (55/56, 119/120) and some longer.
        fc.array(
          fc.oneof(fc.uint8Array({ minLength: 50, maxLength: 130 }), fc.uint8Array({ maxLength: 400 })),
          {
            maxLength: 24,
          },
        ),
        fc.nat(7),
        (messages, skip) => {
          const { data, offsets } = offsetsOf([new Uint8Array(skip), ...messages]);
          const out = sha256Many(data, offsets.slice(1));
          expect(out.length).toBe(messages.length * HASH_BYTES);
          for (let i = 0; i < messages.length; i++) {
            expect(toHex(out.subarray(i * 32, i * 32 + 32))).toBe(sha(messages[i]!));
          }
        },
      ),
    );
    // Four messages of the same padded length: the lanes; an empty one among them.
    const four = [new Uint8Array(0), randomBytes(55), randomBytes(1), randomBytes(40)];
    const { data, offsets } = offsetsOf(four);
    const out = sha256Many(data, offsets);
    for (let i = 0; i < 4; i++) expect(toHex(out.subarray(i * 32, i * 32 + 32))).toBe(sha(four[i]!));
    expect(() => sha256Many(data, [0, data.length + 1])).toThrow(MerkleError);
  });

  it('hashes batches larger than what is staged at a time (1 MiB) exactly as one by one', () => {
    // ~2.6 MB of records of 1–60,000 bytes after a skipped prefix: several staging runs, runs of a
    // single record longer than the rest of a run, and lengths that pad alike (the lanes).
    const sizes = [
      7,
      60_000,
      55,
      55,
      55,
      55,
      ...Array.from({ length: 700 }, (_, i) => 1 + ((i * 7919) % 4000)),
      40_000,
    ];
    const records = sizes.map((n) => randomBytes(n));
    const { data, offsets } = offsetsOf([randomBytes(5), ...records]);
    const out = hashLeaves(data, offsets.slice(1));
    const plain = sha256Many(data, offsets.slice(1));
    for (let i = 0; i < records.length; i++) {
      expect(toHex(out.subarray(i * 32, i * 32 + 32))).toBe(toHex(refLeaf(records[i]!)));
      expect(toHex(plain.subarray(i * 32, i * 32 + 32))).toBe(
        createHash('sha256').update(records[i]!).digest('hex'),
      );
    }
  });

  it('hashLeaves writes into a caller buffer and honours a non-zero first offset', () => {
    const { data, offsets } = offsetsOf([Uint8Array.of(9, 9), ...LEAF_INPUTS]);
    const out = new Uint8Array(8 * 32 + 5);
    const got = hashLeaves(data, Uint32Array.from(offsets.slice(1)), out);
    expect(got).toBe(out);
    for (let i = 0; i < 8; i++)
      expect(toHex(out.subarray(i * 32, i * 32 + 32))).toBe(toHex(NODE_HASHES[0]![i]!));
    expect(hashLeaves(data, []).length).toBe(0);
  });

  it('rejects bad arguments with typed errors', () => {
    expect(() => hashLeaf('abc' as unknown as Uint8Array)).toThrow(MerkleError);
    expect(() => hashChildren(new Uint8Array(32), [1, 2] as unknown as Uint8Array)).toThrow(
      /right: expected Uint8Array, got Array/,
    );
    const data = new Uint8Array(10);
    expect(() => hashLeaves(data, [0, 11])).toThrow(
      /offsets\[1\]: expected an integer 0 ≤ offset ≤ 10, got 11/,
    );
    expect(() => hashLeaves(data, [5, 4])).toThrow(MerkleError);
    expect(() => hashLeaves(data, [-1, 4])).toThrow(MerkleError);
    expect(() => hashLeaves(data, [0, 2, 4], new Uint8Array(63))).toThrow(
      /out: expected at least 64 bytes for 2 hashes, got 63/,
    );
    try {
      hashLeaf(null as unknown as Uint8Array);
    } catch (e) {
      expect(e).toBeInstanceOf(MerkleError);
      expect((e as MerkleError).code).toBe('INVALID_TYPE');
      expect((e as MerkleError).name).toBe('MerkleError');
    }
  });
});
