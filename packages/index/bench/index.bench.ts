/**
 * Search index micro-benchmarks (vitest bench): inserting 1,000 rows (one transaction, with the
 * watermark) into an index already holding a base set, and one tenant + actor + 7-day search,
 * limit 50, newest first. Synthetic rows (bench/synthetic.ts), not through the ledger.
 * Base set: 200,000 rows; quick mode (SEALOG_BENCH_QUICK=1): 20,000.
 * The scale benchmark is bench/query-10m.ts; the engine choice is bench/compare-engines.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { type IndexRow, openSearchIndex, type SearchIndex } from '../src/index';
import { Prng, pickActorQuery, syntheticRows, syntheticSet } from './synthetic';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
const BASE_ROWS = QUICK ? 20_000 : 200_000;
const OPTIONS = QUICK ? { time: 50, iterations: 5, warmupIterations: 1 } : { time: 2000, iterations: 20 };
const root = mkdtempSync(join(tmpdir(), 'sealog-index-bench-'));
// Generate more rows than the base so that every insert iteration gets 1,000 new ones.
const set = syntheticSet({ rows: BASE_ROWS + 1000 * 1000 });
const chunks = syntheticRows(set, 1000);
let index: SearchIndex;
const prng = new Prng(5);

function nextChunk(): { rows: IndexRow[]; watermarks: Map<string, number> } {
  const next = chunks.next();
  if (next.done === true) throw new Error('bench: synthetic rows exhausted');
  return next.value;
}

beforeAll(() => {
  index = openSearchIndex({ path: join(root, 'search.db') });
  // The base set as a bulk load (fast); the timed inserts then maintain every index row by row.
  index.reset({ bulkLoad: true });
  for (let n = 0; n < BASE_ROWS; n += 1000) {
    const c = nextChunk();
    index.insert(c.rows, c.watermarks);
  }
  index.finishBulkLoad();
  // Correct before timed: a search returns sorted hits within the asked range.
  const q = pickActorQuery(set, new Prng(1));
  const hits = index.search({ ...q, limit: 50, order: 'desc' }).hits;
  for (let i = 0; i < hits.length; i++) {
    const h = hits[i]!;
    if (h.occurredAt < q.startTime || h.occurredAt >= q.endTime)
      throw new Error('bench: hit outside the range');
    if (i > 0 && hits[i - 1]!.occurredAt < h.occurredAt) throw new Error('bench: hits not newest first');
  }
}, 120_000);

afterAll(() => {
  index.close();
  rmSync(root, { recursive: true, force: true });
});

describe(`search index holding ${BASE_ROWS} rows`, () => {
  bench(
    'insert 1,000 rows + watermark (one transaction)',
    () => {
      const c = nextChunk();
      index.insert(c.rows, c.watermarks);
    },
    OPTIONS,
  );
  bench(
    'search: tenant + actor + 7 days, limit 50, desc',
    () => {
      index.search({ ...pickActorQuery(set, prng), limit: 50, order: 'desc' });
    },
    OPTIONS,
  );
});
