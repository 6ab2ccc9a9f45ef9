/**
 * Idempotency-key fingerprints as the prepare worker makes them, per append of 32 events
 * (`tenant "\0" UUIDv7`, 47 bytes + a 16-byte salt: two SHA-256 blocks each): one `crypto.hash`
 * call per key against one batch through `@sealog/merkle`'s SIMD lanes (`sha256Many`). Both give
 * the same words (checked before timing).
 */
import { bench, describe } from 'vitest';
import { newEventId } from '../src/event-id';
import { idempotencyKey, KeyFingerprinter } from '../src/key-fingerprint';

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
