import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdempotencyWindow } from '../src/idempotency-window';
import { KeyFingerprinter } from '../src/key-fingerprint';
import { FingerprintBuilder } from '../src/state-snapshot';

const hashOf = (n: number): Uint8Array => {
  const h = new Uint8Array(32);
  new DataView(h.buffer).setFloat64(0, n);
  h[31] = n & 0xff;
  return h;
};

/** The behaviour the log relies on: a FIFO map of the newest `capacity` keys (re-adds keep their place). */
class Reference {
  readonly map = new Map<string, number>();
  constructor(readonly capacity: number) {}
  set(key: string, leafIndex: number): void {
    this.map.set(key, leafIndex);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
}

/** The window's entries, oldest first, matched to the reference's keys by fingerprint. */
function expectSameAs(w: IdempotencyWindow, ref: Reference): void {
  const columns = w.columns();
  const fingerprinter = new KeyFingerprinter(w.salt);
  const words = new Uint32Array(4);
  const keys = [...ref.map.keys()];
  expect(columns.leafIndexes.length).toBe(keys.length);
  for (let i = 0; i < keys.length; i++) {
    fingerprinter.fingerprint(keys[i]!, words, 0);
    expect(Buffer.from(columns.fingerprints.subarray(i * 16, (i + 1) * 16))).toEqual(
      Buffer.from(words.buffer),
    );
    expect(columns.leafIndexes[i]).toBe(ref.map.get(keys[i]!));
  }
}

describe('IdempotencyWindow', () => {
  it('behaves like a FIFO map of the newest keys for any sequence of adds and re-adds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 2 ** 40 })), {
          maxLength: 300,
        }),
        (capacity, ops) => {
          const w = new IdempotencyWindow(capacity);
          const ref = new Reference(capacity);
          for (const [k, leaf] of ops) {
            const key = `t\u0000e${k}`;
            // The hash is given as a slice of a larger buffer, as the writer does (flat hashes).
            const flat = new Uint8Array(96);
            flat.set(hashOf(leaf), 32);
            w.set(key, leaf, flat, 32);
            ref.set(key, leaf);
            expect(w.size).toBe(ref.map.size);
          }
          expectSameAs(w, ref);
          for (let k = 0; k <= 60; k++) {
            const key = `t\u0000e${k}`;
            const want = ref.map.get(key);
            const got = w.get(key);
            expect(got?.leafIndex).toBe(want);
            if (want !== undefined) expect(Buffer.from(got!.leafHash)).toEqual(Buffer.from(hashOf(want)));
            expect(w.has(key)).toBe(want !== undefined);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays exact through long runs of evictions (probe runs shift back, never lose a key)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 500, max: 3000 }), fc.nat(), (capacity, seed) => {
        const w = new IdempotencyWindow(capacity);
        const ref = new Reference(capacity);
        let s = seed;
        for (let i = 0; i < capacity * 8; i++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const key = `tenant-${s % 7}\u0000${(s >>> 3) % (capacity * 3)}`;
          w.set(key, i, hashOf(i));
          ref.set(key, i);
        }
        expect(w.size).toBe(ref.map.size);
        expectSameAs(w, ref);
        for (let k = 0; k < capacity * 3; k += 7) {
          const key = `tenant-${k % 7}\u0000${k}`;
          expect(w.get(key)?.leafIndex).toBe(ref.map.get(key));
        }
      }),
      { numRuns: 10 },
    );
  });

  it('stays exact across chunk and shard boundaries (40,000 keys: three chunks of the ring, eight shards)', () => {
    const capacity = 40_000;
    const w = new IdempotencyWindow(capacity);
    const ref = new Reference(capacity);
    let s = 7;
    for (let i = 0; i < capacity * 3; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // Keys repeat (re-adds keep their age) and the ring wraps past its partial last chunk.
      const key = `tenant-${s % 5}\u0000${(s >>> 3) % (capacity * 2)}`;
      w.set(key, i, hashOf(i));
      ref.set(key, i);
      if (i === capacity - 1) expect(w.size).toBe(ref.map.size);
    }
    expect(w.size).toBe(ref.map.size);
    expectSameAs(w, ref);
    for (let k = 0; k < capacity * 2; k += 3) {
      const key = `tenant-${k % 5}\u0000${k}`;
      const want = ref.map.get(key);
      expect(w.get(key)?.leafIndex).toBe(want);
      if (want !== undefined) expect(Buffer.from(w.get(key)!.leafHash)).toEqual(Buffer.from(hashOf(want)));
    }
    // A snapshot in slices that do not line up with chunks, while keys keep arriving.
    const sink = new FingerprintBuilder();
    const cursor = w.snapshotCursor();
    const held = w.columns().leafIndexes;
    let n = capacity * 3;
    while (cursor(sink, 6_999)) for (let i = 0; i < 1_000; i++, n++) w.set(`late${n}`, n, hashOf(n));
    const { leafIndexes } = sink.columns(w.salt);
    // 1,000 keys forgotten per slice after the first: the cursor skips them, keeps the rest in order.
    const written = new Set(leafIndexes);
    const kept = [...held].filter((leaf) => written.has(leaf));
    expect([...leafIndexes]).toEqual(kept);
    expect(leafIndexes.length).toBeGreaterThan(capacity - 6_000);
    const back = IdempotencyWindow.fromColumns(sink.columns(w.salt), capacity);
    expect(back.size).toBe(leafIndexes.length);
    for (const [key, leaf] of ref.map) if (written.has(leaf)) expect(back.get(key)?.leafIndex).toBe(leaf);
  });

  it('returns copies: a result does not change when its slot is reused', () => {
    const w = new IdempotencyWindow(1);
    w.set('a', 1, hashOf(1));
    const a = w.get('a')!;
    w.set('b', 2, hashOf(2));
    expect(w.get('a')).toBeUndefined();
    expect(Buffer.from(a.leafHash)).toEqual(Buffer.from(hashOf(1)));
    expect(a.leafIndex).toBe(1);
  });

  it('grows past its first allocation and rebuilds from its columns under the same salt (restart)', () => {
    const w = new IdempotencyWindow(5000);
    for (let i = 0; i < 6000; i++) w.set(`k${i}`, i, hashOf(i));
    expect(w.size).toBe(5000);
    expect(w.get('k999')).toBeUndefined();
    const again = IdempotencyWindow.fromColumns(w.columns(), 3000);
    expect(again.salt).toEqual(w.salt);
    expect(again.size).toBe(3000);
    expect(again.get('k2999')).toBeUndefined();
    expect(again.get('k3000')?.leafIndex).toBe(3000);
    expect(Buffer.from(again.get('k5999')!.leafHash)).toEqual(Buffer.from(hashOf(5999)));
    // Fingerprint bytes at an odd offset (as a msgpack byte string may be) read the same.
    const c = w.columns();
    const odd = new Uint8Array(c.fingerprints.length + 1).subarray(1);
    odd.set(c.fingerprints);
    const unaligned = IdempotencyWindow.fromColumns({ ...c, fingerprints: odd }, 5000);
    expect(unaligned.size).toBe(5000);
    expect(unaligned.get('k1000')?.leafIndex).toBe(1000);
    expect(unaligned.get('k5999')?.leafIndex).toBe(5999);
    // Another window salts its fingerprints differently: the columns are useless without the salt.
    const other = new IdempotencyWindow(10);
    other.set('k1', 1, hashOf(1));
    expect(Buffer.from(other.columns().fingerprints)).not.toEqual(
      Buffer.from(
        IdempotencyWindow.fromColumns({ ...w.columns(), salt: other.salt }, 10).columns().fingerprints,
      ),
    );
    expect(() => new IdempotencyWindow(0)).toThrow(RangeError);
    expect(() => new IdempotencyWindow(10, new Uint8Array(8))).toThrow('salt must be 16 bytes');
  });

  it('fingerprints well-formed keys of any length and script', () => {
    const w = new IdempotencyWindow(10);
    const keys = ['', 'é', '😀', 'ü\u0000x', 'x'.repeat(10_000), `t\u0000${'é'.repeat(600)}`];
    for (const [i, k] of keys.entries()) w.set(k, i, hashOf(i));
    for (const [i, k] of keys.entries()) expect(w.get(k)?.leafIndex).toBe(i);
    expect(w.has('x'.repeat(9_999))).toBe(false);
  });

  it('fingerprints a batch of keys exactly as one key at a time (SIMD lanes or not)', () => {
    const keyArb = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.constantFrom('', 'x'.repeat(70_000)),
    );
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 40 }), (keys) => {
        const f = new KeyFingerprinter(new Uint8Array(16).fill(7));
        const batch = new Uint32Array(4 * keys.length);
        f.fingerprintMany(keys.length, (i) => keys[i]!, batch);
        const one = new Uint32Array(4 * keys.length);
        for (const [i, k] of keys.entries()) f.fingerprint(k, one, 4 * i);
        expect(batch).toEqual(one);
      }),
      { numRuns: 200 },
    );
  });

  it('fingerprints keys given as byte tails exactly as the same keys given as strings', () => {
    const keyArb = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 5 }), keyArb), { maxLength: 40 }),
        fc.nat({ max: 5 }),
        ([...pairs], skipArb) => {
          // Each key preceded by the same number of prefix bytes (an AAD's constant prefix).
          const skip = skipArb;
          const prefix = 'p'.repeat(skip);
          const parts = pairs.map(([, k]) => Buffer.from(prefix + k, 'utf8'));
          const offsets = new Uint32Array(parts.length + 1);
          for (const [i, b] of parts.entries()) offsets[i + 1] = offsets[i]! + b.length;
          const src = Buffer.concat(parts);
          const f = new KeyFingerprinter(new Uint8Array(16).fill(3));
          const want = new Uint32Array(4 * parts.length);
          f.fingerprintMany(parts.length, (i) => pairs[i]![1], want);
          const batch = new Uint32Array(4 * parts.length);
          f.fingerprintManyBytes(parts.length, src, offsets, skip, batch);
          expect(batch).toEqual(want);
          const one = new Uint32Array(4 * parts.length);
          for (let i = 0; i < parts.length; i++) {
            f.fingerprintBytes(src.subarray(offsets[i]! + skip, offsets[i + 1]!), one, 4 * i);
          }
          expect(one).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
    const f = new KeyFingerprinter(new Uint8Array(16));
    expect(() =>
      f.fingerprintManyBytes(1, new Uint8Array(2), Uint32Array.of(0, 2), 3, new Uint32Array(4)),
    ).toThrow(RangeError);
  });

  it('snapshots in slices while keys keep arriving: the entries held at the start, oldest first, less those forgotten', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.nat(20), { maxLength: 30 }),
        // Full and wrapping (100 of 150), or not full yet (1,000 of 3,000).
        fc.constantFrom([100, 150], [3000, 1000]),
        (slice, arrivals, [capacity, initial]) => {
          const w = new IdempotencyWindow(capacity!);
          let next = 0;
          const add = () => {
            w.set(`k${next}`, next * 3, hashOf(next));
            next++;
          };
          for (let i = 0; i < initial!; i++) add();
          const atStart = [...w.columns().leafIndexes].map((n) => n / 3);
          const sink = new FingerprintBuilder();
          const cursor = w.snapshotCursor();
          const addedBefore = next;
          let forgotten = 0;
          for (let round = 0; cursor(sink, slice); round++) {
            for (let i = 0; i < (arrivals[round] ?? 0) * (capacity! > 1000 ? 10 : 1); i++) add();
            forgotten = next - capacity!;
          }
          const { leafIndexes, hashes } = sink.columns(w.salt);
          const numbers = [...leafIndexes].map((n) => n / 3);
          // Oldest first, each entry as stored, and every key held at the start that was not
          // forgotten before the cursor reached it.
          for (let i = 0; i < numbers.length; i++) {
            if (i > 0) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
            expect(Buffer.from(hashes.subarray(i * 32, (i + 1) * 32))).toEqual(
              Buffer.from(hashOf(numbers[i]!)),
            );
          }
          // Keys added after the cursor was made are left to the next snapshot (replay re-adds them).
          for (const n of numbers) expect(n).toBeLessThan(addedBefore);
          expect(numbers.length).toBeLessThanOrEqual(capacity!);
          const seen = new Set(numbers);
          for (const n of atStart) if (n >= forgotten) expect(seen.has(n)).toBe(true);
          // What the cursor wrote rebuilds a window that finds those keys.
          const back = IdempotencyWindow.fromColumns(sink.columns(w.salt), capacity!);
          for (const n of numbers) expect(back.get(`k${n}`)?.leafIndex).toBe(n * 3);
        },
      ),
    );
  });
});
