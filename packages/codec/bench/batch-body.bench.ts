/**
 * Batch body framing of a batch of leaves: encode into a reused buffer vs a fresh one vs a bare
 * Buffer.concat (no length table), and decode (views only).
 */
import { bench, describe } from 'vitest';
import { batchBodyLength, decodeBatchBody, encodeBatchBody } from '../src/batch-body';
import { assembleRecord, encodeRecordBody } from '../src/record';
import { makeBodies, makeEvents, normalizeAll } from '../test/support/corpus';
import { BATCH, check, OPTIONS } from './shared';

const leaves = makeBodies(normalizeAll(makeEvents(BATCH, 41))).map((b) =>
  assembleRecord(null, encodeRecordBody(b)),
);
const scratch = new Uint8Array(batchBodyLength(leaves));
const body = encodeBatchBody(leaves, scratch);
const decoded = decodeBatchBody(body, BATCH);
check(
  decoded.length === BATCH && decoded[BATCH - 1]!.length === leaves[BATCH - 1]!.length,
  'body splits back',
);

describe(`batch body of ${BATCH} leaves (${(body.length / 1024).toFixed(0)} KiB)`, () => {
  bench('encodeBatchBody into a reused buffer', () => void encodeBatchBody(leaves, scratch), OPTIONS);
  bench('encodeBatchBody into a fresh buffer', () => void encodeBatchBody(leaves), OPTIONS);
  bench('raw Buffer.concat(leaves) (no length table)', () => void Buffer.concat(leaves), OPTIONS);
  bench('decodeBatchBody (views, no copies)', () => void decodeBatchBody(body, BATCH), OPTIONS);
});
