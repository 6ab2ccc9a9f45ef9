import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { EntityHeads, type HeadColumns } from '../src/entity-heads';
import { IdempotencyWindow } from '../src/idempotency-window';
import {
  encodeSnapshotSliced,
  FingerprintBuilder,
  type FingerprintColumns,
  headsCursorOf,
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
const headKey = (i: number) => `t\u0000doc\u0000${i}`;

type Row = readonly [key: string, leafIndex: number, hash: Uint8Array];

/** Heads of `rows` as columns, fingerprinted under `salt` (as the writer keeps them). */
function headColumns(rows: readonly Row[], salt: Uint8Array): HeadColumns {
  const heads = new EntityHeads(salt);
  for (const [key, leafIndex, hash] of rows) {
    const slot = heads.slotForKey(key);
    heads.setLeafIndex(slot, leafIndex);
    heads.setHash(slot, hash, 0);
  }
  const sink = new FingerprintBuilder();
  heads.copyKnown(sink, 0, heads.size, Number.POSITIVE_INFINITY);
  return sink.columns(salt);
}

/** Every row's key is found in `heads` (under `salt`) with its leaf index and hash. */
function expectHeadsHold(heads: HeadColumns, salt: Uint8Array, rows: readonly Row[]): void {
  const back = EntityHeads.fromColumns(heads, salt);
  expect(back.size).toBe(rows.length);
  for (const [key, leafIndex, hash] of rows) {
    expect(back.get(key), key).toEqual({ leafIndex, leafHash: hash });
  }
}

function snapshotOf(
  heads: number,
  idem: number,
  seed: number,
): { s: StateSnapshot; window: IdempotencyWindow; rows: Row[] } {
  const window = new IdempotencyWindow(Math.max(1, idem));
  for (let i = 0; i < idem; i++) window.set(idemKey(i), i * 2, hashOf(i + 7, seed));
  const rows: Row[] = Array.from({ length: heads }, (_, i) => [headKey(i), i, hashOf(i, seed)]);
  return {
    s: { size: heads + idem + seed, heads: headColumns(rows, window.salt), idempotency: window.columns() },
    window,
    rows,
  };
}

const flatHeads = (c: HeadColumns) =>
  [
    c.fingerprints,
    new Uint8Array(c.leafIndexes.buffer, c.leafIndexes.byteOffset, c.leafIndexes.byteLength),
    c.hashes,
  ]
    .map((b) => Buffer.from(b).toString('hex'))
    .join('/');

/** Every key `0 … n-1` is found in the window read back, with its leaf index and hash. */
function expectWindowHolds(columns: FingerprintColumns, n: number, seed: number): void {
  const w = IdempotencyWindow.fromColumns(columns, Math.max(1, n));
  expect(w.size).toBe(n);
  for (let i = 0; i < n; i++) {
    const r = w.get(idemKey(i));
    expect(r?.leafIndex).toBe(i * 2);
    expect(Buffer.from(r!.leafHash)).toEqual(Buffer.from(hashOf(i + 7, seed)));
  }
  expect(w.has(idemKey(n))).toBe(false);
}

/** A version 2-4 key section (lengths, one block, f64 LE, hashes); `utf16` for any text. */
function keySection(rows: readonly Row[], utf16 = false): unknown[] {
  const text = rows.map(([k]) => k).join('');
  return [
    new Uint8Array(Uint32Array.from(rows.map(([k]) => k.length)).buffer),
    [utf16 ? [2, Buffer.from(text, 'utf16le')] : [1, Buffer.from(text, 'latin1')]],
    new Uint8Array(Float64Array.from(rows.map(([, n]) => n)).buffer),
    Buffer.concat(rows.map(([, , h]) => h)),
  ];
}

const EMPTY_KEYS = [new Uint8Array(0), [], new Uint8Array(0), new Uint8Array(0)];
const EMPTY_HEADS = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];

describe('state snapshot', () => {
  it('encodes in slices to the same value as in one piece, and reads back what was written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 4095, 4096, 4097, 9000),
        fc.constantFrom(0, 1, 4096, 8193),
        fc.nat(255),
        async (heads, idem, seed) => {
          const { s, window, rows } = snapshotOf(heads, idem, seed);
          const dir = tempDir();
          const journal = new WindowJournal(dir, window.salt, undefined, 1000);
          const {
            parts,
            busyMs,
            window: ref,
          } = await encodeSnapshotSliced(
            {
              size: s.size,
              heads: headsCursorOf(s.heads),
              window: () => journal.write(window, window.firstSequence, window.endSequence),
            },
            64 + seed * 2,
          );
          expect(busyMs).toBeGreaterThanOrEqual(0);
          expect(ref).toMatchObject({ first: 0, end: idem, entriesPerFile: 1000 });
          await writeSnapshotBytes(dir, parts);
          const back = readSnapshot(dir)!;
          expect(back.size).toBe(s.size);
          expect(flatHeads(back.heads)).toBe(flatHeads(s.heads));
          expectHeadsHold(back.heads, back.idempotency.salt, rows);
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

  it('reads versions 1 and 2 (keys as text), fingerprinting heads and window keys under one fresh salt', async () => {
    const { s, rows } = snapshotOf(300, 700, 5);
    const keyed: Row[] = Array.from({ length: 700 }, (_, i) => [idemKey(i), i * 2, hashOf(i + 7, 5)]);
    const v1 = tempDir();
    await writeSnapshotBytes(v1, pack([1, s.size, rows, keyed]));
    const v2 = tempDir();
    await writeSnapshotBytes(v2, pack([2, s.size, keySection(rows), keySection(keyed)]));
    for (const dir of [v1, v2]) {
      const back = readSnapshot(dir)!;
      expect(back.size).toBe(s.size);
      expect(back.idempotency.salt).not.toEqual(s.idempotency.salt);
      expectHeadsHold(back.heads, back.idempotency.salt, rows);
      expectWindowHolds(back.idempotency, 700, 5);
    }
  });

  it('reads versions 3 (the window inside) and 4 (window files, heads as text) under the window salt', async () => {
    const { s, window, rows } = snapshotOf(50, 600, 9);
    const c = s.idempotency;
    const v3 = tempDir();
    const indexes = new Uint8Array(c.leafIndexes.buffer, c.leafIndexes.byteOffset, c.leafIndexes.byteLength);
    await writeSnapshotBytes(
      v3,
      pack([3, s.size, keySection(rows), [c.salt, c.fingerprints, indexes, c.hashes]]),
    );
    const v4 = tempDir();
    const ref = await new WindowJournal(v4, window.salt, undefined).write(window, 0, 600);
    await writeSnapshotBytes(
      v4,
      pack([4, s.size, keySection(rows), [ref.salt, ref.first, ref.end, ref.entriesPerFile]]),
    );
    for (const dir of [v3, v4]) {
      const back = readSnapshot(dir)!;
      expect(flatWindow(back.idempotency)).toBe(flatWindow(c));
      expect(flatHeads(back.heads)).toBe(flatHeads(s.heads));
      expectHeadsHold(back.heads, c.salt, rows);
    }
  });

  it('fingerprints the keys of earlier versions exactly, whatever their text (lone surrogates included)', async () => {
    const hash = new Uint8Array(32).fill(3);
    const keys = [
      't\u0000doc\u0000plain',
      't\u0000doc\u0000é',
      't\u0000doc\u0000😀',
      't\u0000doc\u0000\ud800x',
      '',
    ];
    const rows: Row[] = keys.map((k, i) => [k, i, hash]);
    const window = new IdempotencyWindow(10);
    const c = window.columns();
    const dir = tempDir();
    await writeSnapshotBytes(
      dir,
      pack([3, 5, keySection(rows, true), [c.salt, c.fingerprints, new Uint8Array(0), c.hashes]]),
    );
    expectHeadsHold(readSnapshot(dir)!.heads, window.salt, rows);
  });

  it('keeps leaf indexes beyond 2^32 exact', async () => {
    const hash = new Uint8Array(32).fill(7);
    const big = [2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 5 * 2 ** 40 + 123];
    const window = new IdempotencyWindow(10);
    for (const n of big) window.set(`i${n}`, n, hash);
    const rows: Row[] = big.map((n) => [`h${n}`, n, hash]);
    const s: StateSnapshot = {
      size: 2 ** 53 - 1,
      heads: headColumns(rows, window.salt),
      idempotency: window.columns(),
    };
    const dir = tempDir();
    await writeSnapshot(dir, s);
    const back = readSnapshot(dir)!;
    expect([...back.heads.leafIndexes]).toEqual(big);
    expectHeadsHold(back.heads, window.salt, rows);
    expect([...back.idempotency.leafIndexes]).toEqual(big);
    const w = IdempotencyWindow.fromColumns(back.idempotency, 10);
    for (const n of big) expect(w.get(`i${n}`)?.leafIndex).toBe(n);
  });

  it('refuses a snapshot of an unknown version, or with columns of different lengths', async () => {
    const dir = tempDir();
    await writeSnapshotBytes(dir, pack([6, 0, [], []]));
    expect(() => readSnapshot(dir)).toThrow('unsupported version 6');
    const salt = new Uint8Array(16);
    // Version 5: heads columns and the window reference are checked, the files must be there.
    for (const heads of [[], EMPTY_KEYS, [new Uint8Array(16), new Uint8Array(8), new Uint8Array(31)], 'x']) {
      await writeSnapshotBytes(dir, pack([5, 1, heads, [salt, 0, 0, 8]]));
      expect(() => readSnapshot(dir)).toThrow(/^state snapshot: heads: /);
    }
    for (const bad of [-1, 0.5, 2 ** 53]) {
      const indexes = new Uint8Array(Float64Array.of(bad).buffer);
      await writeSnapshotBytes(
        dir,
        pack([5, 1, [new Uint8Array(16), indexes, new Uint8Array(32)], [salt, 0, 0, 8]]),
      );
      expect(() => readSnapshot(dir)).toThrow(`state snapshot: heads: entry 0 has leaf index ${bad}`);
    }
    for (const version of [4, 5]) {
      const heads = version === 4 ? EMPTY_KEYS : EMPTY_HEADS;
      for (const malformed of [
        [],
        [salt, 0, 0],
        [salt.subarray(1), 0, 0, 8],
        [salt, 3, 2, 8],
        [salt, 0, 1, 0],
        [salt, -1, 0, 8],
      ]) {
        await writeSnapshotBytes(dir, pack([version, 1, heads, malformed]));
        expect(() => readSnapshot(dir)).toThrow(
          'state snapshot: idempotency: expected [16-byte salt, first, end ≥ first, entries per file ≥ 1]',
        );
      }
      await writeSnapshotBytes(dir, pack([version, 1, heads, [salt, 0, 1, 8]]));
      expect(() => readSnapshot(dir)).toThrow(`state snapshot: ${windowFileName(0)}: ENOENT`);
    }
    // Version 3 columns are still checked.
    const window = (saltBytes: number, fps: number, indexes: number, hashes: number) =>
      [saltBytes, fps, indexes, hashes].map((n) => new Uint8Array(n));
    const key = [[1, Buffer.from('k')]];
    await writeSnapshotBytes(
      dir,
      pack([3, 1, [new Uint8Array(4), key, new Uint8Array(8), new Uint8Array(31)], window(16, 0, 0, 0)]),
    );
    expect(() => readSnapshot(dir)).toThrow('heads: 4 length, 8 index and 31 hash bytes do not describe');
    await writeSnapshotBytes(dir, pack([3, 1, EMPTY_KEYS, window(16, 16, 8, 31)]));
    expect(() => readSnapshot(dir)).toThrow(
      'idempotency: 16 salt, 16 fingerprint, 8 index and 31 hash bytes',
    );
    await writeSnapshotBytes(dir, pack([3, 1, EMPTY_KEYS, window(15, 16, 8, 32)]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: 15 salt');
    for (const malformed of [[], [1, 2, 3, 4], window(16, 0, 0, 0).slice(1), 'x']) {
      await writeSnapshotBytes(dir, pack([3, 1, EMPTY_KEYS, malformed]));
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
    await writeSnapshotBytes(dir, pack([2, 1, EMPTY_KEYS, one([2], key)]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: key 0 runs past its block');
    await writeSnapshotBytes(dir, pack([2, 1, EMPTY_KEYS, one([1], [[9, Buffer.from('k')]])]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: unknown key encoding 9');
    await writeSnapshotBytes(dir, pack([2, 1, EMPTY_KEYS, one([1, 1], key)]));
    expect(() => readSnapshot(dir)).toThrow('idempotency: 2 keys expected, 1 found');
  });
});
