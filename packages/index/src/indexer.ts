/**
 * The indexer: follows a ledger's logs and feeds their durable records into a {@link SearchIndex}.
 * It polls each log's durable tree size, reads the records past the index's watermark in leaf
 * order, and inserts them in chunks of at most `chunkRows` rows — each chunk with its watermark in
 * one transaction — yielding to the event loop between chunks so an HTTP server in the same
 * process stays responsive. Appends never wait for it; the index may lag (see {@link Indexer.lag}).
 *
 * Failures (a full disk, a locked file, a log that cannot be read) never escape the background
 * loop: they go to `onError` and the pass is retried with a growing delay (up to `maxRetryMs`).
 * Passes never overlap: the background loop, {@link Indexer.catchUp} and {@link Indexer.reindex}
 * take turns, so a reset cannot interleave with a chunk read before it.
 *
 * With a {@link WorkerSearchIndex} the inserts run on its writer thread: this thread reads and
 * packs rows, keeps at most `maxChunksInFlight` chunks posted and not committed (backpressure), and
 * a pass ends only when every chunk it posted has committed.
 *
 * Erasures: a record that announces one (`erasureOf`) is inserted together with its erasure, in
 * one transaction: the erasure covers the rows up to that record (its append clock, see
 * `ErasureHorizon`), in every log, and no others — so a subject seen again after its erasure is
 * searchable by its new records, and a rebuild from the logs reaches the same result as live
 * indexing. The optional `isErased` hook (the ledger's key store) also keeps rows sealed under a
 * shredded subject key without token, wherever they fall.
 *
 * Not here: the erase request itself (the server calls `eraseSubject` on the index right after
 * shredding the key) and reading records back (the ledger).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { StoredRecord } from '@sealog/codec';
import { IndexError } from './errors';
import { type IndexRow, indexRowOf } from './index-row';
import type { RecordErasure, SearchIndex } from './search-index';
import type { WorkerSearchIndex } from './worker-search-index';

/** Default delay between polls of the logs, in ms. */
export const DEFAULT_POLL_INTERVAL_MS = 50;
/**
 * Default rows per insert transaction: 4,096. A commit writes every index page it dirtied once, so
 * bigger transactions write fewer pages per row: into a 200,000-row index, 1,000-row transactions
 * cost 57.6 µs of CPU per row (40.4 user + 17.2 system), 4,000-row ones 43.7 and 16,000-row ones
 * 38.5 (docs/INDEX.md "Insert cost").
 */
export const DEFAULT_CHUNK_ROWS = 4096;
/**
 * Default longest time a pass is put off while records keep arriving, in ms: 250. Under a steady
 * ingest each poll would otherwise index the few hundred records of the last interval in a small
 * (expensive) transaction; waiting a little lets them add up (see {@link IndexerOptions.maxBatchDelayMs}).
 */
export const DEFAULT_MAX_BATCH_DELAY_MS = 250;
/**
 * Fewer new records than this are indexed at the next poll, never put off: a light load keeps the
 * index ~`pollIntervalMs` behind.
 */
const MIN_DEFER_RECORDS = 256;
/** Records read between two yields to the event loop, also inside one transaction's rows. */
const READ_SLICE_RECORDS = 1000;
/** Default longest delay between retries after failed passes, in ms. */
export const DEFAULT_MAX_RETRY_MS = 5000;
/**
 * Default chunks posted to a {@link WorkerSearchIndex} and not committed yet: 4. Enough to keep the
 * writer busy while this thread reads the next chunk; bounds memory to ~4 × `chunkRows` rows.
 */
export const DEFAULT_MAX_CHUNKS_IN_FLIGHT = 4;
/** Erasure answers of `isErased` kept per indexer (then the cache starts over). */
const ERASED_CACHE_ENTRIES = 65_536;

/**
 * Whether the record of a data subject is erased: its subject key (identified by the record's
 * `subject_key_id`) no longer exists. May answer asynchronously (a key-store lookup).
 */
export type IsErased = (
  tenantId: string,
  subjectToken: Uint8Array,
  subjectKeyId: string,
) => boolean | Promise<boolean>;

/** An index the indexer fills: synchronous writes ({@link SearchIndex}) or a writer thread. */
export type IndexTarget = SearchIndex | WorkerSearchIndex;

/** One record as a log yields it (a subset of the ledger's `ReadRecord`). */
export interface SourceRecord {
  /** Log of the record. */
  readonly logId: string;
  /** Its leaf index. */
  readonly leafIndex: number;
  /** The decoded record (only its public fields and blind token are read). */
  readonly record: StoredRecord;
}

/** One log the indexer follows (the ledger's `LogWriter` is one). */
export interface SourceLog {
  /** Log id, 1..64 chars `[A-Za-z0-9._-]`. */
  readonly logId: string;
  /** Durable records of the log: leaves `0 .. treeSize − 1` can be read. */
  readonly treeSize: number;
  /** The durable records of leaves `[from, to)` in leaf order. */
  iterate(from: number, to: number): AsyncIterable<SourceRecord>;
}

/** What the indexer follows: a `Ledger` from @sealog/ledger, or anything shaped like one. */
export interface IndexSource {
  /** The logs to follow; asked again at every pass. */
  logs(): readonly SourceLog[];
}

/** Options of {@link createIndexer}. */
export interface IndexerOptions {
  /** The ledger to follow. */
  readonly ledger: IndexSource;
  /**
   * The index to fill. A {@link WorkerSearchIndex} keeps inserts and checkpoints off this thread;
   * a {@link SearchIndex} inserts synchronously here (CLI, tests).
   */
  readonly index: IndexTarget;
  /** Delay between polls when idle, in ms, integer 1..60,000 (default 50). */
  readonly pollIntervalMs?: number;
  /** Rows per insert transaction, integer 1..100,000 (default 4,096). */
  readonly chunkRows?: number;
  /**
   * Longest time in ms, integer 0..60,000 (default 250), a background pass is put off while at least
   * 256 new records wait, fewer than `chunkRows`, and more keep arriving: the pass then runs with a
   * bigger (cheaper per row) transaction. A load that pauses or stays light is indexed at the next
   * poll; 0 never puts a pass off. {@link Indexer.catchUp} never waits.
   */
  readonly maxBatchDelayMs?: number;
  /** Longest delay between retries after failures, in ms, ≥ `pollIntervalMs` (default 5,000). */
  readonly maxRetryMs?: number;
  /** Receives every error of a background pass (the pass is retried later). Must not throw. */
  readonly onError?: (error: unknown) => void;
  /**
   * Chunks posted to a {@link WorkerSearchIndex} and not yet committed, integer 1..64 (default 4):
   * when reached, reading waits for the oldest (backpressure). A {@link SearchIndex} has one.
   */
  readonly maxChunksInFlight?: number;
  /**
   * Consulted once per (tenant, token, subject key id) — answers are cached, and the cache is
   * dropped whenever an announced erasure is applied (an answer given before the key shred may be
   * stale) — before a record is indexed: `true` stores the row without its token, so a record
   * sealed under a shredded key stays unsearchable by actor even in an index rebuilt from scratch
   * (a new file knows no direct erasures), wherever it falls relative to an erasure's horizon.
   */
  readonly isErased?: IsErased;
  /**
   * Recognizes records that announce an erasure (the server's `sealog.subject.erase` access
   * events carry the subject's blind token): such a record is indexed together with its erasure
   * (one transaction), which covers the subject's rows up to the record's append clock in every
   * log — the rows before it in its own log, and those appended no later than it in the others.
   * So an erasure interrupted between the key shred and the index update — a crash — still
   * reaches the index when its durable record is indexed, an index rebuilt from the logs replays
   * every erasure with the same horizon, and the subject's later records keep their token.
   */
  readonly erasureOf?: (record: StoredRecord) => Erasure | undefined;
}

/** A subject erasure announced by a record (see {@link IndexerOptions.erasureOf}). */
export interface Erasure {
  readonly tenantId: string;
  /** The subject's 16-byte blind token. */
  readonly subjectToken: Uint8Array;
}

/** How far the index is behind the logs. */
export interface IndexLag {
  /** Durable records not indexed yet, over all logs. */
  readonly records: number;
  /** Per log: its durable size and its watermark (records below it are indexed). */
  readonly perLog: readonly { readonly logId: string; readonly treeSize: number; readonly indexed: number }[];
  /** Background passes that failed in a row (0 when the last one succeeded). */
  readonly failures: number;
}

/**
 * Creates an indexer (idle until {@link Indexer.start} or {@link Indexer.catchUp}).
 * @throws {IndexError} `BAD_ARGUMENT` for options out of range.
 * @example
 * ```ts
 * const indexer = createIndexer({ ledger, index, onError: (e) => log.warn(e) });
 * indexer.start();                // follows new appends every 50 ms
 * await indexer.catchUp();        // everything durable when called is now searchable
 * metrics.indexLag = indexer.lag().records;
 * await indexer.stop();
 * ```
 */
export function createIndexer(options: IndexerOptions): Indexer {
  return new Indexer(options);
}

/**
 * Rebuilds `index` from `ledger`: empties it and indexes every durable record (erasures stay, with
 * their horizons), as a bulk load by default (secondary indexes built once at the end: searches throw
 * `REBUILDING` meanwhile). Do not run it while another indexer fills the same index; use that
 * indexer's {@link Indexer.reindex} instead.
 * @throws {IndexError} as {@link Indexer.catchUp}.
 * @example
 * ```ts
 * await reindex(ledger, openSearchIndex({ path }));   // `sealog reindex`
 * ```
 */
export async function reindex(
  ledger: IndexSource,
  index: IndexTarget,
  options: Omit<IndexerOptions, 'ledger' | 'index'> & { readonly bulkLoad?: boolean } = {},
): Promise<void> {
  const { bulkLoad = true, ...rest } = options;
  const indexer = createIndexer({ ...rest, ledger, index });
  try {
    await indexer.reindex({ bulkLoad });
  } finally {
    await indexer.stop();
  }
}

/** Follows a ledger into a search index. */
export class Indexer {
  private readonly source: IndexSource;
  private readonly index: IndexTarget;
  private readonly pollIntervalMs: number;
  private readonly maxInFlight: number;
  private readonly isErased: IsErased | undefined;
  private readonly erasureOf: ((record: StoredRecord) => Erasure | undefined) | undefined;
  /**
   * Subject key id → the subject it was asked for and the answer; bounded by
   * {@link ERASED_CACHE_ENTRIES}. Keyed by the key id alone (a key belongs to one subject), the
   * subject checked on every hit: no string is built per record.
   */
  private readonly erasedCache = new Map<string, ErasedAnswer>();
  private readonly chunkRows: number;
  private readonly maxBatchDelayMs: number;
  /** When the running deferral of a pass began (epoch ms), or undefined. */
  private deferredSince: number | undefined = undefined;
  /** Records behind at the last deferred poll (−1: none deferred). */
  private deferredBehind = -1;
  private readonly maxRetryMs: number;
  private readonly onError: (error: unknown) => void;
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The pass (or reset) in flight; passes take turns through {@link exclusive}. */
  private current: Promise<unknown> | undefined = undefined;
  private failures = 0;

  /** Prefer {@link createIndexer}. */
  constructor(options: IndexerOptions) {
    this.source = options.ledger;
    this.index = options.index;
    this.pollIntervalMs = checkInt(
      options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      'pollIntervalMs',
      1,
      60_000,
    );
    this.chunkRows = checkInt(options.chunkRows ?? DEFAULT_CHUNK_ROWS, 'chunkRows', 1, 100_000);
    this.maxBatchDelayMs = checkInt(
      options.maxBatchDelayMs ?? DEFAULT_MAX_BATCH_DELAY_MS,
      'maxBatchDelayMs',
      0,
      60_000,
    );
    this.maxRetryMs = checkInt(
      options.maxRetryMs ?? Math.max(DEFAULT_MAX_RETRY_MS, this.pollIntervalMs),
      'maxRetryMs',
      this.pollIntervalMs,
      3_600_000,
    );
    this.onError = options.onError ?? (() => {});
    this.maxInFlight = checkInt(
      options.maxChunksInFlight ?? DEFAULT_MAX_CHUNKS_IN_FLIGHT,
      'maxChunksInFlight',
      1,
      64,
    );
    this.isErased = options.isErased;
    this.erasureOf = options.erasureOf;
  }

  /**
   * Starts following the logs in the background (a pass now, then every `pollIntervalMs`). The
   * timer does not keep the process alive. Starting twice is a no-op.
   * @throws {IndexError} `CLOSED` after {@link stop}.
   */
  start(): void {
    if (this.state === 'stopped') throw new IndexError('CLOSED', 'indexer stopped');
    if (this.state === 'running') return;
    this.state = 'running';
    this.schedule(0);
  }

  /**
   * Stops the background loop and waits for the pass in flight (it ends after its current chunk).
   * Final: later `start`, `catchUp` and `reindex` throw `CLOSED`. The index stays open.
   */
  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.current !== undefined) await this.current.catch(() => {});
  }

  /**
   * Resolves when every log is indexed at least up to its durable size at the time of the call.
   * @throws {IndexError} `CLOSED` when the indexer is (or gets) stopped first; the index's errors
   *   (`FAILED`, …) and the ledger's read errors of the pass, unchanged.
   */
  async catchUp(): Promise<void> {
    if (this.state === 'stopped') throw new IndexError('CLOSED', 'indexer stopped');
    const targets = this.source.logs().map((log) => [log.logId, log.treeSize] as const);
    let behind = this.behind(targets);
    while (behind > 0) {
      await this.exclusive(() => this.pass());
      if (this.stopped()) throw new IndexError('CLOSED', 'indexer stopped before catching up');
      const now = this.behind(targets);
      // A pass reads to the current tree size, so one pass suffices unless someone reset the
      // index meanwhile; a pass that gained nothing means the logs cannot be read that far.
      if (now >= behind)
        throw new IndexError('FAILED', `logic error: a pass made no progress (${now} behind)`);
      behind = now;
    }
  }

  /**
   * Empties the index and indexes every durable record again (erasures stay, with their horizons),
   * taking turns with the background loop. With `bulkLoad` (default false here: a live index keeps
   * answering, from fewer rows, while it refills) the secondary indexes are built once at the end
   * and searches throw `REBUILDING` until then.
   * @throws {IndexError} as {@link catchUp}.
   */
  async reindex(options: { readonly bulkLoad?: boolean } = {}): Promise<void> {
    if (this.state === 'stopped') throw new IndexError('CLOSED', 'indexer stopped');
    const bulkLoad = options.bulkLoad === true;
    await this.exclusive(async () => await this.index.reset({ bulkLoad }));
    // In a bulk load, erasures announced by records are recorded as they come but clear the rows
    // they cover only when the indexes exist (finishBulkLoad): the same rows as in order.
    let failure: unknown;
    try {
      await this.catchUp();
    } catch (error) {
      failure = error;
    }
    // Even after a failure: indexes over the rows inserted so far are valid (watermarks match).
    if (bulkLoad) {
      try {
        await this.exclusive(async () => await this.index.finishBulkLoad());
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Records not indexed yet, per log and in total (for an index-lag metric). */
  lag(): IndexLag {
    const perLog: { logId: string; treeSize: number; indexed: number }[] = [];
    let records = 0;
    for (const log of this.source.logs()) {
      const treeSize = log.treeSize;
      const indexed = Math.min(treeSize, this.index.watermark(log.logId));
      records += treeSize - indexed;
      perLog.push({ logId: log.logId, treeSize, indexed });
    }
    return { records, perLog, failures: this.failures };
  }

  /** Whether {@link stop} was called (a method: the state changes across awaits). */
  private stopped(): boolean {
    return this.state === 'stopped';
  }

  /** Records below `targets` (log id → size) not indexed yet. */
  private behind(targets: readonly (readonly [string, number])[]): number {
    let n = 0;
    for (const [logId, size] of targets) n += Math.max(0, size - this.index.watermark(logId));
    return n;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.state !== 'running') return;
    try {
      if (this.failures === 0 && this.deferPass()) {
        this.schedule(this.pollIntervalMs);
        return;
      }
      await this.exclusive(() => this.pass());
      this.failures = 0;
    } catch (error) {
      this.failures++;
      try {
        this.onError(error);
      } catch {
        // A throwing error handler must not stop the loop.
      }
    }
    if (this.state !== 'running') return;
    const delay =
      this.failures === 0
        ? this.pollIntervalMs
        : Math.min(this.maxRetryMs, this.pollIntervalMs * 2 ** Math.min(this.failures, 20));
    this.schedule(delay);
  }

  /**
   * Whether to put this poll's pass off (see {@link IndexerOptions.maxBatchDelayMs}): only while
   * the records behind are at least {@link MIN_DEFER_RECORDS}, fewer than a transaction's worth,
   * still growing, and the deferral is younger than `maxBatchDelayMs`.
   */
  private deferPass(): boolean {
    let behind = 0;
    for (const log of this.source.logs()) {
      behind += Math.max(0, log.treeSize - this.index.watermark(log.logId));
    }
    const now = Date.now();
    const defer =
      this.maxBatchDelayMs > 0 &&
      behind >= MIN_DEFER_RECORDS &&
      behind < this.chunkRows &&
      behind > this.deferredBehind &&
      now - (this.deferredSince ?? now) < this.maxBatchDelayMs;
    if (defer) {
      this.deferredSince ??= now;
      this.deferredBehind = behind;
    } else {
      this.deferredSince = undefined;
      this.deferredBehind = -1;
    }
    return defer;
  }

  /** Runs `fn` once no other pass or reset is in flight. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.current !== undefined) await this.current.catch(() => {});
    const run = fn();
    this.current = run;
    try {
      return await run;
    } finally {
      if (this.current === run) this.current = undefined;
    }
  }

  /**
   * Indexes every log up to its durable size at the start of its turn. With a writer thread, up to
   * `maxChunksInFlight` chunks are posted before waiting for the oldest; the pass ends (also on
   * failure or stop) only when every chunk it posted has committed or failed, so the next pass
   * starts from the committed watermark. Chunks commit in order, each with its watermark: a failed
   * chunk makes the ones behind it fail too (their watermark check), never a gap.
   */
  private async pass(): Promise<void> {
    const inFlight: Promise<void>[] = [];
    let failure: unknown;
    try {
      await this.passLogs(inFlight);
    } catch (error) {
      failure = error;
    }
    for (const chunk of inFlight) {
      try {
        await chunk;
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  private async passLogs(inFlight: Promise<void>[]): Promise<void> {
    for (const log of this.source.logs()) {
      if (this.state === 'stopped') return;
      const logId = log.logId;
      const to = log.treeSize;
      const from = this.index.watermark(logId);
      if (from >= to) continue;
      let rows: IndexRow[] = [];
      let next = from;
      for await (const r of log.iterate(from, to)) {
        if (r.leafIndex !== next) {
          throw new IndexError(
            'FAILED',
            `log ${logId}: expected leaf ${next}, the log yielded ${r.leafIndex}`,
          );
        }
        let row = indexRowOf(logId, r.leafIndex, r.record);
        if (this.isErased !== undefined) {
          const answer = this.erased(row, r.record.subject_key_id);
          if (typeof answer === 'boolean' ? answer : await answer) row = { ...row, subjectErased: true };
        }
        rows.push(row);
        next++;
        const erasure = this.erasureOf?.(r.record);
        if (erasure !== undefined) {
          // The chunk ends with the announcing record and carries its erasure: rows, watermark and
          // erasure commit together, so a crash cannot leave the record indexed and its erasure
          // lost (the watermark is past it: it would never be read again).
          await this.submit(inFlight, rows, logId, next, [
            { tenantId: erasure.tenantId, subjectToken: erasure.subjectToken, logId, leafIndex: r.leafIndex },
          ]);
          rows = [];
          // Answers of `isErased` given before the key shred may say "not erased": ask again.
          this.erasedCache.clear();
          continue;
        }
        if (rows.length >= this.chunkRows) {
          await this.submit(inFlight, rows, logId, next);
          rows = [];
          // Let requests run between chunks and between slices of a chunk's reads: a slice is the
          // longest the event loop waits.
          await nextTurn();
          if (this.stopped()) return;
        } else if (rows.length % READ_SLICE_RECORDS === 0) {
          await nextTurn();
          if (this.stopped()) return;
        }
      }
      if (next !== to) {
        throw new IndexError('FAILED', `log ${logId}: iterate(${from}, ${to}) ended at leaf ${next}`);
      }
      if (rows.length > 0) await this.submit(inFlight, rows, logId, next);
    }
  }

  /**
   * Inserts one chunk: synchronously into a {@link SearchIndex}; posted to a writer thread
   * otherwise, waiting for the oldest chunk in flight when `maxChunksInFlight` are.
   */
  private async submit(
    inFlight: Promise<void>[],
    rows: IndexRow[],
    logId: string,
    next: number,
    erasures: readonly RecordErasure[] = [],
  ): Promise<void> {
    const done = this.index.insert(rows, new Map([[logId, next]]), erasures);
    if (done === undefined) return;
    // Handled here so that a failure of a chunk not awaited yet is never "unhandled".
    done.catch(() => {});
    inFlight.push(done);
    while (inFlight.length >= this.maxInFlight) await inFlight.shift();
  }

  /**
   * Whether `row`'s subject is erased (cached answers of `isErased`). Synchronous on a cache hit:
   * the caller awaits only when a promise comes back.
   */
  private erased(row: IndexRow, subjectKeyId: string): boolean | Promise<boolean> {
    if (this.isErased === undefined) return false;
    const token = row.subjectToken;
    const cached = this.erasedCache.get(subjectKeyId);
    if (cached !== undefined && cached.tenantId === row.tenantId && sameBytes(cached.token, token)) {
      return cached.erased;
    }
    const got = this.isErased(row.tenantId, token, subjectKeyId);
    if (typeof got === 'boolean') return this.remember(subjectKeyId, row.tenantId, token, got);
    return got.then((answer) => this.remember(subjectKeyId, row.tenantId, token, answer));
  }

  private remember(subjectKeyId: string, tenantId: string, token: Uint8Array, answer: boolean): boolean {
    if (this.erasedCache.size >= ERASED_CACHE_ENTRIES) this.erasedCache.clear();
    // A copy: the row's token is a view into the record's leaf bytes.
    this.erasedCache.set(subjectKeyId, { tenantId, token: Uint8Array.from(token), erased: answer === true });
    return answer === true;
  }
}

/** A cached answer of `isErased`, with the subject it was asked for. */
interface ErasedAnswer {
  readonly tenantId: string;
  readonly token: Uint8Array;
  readonly erased: boolean;
}

/** Whether two byte strings are equal (tokens: public blind values, no constant time needed). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkInt(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new IndexError('BAD_ARGUMENT', `${name}: expected an integer ${min}..${max}, got ${value}`);
  }
  return value;
}
