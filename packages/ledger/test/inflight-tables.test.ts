import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashKey, IdTable, KeyTable } from '../src/inflight-tables';

/** A full GC (the flag exposes `gc` to contexts created after it is set). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Whether `table` lets go of a value once `remove` took it out. */
async function releases(add: (v: object) => void, remove: () => void): Promise<boolean> {
  let value: object | undefined = { payload: new Array(1000).fill(1) };
  const ref = new WeakRef(value);
  add(value);
  remove();
  value = undefined;
  // WeakRef targets stay alive until the current job ends.
  await new Promise((r) => setTimeout(r, 0));
  fullGc();
  return ref.deref() === undefined;
}

type KeyOp =
  | { op: 'set'; key: string; value: number }
  | { op: 'delete'; key: string }
  | { op: 'get'; key: string };

/** Keys from a small alphabet (many collisions of whole keys) plus some with colliding probe runs. */
const keyArb = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'tenant-1\u0000e-1', 'tenant-1\u0000e-2', '', '\u0000', 'é', '😀'),
  fc.string({ maxLength: 6 }),
  fc.nat({ max: 500 }).map((n) => `tenant-${n % 7}\u0000${n}`),
);

const keyOps = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
    },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArb }) },
  ),
  { maxLength: 400 },
);

describe('KeyTable', () => {
  it('behaves like a Map under any sequence of set, delete and get', () => {
    fc.assert(
      fc.property(keyOps, (ops: KeyOp[]) => {
        const table = new KeyTable<number>();
        const ref = new Map<string, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            table.set(o.key, o.value);
            ref.set(o.key, o.value);
          } else if (o.op === 'delete') {
            expect(table.delete(o.key)).toBe(ref.delete(o.key));
          } else {
            expect(table.get(o.key)).toBe(ref.get(o.key));
          }
          expect(table.size).toBe(ref.size);
        }
        for (const [k, v] of ref) expect(table.get(k)).toBe(v);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every key findable through growth and long add/remove churn (backward-shift deletion)', () => {
    const table = new KeyTable<number>();
    const live: string[] = [];
    let next = 0;
    // A sliding window of ~100 live keys over 20,000 keys: probe runs wrap and shift constantly.
    for (let step = 0; step < 20_000; step++) {
      const key = `t-${step % 13}\u0000${next++}`;
      table.set(key, step);
      live.push(key);
      if (live.length > 100 || (step % 7 === 0 && live.length > 0)) {
        const gone = live.splice(step % live.length, 1)[0]!;
        expect(table.delete(gone)).toBe(true);
        expect(table.get(gone)).toBeUndefined();
      }
    }
    expect(table.size).toBe(live.length);
    for (const key of live) expect(table.get(key)).toBeDefined();
    // Grows past its initial size and shrinks to empty.
    for (let i = 0; i < 5_000; i++) table.set(`bulk-${i}`, i);
    for (let i = 0; i < 5_000; i++) expect(table.get(`bulk-${i}`)).toBe(i);
    for (let i = 0; i < 5_000; i++) expect(table.delete(`bulk-${i}`)).toBe(true);
    expect(table.size).toBe(live.length);
  });

  it('spreads keys that differ only in the bits plain FNV-1a leaves out of its low bits', () => {
    // Chars of the id alphabet that agree in their low 4 bits: unseeded FNV-1a's low 4 bits (the
    // bucket of a 16-slot run) would be equal for all these keys.
    const alphabet = ['0', '@', 'P', '`', 'p'];
    const table = new KeyTable<number>();
    const keys: string[] = [];
    for (let i = 0; i < 4000; i++) {
      let id = '';
      for (let n = i, d = 0; d < 6; d++, n = Math.floor(n / alphabet.length))
        id += alphabet[n % alphabet.length];
      keys.push(`acme\u0000${id}`);
    }
    // Buckets of a 4096-slot table: ~2,550 distinct for random hashes, ≤ 256 when the low 4 bits agree.
    const buckets = new Set(keys.map((k) => hashKey(k) & 4095));
    expect(buckets.size).toBeGreaterThan(2000);
    for (let i = 0; i < keys.length; i++) table.set(keys[i]!, i);
    for (let i = 0; i < keys.length; i++) expect(table.get(keys[i]!)).toBe(i);
    for (const k of keys) table.delete(k);
    expect(table.size).toBe(0);
  });

  it('does not keep a removed value reachable (shifted neighbours included)', async () => {
    const table = new KeyTable<object>();
    for (let i = 0; i < 40; i++) table.set(`k${i}`, { i });
    expect(
      await releases(
        (v) => table.set('target', v),
        () => table.delete('target'),
      ),
    ).toBe(true);
    for (let i = 0; i < 40; i += 2) table.delete(`k${i}`);
    for (let i = 1; i < 40; i += 2) expect(table.get(`k${i}`)).toEqual({ i });
  });
});

describe('IdTable', () => {
  it('behaves like a Map for increasing ids answered in any order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant('add' as const), fc.nat({ max: 1000 })), { maxLength: 400 }),
        fc.nat({ max: 2 ** 40 }),
        (ops, base) => {
          const table = new IdTable<number>();
          const ref = new Map<number, number>();
          let nextId = base;
          for (const o of ops) {
            if (o === 'add') {
              table.set(nextId, nextId * 2);
              ref.set(nextId, nextId * 2);
              nextId++;
            } else {
              // Take one of the held ids (or a never-used one).
              const held = [...ref.keys()];
              const id = held.length === 0 ? nextId + o : held[o % held.length]!;
              expect(table.take(id)).toBe(ref.get(id));
              ref.delete(id);
            }
            expect(table.size).toBe(ref.size);
          }
          for (const [id, v] of ref) expect(table.get(id)).toBe(v);
          expect(table.drain().sort((a, b) => a - b)).toEqual([...ref.values()].sort((a, b) => a - b));
          expect(table.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps an old request open far behind the newest (past the largest table, aside)', () => {
    const table = new IdTable<string>();
    table.set(0, 'oldest');
    table.set(7, 'seven');
    for (let id = 8; id < 300_000; id++) {
      table.set(id, `r${id}`);
      if (id % 3 !== 0) expect(table.take(id)).toBe(`r${id}`);
      if (id % 3 === 0 && id > 38) expect(table.take(id - 30)).toBe(`r${id - 30}`);
    }
    expect(table.get(0)).toBe('oldest');
    expect(table.get(7)).toBe('seven');
    expect(table.take(7)).toBe('seven');
    expect(table.take(0)).toBe('oldest');
    // Held ids far apart (a spread no slot array could cover).
    table.set(2 ** 40, 'far');
    table.set(3, 'near');
    expect(table.get(2 ** 40)).toBe('far');
    expect(() => table.set(2 ** 40, 'again')).toThrow(/already held/);
    const rest = table.drain();
    expect(rest).toContain('far');
    expect(rest).toContain('near');
    expect(table.size).toBe(0);
    expect(table.get(3)).toBeUndefined();
  });

  it('does not keep a taken value reachable', async () => {
    const table = new IdTable<object>();
    expect(
      await releases(
        (v) => table.set(3, v),
        () => table.take(3),
      ),
    ).toBe(true);
  });

  it('rejects bad and repeated ids', () => {
    const table = new IdTable<number>();
    expect(() => table.set(-1, 0)).toThrow(RangeError);
    expect(() => table.set(1.5, 0)).toThrow(RangeError);
    table.set(7, 1);
    expect(() => table.set(7, 2)).toThrow(/already held/);
    expect(table.get(7)).toBe(1);
    expect(table.take(-3)).toBeUndefined();
    expect(table.take(8)).toBeUndefined();
  });
});
