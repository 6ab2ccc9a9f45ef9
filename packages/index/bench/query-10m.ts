/**
 * The scale: fills a search index with N synthetic rows (default 10,000,000: 100 tenants,
 * 10,000 actors, 30 days of occurred_at, ~1,200 records per resource) directly through
 * `SearchIndex.insert` — not through the ledger — then times
 *   (a) tenant + actor token + 7-day range, limit 50, newest first  (target p99 ≤ 50 ms), and
 *   (b) a resource history of 1,000 records, oldest first           (target p99 ≤ 100 ms)
 * over ≥ 1,000 random queries each (p50/p99), then inserts `--live-rows` more rows in 1,000-row
 * transactions (the live indexer's chunk) to measure the insert rate at that size. Before timing, a
 * few answers are checked against a brute-force pass over the same generated rows.
 *
 * Usage: node --conditions=@sealog/source --import tsx packages/index/bench/query-10m.ts
 *   [--rows 10000000] [--queries 1000] [--batch 10000] [--fill-cache-mib 1024] [--dir DIR] [--json FILE]
 *   [--incremental] [--live-rows 100000] [--page-bytes 4096] [--checkpoint-pages 16384] [--keep] [--reuse]
 *   [--no-check]
 * The fill is a bulk load (as `reindex` does: rows first, then each secondary index built in one
 * sort) unless `--incremental` (every index maintained row by row, as the live indexer does).
 * `--reuse` skips the fill when DIR already holds an index with the same row count (kept by
 * `--keep`); `--batch` is rows per insert transaction (the indexer uses 1,000; filling faster
 * with bigger transactions changes nothing about the queries), and `--fill-cache-mib` the page
 * cache while filling (a 10,000-row transaction dirties more pages than the default 64 MiB holds).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSearchIndex, type SearchHit } from '../src/index';
import {
  liveRows,
  Prng,
  percentile,
  pickActorQuery,
  pickResource,
  syntheticRows,
  syntheticSet,
} from './synthetic';

const ACTOR_TARGET_P99_MS = 50;
const HISTORY_TARGET_P99_MS = 100;

interface Timing {
  p50: number;
  p99: number;
  mean: number;
  max: number;
  hitsMean: number;
}

function time(n: number, run: (i: number) => SearchHit[]): Timing {
  for (let i = 0; i < Math.min(50, n); i++) run(i); // warm-up (same first queries)
  const ms: number[] = [];
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    hits += run(i).length;
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return {
    p50: percentile(ms, 0.5),
    p99: percentile(ms, 0.99),
    mean: ms.reduce((a, b) => a + b, 0) / n,
    max: ms[ms.length - 1]!,
    hitsMean: hits / n,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '10000000' },
      queries: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '10000' },
      'fill-cache-mib': { type: 'string', default: '1024' },
      incremental: { type: 'boolean', default: false },
      'live-rows': { type: 'string', default: '100000' },
      'page-bytes': { type: 'string', default: '4096' },
      'checkpoint-pages': { type: 'string', default: '16384' },
      dir: { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      reuse: { type: 'boolean', default: false },
      'no-check': { type: 'boolean', default: false },
      'max-scan-rows': { type: 'string' },
    },
  });
  const rows = Number(values.rows);
  const queries = Number(values.queries);
  const batch = Number(values.batch);
  const fillCacheBytes = Number(values['fill-cache-mib']) * 2 ** 20;
  const dir = values.dir ?? join(tmpdir(), `sealog-index-10m-${process.pid}`);
  const path = join(dir, 'search.db');
  const set = syntheticSet({ rows });
  console.log(
    `query-10m: ${rows} synthetic rows inserted directly through SearchIndex.insert (NOT through the ledger): ` +
      `${set.tenants} tenants, ${set.actors} actors, 30 days, ${set.resourcesPerTenant} resources/tenant; ` +
      `${batch} rows per transaction, ${values['page-bytes']}-byte pages, page cache ${values['fill-cache-mib']} MiB while filling (queries: defaults); index ${path}`,
  );
  if (!values.reuse) rmSync(dir, { recursive: true, force: true });
  const pageBytes = Number(values['page-bytes']);
  let index = openSearchIndex({ path, cacheBytes: fillCacheBytes, pageBytes });
  let fillSeconds: number | null = null;
  let insertSeconds: number | null = null;
  let buildSeconds: number | null = null;
  const filled = index.watermark('default') + index.watermark('long');
  if (values.reuse && existsSync(path) && filled === rows) {
    console.log('reusing the filled index');
  } else {
    // Bulk load (default): rows into the table only, then each secondary index built in one sort —
    // what `reindex` does. `--incremental` maintains every index row by row, as the live indexer.
    index.reset({ bulkLoad: !values.incremental });
    const t0 = performance.now();
    let done = 0;
    let last = t0;
    for (const chunk of syntheticRows(set, batch)) {
      index.insert(chunk.rows, chunk.watermarks);
      done += chunk.rows.length;
      if (done % 1_000_000 === 0 || done === rows) {
        const now = performance.now();
        console.log(
          `  ${done} rows, ${((now - t0) / 1000).toFixed(0)} s, last million at ${Math.round(
            Math.min(1_000_000, done) / ((now - last) / 1000),
          )} rows/s, ${(index.stats().bytes / 2 ** 30).toFixed(2)} GiB`,
        );
        last = now;
      }
    }
    insertSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    index.finishBulkLoad();
    buildSeconds = (performance.now() - t1) / 1000;
    fillSeconds = (performance.now() - t0) / 1000;
    console.log(
      `  ${values.incremental ? 'incremental' : 'bulk load'}: inserts ${insertSeconds.toFixed(0)} s` +
        (values.incremental ? '' : `, index build ${buildSeconds.toFixed(0)} s`),
    );
  }
  // Reopen with the default settings: queries run on a fresh connection (cold page cache; the OS
  // cache stays warm), as a server's would.
  index.close();
  const checkpointPages = Number(values['checkpoint-pages']);
  index = openSearchIndex({
    path,
    checkpointPages,
    ...(values['max-scan-rows'] === undefined ? {} : { maxScanRows: Number(values['max-scan-rows']) }),
  });
  const stats = index.stats();
  console.log(
    `filled: ${stats.rows} rows, ${(stats.bytes / 2 ** 30).toFixed(2)} GiB (${Math.round(stats.bytes / stats.rows)} B/row)` +
      (fillSeconds === null ? '' : `, ${fillSeconds.toFixed(0)} s, ${Math.round(rows / fillSeconds)} rows/s`),
  );

  const actorPrng = new Prng(101);
  const actorQueries = Array.from({ length: queries }, () => pickActorQuery(set, actorPrng));
  const resourcePrng = new Prng(202);
  const resources = Array.from({ length: queries }, () => pickResource(set, resourcePrng));
  const actorSearch = (i: number) => index.search({ ...actorQueries[i]!, limit: 50, order: 'desc' }).hits;
  const history = (i: number) => index.history({ ...resources[i]!, limit: 1000 }).hits;
  // (c) A filter no index narrows and nothing matches — an absent resource id without its type —
  // so the whole tenant is read: the scan budget
  // (`maxScanRows`) bounds each page; without one it reads every row of the tenant.
  const residual = (i: number) =>
    index.search({
      tenantId: resources[i]!.tenantId,
      resourceId: `${resources[i]!.resourceId}-absent`,
      limit: 50,
      order: 'desc',
    }).hits;

  if (!values['no-check']) {
    // Correctness before timing: brute force over the generated rows for the first 5 of each.
    const checks = 5;
    const expectActor: SearchHit[][] = Array.from({ length: checks }, () => []);
    const expectHistory: { hit: SearchHit; receivedAt: number }[][] = Array.from(
      { length: checks },
      () => [],
    );
    const hex = actorQueries.slice(0, checks).map((q) => Buffer.from(q.subjectToken).toString('hex'));
    // The index numbers logs in order of first insertion; ties of equal times order by that number.
    const codes = new Map<string, number>();
    for (const chunk of syntheticRows(set, 100_000)) {
      for (const r of chunk.rows) {
        if (!codes.has(r.logId)) codes.set(r.logId, codes.size);
        const hit = { logId: r.logId, leafIndex: r.leafIndex, occurredAt: r.occurredAt };
        for (let c = 0; c < checks; c++) {
          const q = actorQueries[c]!;
          if (
            r.tenantId === q.tenantId &&
            r.occurredAt >= q.startTime &&
            r.occurredAt < q.endTime &&
            Buffer.from(r.subjectToken).toString('hex') === hex[c]
          ) {
            expectActor[c]!.push(hit);
          }
          const h = resources[c]!;
          if (
            r.tenantId === h.tenantId &&
            r.resourceType === h.resourceType &&
            r.resourceId === h.resourceId
          ) {
            expectHistory[c]!.push({ hit, receivedAt: r.receivedAt });
          }
        }
      }
    }
    const code = (h: SearchHit) => codes.get(h.logId)!;
    for (let c = 0; c < checks; c++) {
      const want = expectActor[c]!.sort(
        (a, b) => b.occurredAt - a.occurredAt || code(b) - code(a) || b.leafIndex - a.leafIndex,
      ).slice(0, 50);
      if (JSON.stringify(actorSearch(c)) !== JSON.stringify(want))
        throw new Error(`actor query ${c}: wrong answer`);
      // Synthetic received times never decrease, so the append clock is the received time.
      const wantHistory = expectHistory[c]!.sort(
        (a, b) =>
          a.receivedAt - b.receivedAt || code(a.hit) - code(b.hit) || a.hit.leafIndex - b.hit.leafIndex,
      )
        .slice(0, 1000)
        .map((x) => x.hit);
      if (JSON.stringify(history(c)) !== JSON.stringify(wantHistory))
        throw new Error(`history ${c}: wrong answer`);
    }
    console.log(`checked ${checks} actor queries and ${checks} histories against a brute-force pass`);
  }

  const actor = time(queries, actorSearch);
  const hist = time(queries, history);
  const line = (name: string, t: Timing, target: number) =>
    `${name}: p50 ${t.p50.toFixed(2)} ms, p99 ${t.p99.toFixed(2)} ms (target ≤ ${target} ms: ${
      t.p99 <= target ? 'met' : 'MISSED'
    }), mean ${t.mean.toFixed(2)} ms, max ${t.max.toFixed(1)} ms, ${t.hitsMean.toFixed(1)} hits/query`;
  console.log(
    line(`tenant + actor + 7 days, limit 50, desc (${queries} queries)`, actor, ACTOR_TARGET_P99_MS),
  );
  console.log(line(`resource history, limit 1000 (${queries} queries)`, hist, HISTORY_TARGET_P99_MS));
  const scan = time(Math.min(queries, 200), residual);
  console.log(
    line(
      `tenant + resource id without type, limit 50, desc (${Math.min(queries, 200)} queries)`,
      scan,
      ACTOR_TARGET_P99_MS,
    ),
  );

  // Live traffic on the filled index: 1,000-row transactions (the indexer's chunk) with the
  // default settings, every index maintained row by row. Appended to log `live`; --reuse runs
  // continue its numbering.
  const liveCount = Number(values['live-rows']);
  let live: {
    rows: number;
    rowsPerSecond: number;
    chunkP50: number;
    chunkP99: number;
    chunkMax: number;
  } | null = null;
  if (liveCount > 0) {
    const chunkMs: number[] = [];
    const t0 = performance.now();
    for (const chunk of liveRows(set, index.watermark('live'), liveCount, 1000)) {
      const c0 = performance.now();
      index.insert(chunk.rows, chunk.watermarks);
      chunkMs.push(performance.now() - c0);
    }
    const seconds = (performance.now() - t0) / 1000;
    chunkMs.sort((a, b) => a - b);
    live = {
      rows: liveCount,
      rowsPerSecond: liveCount / seconds,
      chunkP50: percentile(chunkMs, 0.5),
      chunkP99: percentile(chunkMs, 0.99),
      chunkMax: chunkMs[chunkMs.length - 1]!,
    };
    console.log(
      `live inserts on the filled index: ${liveCount} rows in 1,000-row transactions, ${Math.round(
        live.rowsPerSecond,
      )} rows/s; per transaction p50 ${live.chunkP50.toFixed(0)} ms, p99 ${live.chunkP99.toFixed(0)} ms, max ${live.chunkMax.toFixed(0)} ms`,
    );
  }
  index.close();
  if (values.json !== undefined) {
    writeFileSync(
      values.json,
      `${JSON.stringify(
        {
          source: 'synthetic rows through SearchIndex.insert (not the ledger)',
          rows,
          batch,
          fillCacheMiB: Number(values['fill-cache-mib']),
          pageBytes,
          checkpointPages,
          fill: values.incremental ? 'incremental' : 'bulk load',
          insertSeconds,
          buildSeconds,
          fillSeconds,
          rowsPerSecond: fillSeconds === null ? null : rows / fillSeconds,
          bytes: stats.bytes,
          bytesPerRow: stats.bytes / stats.rows,
          queries,
          actor,
          history: hist,
          live,
          targets: { actorP99Ms: ACTOR_TARGET_P99_MS, historyP99Ms: HISTORY_TARGET_P99_MS },
        },
        null,
        2,
      )}\n`,
    );
  }
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}

main();
