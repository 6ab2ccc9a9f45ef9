/**
 * Leaf hashes of one frame as the finisher makes them (`hashFrameLeaves`), entity links patched
 * in: a thesis-like frame (512 records of ~4 KiB, each linking to the record 64 before it, so the
 * frame is hashed one leaf at a time) and an audit-like frame (2,048 records of ~360 bytes, one in
 * eight linking to a record 200 before it, so runs of leaves go through the SIMD lanes).
 */
import { bench, describe } from 'vitest';
import { type FrameJob, hashFrameLeaves, LeafHashWindow } from '../src/frame-finish';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
const OPTIONS = QUICK ? { time: 50, iterations: 3 } : { time: 1000, iterations: 20 };

/** A frame of `count` leaves of `bytes` bytes after a 4-byte-per-leaf offset table; leaf i links `back` leaves before it when `i % every === 0`. */
function frame(count: number, bytes: number, back: number, every: number): FrameJob {
  const offsets = new Uint32Array(count + 1);
  offsets[0] = 4 * (count + 1);
  for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i]! + bytes;
  const plain = new Uint8Array(offsets[count]!);
  for (let i = 0; i < plain.length; i++) plain[i] = (i * 131) & 0xff;
  const patches: number[] = [];
  for (let i = back; i < count; i++) if (i % every === 0) patches.push(offsets[i]! + 40, i - back);
  return {
    logId: new Uint8Array(16),
    batchIndex: 0,
    firstLeafIndex: 0,
    recordCount: count,
    minOccurredAt: 0,
    maxOccurredAt: 0,
    plain,
    offsets,
    patches: Float64Array.from(patches),
    knownBelow: 0,
    compress: true,
  };
}

const thesis = frame(512, 4150, 64, 1);
const audit = frame(2048, 360, 200, 8);

describe('hashFrameLeaves, per frame', () => {
  bench(
    'thesis-like: 512 × 4,150 B, every leaf linked (one leaf per run)',
    () => {
      hashFrameLeaves(thesis, new LeafHashWindow());
    },
    OPTIONS,
  );
  bench(
    'audit-like: 2,048 × 360 B, one in eight linked (runs of 8)',
    () => {
      hashFrameLeaves(audit, new LeafHashWindow());
    },
    OPTIONS,
  );
});
