/**
 * Snappy compression of a realistic batch body: compressBody / decompressBody next to bare
 * `snappy.compressSync` / `uncompressSync`, with and without `copyOutputData`; and of a
 * thesis-sized body (~4.8 MB) in one call against `BodyCompressor` (block by block into a reused
 * buffer).
 */
import { randomBytes } from 'node:crypto';
import { compressSync, uncompressSync } from 'snappy';
import { bench, describe } from 'vitest';
import { encodeBatchBody } from '../src/batch-body';
import { BodyCompressor, compressBody, decompressBody } from '../src/compression';
import { assembleRecord, encodeRecordBody } from '../src/record';
import { makeBodies, makeEvents, normalizeAll } from '../test/support/corpus';
import { BATCH, check, OPTIONS } from './shared';

const leaves = makeBodies(normalizeAll(makeEvents(BATCH, 51))).map((b) =>
  assembleRecord(null, encodeRecordBody(b)),
);
const plain = encodeBatchBody(leaves);
const compressed = compressBody(plain);
check(Buffer.compare(decompressBody(compressed, plain.length), plain) === 0, 'snappy round-trips');
const size = `${(plain.length / 1024).toFixed(0)} KiB`;

describe(`compress a ${size} batch body`, () => {
  bench('compressBody (copyOutputData: true)', () => void compressBody(plain), OPTIONS);
  bench('raw snappy.compressSync, default options', () => void compressSync(plain), OPTIONS);
  bench(
    'raw snappy.compressSync, copyOutputData: true',
    () => void compressSync(plain, { copyOutputData: true }),
    OPTIONS,
  );
});

describe(`decompress a ${size} batch body`, () => {
  bench(
    'decompressBody (length-checked, copyOutputData: true)',
    () => void decompressBody(compressed, plain.length),
    OPTIONS,
  );
  bench(
    'raw snappy.uncompressSync, default options',
    () => void uncompressSync(compressed, { asBuffer: true }),
    OPTIONS,
  );
  bench(
    'raw snappy.uncompressSync, copyOutputData: true',
    () => void uncompressSync(compressed, { asBuffer: true, copyOutputData: true }),
    OPTIONS,
  );
});

// A thesis-like body: 1,170 entries of ~4 KiB, half random, half repeated text.
const large = Buffer.alloc(1170 * 4096, 'the data the ');
for (let at = 0; at < large.length; at += 4096) large.set(randomBytes(2048), at);
const compressor = new BodyCompressor();
check(Buffer.from(compressor.compress(large)).equals(compressBody(large)), 'block by block = one call');

describe(`compress a ${(large.length / 1e6).toFixed(1)} MB body`, () => {
  bench('compressBody (one compressSync call)', () => void compressBody(large), OPTIONS);
  bench(
    'BodyCompressor (64 KiB blocks into a reused buffer)',
    () => void compressor.compress(large),
    OPTIONS,
  );
});
