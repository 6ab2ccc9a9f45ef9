/**
 * A `TiledTree` on a `FileTileStore` without fsync, as the ledger's writer uses it: frame-sized
 * appends (FRAME = 31 leaf hashes) with partial tiles deferred to `flush`, FRAMES_PER_OP appends
 * and one flush per op (~7.75 full level-0 tiles written per op). Tiles written with blocking
 * system calls (the default without fsync) against the libuv pool. The figure is wall time per
 * op; with the pool it includes waiting for the pool's threads, and what it costs the calling
 * thread is the hand-off per call (open, write, close, rename: four per full tile).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { CompactRange, FileTileStore, TiledTree } from '../src/index';
import { BENCH_OPTIONS, check, pseudoRandomBytes, QUICK, same } from './shared';

const FRAME = 31;
const FRAMES_PER_OP = QUICK ? 16 : 64;
const frameFlat = pseudoRandomBytes(FRAME * 32, 21);
const root = mkdtempSync(join(tmpdir(), 'sealog-merkle-bench-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function openTree(name: string, blockingWrites: boolean): Promise<TiledTree> {
  const store = new FileTileStore(join(root, name), { fsync: false, blockingWrites });
  return TiledTree.open(store, 0, { partialTiles: 'flush' });
}

async function op(tree: TiledTree): Promise<void> {
  const writes: Promise<void>[] = [];
  for (let i = 0; i < FRAMES_PER_OP; i++) writes.push(tree.appendFlat(frameFlat));
  await Promise.all(writes);
  await tree.flush();
}

const blocking = await openTree('blocking', true);
const pooled = await openTree('pool', false);
// Self-check: one op on each tree gives the reference root and the same full tiles on disk.
{
  const reference = new CompactRange();
  for (let i = 0; i < FRAMES_PER_OP; i++) reference.appendFlat(frameFlat);
  await op(blocking);
  await op(pooled);
  check(same(blocking.root(), reference.root()) && same(pooled.root(), reference.root()), 'roots');
  const tiles = (name: string): string[] => readdirSync(join(root, name, 'tile', '0')).sort();
  check(tiles('blocking').join() === tiles('pool').join() && tiles('blocking').length > 0, 'tile files');
}

describe(`TiledTree on FileTileStore (fsync: false), ${FRAMES_PER_OP} × ${FRAME} leaf hashes + flush per op`, () => {
  bench('blocking writes (default without fsync)', () => op(blocking), BENCH_OPTIONS);
  bench('libuv pool (blockingWrites: false)', () => op(pooled), BENCH_OPTIONS);
});
