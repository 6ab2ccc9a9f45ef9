/**
 * Root over 2048 leaf hashes (a full batch): `rootFromLeafHashes`, a `CompactRange` fed one flat
 * buffer, and the same tree built with @noble/hashes, next to the bare primitive cost — 2047
 * one-shot `crypto.hash` calls over 65-byte inputs — so the package's overhead is visible.
 */
import * as nodeCrypto from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bench, describe } from 'vitest';
import { CompactRange, hashLeaves, rootFromLeafHashes } from '../src/index';
import { BENCH_OPTIONS, check, pseudoRandomBytes, QUICK, same } from './shared';

const LEAVES = QUICK ? 256 : 2048;

const records = pseudoRandomBytes(LEAVES * 100, 3);
const offsets = Array.from({ length: LEAVES + 1 }, (_, i) => i * 100);
const flat = hashLeaves(records, offsets);
const leafHashes: Uint8Array[] = [];
for (let i = 0; i < LEAVES; i++) leafHashes.push(flat.subarray(i * 32, (i + 1) * 32));
const oneShot = (nodeCrypto as { hash?: (a: string, d: Uint8Array, e: 'buffer') => Uint8Array }).hash!;

function nobleRoot(hashes: readonly Uint8Array[]): Uint8Array {
  // Same bottom-up shape (lone right node promoted), hashing with @noble/hashes.
  let level = hashes.slice();
  const buf = new Uint8Array(65);
  buf[0] = 1;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      buf.set(level[i]!, 1);
      buf.set(level[i + 1]!, 33);
      next.push(nobleSha256(buf));
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

const nodeInput = new Uint8Array(65);
const want = rootFromLeafHashes(leafHashes);
const range = new CompactRange();
range.appendFlat(flat);
check(same(range.root(), want), 'CompactRange root');
check(same(nobleRoot(leafHashes), want), '@noble root');

describe(`root over ${LEAVES} leaves`, () => {
  bench(
    `bare crypto.hash × ${LEAVES - 1} (65 B inputs, no tree)`,
    () => {
      for (let i = 1; i < LEAVES; i++) oneShot('sha256', nodeInput, 'buffer');
    },
    BENCH_OPTIONS,
  );
  bench(
    'rootFromLeafHashes',
    () => {
      rootFromLeafHashes(leafHashes);
    },
    BENCH_OPTIONS,
  );
  bench(
    'CompactRange.appendFlat + root',
    () => {
      const r = new CompactRange();
      r.appendFlat(flat);
      r.root();
    },
    BENCH_OPTIONS,
  );
  bench(
    '@noble/hashes bottom-up root',
    () => {
      nobleRoot(leafHashes);
    },
    BENCH_OPTIONS,
  );
});
