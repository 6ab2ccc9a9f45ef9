/**
 * Search plumbing shared by the read routes, exports and the CLI: the filter as an index query,
 * index errors as 400s, and hits read back through the ledger (each frame once, tenant checked).
 */
import {
  IndexError,
  type SearchHit,
  type SearchIndex,
  type SearchQuery,
  type WorkerSearchIndex,
} from '@sealog/index';
import type { Ledger, ReadRecord } from '@sealog/ledger';
import { HttpError } from './errors';
import type { RecordFilter } from './filters';

/** The index the server reads: the worker-backed one in `serve`, the inline one in offline commands. */
export type ReadIndex = SearchIndex | WorkerSearchIndex;

/** The index query of a filter (without paging); `token` is the actor id's blind token. */
export function searchQuery(
  tenant: string,
  f: RecordFilter,
  token: Uint8Array | undefined,
): Omit<SearchQuery, 'limit' | 'order' | 'cursor'> {
  return {
    tenantId: tenant,
    ...(token === undefined ? {} : { subjectToken: token }),
    ...(f.action === undefined ? {} : { action: f.action }),
    ...(f.category === undefined ? {} : { category: f.category }),
    ...(f.resourceType === undefined ? {} : { resourceType: f.resourceType }),
    ...(f.resourceId === undefined ? {} : { resourceId: f.resourceId }),
    ...(f.result === undefined ? {} : { result: f.result }),
    ...(f.startTime === undefined ? {} : { startTime: f.startTime }),
    ...(f.endTime === undefined ? {} : { endTime: f.endTime }),
  };
}

/** Runs an index call, turning its argument errors into 400s naming the parameter. */
export function indexCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof IndexError && (error.code === 'BAD_CURSOR' || error.code === 'BAD_ARGUMENT')) {
      throw new HttpError(400, 'INVALID_REQUEST', error.message, {
        details: [
          {
            path: error.code === 'BAD_CURSOR' ? 'cursor' : 'query',
            code: error.code.toLowerCase(),
            message: error.message,
          },
        ],
      });
    }
    if (error instanceof IndexError && (error.code === 'REBUILDING' || error.code === 'CLOSED')) {
      throw new HttpError(503, 'UNAVAILABLE', `search index: ${error.message}`, { retryAfter: 5 });
    }
    throw error;
  }
}

/**
 * Reads the records of `hits` in hit order, grouped per log so each frame is decrypted once.
 * @throws {HttpError} 500 `INDEX_INCONSISTENT` if the (derived) index points at another tenant's
 *   record: never let a stale or foreign row leak it.
 */
export async function readHits(
  ledger: Ledger,
  tenant: string,
  hits: readonly SearchHit[],
): Promise<ReadRecord[]> {
  const byLog = new Map<string, number[]>();
  hits.forEach((h, i) => {
    const list = byLog.get(h.logId);
    if (list === undefined) byLog.set(h.logId, [i]);
    else list.push(i);
  });
  const out: ReadRecord[] = new Array(hits.length);
  for (const [logId, positions] of byLog) {
    const reads = await ledger.readMany(
      logId,
      positions.map((i) => hits[i]!.leafIndex),
    );
    positions.forEach((p, k) => {
      out[p] = reads[k]!;
    });
  }
  for (const r of out) {
    if (r.record.tenant_id !== tenant) {
      throw new HttpError(
        500,
        'INDEX_INCONSISTENT',
        'the search index points at a record of another tenant; run `sealog reindex`',
      );
    }
  }
  return out;
}
