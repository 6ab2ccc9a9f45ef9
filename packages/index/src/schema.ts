/**
 * The index file: SQLite schema, version check and connection settings.
 *
 * Layout (docs/INDEX.md "Schema" explains every choice with its measurement):
 * - `entries`: one row per record. The rowid is the record's position (position.ts). Low-cardinality
 *   strings (tenant, action, category, result, actor type, resource type) are stored as numbers from
 *   `names`, which keeps every secondary index narrow. `token` is the subject's blind token, NULL
 *   when an erasure of the subject covers the row. `append_clock` orders resource histories (search-index.ts).
 * - `events`: `(tenant, event id, position)`, the event-id lookup on its own (an id is needed
 *   nowhere else, so it is not stored twice as a column plus an index). `event_id` has BLOB
 *   affinity: values are kept exactly as bound (text stays text: "0123" never becomes 123).
 * - one index per query shape, each ending in the sort column; the rowid (position) rides along as
 *   the last key column, so `ORDER BY time, pos` with `LIMIT` reads the index in order and stops —
 *   no sort, and no table access when only time and position are needed.
 * - `logs`: per log its position code, the watermark (next leaf to index), the append clock and
 *   its row count, updated in the same transaction as the rows.
 * - `erased`: per erased subject `(tenant, token)` its horizon `until`: rows of the subject whose
 *   append clock is at most `until` carry no token (search-index.ts `eraseSubject`); kept across
 *   `reset()`.
 *
 * Connection settings: WAL (readers never block the writer), `synchronous = NORMAL` (a commit is
 * atomic but may be lost on power failure — the index is rebuildable and the watermark is lost with
 * its rows, so nothing is skipped or duplicated), `secure_delete = FAST` (erased tokens are zeroed
 * in the pages that are rewritten anyway).
 *
 * Not here: queries (search-index.ts).
 */
import type { Database } from 'better-sqlite3';
import { IndexError } from './errors';

/**
 * Schema version stored in `PRAGMA user_version`; a file with another version is refused, except
 * version 1, which a writing connection upgrades in place ({@link ensureSchema}).
 * 2: `erased.until` (an erasure covers the rows up to a horizon instead of every row forever).
 */
export const SCHEMA_VERSION = 2;
/** `PRAGMA application_id` of a sealog index file: ASCII "SLIX". */
export const APPLICATION_ID = 0x534c4958;
/** Default database page size of new index files in bytes (SQLite's default). */
export const DEFAULT_PAGE_BYTES = 4096;
/** Default page cache per connection in bytes: 64 MiB. */
export const DEFAULT_CACHE_BYTES: number = 64 * 1024 * 1024;
/** Default memory-mapped read window in bytes: 256 MiB (0 turns memory mapping off). */
export const DEFAULT_MMAP_BYTES: number = 256 * 1024 * 1024;
/** WAL size kept after a checkpoint in bytes: 64 MiB (it is truncated down to this). */
const WAL_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * Default WAL pages that trigger an automatic checkpoint: 16,384 (64 MiB of 4 KiB pages). A checkpoint is
 * the only fsync under `synchronous = NORMAL`, and a 1,000-row commit dirties thousands of index
 * pages, so SQLite's default (1,000 pages) fsyncs after nearly every commit: 50k rows went from
 * 14.6k to 18.1k rows/s with 10,000 pages (docs/INDEX.md "Insert cost"). Checkpoints in a worker
 * thread were tried and measured no faster: the disk, not the thread, is the bottleneck.
 */
export const DEFAULT_CHECKPOINT_PAGES = 16_384;
/** How long a statement waits for another connection's lock before failing, in ms. */
const BUSY_TIMEOUT_MS = 5000;

const DDL = `
CREATE TABLE names (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE logs (
  code INTEGER PRIMARY KEY,
  log_id TEXT NOT NULL UNIQUE,
  next_leaf INTEGER NOT NULL,
  append_clock INTEGER NOT NULL,
  row_count INTEGER NOT NULL
);
CREATE TABLE entries (
  pos INTEGER PRIMARY KEY,
  tenant INTEGER NOT NULL,
  occurred_at INTEGER NOT NULL,
  append_clock INTEGER NOT NULL,
  token BLOB,
  actor_type INTEGER NOT NULL,
  action INTEGER NOT NULL,
  category INTEGER,
  resource_type INTEGER NOT NULL,
  resource_id TEXT NOT NULL,
  result INTEGER NOT NULL
);
CREATE TABLE events (
  tenant INTEGER NOT NULL,
  event_id BLOB NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (tenant, event_id, pos)
) WITHOUT ROWID;
CREATE TABLE erased (
  tenant INTEGER NOT NULL,
  token BLOB NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY (tenant, token)
) WITHOUT ROWID;
`;

/**
 * The secondary indexes of `entries`: dropped by a bulk load (`reset({ bulkLoad: true })`) and
 * built again afterwards, because building an index from a full table (one sort, sequential
 * writes) costs a fraction of maintaining it row by row (docs/INDEX.md "Insert cost").
 */
export const SECONDARY_INDEXES: readonly (readonly [name: string, columns: string])[] = [
  ['entries_subject', 'tenant, token, occurred_at'],
  ['entries_time', 'tenant, occurred_at'],
  ['entries_action', 'tenant, action, occurred_at'],
  ['entries_resource', 'tenant, resource_type, resource_id, occurred_at'],
  ['entries_history', 'tenant, resource_type, resource_id, append_clock, pos, occurred_at'],
];

/** Creates the secondary indexes that do not exist (all of them after a bulk load). */
export function createSecondaryIndexes(db: Database): void {
  for (const [name, columns] of SECONDARY_INDEXES)
    db.exec(`CREATE INDEX IF NOT EXISTS ${name} ON entries (${columns})`);
}

/** Drops the secondary indexes (start of a bulk load). */
export function dropSecondaryIndexes(db: Database): void {
  for (const [name] of SECONDARY_INDEXES) db.exec(`DROP INDEX IF EXISTS ${name}`);
}

/** Whether every secondary index exists (false: a bulk load was interrupted). */
export function hasSecondaryIndexes(db: Database): boolean {
  const count = db
    .prepare(
      `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN (${SECONDARY_INDEXES.map(() => '?').join(', ')})`,
    )
    .pluck()
    .get(...SECONDARY_INDEXES.map(([name]) => name)) as number;
  return count === SECONDARY_INDEXES.length;
}

/** Connection settings of {@link configureConnection}. */
export interface ConnectionSettings {
  /** Page size of a new file in bytes, a power of two 512..65536 (an existing file keeps its own). */
  readonly pageBytes: number;
  /** Page cache in bytes, ≥ 1 MiB. */
  readonly cacheBytes: number;
  /** Memory-mapped read window in bytes, ≥ 0 (0: off). */
  readonly mmapBytes: number;
  /** WAL pages between automatic checkpoints, ≥ 1. */
  readonly checkpointPages: number;
}

/** Applies the per-connection settings (pragmas that are not stored in the file). */
export function configureConnection(db: Database, settings: ConnectionSettings): void {
  // Before WAL: a file's page size is fixed once it has content or is in WAL mode.
  db.pragma(`page_size = ${settings.pageBytes}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = ${-Math.floor(settings.cacheBytes / 1024)}`);
  db.pragma(`mmap_size = ${Math.floor(settings.mmapBytes)}`);
  db.pragma('temp_store = MEMORY');
  db.pragma('secure_delete = FAST');
  db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
  db.pragma(`wal_autocheckpoint = ${settings.checkpointPages}`);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
}

/** Settings of a read-only connection: caches and timeouts only (the writer set the rest). */
export function configureReader(db: Database, settings: ConnectionSettings): void {
  db.pragma(`cache_size = ${-Math.floor(settings.cacheBytes / 1024)}`);
  db.pragma(`mmap_size = ${Math.floor(settings.mmapBytes)}`);
  db.pragma('temp_store = MEMORY');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
}

/**
 * Checks that a file opened read-only is a sealog index of {@link SCHEMA_VERSION} (never creates).
 * @throws {IndexError} `INCOMPATIBLE` otherwise.
 */
export function checkSchema(db: Database, path: string): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (applicationId !== APPLICATION_ID || version !== SCHEMA_VERSION) {
    throw new IndexError(
      'INCOMPATIBLE',
      `${path}: not a sealog index of schema version ${SCHEMA_VERSION} (application_id 0x${applicationId.toString(16)}, version ${version})`,
    );
  }
}

/**
 * Creates the schema in an empty file, or checks that a non-empty one is a sealog index of
 * {@link SCHEMA_VERSION}.
 * @throws {IndexError} `INCOMPATIBLE` for another application's file or another schema version.
 */
export function ensureSchema(db: Database, path: string): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db
    .prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'")
    .pluck()
    .get() as number;
  if (applicationId === 0 && version === 0 && tables === 0) {
    db.transaction(() => {
      db.exec(DDL);
      createSecondaryIndexes(db);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    return;
  }
  if (applicationId !== APPLICATION_ID) {
    throw new IndexError(
      'INCOMPATIBLE',
      `${path}: not a sealog index (application_id 0x${applicationId.toString(16)}, expected 0x${APPLICATION_ID.toString(16)})`,
    );
  }
  if (version === 1) {
    upgradeFromVersion1(db);
    return;
  }
  if (version !== SCHEMA_VERSION) {
    throw new IndexError(
      'INCOMPATIBLE',
      `${path}: index schema version ${version}, this build reads ${SCHEMA_VERSION}; delete the file and reindex`,
    );
  }
}

/**
 * Version 1 → 2: adds `erased.until`. A version-1 erasure covered every row of its subject for
 * ever, and the file does not say when it happened; the upgrade gives it the latest append clock
 * of any log, so every row indexed until now stays covered (they already have no token) and rows
 * received later carry their token again (an empty index has no clock: its erasures stay unbounded,
 * as before). A file rebuilt from scratch replays the erasure records
 * of the logs with their exact horizons instead.
 */
function upgradeFromVersion1(db: Database): void {
  db.transaction(() => {
    db.exec('ALTER TABLE erased ADD COLUMN until INTEGER NOT NULL DEFAULT 0');
    // An empty index (reset, never refilled) has no clock to go by: such erasures stay unbounded.
    db.exec(
      `UPDATE erased SET until = (SELECT CASE WHEN max(append_clock) > 0 THEN max(append_clock)
         ELSE ${Number.MAX_SAFE_INTEGER} END FROM logs)`,
    );
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
