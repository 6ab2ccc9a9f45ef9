import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
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
          const { bytes, busyMs } = await encodeSnapshotSliced(s, 512 + seed * 16);
          expect(busyMs).toBeGreaterThanOrEqual(0);
          const dir = tempDir();
          await writeSnapshotBytes(dir, bytes);
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

  it('refuses a snapshot of an unknown version', async () => {
    const dir = tempDir();
    await writeSnapshotBytes(dir, pack([2, 0, [], []]));
    expect(() => readSnapshot(dir)).toThrow('unsupported version 2');
  });
});
