/**
 * Append throughput of the segment store against the raw primitive it wraps (positional writes of the
 * same bytes with one fdatasync per batch of the same size), for 1 MiB frames (a ~2048-record batch)
 * and 64 KiB frames. Quick mode (SEALOG_BENCH_QUICK=1) uses 8 MiB per iteration.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { openSegmentStore } from '../src/index';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
const TOTAL_BYTES = (QUICK ? 8 : 64) * 1024 * 1024;
const OPTIONS = QUICK ? { time: 50, iterations: 2, warmupIterations: 0 } : { time: 2000, iterations: 5 };
const root = mkdtempSync(join(tmpdir(), 'sealog-seg-bench-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let run = 0;
for (const frameBytes of [1024 * 1024, 64 * 1024]) {
  const frame = Buffer.alloc(frameBytes, 0x5a);
  const frames = TOTAL_BYTES / frameBytes;
  describe(`append ${TOTAL_BYTES >> 20} MiB as ${frameBytes >> 10} KiB frames`, () => {
    bench(
      'segment-store, group commit (all frames in flight)',
      async () => {
        const store = await openSegmentStore({ dir: join(root, `g${run++}`), logId: 'bench' });
        const all: Promise<unknown>[] = [];
        for (let k = 0; k < frames; k++) all.push(store.append(frame, k));
        await Promise.all(all);
        await store.close();
      },
      OPTIONS,
    );
    bench(
      'segment-store, none (no fsync)',
      async () => {
        const store = await openSegmentStore({
          dir: join(root, `n${run++}`),
          logId: 'bench',
          durability: { mode: 'none' },
        });
        const all: Promise<unknown>[] = [];
        for (let k = 0; k < frames; k++) all.push(store.append(frame, k));
        await Promise.all(all);
        await store.close();
      },
      OPTIONS,
    );
    bench(
      'raw: writeSync + one fdatasync per 8 MiB (baseline)',
      () => {
        const file = join(root, `raw${run++}`);
        const fd = openSync(file, 'w');
        let pos = 0;
        let sinceSync = 0;
        for (let k = 0; k < frames; k++) {
          pos += writeSync(fd, frame, 0, frame.length, pos);
          sinceSync += frame.length;
          if (sinceSync >= 8 * 1024 * 1024) {
            fdatasyncSync(fd);
            sinceSync = 0;
          }
        }
        fdatasyncSync(fd);
        closeSync(fd);
      },
      OPTIONS,
    );
  });
}

// Small frames one at a time, each awaited until durable: what a lightly loaded log does (a frame
// of ~40 audit records every few ms); here per-append overheads (thread hand-offs) show.
const SMALL = Buffer.alloc(12 * 1024, 0x5a);
const SMALL_FRAMES = QUICK ? 50 : 500;
describe(`append ${SMALL_FRAMES} frames of 12 KiB, each awaited (durable)`, () => {
  bench(
    'segment-store, group commit',
    async () => {
      const store = await openSegmentStore({ dir: join(root, `s${run++}`), logId: 'bench' });
      for (let k = 0; k < SMALL_FRAMES; k++) await store.append(SMALL, k);
      await store.close();
    },
    OPTIONS,
  );
});
