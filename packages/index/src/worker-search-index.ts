/**
 * The search index with its writes on a worker thread. better-sqlite3 is synchronous: an insert
 * transaction of 1,000 rows blocks its thread for ~40–140 ms, one that triggers a WAL checkpoint
 * up to ~1 s. Here a writer thread (write-worker.ts) owns the writing connection and runs every
 * insert, checkpoint, erasure and reset; this thread keeps a read-only connection (WAL: readers
 * never wait for the writer) for searches, histories, event lookups, watermarks and stats, so a
 * query never waits for a write transaction.
 *
 * Ordering: writes run in the order they were called (one thread, one queue), and each promise
 * resolves after its transaction committed and this side re-read the committed state (new names,
 * watermarks, bulk-load flag): a query issued after `await insert(…)` / `await eraseSubject(…)`
 * sees it. An insert called after `eraseSubject` runs after the erasure, so its rows the erasure
 * covers never carry the erased token; one called before it is cleared by it.
 *
 * Not here: reading the ledger (the indexer reads on the calling thread and posts rows), the SQL
 * (search-index.ts, used on both sides). Rows are packed into fresh buffers (row-batch.ts); the
 * caller's rows and tokens are only read.
 */
import { Worker } from 'node:worker_threads';
import { IdTable } from '@sealog/ledger';
import { IndexError, type IndexErrorCode } from './errors';
import { type IndexRow, SUBJECT_TOKEN_BYTES } from './index-row';
import { packRows, type RowBatch } from './row-batch';
import {
  type ErasureHorizon,
  type HistoryQuery,
  type IndexStats,
  type RecordErasure,
  type SearchHit,
  SearchIndex,
  type SearchIndexOptions,
  type SearchPage,
  type SearchQuery,
} from './search-index';

/** `workerData` of the writer thread. */
export interface WriterData {
  /** Options of the writing connection. */
  readonly options: SearchIndexOptions;
}

/** A request to the writer thread; answered by `done` or `failed` with the same id. */
export type WriteRequest =
  | {
      readonly type: 'insert';
      readonly id: number;
      readonly batch: RowBatch;
      readonly watermarks: [string, number][];
      /** Erasures announced by the rows (tokens copied), applied in the same transaction. */
      readonly erasures: RecordErasure[];
    }
  | {
      readonly type: 'erase';
      readonly id: number;
      readonly tenantId: string;
      readonly token: Uint8Array;
      readonly horizon: ErasureHorizon | undefined;
    }
  | { readonly type: 'reset'; readonly id: number; readonly bulkLoad: boolean }
  | { readonly type: 'finishBulkLoad'; readonly id: number }
  | { readonly type: 'close'; readonly id: number };

/** What the writer thread posts back. */
export type WriteResponse =
  | { readonly type: 'ready' }
  | { readonly type: 'open-failed'; readonly code: IndexErrorCode; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly value: number }
  | {
      readonly type: 'failed';
      readonly id: number;
      readonly code: IndexErrorCode;
      readonly message: string;
      readonly cause?: string;
    };

interface Pending {
  readonly resolve: (value: number) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Starts the writer thread. From TypeScript source (tests, `--import tsx`) the worker file is .ts
 * and is loaded through tsx with the `@sealog/source` condition; from `dist` it is plain JS (the
 * same approach as @sealog/ledger's prepare worker).
 */
function startWriter(workerData: WriterData): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./write-worker.js', import.meta.url), { workerData });
  }
  const url = new URL('./write-worker.ts', import.meta.url).href;
  // Node 20 ignores `--import` in a worker's execArgv, so the worker registers tsx itself first.
  const tsxApi =
    typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); });`;
  // Profiling flags are kept so that `node --cpu-prof` profiles the writer thread too.
  const profiling = process.execArgv.filter((a) => a.startsWith('--cpu-prof'));
  return new Worker(bootstrap, {
    eval: true,
    workerData,
    execArgv: [...profiling, '--conditions=@sealog/source'],
  });
}

/**
 * Opens (creating when missing) the index file with a writer thread: writes are asynchronous and
 * run off this thread, queries run here on a read-only connection.
 * @throws {IndexError} as {@link openSearchIndex} (`BAD_ARGUMENT`, `INCOMPATIBLE`, `FAILED`); `FAILED`
 *   when the writer thread cannot start.
 * @example
 * ```ts
 * const index = await openWorkerSearchIndex({ path: './sealog-data/index/search.db' });
 * const indexer = createIndexer({ ledger, index });   // inserts go to the writer thread
 * indexer.start();
 * await index.eraseSubject('acme', token);            // a search issued now no longer finds its records
 * await indexer.stop();
 * await index.close();                                // waits for the writes posted before
 * ```
 */
export async function openWorkerSearchIndex(options: SearchIndexOptions): Promise<WorkerSearchIndex> {
  return WorkerSearchIndex.open(options);
}

/** See module doc. Prefer {@link openWorkerSearchIndex}. */
export class WorkerSearchIndex {
  /** The index file. */
  readonly path: string;
  private readonly options: SearchIndexOptions;
  private worker: Worker;
  private reader: SearchIndex | undefined = undefined;
  /** Requests posted and not yet answered (not a `Map`: see `IdTable` in @sealog/ledger). */
  private readonly pending = new IdTable<Pending>();
  private nextId = 0;
  /**
   * Set when the writer thread died: writes fail with it until a new writer thread starts (the
   * first write {@link restartDelayMs} after the death starts one; the delay doubles per failed
   * start up to {@link MAX_RESTART_DELAY_MS}).
   */
  private failure: IndexError | undefined = undefined;
  private failedAt = 0;
  private restartDelayMs = FIRST_RESTART_DELAY_MS;
  private restarting: Promise<void> | undefined = undefined;
  private restarts = 0;
  private closing: Promise<void> | undefined = undefined;
  private exited: Promise<void>;
  private onStart: ((m: WriteResponse | IndexError) => void) | undefined = undefined;

  private constructor(options: SearchIndexOptions) {
    this.path = options.path;
    this.options = options;
    this.worker = this.spawn();
    this.exited = this.exitOf(this.worker);
  }

  /** Starts a writer thread and wires its events (stale threads' events are ignored). */
  private spawn(): Worker {
    // Plain fields only: the options object is cloned into the thread.
    const writerOptions: SearchIndexOptions = { ...this.options, readOnly: false };
    const worker = startWriter({ options: writerOptions });
    worker.on('message', (m: WriteResponse) => {
      if (worker === this.worker) this.onMessage(m);
    });
    worker.on('error', (error) => {
      if (worker !== this.worker) return;
      this.fail(
        new IndexError('FAILED', `${this.path}: index writer thread failed: ${error.message}`, {
          cause: error,
        }),
      );
    });
    worker.on('exit', (code) => {
      if (worker === this.worker && this.closing === undefined)
        this.fail(new IndexError('FAILED', `${this.path}: index writer thread exited (code ${code})`));
    });
    return worker;
  }

  private exitOf(worker: Worker): Promise<void> {
    return new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }

  /** Writer threads started after a death (for metrics and tests). */
  get writerRestarts(): number {
    return this.restarts;
  }

  /** Starts a new writer thread after a death; clears the failure once it opened the file. */
  private restartWriter(): Promise<void> {
    this.restarting ??= (async () => {
      try {
        await this.worker.terminate().catch(() => {});
        const worker = this.spawn();
        this.worker = worker;
        this.exited = this.exitOf(worker);
        const started = await new Promise<WriteResponse | IndexError>((resolve) => {
          this.onStart = resolve;
        });
        this.onStart = undefined;
        if (started instanceof IndexError || started.type !== 'ready') {
          throw started instanceof IndexError
            ? started
            : new IndexError('FAILED', `${this.path}: index writer thread did not restart`);
        }
        worker.unref();
        this.failure = undefined;
        this.restartDelayMs = FIRST_RESTART_DELAY_MS;
        this.restarts++;
      } catch (error) {
        this.failedAt = Date.now();
        this.restartDelayMs = Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
        this.failure =
          error instanceof IndexError
            ? error
            : new IndexError('FAILED', `${this.path}: index writer restart failed`, { cause: error });
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  /** Starts the writer thread, waits until it opened the file, then opens the read connection. */
  static async open(options: SearchIndexOptions): Promise<WorkerSearchIndex> {
    const index = new WorkerSearchIndex(options);
    const started = await new Promise<WriteResponse | IndexError>((resolve) => {
      index.onStart = resolve;
    });
    index.onStart = undefined;
    if (started instanceof IndexError || started.type !== 'ready') {
      await index.worker.terminate();
      if (started instanceof IndexError) throw started;
      throw new IndexError(
        started.type === 'open-failed' ? started.code : 'FAILED',
        started.type === 'open-failed' ? started.message : `${index.path}: writer thread did not start`,
      );
    }
    try {
      index.reader = new SearchIndex({ ...options, readOnly: true });
    } catch (error) {
      await index.close();
      throw error;
    }
    // An idle writer must not keep the process alive; pending writes ref it.
    index.worker.unref();
    return index;
  }

  private onMessage(m: WriteResponse): void {
    if (m.type === 'ready' || m.type === 'open-failed') {
      this.onStart?.(m);
      return;
    }
    const pending = this.pending.take(m.id);
    if (pending === undefined) return;
    // While closing, the thread stays referenced until it exited (close() waits for that).
    if (this.pending.size === 0 && this.closing === undefined) this.worker.unref();
    if (m.type === 'done') pending.resolve(m.value);
    else {
      const cause = m.cause === undefined ? undefined : new Error(m.cause);
      pending.reject(new IndexError(m.code, m.message, cause === undefined ? {} : { cause }));
    }
  }

  private fail(error: IndexError): void {
    if (this.failure === undefined) this.failedAt = Date.now();
    this.failure ??= error;
    this.onStart?.(error);
    for (const p of this.pending.drain()) p.reject(error);
  }

  /**
   * Posts a request; resolves with the writer's answer. After the writer thread died, a request
   * made once the restart delay has passed starts a new thread first (the index file is
   * consistent: the dead thread's open transaction rolled back; callers such as the indexer
   * resume from the committed watermarks).
   */
  private async post(request: WriteRequest, transfer: ArrayBuffer[] = []): Promise<number> {
    if (this.closing !== undefined) throw closedError(this.path);
    if (this.failure !== undefined && Date.now() - this.failedAt >= this.restartDelayMs) {
      await this.restartWriter();
      if (this.closing !== undefined) throw closedError(this.path);
    }
    if (this.failure !== undefined) throw this.failure;
    return new Promise<number>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(request.id, { resolve, reject });
      this.worker.postMessage(request, transfer);
    });
  }

  /** Re-reads the writer's commits on the read side (skipped once the read side closed). */
  private refreshReader(): void {
    if (this.reader !== undefined && this.closing === undefined) this.reader.refresh();
  }

  private checkOpen(): void {
    if (this.reader === undefined || this.closing !== undefined) throw closedError(this.path);
  }

  private get read(): SearchIndex {
    if (this.reader === undefined || this.closing !== undefined) throw closedError(this.path);
    return this.reader;
  }

  /**
   * Stores rows, watermarks and the erasures the rows announce in one transaction on the writer
   * thread (see {@link SearchIndex.insert}); resolves once committed and visible to queries here.
   * Calls queue: several may be in flight, they commit in call order.
   * @throws {IndexError} as {@link SearchIndex.insert}; `FAILED` when the writer thread died;
   *   `CLOSED`.
   */
  async insert(
    rows: readonly IndexRow[],
    watermarks: ReadonlyMap<string, number>,
    erasures: readonly RecordErasure[] = [],
  ): Promise<void> {
    this.checkOpen();
    const batch = packRows(rows);
    const copies: RecordErasure[] = [];
    for (let i = 0; i < erasures.length; i++) {
      const e = erasures[i]!;
      checkToken(e.subjectToken, `erasures[${i}].subjectToken`);
      // Copies: posting a view would clone its whole backing buffer.
      copies.push({
        tenantId: e.tenantId,
        subjectToken: Uint8Array.from(e.subjectToken),
        logId: e.logId,
        leafIndex: e.leafIndex,
      });
    }
    await this.post(
      { type: 'insert', id: this.nextId++, batch, watermarks: [...watermarks], erasures: copies },
      [batch.numbers.buffer as ArrayBuffer, batch.tokens.buffer as ArrayBuffer],
    );
    this.refreshReader();
  }

  /**
   * Erases a subject's token up to a horizon (see {@link SearchIndex.eraseSubject}) after every
   * write called before; resolves (with the rows changed) once committed and checkpointed: a
   * search issued after that no longer finds the covered rows, and covered rows inserted later are
   * stored without the token. Without `horizon` the writer thread takes the current time (or a
   * later append clock) when the erasure runs.
   * @throws {IndexError} `BAD_ARGUMENT` for a token that is not 16 bytes; as {@link insert}.
   */
  async eraseSubject(tenantId: string, subjectToken: Uint8Array, horizon?: ErasureHorizon): Promise<number> {
    this.checkOpen();
    checkToken(subjectToken, 'subjectToken');
    // A copy: posting a view would clone its whole backing buffer.
    const token = Uint8Array.from(subjectToken);
    const changed = await this.post({
      type: 'erase',
      id: this.nextId++,
      tenantId,
      token,
      horizon: horizon === undefined ? undefined : { ...horizon },
    });
    this.refreshReader();
    return changed;
  }

  /**
   * Empties the index for a rebuild (see {@link SearchIndex.reset}) after every write called before.
   * @throws {IndexError} as {@link insert}.
   */
  async reset(options: { readonly bulkLoad?: boolean } = {}): Promise<void> {
    this.checkOpen();
    await this.post({ type: 'reset', id: this.nextId++, bulkLoad: options.bulkLoad === true });
    this.refreshReader();
  }

  /**
   * Builds the secondary indexes after a bulk load (see {@link SearchIndex.finishBulkLoad}).
   * @throws {IndexError} as {@link insert}.
   */
  async finishBulkLoad(): Promise<void> {
    this.checkOpen();
    await this.post({ type: 'finishBulkLoad', id: this.nextId++ });
    this.refreshReader();
  }

  /** Whether a bulk load runs (as committed by the writer). */
  get bulkLoading(): boolean {
    return this.read.bulkLoading;
  }

  /** See {@link SearchIndex.watermark} (committed state). */
  watermark(logId: string): number {
    return this.read.watermark(logId);
  }

  /** See {@link SearchIndex.search}. */
  search(query: SearchQuery): SearchPage {
    return this.read.search(query);
  }

  /** See {@link SearchIndex.history}. */
  history(query: HistoryQuery): SearchPage {
    return this.read.history(query);
  }

  /** See {@link SearchIndex.findEvent}. */
  findEvent(tenantId: string, eventId: string): SearchHit | undefined {
    return this.read.findEvent(tenantId, eventId);
  }

  /** See {@link SearchIndex.wasErased} (committed state). */
  wasErased(tenantId: string, subjectToken: Uint8Array): boolean {
    return this.read.wasErased(tenantId, subjectToken);
  }

  /** See {@link SearchIndex.erasedUntil} (committed state). */
  erasedUntil(tenantId: string, subjectToken: Uint8Array): number | undefined {
    return this.read.erasedUntil(tenantId, subjectToken);
  }

  /** See {@link SearchIndex.stats} (committed rows). */
  stats(): IndexStats {
    return this.read.stats();
  }

  /** See {@link SearchIndex.explainSearch}. */
  explainSearch(query: SearchQuery): string[] {
    return this.read.explainSearch(query);
  }

  /** See {@link SearchIndex.explainHistory}. */
  explainHistory(cursor: boolean): string[] {
    return this.read.explainHistory(cursor);
  }

  /**
   * Waits for every write called before, closes the writer's connection and thread, then the read
   * connection. Later calls throw (or reject with) `CLOSED`; closing twice returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        // A restart in progress finishes (or fails) first; a dead or half-started thread is
        // terminated below.
        await this.restarting;
        if (this.failure !== undefined) await this.worker.terminate().catch(() => {});
        if (this.failure === undefined) {
          const id = this.nextId++;
          await new Promise<number>((resolve, reject) => {
            this.worker.ref();
            this.pending.set(id, { resolve, reject });
            this.worker.postMessage({ type: 'close', id } satisfies WriteRequest);
          }).catch(() => {});
          await this.exited;
        }
      } finally {
        this.reader?.close();
      }
    })();
    return this.closing;
  }

  /**
   * Kills the writer thread at once, as a crash would: the transaction in flight rolls back, the
   * writes queued behind it are lost and reject with `FAILED`; a write a restart delay later starts
   * a new writer thread. For crash tests.
   */
  async crashWriter(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Delay before the first restart of a dead writer thread, ms (doubles per failed restart). */
const FIRST_RESTART_DELAY_MS = 1000;
/** Longest delay between restarts of a dead writer thread, ms. */
const MAX_RESTART_DELAY_MS = 30_000;

function checkToken(token: unknown, name: string): void {
  if (!(token instanceof Uint8Array) || token.byteLength !== SUBJECT_TOKEN_BYTES) {
    throw new IndexError(
      'BAD_ARGUMENT',
      `${name}: expected ${SUBJECT_TOKEN_BYTES} bytes, got ${token instanceof Uint8Array ? token.byteLength : typeof token}`,
    );
  }
}

function closedError(path: string): IndexError {
  return new IndexError('CLOSED', `${path}: index closed`);
}
