/**
 * State snapshots with a full idempotency window (tenant ‖ event-id keys, as the ledger stores
 * them) and 20,000 entity heads, written to disk with their fdatasyncs: the window written whole
 * (what every snapshot wrote before snapshot version 4) against only the entries added since the
 * previous snapshot (5% of the window: 10,000); adding keys to the full window (once per durable record); the restart side (reading the
 * snapshot and the window files back into the window); and one key at a time into an empty window
 * of 1,000,000 keys until it is full (a log's first million records: the max column is the longest
 * pause growth causes).
 * Quick mode (SEALOG_BENCH_QUICK=1): 10,000 keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { EntityHeads } from '../src/entity-heads';
import { IdempotencyWindow } from '../src/idempotency-window';
import { encodeSnapshotSliced, readSnapshotColumns, writeSnapshotBytes } from '../src/state-snapshot';
import { WINDOW_FILE_ENTRIES, WindowJournal } from '../src/window-journal';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
const KEYS = QUICK ? 10_000 : 200_000;
const HEADS = QUICK ? 1_000 : 20_000;
/** New keys between two snapshots (the window's last 5%). */
const STEP = KEYS / 20;
const OPTIONS = QUICK ? { time: 50, iterations: 2, warmupIterations: 0 } : { time: 3000, iterations: 5 };

const hash = new Uint8Array(32 * 64).map((_, i) => (i * 131) & 0xff);
const window = new IdempotencyWindow(KEYS);
for (let i = 0; i < KEYS; i++) {
  window.set(
    `tenant-${i % 40}\u0000018f3a2c-7d4e-7${String(i).padStart(3, '0')}-8abc-${i.toString(16).padStart(12, '0')}`,
    i,
    hash,
    (i % 64) * 32,
  );
}
const heads = new EntityHeads(window.salt);
for (let i = 0; i < HEADS; i++) {
  const slot = heads.slotForKey(`tenant-${i % 40}\u0000document\u0000doc-${i}`);
  heads.setLeafIndex(slot, i * 7);
  heads.setHash(slot, hash, (i % 64) * 32);
}
const dir = mkdtempSync(join(tmpdir(), 'sealog-snapshot-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/**
 * One snapshot as the writer takes it: heads packed in slices, then the window entries
 * `[first, end)` the journal lacks written and fdatasync'd, then the snapshot file.
 */
const snapshot = async (journal: WindowJournal, end = window.endSequence): Promise<void> => {
  const { parts } = await encodeSnapshotSliced({
    size: KEYS * 7,
    heads: (() => {
      let next = 0;
      return (sink, max) => {
        next = heads.copyKnown(sink, next, max, Number.POSITIVE_INFINITY);
        return next < heads.size;
      };
    })(),
    window: () => journal.write(window, window.firstSequence, end),
  });
  await writeSnapshotBytes(dir, parts);
};
await snapshot(new WindowJournal(dir, window.salt, undefined));
// Incremental snapshots replay the window's second half, STEP entries at a time, over and over
// (the entries exist already, so the iteration times only the snapshot).
const half = { salt: window.salt, first: 0, end: KEYS / 2, entriesPerFile: WINDOW_FILE_ENTRIES };
let incremental = new WindowJournal(dir, window.salt, half);
let written = half.end;
let added = 0;
const addKeys = (n: number): void => {
  for (let i = 0; i < n; i++, added++) {
    window.set(
      `tenant-${added % 40}\u0000018f3a2c-7d4e-7000-9abc-${added.toString(16).padStart(12, '0')}`,
      added,
      hash,
      0,
    );
  }
};

describe(`state snapshot: ${KEYS} idempotency keys + ${HEADS} entity heads`, () => {
  bench(
    'snapshot, the window written whole (as before snapshot version 4)',
    async () => {
      await snapshot(new WindowJournal(dir, window.salt, undefined));
    },
    OPTIONS,
  );
  bench(
    `snapshot after ${STEP} new keys (only those written)`,
    async () => {
      if (written + STEP > KEYS) {
        incremental = new WindowJournal(dir, window.salt, half);
        written = half.end;
      }
      written += STEP;
      await snapshot(incremental, written);
    },
    OPTIONS,
  );
  bench(
    '10,000 new keys into the full window (the writer adds one per durable record)',
    () => addKeys(10_000),
    OPTIONS,
  );
  bench(
    'read back into the window (restart)',
    () => {
      const file = readSnapshotColumns(dir)!;
      IdempotencyWindow.fromColumns(file.idempotency, KEYS, file.window?.first);
    },
    OPTIONS,
  );
});

const FILL = QUICK ? 10_000 : 1_000_000;
describe(`idempotency window: an empty window of ${FILL} keys filled one key at a time`, () => {
  const filling = new IdempotencyWindow(FILL);
  const words = new Uint32Array(4);
  let x = 0x9e3779b9;
  let leaf = 0;
  bench(
    'one new key (fingerprint given, as the writer adds it)',
    () => {
      for (let j = 0; j < 4; j++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[j] = x >>> 0;
      }
      filling.setFingerprint(words, 0, leaf, hash, (leaf % 64) * 32);
      leaf++;
    },
    { time: 0, iterations: FILL, warmupTime: 0, warmupIterations: 0 },
  );
});
