/**
 * Idempotency-key fingerprints as the prepare worker makes them, per append of 32 events
 * (`tenant "\0" UUIDv7`, 47 bytes + a 16-byte salt: two SHA-256 blocks each): one `crypto.hash`
 * call per key against one batch through `@sealog/merkle`'s SIMD lanes (`sha256Many`). Both give
 * the same words (checked before timing).
 */
import { bench, describe } from 'vitest';
import { EntityFingerprinter } from '../src/entity-heads';
import { newEventId } from '../src/event-id';
import { idempotencyKey, KeyFingerprinter } from '../src/key-fingerprint';
import { entityKeyOf } from '../src/record-prep';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
const OPTIONS = QUICK ? { time: 50, iterations: 3 } : { time: 1000, iterations: 20 };
const N = 32;
const keys = Array.from({ length: N }, (_, i) =>
  idempotencyKey(`tenant-${String(i % 40).padStart(3, '0')}`, newEventId()),
);
const f = new KeyFingerprinter(new Uint8Array(16).fill(3));
const one = new Uint32Array(4 * N);
const many = new Uint32Array(4 * N);
for (let i = 0; i < N; i++) f.fingerprint(keys[i]!, one, 4 * i);
f.fingerprintMany(N, (i) => keys[i]!, many);
if (!one.every((w, i) => w === many[i])) throw new Error('benchmark self-check failed: batch ≠ one by one');

describe(`idempotency fingerprints, ${N} keys per op`, () => {
  bench(
    'crypto.hash per key (KeyFingerprinter.fingerprint)',
    () => {
      for (let i = 0; i < N; i++) f.fingerprint(keys[i]!, one, 4 * i);
    },
    OPTIONS,
  );
  bench(
    'one batch (KeyFingerprinter.fingerprintMany, SIMD lanes)',
    () => {
      f.fingerprintMany(N, (i) => keys[i]!, many);
    },
    OPTIONS,
  );
});

// Entity keys as the ledger fingerprints them when an append is staged (1,000 events per call):
// each key joined first (`entityKeyOf`) against its parts written straight into the hash input.
const E = 1000;
const entities = Array.from({ length: E }, (_, i) => ({
  tenant: `tenant-${String(i % 40).padStart(3, '0')}`,
  type: ['document', 'invoice', 'user', 'bucket'][i % 4]!,
  id: `res-${(i * 7919) % 5000}`,
}));
const heads = new EntityFingerprinter(new Uint8Array(16).fill(5));
const joined = new Uint32Array(4 * E);
const parted = new Uint32Array(4 * E);
const byKey = (i: number): string => entityKeyOf(entities[i]!.tenant, entities[i]!.type, entities[i]!.id);
const parts = [
  (i: number) => entities[i]!.tenant,
  (i: number) => entities[i]!.type,
  (i: number) => entities[i]!.id,
];
heads.fingerprintMany(E, byKey, joined);
heads.fingerprintManyJoined(E, parts, parted);
if (!joined.every((w, i) => w === parted[i]))
  throw new Error('benchmark self-check failed: parts ≠ joined key');

describe(`entity-key fingerprints, ${E} keys per op`, () => {
  bench(
    'key string per record (entityKeyOf, then fingerprintMany)',
    () => {
      heads.fingerprintMany(E, byKey, joined);
    },
    OPTIONS,
  );
  bench(
    'parts written into the hash input (fingerprintManyJoined)',
    () => {
      heads.fingerprintManyJoined(E, parts, parted);
    },
    OPTIONS,
  );
});
