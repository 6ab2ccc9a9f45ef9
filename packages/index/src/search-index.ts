/**
 * The search index: one SQLite file (better-sqlite3, synchronous) holding, per record, its position,
 * times, the subject's blind token and the non-personal fields searches filter on — nothing that
 * was personal in plaintext. It is derived from the logs and rebuildable (`reset()` + reindex), so
 * it may lag behind them; it is never on the append path.
 *
 * Writes: {@link SearchIndex.insert} stores rows and advances per-log watermarks ("next leaf to
 * index") in one transaction, so after a crash the index resumes exactly where its last commit
 * ended — never skipping rows, never storing one twice (the position is the primary key and
 * inserts ignore rows already present).
 *
 * Erasure: an erasure of a subject `(tenant, token)` has a horizon on the append clock (below)
 * and clears the token of the subject's rows up to it, in every log — now and whenever such a
 * row is inserted later; rows past it keep the token (a subject seen again after its erasure). The
 * horizons live in the file, so a rebuild (`reset()` + reindex) gives the same rows.
 *
 * Reads: keyset pagination on `(time, position)` in the query's order (cursor.ts); every query runs
 * through one index chosen here (`INDEXED BY`), never a table scan. Resource histories are ordered
 * by the **append clock**: for each log, `max(receivedAt, append clock of the previous record of
 * that log)`, computed as rows arrive in leaf order. Within one log this is exactly leaf order
 * (ties break by position); across logs it interleaves by server time. Plain `receivedAt` would not
 * do: it is taken before subject keys load, so concurrent appends may reach leaf order in another
 * order than their receive times.
 *
 * Not here: reading the ledger (indexer.ts), decrypting anything, rendering records. Returned hits
 * and pages are fresh objects owned by the caller.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database, Statement } from 'better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';
import { type CursorKey, decodeCursor, encodeCursor, LOG_ID_PATTERN, type SortOrder } from './cursor';
import { IndexError } from './errors';
import { type IndexRow, SUBJECT_TOKEN_BYTES } from './index-row';
import { LEAF_INDEX_LIMIT, leafIndexOf, logCodeOf, MAX_LOGS, positionOf } from './position';
import {
  checkSchema,
  configureConnection,
  configureReader,
  createSecondaryIndexes,
  DEFAULT_CACHE_BYTES,
  DEFAULT_CHECKPOINT_PAGES,
  DEFAULT_MMAP_BYTES,
  DEFAULT_PAGE_BYTES,
  dropSecondaryIndexes,
  ensureSchema,
  hasSecondaryIndexes,
} from './schema';

/** Largest page a query may ask for, in hits. */
export const MAX_PAGE_LIMIT = 1000;
/** Longest tenant id, event id, action, resource type or id accepted, in characters. */
export const MAX_FIELD_CHARS = 1024;

/** Options of {@link openSearchIndex}. */
export interface SearchIndexOptions {
  /** Index file; its directory is created when missing. */
  readonly path: string;
  /** Page cache in bytes, ≥ 1 MiB (default 64 MiB). */
  readonly cacheBytes?: number;
  /** Memory-mapped read window in bytes, ≥ 0 (default 256 MiB; 0 turns it off). */
  readonly mmapBytes?: number;
  /** Page size of a new file in bytes, power of two 512..65536 (default 4096); ignored for an existing file. */
  readonly pageBytes?: number;
  /**
   * WAL pages between automatic checkpoints, integer ≥ 1 (default 16,384 = 64 MiB). A checkpoint
   * blocks the inserting thread while it copies pages back and fsyncs: fewer pages, shorter and
   * more frequent stalls (docs/INDEX.md "Insert cost").
   */
  readonly checkpointPages?: number;
  /**
   * Open a read-only connection to an existing index (default false): queries only; `insert`,
   * `eraseSubject`, `reset` and `finishBulkLoad` throw `BAD_ARGUMENT`. Another connection (the
   * writer thread of {@link WorkerSearchIndex}) writes; {@link SearchIndex.refresh} picks up its
   * commits (names, logs, watermarks, bulk-load state).
   */
  readonly readOnly?: boolean;
  /**
   * Most index entries one search page examines when some of its filters are not in the index it
   * walks (e.g. only `category` or `result`; default {@link DEFAULT_MAX_SCAN_ROWS}). A page that
   * reaches it returns the hits found so far — possibly none — with a cursor to continue the scan,
   * so no query holds the thread for long whatever the data.
   */
  readonly maxScanRows?: number;
}

/** Default of {@link SearchIndexOptions.maxScanRows}: ~10–30 ms of scanning on our machines. */
export const DEFAULT_MAX_SCAN_ROWS = 20_000;

/** A search over one tenant's records (CONTRACT §2 `audit-logs`). All filters are equalities. */
export interface SearchQuery {
  /** Tenant to search; the only tenant whose rows can match. */
  readonly tenantId: string;
  /** Blind token of the actor id ({@link SUBJECT_TOKEN_BYTES} bytes); erased subjects never match. */
  readonly subjectToken?: Uint8Array | undefined;
  /** Exact action, e.g. `role.upgrade`. */
  readonly action?: string | undefined;
  /** Exact category (`create` … `other`); records without one never match. */
  readonly category?: string | undefined;
  /** Exact resource type; with `resourceId` the query reads the resource's own index. */
  readonly resourceType?: string | undefined;
  /** Exact resource id. */
  readonly resourceId?: string | undefined;
  /** `success` | `failure` | `unknown`. */
  readonly result?: string | undefined;
  /** Inclusive lower bound on `occurredAt`, epoch ms, safe integer. */
  readonly startTime?: number | undefined;
  /** Exclusive upper bound on `occurredAt`, epoch ms, safe integer ≥ `startTime`. */
  readonly endTime?: number | undefined;
  /** Hits per page, integer 1..{@link MAX_PAGE_LIMIT}. */
  readonly limit: number;
  /** `nextCursor` of the previous page of the same query and order. */
  readonly cursor?: string | undefined;
  /** `desc`: newest `occurredAt` first; `asc`: oldest first. Ties: by position, same direction. */
  readonly order: SortOrder;
}

/** One resource's records (CONTRACT §2 `history`), in append order. */
export interface HistoryQuery {
  /** Tenant of the resource. */
  readonly tenantId: string;
  /** Resource type, 1..1024 chars. */
  readonly resourceType: string;
  /** Resource id, 1..1024 chars. */
  readonly resourceId: string;
  /** Hits per page, integer 1..{@link MAX_PAGE_LIMIT}. */
  readonly limit: number;
  /** `nextCursor` of the previous page of the same query and order. */
  readonly cursor?: string | undefined;
  /** `asc` (default): oldest first; `desc`: newest first. */
  readonly order?: SortOrder | undefined;
}

/**
 * Which rows of a subject an erasure covers (see {@link SearchIndex.eraseSubject}): in every log,
 * the rows whose append clock (the log's running maximum of `receivedAt`, see the file comment) is
 * at most the horizon — a prefix of each log, since the clock never decreases along a log.
 */
export type ErasureHorizon =
  /** Horizon `time`: epoch ms, safe integer ≥ 0 (e.g. when the subject key was shredded). */
  | { readonly time: number }
  /**
   * The horizon is the append clock of the record `(logId, leafIndex)` that announces the erasure,
   * which the index must hold: every row before it in its log, and the rows of other logs
   * appended (by server time) no later than it.
   */
  | { readonly logId: string; readonly leafIndex: number };

/**
 * An erasure announced by an indexed record, applied by {@link SearchIndex.insert} in the same
 * transaction as the rows (horizon: that record, see {@link ErasureHorizon}).
 */
export interface RecordErasure {
  /** Tenant of the erased subject. */
  readonly tenantId: string;
  /** The subject's blind token, {@link SUBJECT_TOKEN_BYTES} bytes. */
  readonly subjectToken: Uint8Array;
  /** Log of the announcing record. */
  readonly logId: string;
  /** Leaf index of the announcing record (in this insert or indexed before). */
  readonly leafIndex: number;
}

/** Where a matching record lives; read it (and its proof) from the ledger. */
export interface SearchHit {
  /** Log holding the record. */
  readonly logId: string;
  /** Leaf index in that log. */
  readonly leafIndex: number;
  /** The record's `occurred_at`, epoch ms. */
  readonly occurredAt: number;
}

/** One page of hits. */
export interface SearchPage {
  /** At most `limit` hits, in the query's order. */
  readonly hits: SearchHit[];
  /** Cursor of the next page; `null` when this page is the last. */
  readonly nextCursor: string | null;
}

/** Size of the index. */
export interface IndexStats {
  /** Rows (records) indexed. */
  readonly rows: number;
  /** Bytes on disk: the database file plus its write-ahead log. */
  readonly bytes: number;
}

/** Per-log state, mirrored from the `logs` table. */
interface LogState {
  readonly code: number;
  readonly logId: string;
  /** Watermark: next leaf index to index. */
  next: number;
  /** Append clock of the last row inserted, epoch ms. */
  clock: number;
  rows: number;
}

/** Search filters in the order of the query's bound parameters. */
const FILTERS = ['subjectToken', 'action', 'category', 'resourceType', 'resourceId', 'result'] as const;
const COLUMNS = ['token', 'action', 'category', 'resource_type', 'resource_id', 'result'] as const;
const TOKEN_BIT = 1;
const ACTION_BIT = 2;
const RESOURCE_TYPE_BIT = 8;
const RESOURCE_ID_BIT = 16;
const START_BIT = 64;
const END_BIT = 128;
const CURSOR_BIT = 256;
const DESC_BIT = 512;

/**
 * Opens (creating when missing) the index file at `options.path`.
 * @throws {IndexError} `BAD_ARGUMENT` for bad options; `INCOMPATIBLE` for a file of another
 *   application or schema version; `FAILED` when SQLite cannot open it.
 * @example
 * ```ts
 * const index = openSearchIndex({ path: './sealog-data/index/search.db' });
 * const page = index.search({ tenantId: 'acme', subjectToken: token, limit: 50, order: 'desc' });
 * index.close();
 * ```
 */
export function openSearchIndex(options: SearchIndexOptions): SearchIndex {
  return new SearchIndex(options);
}

/** The search index over one file. Not safe to share across worker threads; one writer per file. */
export class SearchIndex {
  /** The index file. */
  readonly path: string;
  private readonly db: Database;
  private closed = false;
  /** Secondary indexes dropped by `reset({ bulkLoad: true })` until {@link finishBulkLoad}. */
  private bulk = false;
  /** name → id of `names` (committed). */
  private readonly names = new Map<string, number>();
  /** logId → state (committed). */
  private readonly logs = new Map<string, LogState>();
  /** Position code → log id. */
  private readonly logIds: string[] = [];
  /** Tenant name id → hex token of an erased subject → its horizon (append clock, epoch ms). */
  private readonly erased = new Map<number, Map<string, number>>();
  /** Erasures of the running transaction, merged into {@link erased} on commit. */
  private readonly stagedErased: { tenant: number; hex: string; until: number }[] = [];
  /** Names and logs created by the running transaction, merged on commit. */
  private readonly stagedNames = new Map<string, number>();
  private readonly stagedLogs = new Map<string, LogState>();
  /** Search statements by shape (filters present, bounds, cursor, order); built on first use. */
  private readonly searchStatements = new Map<
    number,
    { statement: Statement; boundary: Statement | undefined; residual: number[] }
  >();
  private readonly maxScanRows: number;
  private readonly insertRow: Statement;
  private readonly insertEvent: Statement;
  private readonly insertName: Statement;
  private readonly upsertLog: Statement;
  private readonly rowExists: Statement;
  private readonly historyStatements: Statement[];
  private readonly findEventStatement: Statement;
  private readonly insertErased: Statement;
  private readonly clearToken: Statement;
  private readonly clockAt: Statement;
  private readonly erasedUntilStatement: Statement;
  private readonly insertTx: (
    rows: readonly IndexRow[],
    watermarks: ReadonlyMap<string, number>,
    erasures: readonly RecordErasure[],
  ) => void;
  /** Read-only connection (queries only); its maps follow the writer through {@link refresh}. */
  private readonly readOnly: boolean;
  /** Largest id of `names` loaded (refresh reads only newer ones). */
  private maxNameId = 0;

  /** Prefer {@link openSearchIndex}. */
  constructor(options: SearchIndexOptions) {
    const path = options.path;
    if (typeof path !== 'string' || path.length === 0 || path === ':memory:') {
      throw new IndexError('BAD_ARGUMENT', `path: expected a file path, got ${JSON.stringify(path)}`);
    }
    const maxScanRows = options.maxScanRows ?? DEFAULT_MAX_SCAN_ROWS;
    if (!Number.isSafeInteger(maxScanRows) || maxScanRows < 1) {
      throw new IndexError('BAD_ARGUMENT', `maxScanRows: expected an integer ≥ 1, got ${maxScanRows}`);
    }
    this.maxScanRows = maxScanRows;
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    const mmapBytes = options.mmapBytes ?? DEFAULT_MMAP_BYTES;
    const pageBytes = options.pageBytes ?? DEFAULT_PAGE_BYTES;
    const checkpointPages = options.checkpointPages ?? DEFAULT_CHECKPOINT_PAGES;
    if (!Number.isSafeInteger(checkpointPages) || checkpointPages < 1) {
      throw new IndexError(
        'BAD_ARGUMENT',
        `checkpointPages: expected an integer ≥ 1, got ${checkpointPages}`,
      );
    }
    if (
      !Number.isInteger(pageBytes) ||
      pageBytes < 512 ||
      pageBytes > 65536 ||
      (pageBytes & (pageBytes - 1)) !== 0
    ) {
      throw new IndexError('BAD_ARGUMENT', `pageBytes: expected a power of two 512..65536, got ${pageBytes}`);
    }
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 1024 * 1024) {
      throw new IndexError('BAD_ARGUMENT', `cacheBytes: expected an integer ≥ 1 MiB, got ${cacheBytes}`);
    }
    if (!Number.isSafeInteger(mmapBytes) || mmapBytes < 0) {
      throw new IndexError('BAD_ARGUMENT', `mmapBytes: expected an integer ≥ 0, got ${mmapBytes}`);
    }
    this.path = path;
    this.readOnly = options.readOnly === true;
    let db: Database;
    try {
      if (this.readOnly) {
        db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
      } else {
        mkdirSync(dirname(path), { recursive: true });
        db = new BetterSqlite3(path);
      }
    } catch (cause) {
      throw new IndexError('FAILED', `${path}: cannot open the index`, { cause });
    }
    this.db = db;
    try {
      if (this.readOnly) {
        configureReader(db, { pageBytes, cacheBytes, mmapBytes, checkpointPages });
        checkSchema(db, path);
        this.bulk = !hasSecondaryIndexes(db);
      } else {
        configureConnection(db, { pageBytes, cacheBytes, mmapBytes, checkpointPages });
        ensureSchema(db, path);
        // A bulk load that never finished (crash, kill) left the indexes dropped: build them now,
        // and erase what the erasures recorded meanwhile cover (their row scans were deferred).
        if (!hasSecondaryIndexes(db)) finishBulk(db);
      }
      this.insertRow = db.prepare(
        `INSERT OR IGNORE INTO entries (pos, tenant, occurred_at, append_clock, token, actor_type,
           action, category, resource_type, resource_id, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      this.insertEvent = db.prepare('INSERT OR IGNORE INTO events (tenant, event_id, pos) VALUES (?, ?, ?)');
      this.insertName = db.prepare('INSERT INTO names (name) VALUES (?)');
      this.upsertLog = db.prepare(
        `INSERT INTO logs (code, log_id, next_leaf, append_clock, row_count) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (code) DO UPDATE SET next_leaf = excluded.next_leaf,
           append_clock = excluded.append_clock, row_count = excluded.row_count`,
      );
      this.rowExists = db.prepare('SELECT 1 FROM entries WHERE pos = ?').pluck();
      this.historyStatements = [false, true].flatMap((desc) =>
        [false, true].map((cursor) => db.prepare(historySql(desc, cursor)).raw(true)),
      );
      this.findEventStatement = db
        .prepare(
          `SELECT v.pos, e.occurred_at FROM events AS v JOIN entries AS e ON e.pos = v.pos
           WHERE v.tenant = ? AND v.event_id = ? ORDER BY e.append_clock, v.pos LIMIT 1`,
        )
        .raw(true);
      // Horizons only grow: a later erasure of the same subject covers at least what earlier ones did.
      this.insertErased = db.prepare(
        `INSERT INTO erased (tenant, token, until) VALUES (?, ?, ?)
         ON CONFLICT (tenant, token) DO UPDATE SET until = max(until, excluded.until)`,
      );
      this.clearToken = db.prepare(CLEAR_TOKEN_SQL);
      this.clockAt = db.prepare('SELECT append_clock FROM entries WHERE pos = ?').pluck();
      this.erasedUntilStatement = db
        .prepare('SELECT until FROM erased WHERE tenant = ? AND token = ?')
        .pluck();
      this.insertTx = db.transaction(
        (
          rows: readonly IndexRow[],
          watermarks: ReadonlyMap<string, number>,
          erasures: readonly RecordErasure[],
        ) => this.insertInTransaction(rows, watermarks, erasures),
      );
      this.load();
    } catch (cause) {
      db.close();
      if (cause instanceof IndexError) throw cause;
      throw new IndexError('FAILED', `${path}: cannot open the index`, { cause });
    }
  }

  /** Reads the small tables (names, logs, erased subjects) into memory. */
  private load(): void {
    this.loadNamesAndLogs();
    for (const [tenant, token, until] of this.db
      .prepare('SELECT tenant, token, until FROM erased')
      .raw(true)
      .all() as [number, Buffer, number][]) {
      this.rememberErased(tenant, token.toString('hex'), until);
    }
  }

  /**
   * Stores `rows` and sets the watermarks of `watermarks` (log id → next leaf index to index) in one
   * transaction: after a crash either both are there or neither. Rows already present (same log
   * and leaf index) are ignored. Rows of one log must come in leaf order (the append clock of
   * resource histories is computed from that order). A row is stored without its token when it
   * says so (`subjectErased`) or when a remembered erasure of its subject covers it (its append
   * clock is at most the erasure's horizon; see {@link eraseSubject}).
   *
   * `erasures` (announced by records: the indexer's `erasureOf`) are applied after the rows, in the
   * same transaction, so no crash separates an announcing record's watermark from its erasure; then
   * the write-ahead log is checkpointed as by {@link eraseSubject}.
   *
   * @throws {IndexError} `BAD_ARGUMENT` for a malformed row, watermark or erasure, an erasure whose
   *   record the index does not hold, a watermark that moves backwards, or one that moves past a
   *   leaf the index does not hold (e.g. a chunk read before a concurrent {@link reset}); nothing is
   *   stored then. `FAILED` when SQLite fails (rolled back).
   */
  insert(
    rows: readonly IndexRow[],
    watermarks: ReadonlyMap<string, number>,
    erasures: readonly RecordErasure[] = [],
  ): void {
    this.checkWritable('insert');
    for (let i = 0; i < rows.length; i++) checkRow(rows[i]!, i);
    for (let i = 0; i < erasures.length; i++) {
      const e = erasures[i]!;
      checkString(e.tenantId, `erasures[${i}].tenantId`);
      checkToken(e.subjectToken, `erasures[${i}].subjectToken`);
      if (typeof e.logId !== 'string' || !LOG_ID_PATTERN.test(e.logId)) {
        throw new IndexError('BAD_ARGUMENT', `erasures[${i}].logId: bad log id ${JSON.stringify(e.logId)}`);
      }
      checkUint(e.leafIndex, `erasures[${i}].leafIndex`, LEAF_INDEX_LIMIT);
    }
    for (const [logId, next] of watermarks) {
      if (typeof logId !== 'string' || !LOG_ID_PATTERN.test(logId)) {
        throw new IndexError('BAD_ARGUMENT', `watermarks: bad log id ${JSON.stringify(logId)}`);
      }
      if (!Number.isSafeInteger(next) || next < 0 || next > LEAF_INDEX_LIMIT) {
        throw new IndexError('BAD_ARGUMENT', `watermarks[${logId}]: expected 0 ≤ n ≤ 2^40, got ${next}`);
      }
    }
    try {
      this.insertTx(rows, watermarks, erasures);
      for (const [name, id] of this.stagedNames) this.names.set(name, id);
      for (const state of this.stagedLogs.values()) {
        if (!this.logs.has(state.logId)) this.logIds.push(state.logId);
        this.logs.set(state.logId, state);
      }
      for (const e of this.stagedErased) this.rememberErased(e.tenant, e.hex, e.until);
    } catch (cause) {
      if (cause instanceof IndexError) throw cause;
      throw new IndexError('FAILED', `${this.path}: insert of ${rows.length} rows rolled back`, { cause });
    } finally {
      this.stagedNames.clear();
      this.stagedLogs.clear();
      this.stagedErased.length = 0;
    }
    if (erasures.length > 0) this.guard('insert', () => this.db.pragma('wal_checkpoint(TRUNCATE)'));
  }

  private insertInTransaction(
    rows: readonly IndexRow[],
    watermarks: ReadonlyMap<string, number>,
    erasures: readonly RecordErasure[],
  ): void {
    const insertRow = this.insertRow;
    const insertEvent = this.insertEvent;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const log = this.stagedLog(row.logId);
      const tenant = this.nameId(row.tenantId);
      const clock = Math.max(row.receivedAt, log.clock);
      // Erasures are rare: the hex key is computed only for tenants that have one.
      const erased = this.erased.size === 0 ? undefined : this.erased.get(tenant);
      const until = erased?.get(Buffer.from(row.subjectToken).toString('hex'));
      const token =
        row.subjectErased === true || (until !== undefined && clock <= until) ? null : row.subjectToken;
      const pos = positionOf(log.code, row.leafIndex);
      const info = insertRow.run(
        pos,
        tenant,
        row.occurredAt,
        clock,
        token,
        this.nameId(row.actorType),
        this.nameId(row.action),
        row.category === undefined ? null : this.nameId(row.category),
        this.nameId(row.resourceType),
        row.resourceId,
        this.nameId(row.result),
      );
      // Only a new row advances the clock: a repeat of an indexed row must not reorder history.
      if (info.changes === 1) {
        log.clock = clock;
        log.rows++;
        insertEvent.run(tenant, eventKey(row.eventId), pos);
      }
    }
    for (const [logId, next] of watermarks) {
      const log = this.stagedLog(logId);
      if (next < log.next) {
        throw new IndexError(
          'BAD_ARGUMENT',
          `watermarks[${logId}]: ${next} is behind the index (${log.next})`,
        );
      }
      // Advancing over leaves the index never got would skip them forever; the row at the old
      // watermark must exist (this also refuses a chunk read before a concurrent reset()).
      if (next > log.next && this.rowExists.get(positionOf(log.code, log.next)) === undefined) {
        throw new IndexError(
          'BAD_ARGUMENT',
          `watermarks[${logId}]: cannot advance from ${log.next} to ${next}: leaf ${log.next} is not indexed`,
        );
      }
      log.next = next;
    }
    for (let i = 0; i < erasures.length; i++) {
      const e = erasures[i]!;
      const log = this.stagedLogs.get(e.logId) ?? this.logs.get(e.logId);
      const until =
        log === undefined
          ? undefined
          : (this.clockAt.get(positionOf(log.code, e.leafIndex)) as number | undefined);
      if (until === undefined) {
        throw new IndexError(
          'BAD_ARGUMENT',
          `erasures[${i}]: the announcing record ${e.logId}/${e.leafIndex} is not indexed`,
        );
      }
      this.eraseInTransaction(this.nameId(e.tenantId), e.subjectToken, until);
    }
    for (const log of this.stagedLogs.values()) {
      this.upsertLog.run(log.code, log.logId, log.next, log.clock, log.rows);
    }
  }

  /**
   * Records the erasure of `(tenant, token)` up to `until` and clears the token of the rows it
   * covers. During a bulk load the rows are not scanned (there is no token index): the end of the
   * bulk load ({@link finishBulkLoad}, or the next open after a crash) clears every covered row.
   * @returns rows changed.
   */
  private eraseInTransaction(tenant: number, token: Uint8Array, until: number): number {
    this.insertErased.run(tenant, token, until);
    this.stagedErased.push({ tenant, hex: Buffer.from(token).toString('hex'), until });
    return this.bulk ? 0 : this.clearToken.run(tenant, token, until).changes;
  }

  /** The staged (writable) state of a log in the running transaction, created on first sight. */
  private stagedLog(logId: string): LogState {
    let state = this.stagedLogs.get(logId);
    if (state !== undefined) return state;
    const committed = this.logs.get(logId);
    if (committed !== undefined) {
      state = {
        code: committed.code,
        logId,
        next: committed.next,
        clock: committed.clock,
        rows: committed.rows,
      };
    } else {
      let code = this.logIds.length;
      for (const s of this.stagedLogs.values()) if (!this.logs.has(s.logId)) code++;
      if (code >= MAX_LOGS) {
        throw new IndexError('BAD_ARGUMENT', `log ${logId}: the index holds at most ${MAX_LOGS} logs`);
      }
      state = { code, logId, next: 0, clock: 0, rows: 0 };
    }
    this.stagedLogs.set(logId, state);
    return state;
  }

  /** The id of `name` in `names`, created (staged) on first use. */
  private nameId(name: string): number {
    const id = this.names.get(name) ?? this.stagedNames.get(name);
    if (id !== undefined) return id;
    const created = Number(this.insertName.run(name).lastInsertRowid);
    this.stagedNames.set(name, created);
    return created;
  }

  /**
   * The watermark of a log: the next leaf index to index (every leaf below it is indexed); 0 when
   * the log was never indexed.
   */
  watermark(logId: string): number {
    this.checkOpen();
    return this.logs.get(logId)?.next ?? 0;
  }

  /**
   * One page of a tenant's records matching every given filter, ordered by `occurredAt` (ties by
   * position) in `query.order`.
   * @throws {IndexError} `BAD_ARGUMENT` for a limit outside 1..1000, a token that is not 16 bytes,
   *   a non-integer time or `startTime > endTime`; `BAD_CURSOR` for a cursor not issued by a search
   *   in this order (or naming a log this index does not know).
   * @example
   * ```ts
   * let cursor: string | undefined;
   * do {
   *   const page = index.search({ tenantId: 'acme', action: 'role.upgrade', limit: 100, order: 'desc', cursor });
   *   for (const hit of page.hits) console.log(hit.logId, hit.leafIndex);
   *   cursor = page.nextCursor ?? undefined;
   * } while (cursor !== undefined);
   * ```
   */
  search(query: SearchQuery): SearchPage {
    this.checkReadable();
    const order = checkOrder(query.order, 'order');
    const limit = checkLimit(query.limit);
    checkString(query.tenantId, 'tenantId');
    const start = checkTime(query.startTime, 'startTime');
    const end = checkTime(query.endTime, 'endTime');
    if (start !== undefined && end !== undefined && start > end) {
      throw new IndexError('BAD_ARGUMENT', `startTime ${start} is after endTime ${end}`);
    }
    if (query.subjectToken !== undefined) checkToken(query.subjectToken, 'subjectToken');
    const after =
      query.cursor === undefined
        ? undefined
        : this.cursorPosition(decodeCursor(query.cursor, 'search', order));
    const tenant = this.names.get(query.tenantId);
    if (tenant === undefined) return emptyPage();
    let shape = order === 'desc' ? DESC_BIT : 0;
    const bounds: unknown[] = new Array(FILTERS.length);
    for (let i = 0; i < FILTERS.length; i++) {
      const value = query[FILTERS[i]!];
      if (value === undefined) continue;
      let bound: unknown = value;
      if (typeof value === 'string') {
        checkString(value, FILTERS[i]!);
        // resource ids are stored as text; every other string filter through `names`.
        if (FILTERS[i] !== 'resourceId') {
          bound = this.names.get(value);
          if (bound === undefined) return emptyPage();
        }
      }
      bounds[i] = bound;
      shape |= 1 << i;
    }
    const residual = residualFilters(shape);
    const params: unknown[] = [tenant];
    for (let i = 0; i < FILTERS.length; i++) {
      if (shape & (1 << i) && !residual.includes(i)) params.push(bounds[i]);
    }
    if (start !== undefined) {
      params.push(start);
      shape |= START_BIT;
    }
    if (end !== undefined) {
      params.push(end);
      shape |= END_BIT;
    }
    if (after !== undefined) {
      params.push(after.time, after.position);
      shape |= CURSOR_BIT;
    }
    let prepared = this.searchStatements.get(shape);
    if (prepared === undefined) {
      prepared = {
        statement: this.db.prepare(searchSql(shape)).raw(true),
        boundary: residual.length === 0 ? undefined : this.db.prepare(boundarySql(shape)).raw(true),
        residual,
      };
      this.searchStatements.set(shape, prepared);
    }
    const { statement, boundary } = prepared;
    if (boundary === undefined) {
      params.push(limit + 1);
      const found = this.guard('search', () => statement.all(...params) as [number, number][]);
      return this.page(found, limit, 'search', order);
    }
    // Filters the index cannot narrow are checked on at most `maxScanRows` entries read in order.
    const narrow = params.slice();
    params.push(this.maxScanRows, ...residual.map((i) => bounds[i]), limit + 1);
    return this.guard('search', () => {
      const found = statement.all(...params) as [number, number][];
      const page = this.page(found, limit, 'search', order);
      if (found.length > limit) return page;
      // Budget spent before the page filled? Then continue after the last entry examined.
      const last = boundary.get(...narrow, this.maxScanRows - 1) as [number, number] | undefined;
      if (last === undefined) return page;
      return {
        hits: page.hits,
        nextCursor: encodeCursor('search', order, {
          time: last[1],
          logId: this.logIdOf(logCodeOf(last[0])),
          leafIndex: leafIndexOf(last[0]),
        }),
      };
    });
  }

  /**
   * One page of a resource's records in append order (oldest first by default): by the append
   * clock of their log (see the file comment), ties by position.
   * @throws {IndexError} `BAD_ARGUMENT` for a limit outside 1..1000 or empty strings; `BAD_CURSOR`
   *   for a cursor not issued by a history query in this order.
   */
  history(query: HistoryQuery): SearchPage {
    this.checkReadable();
    const order = checkOrder(query.order ?? 'asc', 'order');
    const limit = checkLimit(query.limit);
    checkString(query.tenantId, 'tenantId');
    checkString(query.resourceType, 'resourceType');
    checkString(query.resourceId, 'resourceId');
    const after =
      query.cursor === undefined
        ? undefined
        : this.cursorPosition(decodeCursor(query.cursor, 'history', order));
    const tenant = this.names.get(query.tenantId);
    const type = this.names.get(query.resourceType);
    if (tenant === undefined || type === undefined) return emptyPage();
    const statement = this.historyStatements[(order === 'desc' ? 2 : 0) + (after === undefined ? 0 : 1)]!;
    const params =
      after === undefined
        ? [tenant, type, query.resourceId, limit + 1]
        : [tenant, type, query.resourceId, after.time, after.position, limit + 1];
    const found = this.guard('history', () => statement.all(...params) as [number, number, number][]);
    return this.page(found, limit, 'history', order);
  }

  /** Builds a page from `[pos, occurred_at, cursor time?]` rows (at most `limit + 1`). */
  private page(
    found: readonly (readonly number[])[],
    limit: number,
    kind: 'search' | 'history',
    order: SortOrder,
  ): SearchPage {
    const n = Math.min(found.length, limit);
    const hits: SearchHit[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const row = found[i]!;
      const pos = row[0]!;
      hits[i] = { logId: this.logIdOf(logCodeOf(pos)), leafIndex: leafIndexOf(pos), occurredAt: row[1]! };
    }
    if (found.length <= limit) return { hits, nextCursor: null };
    const last = found[limit - 1]!;
    const lastHit = hits[limit - 1]!;
    const time = kind === 'search' ? last[1]! : last[2]!;
    return {
      hits,
      nextCursor: encodeCursor(kind, order, { time, logId: lastHit.logId, leafIndex: lastHit.leafIndex }),
    };
  }

  /** A decoded cursor's `(time, position)`. */
  private cursorPosition(key: CursorKey): { time: number; position: number } {
    let log = this.logs.get(key.logId);
    if (log === undefined && this.readOnly) {
      this.refresh();
      log = this.logs.get(key.logId);
    }
    if (log === undefined) throw new IndexError('BAD_CURSOR', `cursor: names log ${key.logId}, unknown here`);
    return { time: key.time, position: positionOf(log.code, key.leafIndex) };
  }

  /**
   * Where the event `eventId` of `tenantId` is stored; `undefined` when not indexed. If the same id
   * was stored twice (in two logs, or beyond a log's idempotency window) the first appended wins.
   * @throws {IndexError} `BAD_ARGUMENT` for empty or overlong ids.
   */
  findEvent(tenantId: string, eventId: string): SearchHit | undefined {
    this.checkOpen();
    checkString(tenantId, 'tenantId');
    checkString(eventId, 'eventId');
    const tenant = this.names.get(tenantId);
    if (tenant === undefined) return undefined;
    const row = this.guard(
      'findEvent',
      () => this.findEventStatement.get(tenant, eventKey(eventId)) as [number, number],
    );
    if (row === undefined) return undefined;
    return { logId: this.logIdOf(logCodeOf(row[0])), leafIndex: leafIndexOf(row[0]), occurredAt: row[1] };
  }

  /**
   * Forgets which records of a data subject precede its erasure: clears the token on the rows of
   * `(tenantId, subjectToken)` that `horizon` covers and remembers the erasure with its horizon
   * (it survives {@link reset}), so covered rows inserted later — by the indexer or a reindex — are
   * stored without it too. Rows past the horizon keep their token: a subject seen again after its
   * erasure (a new subject key, the same blind token) is searchable by actor for its new records
   * only. Searches by the token never match a covered row; every record stays findable by every
   * other filter. Erasing again only widens the horizon. Finally checkpoints the write-ahead log
   * so old page images holding the token leave it.
   *
   * Without `horizon`: every row indexed so far and every record received until now (the horizon
   * is the later of the current time and the latest append clock of any log).
   * @returns rows changed (0 when already erased or never indexed; 0 during a bulk load, which
   *   clears the covered rows when it ends).
   * @throws {IndexError} `BAD_ARGUMENT` for a token that is not 16 bytes, a bad horizon, or one
   *   naming a record the index does not hold; `FAILED` on SQLite errors.
   * @example
   * ```ts
   * index.eraseSubject('acme', token, { time: shreddedAt });    // the server, after the key shred
   * ```
   */
  eraseSubject(tenantId: string, subjectToken: Uint8Array, horizon?: ErasureHorizon): number {
    this.checkWritable('eraseSubject');
    checkString(tenantId, 'tenantId');
    checkToken(subjectToken, 'subjectToken');
    let time: number | undefined;
    /** Position of the announcing record (when the horizon names one). */
    let at: number | undefined;
    if (horizon === undefined) {
      time = Date.now();
      for (const log of this.logs.values()) time = Math.max(time, log.clock);
    } else if ('time' in horizon) {
      checkUint(horizon.time, 'horizon.time', Number.MAX_SAFE_INTEGER);
      time = horizon.time;
    } else {
      const log = typeof horizon.logId === 'string' ? this.logs.get(horizon.logId) : undefined;
      checkUint(horizon.leafIndex, 'horizon.leafIndex', LEAF_INDEX_LIMIT);
      if (log === undefined) {
        throw new IndexError(
          'BAD_ARGUMENT',
          `horizon.logId: log ${JSON.stringify(horizon.logId)} not indexed`,
        );
      }
      at = positionOf(log.code, horizon.leafIndex);
    }
    const changed = this.guard('eraseSubject', () => {
      try {
        return this.db.transaction(() => {
          const until = time ?? (this.clockAt.get(at) as number | undefined);
          if (until === undefined) {
            const { logId, leafIndex } = horizon as { logId: string; leafIndex: number };
            throw new IndexError('BAD_ARGUMENT', `horizon: record ${logId}/${leafIndex} is not indexed`);
          }
          return this.eraseInTransaction(this.nameId(tenantId), subjectToken, until);
        })();
      } catch (error) {
        this.stagedNames.clear();
        this.stagedErased.length = 0;
        throw error;
      }
    });
    for (const [name, id] of this.stagedNames) this.names.set(name, id);
    this.stagedNames.clear();
    for (const e of this.stagedErased) this.rememberErased(e.tenant, e.hex, e.until);
    this.stagedErased.length = 0;
    this.guard('eraseSubject', () => this.db.pragma('wal_checkpoint(TRUNCATE)'));
    return changed;
  }

  /**
   * Names created since the last call and the current state of every log (watermark, clock, rows).
   * Names and log codes are never renumbered (`reset` keeps them), so loading only newer names
   * and updating logs in place is exact.
   */
  private loadNamesAndLogs(): void {
    for (const [id, name] of this.db
      .prepare('SELECT id, name FROM names WHERE id > ?')
      .raw(true)
      .all(this.maxNameId) as [number, string][]) {
      this.names.set(name, id);
      if (id > this.maxNameId) this.maxNameId = id;
    }
    const logs = this.db
      .prepare('SELECT code, log_id, next_leaf, append_clock, row_count FROM logs ORDER BY code')
      .raw(true)
      .all() as [number, string, number, number, number][];
    for (const [code, logId, next, clock, rows] of logs) {
      const known = this.logs.get(logId);
      if (known !== undefined && known.code === code) {
        known.next = next;
        known.clock = clock;
        known.rows = rows;
        continue;
      }
      if (code !== this.logIds.length) {
        throw new IndexError('FAILED', `${this.path}: log codes not contiguous at ${logId} (code ${code})`);
      }
      this.logs.set(logId, { code, logId, next, clock, rows });
      this.logIds.push(logId);
    }
  }

  /**
   * Re-reads what another connection committed: new names, every log's watermark, clock and row
   * count, and whether a bulk load runs. For a {@link SearchIndex} opened `readOnly` (a writer
   * writes through another connection); a no-op on the writing connection, whose maps are current.
   * @throws {IndexError} `CLOSED`; `FAILED` on SQLite errors.
   */
  refresh(): void {
    this.checkOpen();
    if (!this.readOnly) return;
    this.guard('refresh', () => {
      this.loadNamesAndLogs();
      this.bulk = !hasSecondaryIndexes(this.db);
    });
  }

  /**
   * Whether this index remembers an erasure of the subject token in the tenant (of any horizon):
   * then some of the subject's records — those up to the horizon — have no token here, so a search
   * by the token does not find every record that carries it (a caller needing those, e.g. a bundle
   * export that checks each record itself, must read the logs). {@link erasedUntil} says which.
   * @throws {IndexError} `BAD_ARGUMENT` for a token that is not 16 bytes; `CLOSED`.
   */
  wasErased(tenantId: string, subjectToken: Uint8Array): boolean {
    return this.erasedUntil(tenantId, subjectToken) !== undefined;
  }

  /**
   * The horizon of the subject's erasure (epoch ms, the largest if erased several times), or
   * `undefined` when it was never erased here: the subject's rows whose append clock is at most
   * this carry no token; later rows are searchable by it.
   * @throws {IndexError} `BAD_ARGUMENT` for a token that is not 16 bytes; `CLOSED`.
   */
  erasedUntil(tenantId: string, subjectToken: Uint8Array): number | undefined {
    this.checkOpen();
    checkToken(subjectToken, 'subjectToken');
    if (this.readOnly) this.refresh();
    const tenant = this.names.get(tenantId);
    if (tenant === undefined) return undefined;
    return this.guard(
      'erasedUntil',
      () => this.erasedUntilStatement.get(tenant, subjectToken) as number | undefined,
    );
  }

  /** The log id of a position's log code; a reader refreshes once for a log created meanwhile. */
  private logIdOf(code: number): string {
    let logId = this.logIds[code];
    if (logId === undefined && this.readOnly) {
      this.refresh();
      logId = this.logIds[code];
    }
    if (logId === undefined) throw new IndexError('FAILED', `logic error: no log with code ${code}`);
    return logId;
  }

  private checkWritable(what: string): void {
    this.checkOpen();
    if (this.readOnly)
      throw new IndexError('BAD_ARGUMENT', `${this.path}: ${what} on a read-only connection`);
  }

  private rememberErased(tenant: number, tokenHex: string, until: number): void {
    let horizons = this.erased.get(tenant);
    if (horizons === undefined) {
      horizons = new Map();
      this.erased.set(tenant, horizons);
    }
    horizons.set(tokenHex, Math.max(until, horizons.get(tokenHex) ?? until));
  }

  /**
   * Empties the index for a rebuild: every row goes, every watermark returns to 0. Kept: erased
   * subjects with their horizons (a rebuild must not bring back the tokens they cover; append
   * clocks are recomputed identically from the same records) and the log and name numbering (so
   * cursors issued before stay meaningful).
   *
   * With `bulkLoad: true` the secondary indexes are dropped too, so the inserts that follow only
   * append to the table; {@link finishBulkLoad} builds the indexes from the full table in one
   * sort each. Until then searches and histories throw `REBUILDING` (event lookups still work).
   * An interrupted bulk load is finished when the file is opened next.
   * @throws {IndexError} `FAILED` on SQLite errors (rolled back).
   */
  reset(options: { readonly bulkLoad?: boolean } = {}): void {
    this.checkWritable('reset');
    const bulkLoad = options.bulkLoad === true;
    this.guard('reset', () =>
      this.db.transaction(() => {
        // Indexes first: deleting the rows is then a table truncation only.
        if (bulkLoad) dropSecondaryIndexes(this.db);
        this.db.exec(
          'DELETE FROM entries; DELETE FROM events; UPDATE logs SET next_leaf = 0, append_clock = 0, row_count = 0;',
        );
      })(),
    );
    if (bulkLoad) this.bulk = true;
    for (const log of this.logs.values()) {
      log.next = 0;
      log.clock = 0;
      log.rows = 0;
    }
  }

  /**
   * Ends a bulk load: builds the secondary indexes from the rows inserted since
   * `reset({ bulkLoad: true })` (about a minute per 10 million rows and index on our VMs; see
   * docs/INDEX.md) and, in the same transaction, clears the token of every row an erasure covers
   * (erasures recorded during the bulk load did not scan rows). A no-op when no bulk load runs.
   * @throws {IndexError} `FAILED` on SQLite errors (the index stays in bulk mode; retry).
   */
  finishBulkLoad(): void {
    this.checkWritable('finishBulkLoad');
    if (!this.bulk) return;
    const cleared = this.guard('finishBulkLoad', () => finishBulk(this.db));
    this.bulk = false;
    if (cleared > 0) this.guard('finishBulkLoad', () => this.db.pragma('wal_checkpoint(TRUNCATE)'));
  }

  /** Whether a bulk load runs (searches throw `REBUILDING` until {@link finishBulkLoad}). */
  get bulkLoading(): boolean {
    return this.bulk;
  }

  /** Rows indexed and bytes on disk (database file + write-ahead log). */
  stats(): IndexStats {
    this.checkOpen();
    let rows = 0;
    for (const log of this.logs.values()) rows += log.rows;
    return { rows, bytes: fileBytes(this.path) + fileBytes(`${this.path}-wal`) };
  }

  /** Closes the file. Later calls throw `CLOSED`; closing twice is a no-op. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** The query plan SQLite chose for a search of this shape, one line per step (docs, tests). */
  explainSearch(query: SearchQuery): string[] {
    this.checkReadable();
    let shape = query.order === 'desc' ? DESC_BIT : 0;
    for (let i = 0; i < FILTERS.length; i++) if (query[FILTERS[i]!] !== undefined) shape |= 1 << i;
    if (query.startTime !== undefined) shape |= START_BIT;
    if (query.endTime !== undefined) shape |= END_BIT;
    if (query.cursor !== undefined) shape |= CURSOR_BIT;
    return this.explain(searchSql(shape));
  }

  /** The query plan of a resource history page (`cursor`: a later page). */
  explainHistory(cursor: boolean): string[] {
    this.checkReadable();
    return this.explain(historySql(false, cursor));
  }

  private explain(sql: string): string[] {
    const params = new Array((sql.match(/\?/g) ?? []).length).fill(0);
    const plan = this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    return [sql.replace(/\s+/g, ' ').trim(), ...plan.map((p) => p.detail)];
  }

  private checkOpen(): void {
    if (this.closed) throw new IndexError('CLOSED', `${this.path}: index closed`);
  }

  private checkReadable(): void {
    this.checkOpen();
    if (this.bulk)
      throw new IndexError('REBUILDING', `${this.path}: bulk load in progress, indexes not built yet`);
  }

  /** Runs a database call, turning driver errors into `FAILED`. */
  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof IndexError) throw cause;
      throw new IndexError('FAILED', `${this.path}: ${what} failed`, { cause });
    }
  }
}

/** Clears the token of a subject's rows up to a horizon: `(tenant, token, until)`. */
const CLEAR_TOKEN_SQL =
  'UPDATE entries INDEXED BY entries_subject SET token = NULL WHERE tenant = ? AND token = ? AND append_clock <= ?';

/**
 * The end of a bulk load, in one transaction (a crash leaves it undone, and the next open does it
 * again): builds the secondary indexes, then clears the rows every remembered erasure covers.
 * @returns rows whose token was cleared.
 */
function finishBulk(db: Database): number {
  return db.transaction(() => {
    createSecondaryIndexes(db);
    const erased = db.prepare('SELECT tenant, token, until FROM erased').raw(true).all() as [
      number,
      Buffer,
      number,
    ][];
    const clear = db.prepare(CLEAR_TOKEN_SQL);
    let cleared = 0;
    for (const [tenant, token, until] of erased) cleared += clear.run(tenant, token, until).changes;
    return cleared;
  })();
}

function emptyPage(): SearchPage {
  return { hits: [], nextCursor: null };
}

/**
 * SQL of one search shape. The index is chosen by the most selective equality present — subject
 * token, then resource (type and id), then action, else tenant + time — and every index ends in
 * `occurred_at` with the position as implicit last key, so SQLite walks it in order and stops
 * after `LIMIT` rows (docs/INDEX.md "Query plans"). Other filters are checked on the rows read.
 */
function searchSql(shape: number): string {
  const residual = residualFilters(shape);
  const desc = (shape & DESC_BIT) !== 0;
  const dir = desc ? 'DESC' : 'ASC';
  if (residual.length === 0) {
    return `SELECT pos, occurred_at FROM entries INDEXED BY ${indexOf(shape).index}
    WHERE ${narrowWhere(shape).join(' AND ')} ORDER BY occurred_at ${dir}, pos ${dir} LIMIT ?`;
  }
  // The inner LIMIT is the scan budget: the outer WHERE cannot be pushed into it (SQL semantics).
  const columns = ['pos', 'occurred_at', ...residual.map((i) => COLUMNS[i]!)].join(', ');
  return `SELECT pos, occurred_at FROM (SELECT ${columns} FROM entries INDEXED BY ${indexOf(shape).index}
    WHERE ${narrowWhere(shape).join(' AND ')} ORDER BY occurred_at ${dir}, pos ${dir} LIMIT ?)
    WHERE ${residual.map((i) => `${COLUMNS[i]} = ?`).join(' AND ')} ORDER BY occurred_at ${dir}, pos ${dir} LIMIT ?`;
}

/** SQL of the last entry a budgeted search page may examine (`OFFSET budget − 1`). */
function boundarySql(shape: number): string {
  const dir = (shape & DESC_BIT) !== 0 ? 'DESC' : 'ASC';
  return `SELECT pos, occurred_at FROM entries INDEXED BY ${indexOf(shape).index}
    WHERE ${narrowWhere(shape).join(' AND ')} ORDER BY occurred_at ${dir}, pos ${dir} LIMIT 1 OFFSET ?`;
}

/** The conditions of `shape` its index narrows, plus time bounds and cursor. */
function narrowWhere(shape: number): string[] {
  const residual = residualFilters(shape);
  const where = ['tenant = ?'];
  for (let i = 0; i < COLUMNS.length; i++) {
    if (shape & (1 << i) && !residual.includes(i)) where.push(`${COLUMNS[i]} = ?`);
  }
  if (shape & START_BIT) where.push('occurred_at >= ?');
  if (shape & END_BIT) where.push('occurred_at < ?');
  const desc = (shape & DESC_BIT) !== 0;
  if (shape & CURSOR_BIT) where.push(`(occurred_at, pos) ${desc ? '<' : '>'} (?, ?)`);
  return where;
}

/** The index a search shape walks, and the filter bits its key narrows (equality prefix). */
function indexOf(shape: number): { index: string; covers: number } {
  if (shape & TOKEN_BIT) return { index: 'entries_subject', covers: TOKEN_BIT };
  const resource = RESOURCE_TYPE_BIT | RESOURCE_ID_BIT;
  if ((shape & resource) === resource) return { index: 'entries_resource', covers: resource };
  if (shape & ACTION_BIT) return { index: 'entries_action', covers: ACTION_BIT };
  return { index: 'entries_time', covers: 0 };
}

/** Filter positions (in FILTERS order) of `shape` that its index does not narrow. */
function residualFilters(shape: number): number[] {
  const { covers } = indexOf(shape);
  const out: number[] = [];
  for (let i = 0; i < FILTERS.length; i++) if (shape & (1 << i) && !(covers & (1 << i))) out.push(i);
  return out;
}

/** SQL of a resource history page: covered by `entries_history`, read in order. */
function historySql(desc: boolean, cursor: boolean): string {
  const dir = desc ? 'DESC' : 'ASC';
  const after = cursor ? ` AND (append_clock, pos) ${desc ? '<' : '>'} (?, ?)` : '';
  return `SELECT pos, occurred_at, append_clock FROM entries INDEXED BY entries_history
    WHERE tenant = ? AND resource_type = ? AND resource_id = ?${after}
    ORDER BY append_clock ${dir}, pos ${dir} LIMIT ?`;
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * How an event id is stored: a canonical lowercase UUID (the server's UUIDv7 ids) as its 16 bytes,
 * any other id as text. SQLite never compares a BLOB equal to a TEXT, so the two forms cannot
 * collide; ids are never read back, only matched. Saves 20 bytes per row in `events`.
 */
function eventKey(eventId: string): string | Buffer {
  return eventId.length === 36 && CANONICAL_UUID.test(eventId)
    ? Buffer.from(eventId.replaceAll('-', ''), 'hex')
    : eventId;
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new IndexError(
      'BAD_ARGUMENT',
      `limit: expected an integer 1..${MAX_PAGE_LIMIT}, got ${String(limit)}`,
    );
  }
  return limit;
}

function checkOrder(order: unknown, name: string): SortOrder {
  if (order !== 'asc' && order !== 'desc') {
    throw new IndexError('BAD_ARGUMENT', `${name}: expected "asc" or "desc", got ${JSON.stringify(order)}`);
  }
  return order;
}

function checkString(value: unknown, name: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_CHARS) {
    throw new IndexError(
      'BAD_ARGUMENT',
      `${name}: expected a string of 1..${MAX_FIELD_CHARS} chars, got ${typeof value === 'string' ? `${value.length} chars` : typeof value}`,
    );
  }
}

function checkTime(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new IndexError('BAD_ARGUMENT', `${name}: expected integer epoch ms, got ${String(value)}`);
  }
  return value;
}

function checkToken(value: unknown, name: string): void {
  if (!(value instanceof Uint8Array) || value.byteLength !== SUBJECT_TOKEN_BYTES) {
    throw new IndexError(
      'BAD_ARGUMENT',
      `${name}: expected ${SUBJECT_TOKEN_BYTES} bytes, got ${value instanceof Uint8Array ? value.byteLength : typeof value}`,
    );
  }
}

function checkUint(value: unknown, name: string, limit: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value >= limit) {
    throw new IndexError(
      'BAD_ARGUMENT',
      `${name}: expected an integer 0 ≤ n < ${limit}, got ${String(value)}`,
    );
  }
}

/** Checks one row's shape (cheap: types and ranges only). */
function checkRow(row: IndexRow, i: number): void {
  if (typeof row !== 'object' || row === null)
    throw new IndexError('BAD_ARGUMENT', `rows[${i}]: not an object`);
  if (typeof row.logId !== 'string' || !LOG_ID_PATTERN.test(row.logId)) {
    throw new IndexError('BAD_ARGUMENT', `rows[${i}].logId: bad log id ${JSON.stringify(row.logId)}`);
  }
  checkUint(row.leafIndex, `rows[${i}].leafIndex`, LEAF_INDEX_LIMIT);
  checkUint(row.occurredAt, `rows[${i}].occurredAt`, Number.MAX_SAFE_INTEGER);
  checkUint(row.receivedAt, `rows[${i}].receivedAt`, Number.MAX_SAFE_INTEGER);
  checkString(row.tenantId, `rows[${i}].tenantId`);
  checkString(row.eventId, `rows[${i}].eventId`);
  checkString(row.actorType, `rows[${i}].actorType`);
  checkString(row.action, `rows[${i}].action`);
  if (row.category !== undefined) checkString(row.category, `rows[${i}].category`);
  checkString(row.resourceType, `rows[${i}].resourceType`);
  checkString(row.resourceId, `rows[${i}].resourceId`);
  checkString(row.result, `rows[${i}].result`);
  checkToken(row.subjectToken, `rows[${i}].subjectToken`);
}
