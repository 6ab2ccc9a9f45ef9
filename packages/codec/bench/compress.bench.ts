/**
 * Snappy compression of a realistic batch body: compressBody / decompressBody next to bare
 * `snappy.compressSync` / `uncompressSync`, with and without `copyOutputData`.
 */
import { compressSync, uncompressSync } from 'snappy';
import { bench, describe } from 'vitest';
import { encodeBatchBody } from '../src/batch-body';
import { compressBody, decompressBody } from '../src/compression';
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
