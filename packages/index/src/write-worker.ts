/**
 * The index writer thread: owns the writing connection of one index file and runs, in the order
 * they arrive, the writes {@link WorkerSearchIndex} posts — insert transactions (with their
 * automatic WAL checkpoints), erasures, resets, the end of a bulk load — so none of them runs on
 * the server's event loop. Each request is answered after it committed (or failed: the error's
 * code and message go back; nothing of a failed request stays).
 *
 * Not here: queries (the main thread reads through its own read-only connection), reading the
 * ledger. The row buffers of an insert were transferred here and are dropped after it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { IndexError } from './errors';
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

port.on('message', (m: WriteRequest) => {
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
        port.postMessage({ type: 'done', id: m.id, value } satisfies WriteResponse);
        port.close();
        return;
    }
  } catch (error) {
    const e = error instanceof IndexError ? error : new IndexError('FAILED', String(error));
    const cause = e.cause instanceof Error ? e.cause.message : undefined;
    port.postMessage({
      type: 'failed',
      id: m.id,
      code: e.code,
      message: e.message,
      ...(cause === undefined ? {} : { cause }),
    } satisfies WriteResponse);
    return;
  }
  port.postMessage({ type: 'done', id: m.id, value } satisfies WriteResponse);
});
