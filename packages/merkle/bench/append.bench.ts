/**
 * Appends per second: BATCH leaf hashes per op (appends/s = ops/s × BATCH) into a growing
 * `CompactRange` (one at a time, array batch, flat batch, flat batch with an `onNode` visitor) and
 * a `TiledTree` on the memory store (flat batch, tiles written per call). The bare row is the
 * primitive floor: BATCH − 1 one-shot `crypto.hash` calls over 65-byte inputs, since a steady
 * stream of appends hashes about one interior node per leaf. A second group appends FRAME = 31
 * leaf hashes per op, a frame's worth as the ledger's writer appends them (most of its nodes are
 * above the first level, in runs too short for the SIMD lanes).
 */
import * as nodeCrypto from 'node:crypto';
import { bench, describe } from 'vitest';
import { CompactRange, MemoryTileStore, rootFromLeafHashes, TiledTree } from '../src/index';
import { BENCH_OPTIONS, check, pseudoRandomBytes, QUICK, same } from './shared';

const BATCH = QUICK ? 256 : 2048;

const flat = pseudoRandomBytes(BATCH * 32, 11);
const leafHashes: Uint8Array[] = [];
for (let i = 0; i < BATCH; i++) leafHashes.push(flat.subarray(i * 32, (i + 1) * 32));
const oneShot = (nodeCrypto as { hash?: (a: string, d: Uint8Array, e: 'buffer') => Uint8Array }).hash!;
const nodeInput = new Uint8Array(65);

// Self-checks: each append path yields the reference root for three batches.
const want = rootFromLeafHashes([...leafHashes, ...leafHashes, ...leafHashes]);
{
  const a = new CompactRange();
  const b = new CompactRange();
  const c = new CompactRange({ onNode: () => undefined });
  for (let k = 0; k < 3; k++) {
    for (const h of leafHashes) a.append(h);
    b.appendLeafHashes(leafHashes);
    c.appendFlat(flat);
  }
  check(same(a.root(), want) && same(b.root(), want) && same(c.root(), want), 'CompactRange roots');
  const t = await TiledTree.open(new MemoryTileStore());
  for (let k = 0; k < 3; k++) await t.appendFlat(flat);
  check(
    same(t.root(), want) && same(await t.rootAt(BATCH), rootFromLeafHashes(leafHashes)),
    'TiledTree root',
  );
}

const one = new CompactRange();
const arr = new CompactRange();
const flatRange = new CompactRange();
let visited = 0;
const visitedRange = new CompactRange({
  onNode: () => {
    visited++;
  },
});
const tiled = await TiledTree.open(new MemoryTileStore());

describe(`append, ${BATCH} leaf hashes per op`, () => {
  bench(
    `bare crypto.hash × ${BATCH - 1} (65 B inputs)`,
    () => {
      for (let i = 1; i < BATCH; i++) oneShot('sha256', nodeInput, 'buffer');
    },
    BENCH_OPTIONS,
  );
  bench(
    'CompactRange.append, one leaf per call',
    () => {
      for (let i = 0; i < BATCH; i++) one.append(leafHashes[i]!);
    },
    BENCH_OPTIONS,
  );
  bench('CompactRange.appendLeafHashes (array)', () => arr.appendLeafHashes(leafHashes), BENCH_OPTIONS);
  bench('CompactRange.appendFlat', () => flatRange.appendFlat(flat), BENCH_OPTIONS);
  bench('CompactRange.appendFlat + onNode visitor', () => visitedRange.appendFlat(flat), BENCH_OPTIONS);
  bench(
    'TiledTree.appendFlat (memory store, tiles written)',
    async () => {
      await tiled.appendFlat(flat);
    },
    BENCH_OPTIONS,
  );
});

const FRAME = 31;
const frameFlat = flat.subarray(0, FRAME * 32);
const frameRange = new CompactRange({ onNode: () => {} });
const FRAMES_PER_OP = 64;
describe(`append, ${FRAMES_PER_OP} × ${FRAME} leaf hashes per op (frame-sized batches)`, () => {
  bench(
    'CompactRange.appendFlat + onNode visitor',
    () => {
      for (let i = 0; i < FRAMES_PER_OP; i++) frameRange.appendFlat(frameFlat);
    },
    BENCH_OPTIONS,
  );
});

export { visited };
