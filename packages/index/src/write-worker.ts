/**
 * The index writer thread: owns the writing connection of one index file and runs, in the order
 * they arrive, the writes {@link WorkerSearchIndex} posts — insert transactions (with their
 * automatic WAL checkpoints), erasures, resets, the end of a bulk load — so none of them runs on
 * the server's event loop. Each request is answered after it committed (or failed: the error's
 * code and message go back; nothing of a failed request stays).
 *
 * Not here: queries (the main thread reads through its own read-only connection), reading the
 * ledger. The row buffers of an insert were transferred here and are dropped after it. Inserts
 * that queued up while a transaction ran are merged into the next one (see `MAX_MERGED_ROWS`).
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { IndexError } from './errors';
import type { IndexRow } from './index-row';
import { unpackRows } from './row-batch';
import { SearchIndex } from './search-index';
import type { WriteRequest, WriteResponse, WriterData } from './worker-search-index';

const port = parentPort;
if (port === null) throw new Error('logic error: write-worker.ts must run in a worker thread');
const data = workerData as WriterData;

let index: SearchIndex;
try {
  index = new SearchIndex(data.options);
} catch (error) {
  const e = error instanceof IndexError ? error : new IndexError('FAILED', String(error));
  port.postMessage({ type: 'open-failed', code: e.code, message: e.message } satisfies WriteResponse);
  process.exit(0);
}
port.postMessage({ type: 'ready' } satisfies WriteResponse);

/**
 * Rows one merged insert transaction may hold. Inserts that queued up while the writer was busy
 * commit together: a commit writes each dirtied index page once, so a bigger transaction costs less
 * per row (docs/INDEX.md "Insert cost").
 */
const MAX_MERGED_ROWS = 16_384;

port.on('message', (first: WriteRequest) => {
  let m: WriteRequest | undefined = first;
  while (m !== undefined) m = m.type === 'insert' ? insertQueued(m) : handle(m);
});

/**
 * Runs `first` and the inserts queued right behind it (none of them announcing an erasure, up to
 * {@link MAX_MERGED_ROWS} rows) as one transaction; every merged request gets the outcome.
 * @returns a request taken from the queue that did not fit, to run next (order is kept).
 */
function insertQueued(first: Extract<WriteRequest, { type: 'insert' }>): WriteRequest | undefined {
  const merged = [first];
  let rows = first.batch.count;
  let leftover: WriteRequest | undefined;
  if (first.erasures.length === 0) {
    for (;;) {
      const next = receiveMessageOnPort(port!)?.message as WriteRequest | undefined;
      if (next === undefined) break;
      if (next.type !== 'insert' || next.erasures.length > 0 || rows + next.batch.count > MAX_MERGED_ROWS) {
        leftover = next;
        break;
      }
      merged.push(next);
      rows += next.batch.count;
    }
  }
  try {
    if (merged.length === 1) {
      index.insert(unpackRows(first.batch), new Map(first.watermarks), first.erasures);
    } else {
      // Rows of later requests follow those of earlier ones (each log's in leaf order); a later
      // watermark of a log supersedes an earlier one.
      const all: IndexRow[] = [];
      const watermarks = new Map<string, number>();
      for (const r of merged) {
        for (const row of unpackRows(r.batch)) all.push(row);
        for (const [logId, next] of r.watermarks) watermarks.set(logId, next);
      }
      index.insert(all, watermarks, []);
    }
  } catch (error) {
    for (const r of merged) fail(r.id, error);
    return leftover;
  }
  for (const r of merged) port!.postMessage({ type: 'done', id: r.id, value: 0 } satisfies WriteResponse);
  return leftover;
}

/** Runs one request other than an insert and answers it. */
function handle(m: WriteRequest): undefined {
  let value = 0;
  try {
    switch (m.type) {
      case 'insert':
        index.insert(unpackRows(m.batch), new Map(m.watermarks), m.erasures);
        break;
      case 'erase':
        value = index.eraseSubject(m.tenantId, m.token, m.horizon);
        break;
      case 'reset':
        index.reset({ bulkLoad: m.bulkLoad });
        break;
      case 'finishBulkLoad':
        index.finishBulkLoad();
        break;
      case 'close':
        index.close();
        port!.postMessage({ type: 'done', id: m.id, value } satisfies WriteResponse);
        port!.close();
        return;
    }
  } catch (error) {
    fail(m.id, error);
    return;
  }
  port!.postMessage({ type: 'done', id: m.id, value } satisfies WriteResponse);
}

/** Answers request `id` with the code and message of `error`. */
function fail(id: number, error: unknown): void {
  const e = error instanceof IndexError ? error : new IndexError('FAILED', String(error));
  const cause = e.cause instanceof Error ? e.cause.message : undefined;
  port!.postMessage({
    type: 'failed',
    id,
    code: e.code,
    message: e.message,
    ...(cause === undefined ? {} : { cause }),
  } satisfies WriteResponse);
}
