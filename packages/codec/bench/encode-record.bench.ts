/**
 * Record encoding of a batch of realistic audit events: our two phases (encodeRecordBody +
 * assembleRecord) next to the raw primitives they wrap — plain msgpackr `pack` of the same body
 * object (maps), msgpackr records with shared structures (fast, but leaves would depend on shared
 * state), and JSON.stringify of the normalized event.
 */
import { Packr, pack } from 'msgpackr';
import { bench, describe } from 'vitest';
import { assembledRecordLength, assembleRecord, decodeRecord, encodeRecordBody } from '../src/record';
import { makeBodies, makeEvents, normalizeAll } from '../test/support/corpus';
import { BATCH, check, OPTIONS } from './shared';

const events = normalizeAll(makeEvents(BATCH, 21));
const bodies = makeBodies(events);
const hash = new Uint8Array(32).fill(7);
const links = bodies.map((_, i) => (i % 3 === 0 ? null : { leafIndex: 1_000_000 + i, leafHash: hash }));
const encodedBodies = bodies.map((b) => encodeRecordBody(b));
let total = 0;
for (let i = 0; i < BATCH; i++) total += assembledRecordLength(links[i]!, encodedBodies[i]!.length);
const scratch = new Uint8Array(total);
const records = new Packr({ useRecords: true, structures: [] });

// Self-check: what we time must decode back to the input.
for (let i = 0; i < BATCH; i++) {
  const rec = decodeRecord(assembleRecord(links[i]!, encodeRecordBody(bodies[i]!)));
  check(
    rec.event_id === bodies[i]!.event_id && rec.prev?.leafIndex === links[i]?.leafIndex,
    `record ${i} round-trips`,
  );
}

describe(`encode ${BATCH} records (~500 B each)`, () => {
  bench(
    'encodeRecordBody + assembleRecord (fresh leaf buffers)',
    () => {
      for (let i = 0; i < BATCH; i++) assembleRecord(links[i]!, encodeRecordBody(bodies[i]!));
    },
    OPTIONS,
  );
  bench(
    'encodeRecordBody + assembleRecord into one reused batch buffer',
    () => {
      let off = 0;
      for (let i = 0; i < BATCH; i++)
        off += assembleRecord(links[i]!, encodeRecordBody(bodies[i]!), scratch, off).length;
    },
    OPTIONS,
  );
  bench(
    'encodeRecordBody only (phase 1)',
    () => {
      for (let i = 0; i < BATCH; i++) encodeRecordBody(bodies[i]!);
    },
    OPTIONS,
  );
  bench(
    'assembleRecord only (phase 2, reused buffer)',
    () => {
      let off = 0;
      for (let i = 0; i < BATCH; i++)
        off += assembleRecord(links[i]!, encodedBodies[i]!, scratch, off).length;
    },
    OPTIONS,
  );
  bench(
    'raw msgpackr pack(body) as maps',
    () => {
      for (let i = 0; i < BATCH; i++) pack(bodies[i]!);
    },
    OPTIONS,
  );
  bench(
    'raw msgpackr records, shared structures (not standalone)',
    () => {
      for (let i = 0; i < BATCH; i++) records.pack(bodies[i]!);
    },
    OPTIONS,
  );
  bench(
    'raw JSON.stringify(normalized event)',
    () => {
      for (let i = 0; i < BATCH; i++) JSON.stringify(events[i]!);
    },
    OPTIONS,
  );
});
