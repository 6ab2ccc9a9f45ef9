import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdempotencyWindow } from '../src/idempotency-window';
import { ColumnBuilder } from '../src/state-snapshot';

const hashOf = (n: number): Uint8Array => {
  const h = new Uint8Array(32);
  new DataView(h.buffer).setFloat64(0, n);
  h[31] = n & 0xff;
  return h;
};

/** The behaviour the log relies on: a FIFO map of the newest `capacity` keys. */
class Reference {
  readonly map = new Map<string, number>();
  constructor(readonly capacity: number) {}
  set(key: string, leafIndex: number): void {
    this.map.delete(key);
    this.map.set(key, leafIndex);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
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
          expect([...w.entries()].map(([k, r]) => [k, r.leafIndex])).toEqual([...ref.map]);
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

  it('returns copies: a result does not change when its slot is reused', () => {
    const w = new IdempotencyWindow(1);
    w.set('a', 1, hashOf(1));
    const a = w.get('a')!;
    w.set('b', 2, hashOf(2));
    expect(w.get('a')).toBeUndefined();
    expect(Buffer.from(a.leafHash)).toEqual(Buffer.from(hashOf(1)));
    expect(a.leafIndex).toBe(1);
  });

  it('grows past its first allocation and rebuilds from entries (restart from a snapshot)', () => {
    const w = new IdempotencyWindow(5000);
    for (let i = 0; i < 6000; i++) w.set(`k${i}`, i, hashOf(i));
    expect(w.size).toBe(5000);
    expect(w.get('k999')).toBeUndefined();
    const columns = new ColumnBuilder();
    w.snapshotCursor()(columns, Number.POSITIVE_INFINITY);
    const again = IdempotencyWindow.fromColumns(columns.columns(), 3000);
    expect(again.size).toBe(3000);
    expect(again.get('k2999')).toBeUndefined();
    expect(again.get('k5999')?.leafIndex).toBe(5999);
    expect(() => new IdempotencyWindow(0)).toThrow(RangeError);
  });

  it('snapshots in slices while keys keep arriving: a FIFO run of consistent entries, none lost', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.nat(20), { maxLength: 30 }),
        (slice, arrivals) => {
          const w = new IdempotencyWindow(100);
          let next = 0;
          const add = () => {
            w.set(`k${next}`, next * 3, hashOf(next));
            next++;
          };
          for (let i = 0; i < 150; i++) add();
          const atStart = new Set([...w.entries()].map(([k]) => k));
          const sink = new ColumnBuilder();
          const cursor = w.snapshotCursor();
          let forgotten = 0;
          for (let round = 0; cursor(sink, slice); round++) {
            for (let i = 0; i < (arrivals[round] ?? 0); i++) add();
            forgotten = next - 100;
          }
          const { keys, leafIndexes, hashes } = sink.columns();
          const numbers = keys.map((k) => Number(k.slice(1)));
          // Oldest first, each entry as stored, and every key held at the start that was not
          // forgotten before the cursor reached it.
          for (let i = 0; i < keys.length; i++) {
            if (i > 0) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
            expect(leafIndexes[i]).toBe(numbers[i]! * 3);
            expect(Buffer.from(hashes.subarray(i * 32, (i + 1) * 32))).toEqual(
              Buffer.from(hashOf(numbers[i]!)),
            );
          }
          const seen = new Set(keys);
          for (const k of atStart) if (Number(k.slice(1)) >= forgotten) expect(seen.has(k)).toBe(true);
        },
      ),
    );
  });
});
