/**
 * Leaf hashing throughput for 500-byte records (the size of an audit event), per batch of
 * RECORDS records so that every row hashes the same leaves: leaves/s = ops/s × RECORDS.
 *
 * Rows: the bare primitives over a pre-built `0x00 ‖ record` (crypto.hash one-shot, a createHash
 * object, @noble/hashes), then this package's `hashLeaf` per record and `hashLeaves` over one
 * buffer + offsets. The gap between a bare primitive and `hashLeaf` is this package's overhead.
 * A second group hashes frame-sized batches of mixed lengths (FRAMES × 31 records of 250–650
 * bytes, as the ledger's frames hold them): `hashLeaf` per record against `hashLeaves`.
 */
import * as nodeCrypto from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bench, describe } from 'vitest';
import { hashLeaf, hashLeaves } from '../src/index';
import { BENCH_OPTIONS, check, pseudoRandomBytes, QUICK, referenceLeaf, same } from './shared';

const RECORD_BYTES = 500;
const RECORDS = QUICK ? 64 : 2048;

const data = pseudoRandomBytes(RECORD_BYTES * RECORDS, 7);
const offsets = new Uint32Array(RECORDS + 1);
for (let i = 0; i <= RECORDS; i++) offsets[i] = i * RECORD_BYTES;
const records: Uint8Array[] = [];
// Bare-primitive rows get the prefixed input ready-made, so they time the hash call alone.
const prefixed: Uint8Array[] = [];
for (let i = 0; i < RECORDS; i++) {
  const r = data.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
  records.push(r);
  const p = new Uint8Array(RECORD_BYTES + 1);
  p.set(r, 1);
  prefixed.push(p);
}
const out = new Uint8Array(RECORDS * 32);
const oneShot = (nodeCrypto as { hash?: (a: string, d: Uint8Array, e: 'buffer') => Uint8Array }).hash;
check(typeof oneShot === 'function', 'crypto.hash exists on this Node');

// Self-checks: every row computes the same leaf hashes.
const want = referenceLeaf(records[RECORDS - 1]!);
check(same(oneShot!('sha256', prefixed[RECORDS - 1]!, 'buffer'), want), 'crypto.hash');
check(
  same(
    nodeCrypto
      .createHash('sha256')
      .update(prefixed[RECORDS - 1]!)
      .digest(),
    want,
  ),
  'createHash',
);
check(same(nobleSha256(prefixed[RECORDS - 1]!), want), '@noble/hashes');
check(same(hashLeaf(records[RECORDS - 1]!), want), 'hashLeaf');
check(same(hashLeaves(data, offsets, out).subarray((RECORDS - 1) * 32), want), 'hashLeaves');

describe(`leaf hash, ${RECORDS} × ${RECORD_BYTES} B records per op`, () => {
  bench(
    'bare crypto.hash (prefixed input)',
    () => {
      for (let i = 0; i < RECORDS; i++) oneShot!('sha256', prefixed[i]!, 'buffer');
    },
    BENCH_OPTIONS,
  );
  bench(
    'bare createHash (prefixed input)',
    () => {
      for (let i = 0; i < RECORDS; i++) nodeCrypto.createHash('sha256').update(prefixed[i]!).digest();
    },
    BENCH_OPTIONS,
  );
  bench(
    'bare @noble/hashes sha256 (prefixed input)',
    () => {
      for (let i = 0; i < RECORDS; i++) nobleSha256(prefixed[i]!);
    },
    BENCH_OPTIONS,
  );
  bench(
    'hashLeaf per record',
    () => {
      for (let i = 0; i < RECORDS; i++) hashLeaf(records[i]!);
    },
    BENCH_OPTIONS,
  );
  bench(
    'hashLeaves (one buffer + offsets → one output buffer)',
    () => {
      hashLeaves(data, offsets, out);
    },
    BENCH_OPTIONS,
  );
});

const FRAMES = QUICK ? 2 : 64;
const FRAME_RECORDS = 31;
const mixedOffsets = new Uint32Array(FRAME_RECORDS + 1);
for (let i = 0; i < FRAME_RECORDS; i++) mixedOffsets[i + 1] = mixedOffsets[i]! + 250 + ((i * 137) % 401);
const mixed = pseudoRandomBytes(mixedOffsets[FRAME_RECORDS]!, 9);
const mixedRecords = Array.from({ length: FRAME_RECORDS }, (_, i) =>
  mixed.subarray(mixedOffsets[i]!, mixedOffsets[i + 1]!),
);
const mixedOut = new Uint8Array(FRAME_RECORDS * 32);
for (let i = 0; i < FRAME_RECORDS; i++) {
  check(
    same(
      hashLeaves(mixed, mixedOffsets, mixedOut).subarray(i * 32, (i + 1) * 32),
      referenceLeaf(mixedRecords[i]!),
    ),
    `hashLeaves of mixed lengths, record ${i}`,
  );
}

describe(`leaf hash, ${FRAMES} frames × ${FRAME_RECORDS} records of 250–650 B per op`, () => {
  bench(
    'hashLeaf per record',
    () => {
      for (let f = 0; f < FRAMES; f++) for (let i = 0; i < FRAME_RECORDS; i++) hashLeaf(mixedRecords[i]!);
    },
    BENCH_OPTIONS,
  );
  bench(
    'hashLeaves (one buffer + offsets per frame)',
    () => {
      for (let f = 0; f < FRAMES; f++) hashLeaves(mixed, mixedOffsets, mixedOut);
    },
    BENCH_OPTIONS,
  );
});
