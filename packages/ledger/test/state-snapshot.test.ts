import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { IdempotencyWindow } from '../src/idempotency-window';
import {
  cursorOf,
  encodeSnapshotSliced,
  type FingerprintColumns,
  readSnapshot,
  type StateSnapshot,
  writeSnapshot,
  writeSnapshotBytes,
} from '../src/state-snapshot';
import { WindowJournal, windowFileName } from '../src/window-journal';
import { flatWindow, tempDir } from './helpers';

const hashOf = (i: number, seed: number) =>
  Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j + seed) & 0xff);
const idemKey = (i: number) => `t\u0000ev-${i}`;

function snapshotOf(
  heads: number,
  idem: number,
  seed: number,
): { s: StateSnapshot; window: IdempotencyWindow } {
  const window = new IdempotencyWindow(Math.max(1, idem));
  for (let i = 0; i < idem; i++) window.set(idemKey(i), i * 2, hashOf(i + 7, seed));
  return {
    s: {
      size: heads + idem + seed,
      heads: new Map(
        Array.from({ length: heads }, (_, i) => [
          `t\u0000doc\u0000${i}`,
          { leafIndex: i, leafHash: hashOf(i, seed) },
        ]),
      ),
      idempotency: window.columns(),
    },
    window,
  };
}

const flatHeads = (m: StateSnapshot['heads']) =>
  [...m].map(([k, v]) => `${k}/${v.leafIndex}/${Buffer.from(v.leafHash).toString('hex')}`).join('\n');
/** Every key `0 … n-1` is found in the window read back, with its leaf index and hash. */
function expectWindowHolds(
  columns: FingerprintColumns,
  n: number,
  seed: number,
  leafOf = (i: number) => i * 2,
): void {
  const w = IdempotencyWindow.fromColumns(columns, Math.max(1, n));
  expect(w.size).toBe(n);
  for (let i = 0; i < n; i++) {
    const r = w.get(idemKey(i));
    expect(r?.leafIndex).toBe(leafOf(i));
    expect(Buffer.from(r!.leafHash)).toEqual(Buffer.from(hashOf(i + 7, seed)));
  }
  expect(w.has(idemKey(n))).toBe(false);
}

describe('state snapshot', () => {
  it('encodes in slices to the same value as in one piece, and reads back what was written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 4095, 4096, 4097, 9000),
        fc.constantFrom(0, 1, 4096, 8193),
        fc.nat(255),
        async (heads, idem, seed) => {
          const { s, window } = snapshotOf(heads, idem, seed);
          const dir = tempDir();
          const journal = new WindowJournal(dir, window.salt, undefined, 1000);
          const {
            parts,
            busyMs,
            window: ref,
          } = await encodeSnapshotSliced(
            {
              size: s.size,
              heads: cursorOf(s.heads),
              window: () => journal.write(window, window.firstSequence, window.endSequence),
            },
            512 + seed * 16,
          );
          expect(busyMs).toBeGreaterThanOrEqual(0);
          expect(ref).toMatchObject({ first: 0, end: idem, entriesPerFile: 1000 });
          await writeSnapshotBytes(dir, parts);
          const back = readSnapshot(dir)!;
          expect(back.size).toBe(s.size);
          expect(flatHeads(back.heads)).toBe(flatHeads(s.heads));
          expect(flatWindow(back.idempotency)).toBe(flatWindow(s.idempotency));
          expectWindowHolds(back.idempotency, idem, seed);
          // One-piece writing of the same snapshot reads back identically.
          const whole = tempDir();
          await writeSnapshot(whole, s);
          const again = readSnapshot(whole)!;
          expect(flatHeads(again.heads)).toBe(flatHeads(back.heads));
          expect(flatWindow(again.idempotency)).toBe(flatWindow(back.idempotency));
        },
      ),
      { numRuns: 12 },
    );
  });

  it('reads version 1 (tuples) and version 2 (key text) snapshots as written by earlier releases', async () => {
    const { s } = snapshotOf(300, 700, 5);
    const keyed = Array.from({ length: 700 }, (_, i) => [idemKey(i), i * 2, hashOf(i + 7, 5)] as const);
    const tuples = [...s.heads].map(([k, v]) => [k, v.leafIndex, v.leafHash]);
    const v1 = tempDir();
    await writeSnapshotBytes(v1, pack([1, s.size, tuples, keyed]));
    // Version 2: the same columns for both maps (lengths, one latin1 block, f64 LE, hashes).
    const section = (rows: readonly (readonly [string, number, Uint8Array])[]) => [
      new Uint8Array(Uint32Array.from(rows.map(([k]) => k.length)).buffer),
      [[1, Buffer.from(rows.map(([k]) => k).join(''), 'latin1')]],
      new Uint8Array(Float64Array.from(rows.map(([, n]) => n)).buffer),
      Buffer.concat(rows.map(([, , h]) => h)),
    ];
    const v2 = tempDir();
    await writeSnapshotBytes(
      v2,
      pack([2, s.size, section(tuples as [string, number, Uint8Array][]), section(keyed)]),
    );
    for (const dir of [v1, v2]) {
      const back = readSnapshot(dir)!;
      expect(back.size).toBe(s.size);
      expect(flatHeads(back.heads)).toBe(flatHeads(s.heads));
      // Keys were fingerprinted under a fresh salt: every key is still found.
      expect(back.idempotency.salt).not.toEqual(s.idempotency.salt);
      expectWindowHolds(back.idempotency, 700, 5);
    }
  });

  it('reads version 3 snapshots (the window in the snapshot) and keeps their salt', async () => {
    const { s } = snapshotOf(50, 600, 9);
    const c = s.idempotency;
    const section = [
      new Uint8Array(Uint32Array.from([...s.heads.keys()].map((k) => k.length)).buffer),
      [[1, Buffer.from([...s.heads.keys()].join(''), 'latin1')]],
      new Uint8Array(Float64Array.from([...s.heads.values()].map((v) => v.leafIndex)).buffer),
      Buffer.concat([...s.heads.values()].map((v) => v.leafHash)),
    ];
    const dir = tempDir();
    const indexes = new Uint8Array(c.leafIndexes.buffer, c.leafIndexes.byteOffset, c.leafIndexes.byteLength);
    await writeSnapshotBytes(dir, pack([3, s.size, section, [c.salt, c.fingerprints, indexes, c.hashes]]));
    const back = readSnapshot(dir)!;
    expect(flatHeads(back.heads)).toBe(flatHeads(s.heads));
    expect(flatWindow(back.idempotency)).toBe(flatWindow(c));
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
    const window = new IdempotencyWindow(10);
    const s: StateSnapshot = {
      size: 5,
      heads: new Map(keys.map((k, i) => [k, { leafIndex: i, leafHash: hash }])),
      idempotency: window.columns(),
    };
    const dir = tempDir();
    await writeSnapshot(dir, s);
    expect([...readSnapshot(dir)!.heads.keys()]).toEqual(keys);
  });

  it('keeps leaf indexes beyond 2^32 exact', async () => {
    const hash = new Uint8Array(32).fill(7);
    const big = [2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 5 * 2 ** 40 + 123];
    const window = new IdempotencyWindow(10);
    for (const n of big) window.set(`i${n}`, n, hash);
    const s: StateSnapshot = {
      size: 2 ** 53 - 1,
      heads: new Map(big.map((n) => [`h${n}`, { leafIndex: n, leafHash: hash }])),
      idempotency: window.columns(),
    };
    const dir = tempDir();
    await writeSnapshot(dir, s);
    const back = readSnapshot(dir)!;
    expect([...back.heads.values()].map((v) => v.leafIndex)).toEqual(big);
    expect([...back.idempotency.leafIndexes]).toEqual(big);
    const w = IdempotencyWindow.fromColumns(back.idempotency, 10);
    for (const n of big) expect(w.get(`i${n}`)?.leafIndex).toBe(n);
  });

  it('refuses a snapshot of an unknown version, or with columns of different lengths', async () => {
    const dir = tempDir();
    await writeSnapshotBytes(dir, pack([5, 0, [], []]));
    expect(() => readSnapshot(dir)).toThrow('unsupported version 5');
    // Version 4: the window reference is checked, and the files it names must be there.
    const salt = new Uint8Array(16);
    for (const malformed of [
      [],
      [salt, 0, 0],
      [salt.subarray(1), 0, 0, 8],
      [salt, 3, 2, 8],
      [salt, 0, 1, 0],
      [salt, -1, 0, 8],
    ]) {
      await writeSnapshotBytes(
        dir,
        pack([4, 1, [new Uint8Array(0), [], new Uint8Array(0), new Uint8Array(0)], malformed]),
      );
      expect(() => readSnapshot(dir)).toThrow(
        'state snapshot: idempotency: expected [16-byte salt, first, end ≥ first, entries per file ≥ 1]',
      );
    }
    await writeSnapshotBytes(
      dir,
      pack([4, 1, [new Uint8Array(0), [], new Uint8Array(0), new Uint8Array(0)], [salt, 0, 1, 8]]),
    );
    expect(() => readSnapshot(dir)).toThrow(`state snapshot: ${windowFileName(0)}: ENOENT`);
    const empty = [new Uint8Array(0), [], new Uint8Array(0), new Uint8Array(0)];
    const window = (salt: number, fps: number, indexes: number, hashes: number) =>
      [salt, fps, indexes, hashes].map((n) => new Uint8Array(n));
    const key = [[1, Buffer.from('k')]];
    await writeSnapshotBytes(
      dir,
      pack([3, 1, [new Uint8Array(4), key, new Uint8Array(8), new Uint8Array(31)], window(16, 0, 0, 0)]),
    );
    expect(() => readSnapshot(dir)).toThrow('heads: 4 length, 8 index and 31 hash bytes do not describe');
    await writeSnapshotBytes(dir, pack([3, 1, empty, window(16, 16, 8, 31)]));
    expect(() => readSnapshot(dir)).toThrow(
      'idempotency: 16 salt, 16 fingerprint, 8 index and 31 hash bytes',
    );
    await writeSnapshotBytes(dir, pack([3, 1, empty, window(15, 16, 8, 32)]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: 15 salt');
    for (const malformed of [[], [1, 2, 3, 4], window(16, 0, 0, 0).slice(1), 'x']) {
      await writeSnapshotBytes(dir, pack([3, 1, empty, malformed]));
      expect(() => readSnapshot(dir)).toThrow(
        'state snapshot: idempotency: expected an array of 4 byte strings',
      );
    }
    // Version 2 key columns are still checked.
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
