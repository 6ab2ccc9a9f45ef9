/**
 * Subject key stores: creating a batch of new subject keys (the ledger's first-seen actors) with
 * `JournalSubjectKeyStore.getOrCreateMany` (one fdatasync) against per-key `getOrCreate` on the
 * one-file-per-subject `FileSubjectKeyStore` (one temp + fsync + rename + fsync(dir) per key, all
 * in flight at once as the ledger issues them); lookups of existing keys; opening a journal of
 * 100,000 keys (full mode only). Every iteration creates fresh subject ids.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import {
  FileSubjectKeyStore,
  generateMasterKey,
  JournalSubjectKeyStore,
  Keyring,
  MemorySubjectKeyStore,
} from '../src/index';
import { BENCH_OPTIONS, check, QUICK } from './bench-options';

/** New subjects per iteration: 1,000 (50 in quick mode). */
const BATCH = QUICK ? 50 : 1000;
/** Keys in the journal that is opened: 100,000 (full mode only). */
const OPEN_KEYS = 100_000;
/** Existing subjects looked up. */
const LOOKUP_KEYS = QUICK ? 100 : 1000;
/** Options for cases that take 5–1,000 ms per iteration: a fixed ≥ 10 samples in full mode. */
const SLOW_OPTIONS = QUICK
  ? { time: 50, iterations: 3, warmupTime: 0, warmupIterations: 1 }
  : { time: 3000, iterations: 10, warmupTime: 0, warmupIterations: 2 };

const root = await mkdtemp(join(tmpdir(), 'sealog-bench-sks-'));
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
const keyring = new Keyring([generateMasterKey('kek-bench-2026')]);
let serial = 0;
function freshIds(n: number): string[] {
  const run = serial++;
  const ids: string[] = new Array(n);
  for (let i = 0; i < n; i++) ids[i] = `tenant-${run % 7}/actor-${run}-${i}`;
  return ids;
}

const journal = await JournalSubjectKeyStore.open(join(root, 'journal'), keyring);
const journalSingles = await JournalSubjectKeyStore.open(join(root, 'journal-singles'), keyring);
const files = await FileSubjectKeyStore.open(join(root, 'files'), keyring);
const memory = new MemorySubjectKeyStore();

// Self-checks: what is timed creates keys that a reopened store finds unchanged.
{
  const ids = freshIds(BATCH);
  const created = await journal.getOrCreateMany(ids);
  const reopened = await JournalSubjectKeyStore.open(join(root, 'journal'), keyring);
  const again = await reopened.getOrCreateMany(ids);
  await reopened.close();
  check(
    ids.every((id) => Buffer.from(again.get(id)!.keyTag).equals(created.get(id)!.keyTag)),
    'journal batch survives reopen',
  );
  const one = await files.getOrCreate(ids[0]!);
  check((await files.get(ids[0]!)) === one, 'file store returns the created key');
}

describe(`create ${BATCH} new subject keys`, () => {
  bench(
    'JournalSubjectKeyStore.getOrCreateMany (one write + one fdatasync)',
    async () => {
      await journal.getOrCreateMany(freshIds(BATCH));
    },
    SLOW_OPTIONS,
  );
  bench(
    'JournalSubjectKeyStore.getOrCreate per key, all in flight (group commit)',
    async () => {
      await Promise.all(freshIds(BATCH).map((id) => journalSingles.getOrCreate(id)));
    },
    SLOW_OPTIONS,
  );
  bench(
    'FileSubjectKeyStore.getOrCreate per key, all in flight (file + fsyncs per key)',
    async () => {
      await Promise.all(freshIds(BATCH).map((id) => files.getOrCreate(id)));
    },
    SLOW_OPTIONS,
  );
  bench(
    'MemorySubjectKeyStore.getOrCreateMany (key generation only, no wrap, no I/O)',
    async () => {
      await memory.getOrCreateMany(freshIds(BATCH));
    },
    SLOW_OPTIONS,
  );
});

const existing = freshIds(LOOKUP_KEYS);
await journal.getOrCreateMany(existing);
await files.getOrCreateMany(existing);
const journalUncached = await JournalSubjectKeyStore.open(join(root, 'journal'), keyring, {
  cacheEntries: 0,
});
const filesUncached = await FileSubjectKeyStore.open(join(root, 'files'), keyring, { cacheEntries: 0 });
let cursor = 0;
const nextExisting = (): string => existing[cursor++ % LOOKUP_KEYS]!;

describe('look up one existing subject key', () => {
  bench(
    'JournalSubjectKeyStore.get, cached',
    async () => {
      await journal.get(nextExisting());
    },
    BENCH_OPTIONS,
  );
  bench(
    'JournalSubjectKeyStore.get, uncached (in-memory entry, unwrap)',
    async () => {
      await journalUncached.get(nextExisting());
    },
    BENCH_OPTIONS,
  );
  bench(
    'FileSubjectKeyStore.get, cached',
    async () => {
      await files.get(nextExisting());
    },
    BENCH_OPTIONS,
  );
  bench(
    'FileSubjectKeyStore.get, uncached (read file, unwrap)',
    async () => {
      await filesUncached.get(nextExisting());
    },
    BENCH_OPTIONS,
  );
});

describe(`look up ${LOOKUP_KEYS} existing subject keys in one call`, () => {
  bench(
    'JournalSubjectKeyStore.getOrCreateMany, cached',
    async () => {
      await journal.getOrCreateMany(existing);
    },
    BENCH_OPTIONS,
  );
  bench(
    'JournalSubjectKeyStore.getOrCreateMany, uncached',
    async () => {
      await journalUncached.getOrCreateMany(existing);
    },
    BENCH_OPTIONS,
  );
});

if (!QUICK) {
  const bigDir = join(root, 'journal-100k');
  const big = await JournalSubjectKeyStore.open(bigDir, keyring);
  for (let made = 0; made < OPEN_KEYS; made += 1000) await big.getOrCreateMany(freshIds(1000));
  await big.close();
  const probe = await JournalSubjectKeyStore.open(bigDir, keyring);
  check(probe.size === OPEN_KEYS, `journal holds ${OPEN_KEYS} keys`);
  await probe.close();

  describe(`open a journal of ${OPEN_KEYS} keys`, () => {
    bench(
      'JournalSubjectKeyStore.open + close',
      async () => {
        const store = await JournalSubjectKeyStore.open(bigDir, keyring);
        await store.close();
      },
      SLOW_OPTIONS,
    );
  });
}
