/**
 * Proofs and verification at n ≈ 1M leaves (2^20; 2^14 in quick mode).
 *
 * - From a `TiledTree` on the memory store: O(log n) tiles per proof.
 * - From the leaf-hash array (`inclusionProof(leafHashes, i)`): O(n) hashes per proof — shown
 *   to make the cost of not storing tree hashes visible (a few iterations only).
 * - Verification of precomputed proofs, next to the bare floor: log2(n) one-shot `crypto.hash`
 *   calls over 65-byte inputs.
 */
import * as nodeCrypto from 'node:crypto';
import { bench, describe } from 'vitest';
import {
  consistencyProof,
  inclusionProof,
  MemoryTileStore,
  TiledTree,
  verifyConsistency,
  verifyInclusion,
} from '../src/index';
import { BENCH_OPTIONS, check, pseudoRandomBytes, QUICK, SLOW_BENCH_OPTIONS, same } from './shared';

const LOG2_N = QUICK ? 14 : 20;
const N = 2 ** LOG2_N;
const CHUNK = 4096;
const PROBES = 1024;

// Leaf hashes are arbitrary 32-byte values; the tree does not care where they came from.
const flat = pseudoRandomBytes(N * 32, 5);
const leafHashes: Uint8Array[] = new Array(N);
for (let i = 0; i < N; i++) leafHashes[i] = flat.subarray(i * 32, (i + 1) * 32);
const tree = await TiledTree.open(new MemoryTileStore());
for (let at = 0; at < N; at += CHUNK) await tree.appendFlat(flat.subarray(at * 32, (at + CHUNK) * 32));
const root = tree.root();

// Random probe positions, fixed across runs.
const probeBytes = pseudoRandomBytes(PROBES * 4, 9);
const indices: number[] = [];
const sizes1: number[] = [];
for (let i = 0; i < PROBES; i++) {
  const r = (probeBytes[4 * i]! | (probeBytes[4 * i + 1]! << 8) | (probeBytes[4 * i + 2]! << 16)) >>> 0;
  indices.push(r % N);
  sizes1.push(1 + (r % (N - 1)));
}

// Self-checks: tiled proofs equal array proofs and verify.
const i0 = indices[0]!;
const s0 = sizes1[0]!;
const tiledPath = await tree.inclusionProof(i0, N);
const arrayPath = inclusionProof(leafHashes, i0);
check(
  tiledPath.length === arrayPath.length && tiledPath.every((h, k) => same(h, arrayPath[k]!)),
  'tiled = array path',
);
check(verifyInclusion(leafHashes[i0]!, i0, N, tiledPath, root), 'inclusion proof verifies');
const tiledCons = await tree.consistencyProof(s0, N);
const arrayCons = consistencyProof(leafHashes, s0);
check(
  tiledCons.length === arrayCons.length && tiledCons.every((h, k) => same(h, arrayCons[k]!)),
  'tiled = array',
);
const roots1: Uint8Array[] = [];
const paths: Uint8Array[][] = [];
const consProofs: Uint8Array[][] = [];
for (let i = 0; i < PROBES; i++) {
  paths.push(await tree.inclusionProof(indices[i]!, N));
  consProofs.push(await tree.consistencyProof(sizes1[i]!, N));
  roots1.push(await tree.rootAt(sizes1[i]!));
}
check(verifyConsistency(s0, N, tiledCons, roots1[0]!, root), 'consistency proof verifies');

const oneShot = (nodeCrypto as { hash?: (a: string, d: Uint8Array, e: 'buffer') => Uint8Array }).hash!;
const nodeInput = new Uint8Array(65);
let k = 0;
const next = (): number => {
  k = (k + 1) % PROBES;
  return k;
};

describe(`proofs at n = 2^${LOG2_N}`, () => {
  bench(
    'TiledTree.inclusionProof (memory store)',
    async () => {
      const j = next();
      await tree.inclusionProof(indices[j]!, N);
    },
    BENCH_OPTIONS,
  );
  bench(
    'TiledTree.consistencyProof (memory store)',
    async () => {
      const j = next();
      await tree.consistencyProof(sizes1[j]!, N);
    },
    BENCH_OPTIONS,
  );
  bench(
    'TiledTree.rootAt (memory store)',
    async () => {
      await tree.rootAt(sizes1[next()]!);
    },
    BENCH_OPTIONS,
  );
  bench(
    'inclusionProof(leafHashes) — O(n)',
    () => {
      inclusionProof(leafHashes, indices[next()]!);
    },
    SLOW_BENCH_OPTIONS,
  );
  bench(
    'consistencyProof(leafHashes) — O(n)',
    () => {
      consistencyProof(leafHashes, sizes1[next()]!);
    },
    SLOW_BENCH_OPTIONS,
  );
});

describe(`verification at n = 2^${LOG2_N}`, () => {
  bench(
    `bare crypto.hash × ${LOG2_N} (65 B inputs)`,
    () => {
      for (let i = 0; i < LOG2_N; i++) oneShot('sha256', nodeInput, 'buffer');
    },
    BENCH_OPTIONS,
  );
  bench(
    'verifyInclusion',
    () => {
      const j = next();
      if (!verifyInclusion(leafHashes[indices[j]!]!, indices[j]!, N, paths[j]!, root))
        throw new Error('bad proof');
    },
    BENCH_OPTIONS,
  );
  bench(
    'verifyConsistency',
    () => {
      const j = next();
      if (!verifyConsistency(sizes1[j]!, N, consProofs[j]!, roots1[j]!, root)) throw new Error('bad proof');
    },
    BENCH_OPTIONS,
  );
});
