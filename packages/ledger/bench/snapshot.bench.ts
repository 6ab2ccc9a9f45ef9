/**
 * State snapshot encoding: the writer-thread work of one snapshot of a full idempotency window
 * (tenant ‖ event-id keys, as the ledger stores them) and 20,000 entity heads, sliced as the writer
 * does it; adding keys to the full window (once per durable record); and the restart side (reading
 * the file back into the window); and one key at a time into an empty window of 1,000,000 keys
 * until it is full (a log's first million records: the max column is the longest pause growth
 * causes).
 * Quick mode (SEALOG_BENCH_QUICK=1): 10,000 keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { IdempotencyWindow } from '../src/idempotency-window';
import {
  cursorOf,
  type EntityHead,
  encodeSnapshotSliced,
  readSnapshotColumns,
  writeSnapshotBytes,
} from '../src/state-snapshot';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
const KEYS = QUICK ? 10_000 : 200_000;
const HEADS = QUICK ? 1_000 : 20_000;
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
const heads = new Map<string, EntityHead>();
for (let i = 0; i < HEADS; i++) {
  heads.set(`tenant-${i % 40}\u0000document\u0000doc-${i}`, {
    leafIndex: i * 7,
    leafHash: hash.subarray((i % 64) * 32, (i % 64) * 32 + 32),
  });
}
const encode = () =>
  encodeSnapshotSliced({
    size: KEYS * 7,
    heads: cursorOf(heads),
    idempotency: window.snapshotCursor(),
    salt: window.salt,
    windowSize: window.size,
  });
const dir = mkdtempSync(join(tmpdir(), 'sealog-snapshot-bench-'));
await writeSnapshotBytes(dir, (await encode()).parts);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`state snapshot: ${KEYS} idempotency keys + ${HEADS} entity heads`, () => {
  bench(
    'encode (sliced, as the writer does)',
    async () => {
      await encode();
    },
    OPTIONS,
  );
  let added = 0;
  bench(
    '10,000 new keys into the full window (the writer adds one per durable record)',
    () => {
      for (let i = 0; i < 10_000; i++, added++) {
        window.set(
          `tenant-${added % 40}\u0000018f3a2c-7d4e-7000-9abc-${added.toString(16).padStart(12, '0')}`,
          added,
          hash,
          0,
        );
      }
    },
    OPTIONS,
  );
  bench(
    'read back into the window (restart)',
    () => {
      const file = readSnapshotColumns(dir)!;
      IdempotencyWindow.fromColumns(file.idempotency, KEYS);
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
