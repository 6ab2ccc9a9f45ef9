/**
 * Chooses the index's embedded database: SQLite (better-sqlite3, through the production
 * `SearchIndex`) against DuckDB (@duckdb/node-api, two schemas written here only), on the same
 * synthetic rows (bench/synthetic.ts: 100 tenants, 10,000 actors, 30 days, ~1,200 records per
 * resource) and the same random queries.
 *
 * Per engine and run: a fresh directory; insert rate (transactions / appender flushes of `--batch`
 * rows, each with its watermark update); size on disk after a checkpoint; query latency p50/p99 of
 * (a) tenant + actor token + 7-day range, limit 50, newest first, and (b) a resource history of
 * 1,000 records, oldest first. Before timing, the engines' answers to the first queries are checked
 * against each other. Runs alternate engines (noise hits all alike); medians over `--repeat` runs.
 *
 * Usage: node --conditions=@sealog/source --import tsx packages/index/bench/compare-engines.ts
 *   [--rows 1000000] [--queries 1000] [--batch 1000] [--repeat 3] [--engines sqlite,duckdb,duckdb-art]
 *   [--dir DIR] [--json FILE]
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type IndexRow, openSearchIndex, type SearchHit, type SearchIndex } from '../src/index';
import {
  Prng,
  percentile,
  pickActorQuery,
  pickResource,
  type SyntheticSet,
  syntheticRows,
  syntheticSet,
} from './synthetic';

interface Engine {
  readonly name: string;
  insert(rows: readonly IndexRow[], watermarks: ReadonlyMap<string, number>): Promise<void>;
  actorQuery(q: ReturnType<typeof pickActorQuery>): Promise<SearchHit[]>;
  history(q: ReturnType<typeof pickResource>): Promise<SearchHit[]>;
  /** Flushes everything to the files (checkpoint) and closes. */
  close(): Promise<void>;
}

const ENGINES: Record<string, (dir: string) => Promise<Engine>> = {
  sqlite: openSqlite,
  duckdb: (dir) => openDuck(dir, false),
  'duckdb-art': (dir) => openDuck(dir, true),
};

async function openSqlite(dir: string): Promise<Engine> {
  const index: SearchIndex = openSearchIndex({ path: join(dir, 'search.db') });
  return {
    name: 'sqlite',
    insert: async (rows, watermarks) => index.insert(rows, watermarks),
    actorQuery: async (q) => index.search({ ...q, limit: 50, order: 'desc' }).hits,
    history: async (q) => index.history({ ...q, limit: 1000 }).hits,
    close: async () => {
      index.close();
    },
  };
}

/**
 * DuckDB, column store. `art`: a primary key on (log_id, leaf_index) plus ART indexes on the two
 * point-lookup keys; otherwise no index at all (zone maps on the time-ordered appends only).
 */
async function openDuck(dir: string, art: boolean): Promise<Engine> {
  const instance = await DuckDBInstance.create(join(dir, 'search.duckdb'), { threads: '2' });
  const db: DuckDBConnection = await instance.connect();
  await db.run(`CREATE TABLE entries (
    log_id VARCHAR NOT NULL, leaf_index BIGINT NOT NULL, tenant_id VARCHAR NOT NULL, event_id VARCHAR NOT NULL,
    occurred_at BIGINT NOT NULL, received_at BIGINT NOT NULL, subject_token BLOB, actor_type VARCHAR NOT NULL,
    action VARCHAR NOT NULL, category VARCHAR, resource_type VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
    result VARCHAR NOT NULL${art ? ', PRIMARY KEY (log_id, leaf_index)' : ''})`);
  await db.run('CREATE TABLE logs (log_id VARCHAR PRIMARY KEY, next_leaf BIGINT NOT NULL)');
  if (art) {
    await db.run('CREATE INDEX entries_subject ON entries (tenant_id, subject_token)');
    await db.run('CREATE INDEX entries_resource ON entries (tenant_id, resource_type, resource_id)');
    await db.run('CREATE INDEX entries_event ON entries (tenant_id, event_id)');
  }
  const appender: DuckDBAppender = await db.createAppender('entries');
  const search = await db.prepare(
    `SELECT log_id, leaf_index, occurred_at FROM entries
     WHERE tenant_id = $1 AND subject_token = $2 AND occurred_at >= $3 AND occurred_at < $4
     ORDER BY occurred_at DESC, log_id DESC, leaf_index DESC LIMIT 51`,
  );
  const history = await db.prepare(
    `SELECT log_id, leaf_index, occurred_at FROM entries
     WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3
     ORDER BY received_at, log_id, leaf_index LIMIT 1001`,
  );
  const watermark = await db.prepare(
    'INSERT INTO logs VALUES ($1, $2) ON CONFLICT (log_id) DO UPDATE SET next_leaf = excluded.next_leaf',
  );
  const toHits = (rows: unknown[][], limit: number): SearchHit[] =>
    rows.slice(0, limit).map((r) => ({
      logId: r[0] as string,
      leafIndex: Number(r[1] as bigint),
      occurredAt: Number(r[2] as bigint),
    }));
  return {
    name: art ? 'duckdb-art' : 'duckdb',
    insert: async (rows, watermarks) => {
      // Rows and watermark in one transaction, as the production index does.
      await db.run('BEGIN TRANSACTION');
      for (const r of rows) {
        appender.appendVarchar(r.logId);
        appender.appendBigInt(BigInt(r.leafIndex));
        appender.appendVarchar(r.tenantId);
        appender.appendVarchar(r.eventId);
        appender.appendBigInt(BigInt(r.occurredAt));
        appender.appendBigInt(BigInt(r.receivedAt));
        appender.appendBlob(r.subjectToken);
        appender.appendVarchar(r.actorType);
        appender.appendVarchar(r.action);
        if (r.category === undefined) appender.appendNull();
        else appender.appendVarchar(r.category);
        appender.appendVarchar(r.resourceType);
        appender.appendVarchar(r.resourceId);
        appender.appendVarchar(r.result);
        appender.endRow();
      }
      appender.flushSync();
      for (const [logId, next] of watermarks) {
        watermark.bindVarchar(1, logId);
        watermark.bindBigInt(2, BigInt(next));
        await watermark.run();
      }
      await db.run('COMMIT');
    },
    actorQuery: async (q) => {
      search.bindVarchar(1, q.tenantId);
      search.bindBlob(2, q.subjectToken);
      search.bindBigInt(3, BigInt(q.startTime));
      search.bindBigInt(4, BigInt(q.endTime));
      return toHits((await search.runAndReadAll()).getRows() as unknown[][], 50);
    },
    history: async (q) => {
      history.bindVarchar(1, q.tenantId);
      history.bindVarchar(2, q.resourceType);
      history.bindVarchar(3, q.resourceId);
      return toHits((await history.runAndReadAll()).getRows() as unknown[][], 1000);
    },
    close: async () => {
      appender.closeSync();
      await db.run('CHECKPOINT');
      db.closeSync();
      instance.closeSync();
    },
  };
}

interface RunResult {
  engine: string;
  run: number;
  rows: number;
  insertSeconds: number;
  rowsPerSecond: number;
  bytes: number;
  actor: { p50: number; p99: number; mean: number; hitsMean: number };
  history: { p50: number; p99: number; mean: number; hitsMean: number };
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    n += s.isDirectory() ? dirBytes(p) : s.size;
  }
  return n;
}

async function fill(engine: Engine, set: SyntheticSet, batch: number): Promise<number> {
  const t0 = performance.now();
  for (const chunk of syntheticRows(set, batch)) await engine.insert(chunk.rows, chunk.watermarks);
  return (performance.now() - t0) / 1000;
}

async function timeQueries<Q>(
  n: number,
  seed: number,
  pick: (prng: Prng) => Q,
  run: (q: Q) => Promise<SearchHit[]>,
): Promise<{ p50: number; p99: number; mean: number; hitsMean: number }> {
  const prng = new Prng(seed);
  const queries = Array.from({ length: n }, () => pick(prng));
  for (let i = 0; i < Math.min(100, n); i++) await run(queries[i]!); // warm-up
  const ms: number[] = [];
  let hits = 0;
  for (const q of queries) {
    const t0 = performance.now();
    const found = await run(q);
    ms.push(performance.now() - t0);
    hits += found.length;
  }
  ms.sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), mean, hitsMean: hits / n };
}

/** Same answer up to the order of rows with equal occurredAt (engines break such ties differently). */
function sameHits(a: readonly SearchHit[], b: readonly SearchHit[]): boolean {
  if (a.length !== b.length) return false;
  const key = (h: SearchHit): string => `${h.occurredAt}/${h.logId}/${h.leafIndex}`;
  const sa = a.map(key).sort();
  const sb = b.map(key).sort();
  return sa.every((k, i) => k === sb[i]) && a.every((h, i) => h.occurredAt === b[i]!.occurredAt);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      queries: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '1000' },
      repeat: { type: 'string', default: '3' },
      engines: { type: 'string', default: 'sqlite,duckdb,duckdb-art' },
      dir: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const rows = Number(values.rows);
  const queries = Number(values.queries);
  const batch = Number(values.batch);
  const repeat = Number(values.repeat);
  const engines = values.engines.split(',');
  for (const e of engines) if (!(e in ENGINES)) throw new Error(`unknown engine ${e}`);
  const root = values.dir ?? join(tmpdir(), `sealog-index-compare-${process.pid}`);
  const set = syntheticSet({ rows });
  console.log(
    `compare-engines: ${rows} synthetic rows (not through the ledger), ${set.tenants} tenants, ${set.actors} actors, ` +
      `${set.resourcesPerTenant} resources/tenant, batches of ${batch}, ${queries} queries per kind, ${repeat} run(s), dir ${root}`,
  );
  const results: RunResult[] = [];
  for (let run = 1; run <= repeat; run++) {
    const answers = new Map<string, SearchHit[][]>();
    for (const name of engines) {
      const dir = join(root, `${name}-${run}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const engine = await ENGINES[name]!(dir);
      const insertSeconds = await fill(engine, set, batch);
      // Correctness first: the first 20 queries of each kind must agree across engines.
      const check: SearchHit[][] = [];
      const pa = new Prng(11);
      const pr = new Prng(12);
      for (let i = 0; i < 20; i++) check.push(await engine.actorQuery(pickActorQuery(set, pa)));
      for (let i = 0; i < 20; i++) check.push(await engine.history(pickResource(set, pr)));
      for (const [other, theirs] of answers) {
        check.forEach((hits, i) => {
          if (!sameHits(hits, theirs[i]!))
            throw new Error(`${name} and ${other} disagree on check query ${i}`);
        });
      }
      answers.set(name, check);
      const actor = await timeQueries(queries, 21, (p) => pickActorQuery(set, p), engine.actorQuery);
      const history = await timeQueries(queries, 22, (p) => pickResource(set, p), engine.history);
      await engine.close();
      const bytes = dirBytes(dir);
      const r: RunResult = {
        engine: name,
        run,
        rows,
        insertSeconds,
        rowsPerSecond: rows / insertSeconds,
        bytes,
        actor,
        history,
      };
      results.push(r);
      console.log(
        `run ${run} ${name.padEnd(10)} insert ${Math.round(r.rowsPerSecond)} rows/s (${insertSeconds.toFixed(1)} s), ` +
          `${(bytes / 2 ** 20).toFixed(0)} MiB (${(bytes / rows).toFixed(0)} B/row); ` +
          `actor+7d p50 ${actor.p50.toFixed(2)} ms p99 ${actor.p99.toFixed(2)} ms (${actor.hitsMean.toFixed(0)} hits); ` +
          `history p50 ${history.p50.toFixed(2)} ms p99 ${history.p99.toFixed(2)} ms (${history.hitsMean.toFixed(0)} hits)`,
      );
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]): number =>
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  const summary = engines.map((name) => {
    const rs = results.filter((r) => r.engine === name);
    return {
      engine: name,
      rowsPerSecond: median(rs.map((r) => r.rowsPerSecond)),
      bytes: median(rs.map((r) => r.bytes)),
      actorP50: median(rs.map((r) => r.actor.p50)),
      actorP99: median(rs.map((r) => r.actor.p99)),
      historyP50: median(rs.map((r) => r.history.p50)),
      historyP99: median(rs.map((r) => r.history.p99)),
    };
  });
  console.log(`medians over ${repeat} run(s):`);
  console.table(summary);
  if (values.json !== undefined) {
    writeFileSync(
      values.json,
      `${JSON.stringify({ rows, queries, batch, repeat, results, summary }, null, 2)}\n`,
    );
  }
  rmSync(root, { recursive: true, force: true });
}

await main();
