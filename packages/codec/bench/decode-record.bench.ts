/**
 * Record decoding (with full shape checks) next to the raw primitives: msgpackr unpack of the same
 * leaf bytes (no checks, arrays), msgpackr unpack of the body packed as maps, and JSON.parse.
 */
import { Packr, pack, Unpackr } from 'msgpackr';
import { bench, describe } from 'vitest';
import { assembleRecord, decodeRecord, encodeRecordBody } from '../src/record';
import { makeBodies, makeEvents, normalizeAll } from '../test/support/corpus';
import { BATCH, check, OPTIONS } from './shared';

const events = normalizeAll(makeEvents(BATCH, 31));
const bodies = makeBodies(events);
const hash = new Uint8Array(32).fill(9);
const leaves = bodies.map((b, i) =>
  assembleRecord(i % 3 === 0 ? null : { leafIndex: i, leafHash: hash }, encodeRecordBody(b)),
);
const maps = bodies.map((b) => pack(b));
const json = events.map((e) => JSON.stringify(e));
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const recordsPackr = new Packr({ useRecords: true, structures: [] });
const recordBytes = bodies.map((b) => recordsPackr.pack(b));

for (let i = 0; i < BATCH; i++) {
  check(decodeRecord(leaves[i]!).action === bodies[i]!.action, `leaf ${i} decodes`);
}

describe(`decode ${BATCH} records`, () => {
  bench(
    'decodeRecord (checked, typed)',
    () => {
      for (let i = 0; i < BATCH; i++) decodeRecord(leaves[i]!);
    },
    OPTIONS,
  );
  bench(
    'raw msgpackr unpack(leaf) (arrays, unchecked)',
    () => {
      for (let i = 0; i < BATCH; i++) unpackr.unpack(leaves[i]!);
    },
    OPTIONS,
  );
  bench(
    'raw msgpackr unpack of the body as maps',
    () => {
      for (let i = 0; i < BATCH; i++) unpackr.unpack(maps[i]!);
    },
    OPTIONS,
  );
  bench(
    'raw msgpackr records unpack, shared structures (not standalone)',
    () => {
      for (let i = 0; i < BATCH; i++) recordsPackr.unpack(recordBytes[i]!);
    },
    OPTIONS,
  );
  bench(
    'raw JSON.parse(event JSON)',
    () => {
      for (let i = 0; i < BATCH; i++) JSON.parse(json[i]!);
    },
    OPTIONS,
  );
});
