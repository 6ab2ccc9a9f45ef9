import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntityFingerprinter, EntityHeads } from '../src/entity-heads';
import { newSalt } from '../src/key-fingerprint';
import { FingerprintBuilder } from '../src/state-snapshot';

const hashOf = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, j) => (n * 11 + j * 7) & 0xff);
const keyOf = (n: number): string => `tenant-${n % 7}\u0000doc\u0000d-${n}`;

/** Sets `key`'s head as the writer does: find or add the slot, then leaf index and hash. */
function setHead(heads: EntityHeads, key: string, leafIndex: number): number {
  const slot = heads.slotForKey(key);
  heads.setLeafIndex(slot, leafIndex);
  heads.setHash(slot, hashOf(leafIndex), 0);
  return slot;
}

describe('EntityHeads', () => {
  it('fingerprints entity keys as the first 16 bytes of SHA-256(0x00 ‖ salt ‖ UTF-8(key)), one or many at a time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { minLength: 1, maxLength: 40 }),
        (keys) => {
          const salt = newSalt();
          const f = new EntityFingerprinter(salt);
          const many = new Uint32Array(keys.length * 4);
          f.fingerprintMany(keys.length, (i) => keys[i]!, many);
          keys.forEach((key, i) => {
            const digest = createHash('sha256')
              .update(Uint8Array.of(0))
              .update(salt)
              .update(key, 'utf8')
              .digest();
            const want = [0, 1, 2, 3].map((j) => digest.readUInt32LE(j * 4));
            expect([...many.subarray(i * 4, i * 4 + 4)]).toEqual(want);
            const one = new Uint32Array(6);
            f.fingerprint(key, one, 2);
            expect([...one.subarray(2)]).toEqual(want);
          });
        },
      ),
      { numRuns: 50 },
    );
  });

  it('fingerprints keys given as parts exactly as the joined keys, for any text in any part (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.string({ unit: 'grapheme', maxLength: 40 }),
            fc.string({ unit: 'binary', maxLength: 40 }),
            fc.string({ maxLength: 2000 }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        (entities) => {
          const f = new EntityFingerprinter(newSalt());
          const joined = new Uint32Array(entities.length * 4 + 4);
          const parted = new Uint32Array(entities.length * 4 + 4);
          f.fingerprintMany(entities.length, (i) => entities[i]!.join('\u0000'), joined, 4);
          f.fingerprintManyJoined(
            entities.length,
            [(i) => entities[i]![0], (i) => entities[i]![1], (i) => entities[i]![2]],
            parted,
            4,
          );
          expect(parted).toEqual(joined);
          expect(parted.subarray(0, 4)).toEqual(new Uint32Array(4));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('behaves like a map of entity key → newest head, across chunk and shard growth (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(40_000), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 0, max: 3 }),
        (entities, spread) => {
          const heads = new EntityHeads(newSalt());
          const reference = new Map<string, number>();
          const slots = new Map<string, number>();
          entities.forEach((e, leaf) => {
            const key = keyOf(e << spread);
            const slot = setHead(heads, key, leaf);
            // A key keeps its slot for good.
            expect(slots.get(key) ?? slot).toBe(slot);
            slots.set(key, slot);
            reference.set(key, leaf);
          });
          expect(heads.size).toBe(reference.size);
          for (const [key, leaf] of reference) {
            expect(heads.get(key)).toEqual({ leafIndex: leaf, leafHash: hashOf(leaf) });
          }
          expect(heads.get(keyOf(-1))).toBeUndefined();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('holds 50,000 entities (four chunks) and reads back from its columns under the same salt', () => {
    const heads = new EntityHeads(newSalt());
    for (let n = 0; n < 50_000; n++) setHead(heads, keyOf(n), n * 2);
    const sink = new FingerprintBuilder();
    expect(heads.copyKnown(sink, 0, heads.size, Number.POSITIVE_INFINITY)).toBe(50_000);
    const back = EntityHeads.fromColumns(sink.columns(heads.salt), heads.salt);
    expect(back.size).toBe(50_000);
    for (const n of [0, 16_383, 16_384, 32_768, 49_999]) {
      expect(back.get(keyOf(n))).toEqual({ leafIndex: n * 2, leafHash: hashOf(n * 2) });
    }
    // Another salt finds nothing: fingerprints are salted.
    expect(EntityHeads.fromColumns(sink.columns(heads.salt), newSalt()).get(keyOf(0))).toBeUndefined();
  });

  it('copies in slices only the heads whose hashes are known, the others left out', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.nat(2000),
        (n, slice, knownBelow) => {
          const heads = new EntityHeads(newSalt());
          for (let i = 0; i < n; i++) setHead(heads, keyOf(i), (i * 7919) % n);
          const sink = new FingerprintBuilder();
          let next = 0;
          let calls = 0;
          while (next < heads.size) {
            next = heads.copyKnown(sink, next, slice, knownBelow);
            calls++;
          }
          expect(calls).toBe(Math.ceil(n / slice));
          const copied = EntityHeads.fromColumns(sink.columns(heads.salt), heads.salt);
          for (let i = 0; i < n; i++) {
            const leaf = (i * 7919) % n;
            expect(copied.get(keyOf(i))).toEqual(
              leaf < knownBelow ? { leafIndex: leaf, leafHash: hashOf(leaf) } : undefined,
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
