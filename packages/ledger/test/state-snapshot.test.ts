import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  cursorOf,
  encodeSnapshot,
  encodeSnapshotSliced,
  readSnapshot,
  type StateSnapshot,
  writeSnapshotBytes,
} from '../src/state-snapshot';
import { tempDir } from './helpers';

function snapshotOf(heads: number, idem: number, seed: number): StateSnapshot {
  const hash = (i: number) => Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j + seed) & 0xff);
  return {
    size: heads + idem + seed,
    heads: new Map(
      Array.from({ length: heads }, (_, i) => [`t\u0000doc\u0000${i}`, { leafIndex: i, leafHash: hash(i) }]),
    ),
    idempotency: new Map(
      Array.from({ length: idem }, (_, i) => [`t\u0000ev-${i}`, { leafIndex: i * 2, leafHash: hash(i + 7) }]),
    ),
  };
}

describe('state snapshot', () => {
  it('encodes in slices to the same value as in one piece, and reads back what was written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 4095, 4096, 4097, 9000),
        fc.constantFrom(0, 1, 4096, 8193),
        fc.nat(255),
        async (heads, idem, seed) => {
          const s = snapshotOf(heads, idem, seed);
          const { parts, busyMs } = await encodeSnapshotSliced(
            { size: s.size, heads: cursorOf(s.heads), idempotency: cursorOf(s.idempotency) },
            512 + seed * 16,
          );
          expect(busyMs).toBeGreaterThanOrEqual(0);
          const dir = tempDir();
          await writeSnapshotBytes(dir, parts);
          const back = readSnapshot(dir)!;
          expect(back.size).toBe(s.size);
          const flat = (m: StateSnapshot['heads']) =>
            [...m]
              .map(([k, v]) => `${k}/${v.leafIndex}/${Buffer.from(v.leafHash).toString('hex')}`)
              .join('\n');
          expect(flat(back.heads)).toBe(flat(s.heads));
          expect(flat(back.idempotency)).toBe(flat(s.idempotency));
          // One-piece encoding of the same snapshot reads back identically.
          const whole = tempDir();
          await writeSnapshotBytes(whole, encodeSnapshot(s));
          const again = readSnapshot(whole)!;
          expect(flat(again.heads)).toBe(flat(back.heads));
          expect(flat(again.idempotency)).toBe(flat(back.idempotency));
        },
      ),
      { numRuns: 12 },
    );
  });

  it('reads version 1 snapshots (tuples) as written by earlier releases', async () => {
    const s = snapshotOf(300, 700, 5);
    const tuples = (m: StateSnapshot['heads']) => [...m].map(([k, v]) => [k, v.leafIndex, v.leafHash]);
    const dir = tempDir();
    await writeSnapshotBytes(dir, pack([1, s.size, tuples(s.heads), tuples(s.idempotency)]));
    const back = readSnapshot(dir)!;
    expect(back.size).toBe(s.size);
    expect([...back.heads].map(([k, v]) => [k, v.leafIndex, Buffer.from(v.leafHash)])).toEqual(
      [...s.heads].map(([k, v]) => [k, v.leafIndex, Buffer.from(v.leafHash)]),
    );
    expect([...back.idempotency].map(([k, v]) => [k, v.leafIndex])).toEqual(
      [...s.idempotency].map(([k, v]) => [k, v.leafIndex]),
    );
  });

  it('keeps keys of any text exact, lone surrogates included', async () => {
    const hash = new Uint8Array(32).fill(3);
    const keys = [
      't\u0000doc\u0000plain',
      't\u0000doc\u0000é',
      't\u0000doc\u0000😀',
      't\u0000doc\u0000\ud800x',
      '',
    ];
    const s: StateSnapshot = {
      size: 5,
      heads: new Map(keys.map((k, i) => [k, { leafIndex: i, leafHash: hash }])),
      idempotency: new Map(),
    };
    const dir = tempDir();
    const { parts } = await encodeSnapshotSliced(
      { size: s.size, heads: cursorOf(s.heads), idempotency: cursorOf(s.idempotency) },
      2,
    );
    await writeSnapshotBytes(dir, parts);
    expect([...readSnapshot(dir)!.heads.keys()]).toEqual(keys);
  });

  it('keeps leaf indexes beyond 2^32 exact', async () => {
    const hash = new Uint8Array(32).fill(7);
    const big = [2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 5 * 2 ** 40 + 123];
    const s: StateSnapshot = {
      size: 2 ** 53 - 1,
      heads: new Map(big.map((n) => [`h${n}`, { leafIndex: n, leafHash: hash }])),
      idempotency: new Map(big.map((n) => [`i${n}`, { leafIndex: n, leafHash: hash }])),
    };
    const dir = tempDir();
    await writeSnapshotBytes(dir, encodeSnapshot(s));
    const back = readSnapshot(dir)!;
    expect([...back.heads.values()].map((v) => v.leafIndex)).toEqual(big);
    expect([...back.idempotency.values()].map((v) => v.leafIndex)).toEqual(big);
  });

  it('refuses a snapshot of an unknown version, or with columns of different lengths', async () => {
    const dir = tempDir();
    await writeSnapshotBytes(dir, pack([3, 0, [], []]));
    expect(() => readSnapshot(dir)).toThrow('unsupported version 3');
    const empty = [new Uint8Array(0), [], new Uint8Array(0), new Uint8Array(0)];
    const key = [[1, Buffer.from('k')]];
    await writeSnapshotBytes(
      dir,
      pack([2, 1, [new Uint8Array(4), key, new Uint8Array(8), new Uint8Array(31)], empty]),
    );
    expect(() => readSnapshot(dir)).toThrow('heads: 4 length, 8 index and 31 hash bytes do not describe');
    const one = (lengths: number[], blocks: unknown[]) => [
      new Uint8Array(Uint32Array.from(lengths).buffer),
      blocks,
      new Uint8Array(8 * lengths.length),
      new Uint8Array(32 * lengths.length),
    ];
    await writeSnapshotBytes(dir, pack([2, 1, empty, one([2], key)]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: key 0 runs past its block');
    await writeSnapshotBytes(dir, pack([2, 1, empty, one([1], [[9, Buffer.from('k')]])]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: unknown key encoding 9');
    await writeSnapshotBytes(dir, pack([2, 1, empty, one([1, 1], key)]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: 2 keys expected, 1 found');
  });
});
