/**
 * Streamed exports (`GET …/export` and `sealog export`): ndjson or csv of the records matching a
 * filter (found page by page through the index, read through the ledger), or a verifiable bundle
 * (`exportBundle` of @sealog/ledger). Constant memory for any size: one index page and one frame
 * at a time, and the producer waits whenever the consumer is slower (stream backpressure).
 *
 * Everything that can fail before the first byte (bad filter for the format, unknown or empty
 * log) throws here, so HTTP can still answer a status code.
 */
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { exportBundle, type Ledger } from '@sealog/ledger';
import { csvHeader, csvRow } from './csv';
import { HttpError } from './errors';
import { badParam, type RecordFilter } from './filters';
import { indexCall, type ReadIndex, readHits, searchQuery } from './search';

/** Most distinct tree sizes `consistency_from` may name (the bundle producer's limit). */
export const MAX_CONSISTENCY_FROM = 64;
/** One `consistency_from` value: decimal tree sizes, comma-separated. */
const SIZE_LIST = /^[0-9]{1,16}(,[0-9]{1,16})*$/;

/**
 * Parses `consistency_from` (bundle): each value a decimal tree size or a comma-separated list of
 * them (`consistency_from=100,250` = `consistency_from=100&consistency_from=250`); repeats merged,
 * ascending. Whether the sizes fit the log is checked by {@link startExport}.
 * @param value - a string, an array of strings (a repeated parameter) or undefined.
 * @param param - name for messages (`consistency_from`, or `--consistency-from` for the CLI).
 * @returns the sizes, each an integer ≥ 1, or `undefined` when none are given.
 * @throws {HttpError} 400 naming `param` for anything else, or more than {@link MAX_CONSISTENCY_FROM} sizes.
 */
export function parseConsistencyFrom(value: unknown, param = 'consistency_from'): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = Array.isArray(value) ? value : [value];
  const sizes = new Set<number>();
  for (const part of parts) {
    if (typeof part !== 'string' || !SIZE_LIST.test(part)) {
      throw badParam(
        param,
        `expected tree sizes (integers ≥ 1, comma-separated), got ${JSON.stringify(part)}`,
      );
    }
    for (const digits of part.split(',')) {
      const n = Number(digits);
      // RFC 9162 §2.1.4: a consistency proof from the empty tree proves nothing.
      if (!Number.isSafeInteger(n) || n < 1) {
        throw badParam(param, `expected tree sizes (integers ≥ 1), got ${JSON.stringify(digits)}`);
      }
      sizes.add(n);
    }
  }
  if (sizes.size > MAX_CONSISTENCY_FROM) {
    throw badParam(param, `at most ${MAX_CONSISTENCY_FROM} tree sizes, got ${sizes.size}`);
  }
  return sizes.size === 0 ? undefined : [...sizes].sort((a, b) => a - b);
}

/** Records read per index page while exporting. */
export const EXPORT_PAGE = 1000;
/** A bundle reads index candidates only while they are at most this share of its leaf range. */
const CANDIDATE_SHARE = 0.25;

/**
 * The leaves of `[from, to)` a bundle must read, from the search index: its hits for the filter
 * in this log, plus every leaf the index has not indexed yet (past its watermark). `undefined`
 * (scan the range) when that list would not be much shorter than the range, or when the index
 * erased the actor's token (a subject seen again after an erasure: its new rows have no token in
 * the index, but belong in the bundle). The bundle checks every record against the filter itself.
 */
async function bundleCandidates(
  index: ReadIndex,
  tenant: string,
  logId: string,
  query: ReturnType<typeof searchQuery>,
  from: number,
  to: number,
  signal: AbortSignal,
): Promise<number[] | undefined> {
  const budget = Math.floor((to - from) * CANDIDATE_SHARE);
  const indexed = Math.max(from, Math.min(index.watermark(logId), to));
  if (to - indexed > budget) return undefined;
  if (query.subjectToken !== undefined && index.wasErased(tenant, query.subjectToken)) return undefined;
  const leaves: number[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = indexCall(() =>
      index.search({
        ...query,
        limit: EXPORT_PAGE,
        order: 'asc',
        ...(cursor === undefined ? {} : { cursor }),
      }),
    );
    for (const h of page.hits) {
      if (h.logId === logId && h.leafIndex >= from && h.leafIndex < indexed) leaves.push(h.leafIndex);
    }
    if (leaves.length + (to - indexed) > budget) return undefined;
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
    // Searches are synchronous: let requests run between pages.
    await new Promise<void>((resolve) => setImmediate(resolve));
    signal.throwIfAborted();
  }
  leaves.sort((a, b) => a - b);
  for (let leaf = indexed; leaf < to; leaf++) leaves.push(leaf);
  return leaves;
}

/** Export formats. */
export type ExportFormat = 'ndjson' | 'csv' | 'bundle';

/** What to export. */
export interface ExportRequest {
  readonly ledger: Ledger;
  readonly index: ReadIndex;
  readonly tenant: string;
  readonly filter: RecordFilter;
  readonly format: ExportFormat;
  /** Open personal fields (ndjson/csv; keys with the `read` role). */
  readonly personal: boolean;
  /** ndjson/csv order by `occurred_at` (default `asc`). */
  readonly order?: 'asc' | 'desc';
  /** bundle: the log (required when the ledger has several). */
  readonly logId?: string;
  /**
   * bundle: tree sizes to add consistency proofs from (see {@link parseConsistencyFrom}), each
   * ≤ the log's tree size; refused with any other format.
   */
  readonly consistencyFrom?: readonly number[];
}

/** A started export. */
export interface ExportStream {
  readonly stream: Readable;
  readonly contentType: string;
  readonly fileName: string;
  /** Settles when the stream ends or fails: records written and whether it completed. */
  readonly done: Promise<{ count: number; completed: boolean }>;
}

/**
 * Starts an export.
 * @throws {HttpError} 400/404 for what is wrong before streaming starts.
 */
export function startExport(req: ExportRequest): ExportStream {
  const { ledger, index, tenant, filter } = req;
  let count = 0;
  let settle!: (v: { count: number; completed: boolean }) => void;
  const done = new Promise<{ count: number; completed: boolean }>((r) => {
    settle = r;
  });
  const token =
    filter.actorId === undefined ? undefined : ledger.keyMaterial.subjectToken(tenant, filter.actorId);
  if (req.consistencyFrom !== undefined && req.format !== 'bundle') {
    throw badParam('consistency_from', 'only with format=bundle');
  }
  if (req.format === 'bundle') {
    if (filter.category !== undefined || filter.result !== undefined) {
      throw badParam(filter.category !== undefined ? 'category' : 'result', 'not supported by format=bundle');
    }
    const logs = ledger.logs();
    if (req.logId === undefined && logs.length !== 1) {
      throw badParam(
        'log_id',
        `required with format=bundle: logs are ${logs.map((l) => l.logId).join(', ')}`,
      );
    }
    const log = req.logId === undefined ? logs[0]! : ledger.log(req.logId);
    if (log.treeSize === 0) throw new HttpError(404, 'NOT_FOUND', `log ${log.logId} is empty`);
    const consistencyFrom = req.consistencyFrom ?? [];
    for (const m of consistencyFrom) {
      // The bundle's checkpoint is signed later, over at least today's tree: a size that fits now
      // fits then, and the producer never fails on it after the status line went out.
      if (m > log.treeSize) {
        throw badParam(
          'consistency_from',
          `${m} is larger than log ${log.logId}'s tree of ${log.treeSize} leaves (the bundle's checkpoint can only be proven consistent from smaller trees)`,
          'too_large',
        );
      }
    }
    const out = new PassThrough();
    let completed = false;
    const abort = new AbortController();
    out.on('close', () => {
      // A consumer that went away must not leave the producer waiting for 'drain', nor scanning.
      if (!completed) {
        abort.abort(new Error('export consumer went away'));
        out.emit('drain');
      }
    });
    exportBundle(
      ledger,
      {
        tenantId: tenant,
        logId: log.logId,
        ...(filter.startTime === undefined ? {} : { startTime: filter.startTime }),
        ...(filter.endTime === undefined ? {} : { endTime: filter.endTime }),
        ...(filter.actorId === undefined ? {} : { actorId: filter.actorId }),
        ...(filter.resourceType === undefined ? {} : { resourceType: filter.resourceType }),
        ...(filter.resourceId === undefined ? {} : { resourceId: filter.resourceId }),
        ...(filter.action === undefined ? {} : { action: filter.action }),
      },
      (line) => {
        if (out.destroyed) throw new Error('export consumer went away');
        if (!out.write(line)) return once(out, 'drain').then(() => undefined);
      },
      {
        signal: abort.signal,
        ...(consistencyFrom.length === 0 ? {} : { consistencyFrom }),
        candidates: (from, to) =>
          bundleCandidates(
            index,
            tenant,
            log.logId,
            searchQuery(tenant, filter, token),
            from,
            to,
            abort.signal,
          ),
      },
    ).then(
      (result) => {
        count = result.count;
        completed = true;
        settle({ count, completed: true });
        out.end();
      },
      (error: unknown) => {
        settle({ count, completed: false });
        out.destroy(error as Error);
      },
    );
    return {
      stream: out,
      contentType: 'application/x-ndjson; charset=utf-8',
      fileName: `${tenant}.bundle.jsonl`,
      done,
    };
  }
  const order = req.order ?? 'asc';
  const csv = req.format === 'csv';
  const query = searchQuery(tenant, filter, token);
  // The first page now: a bad filter fails before the status line goes out.
  let page = indexCall(() => index.search({ ...query, limit: EXPORT_PAGE, order }));
  const stream = Readable.from(
    (async function* () {
      let completed = false;
      try {
        if (csv) yield csvHeader();
        for (;;) {
          const reads = await readHits(ledger, tenant, page.hits);
          for (const r of reads) {
            const view = await ledger.view(r, { personal: req.personal });
            count += 1;
            yield csv ? csvRow(view) : `${JSON.stringify(view)}\n`;
          }
          if (page.nextCursor === null) break;
          const cursor = page.nextCursor;
          page = indexCall(() => index.search({ ...query, limit: EXPORT_PAGE, order, cursor }));
        }
        completed = true;
      } finally {
        settle({ count, completed });
      }
    })(),
  );
  return {
    stream,
    contentType: csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    fileName: `${tenant}.${csv ? 'csv' : 'ndjson'}`,
    done,
  };
}
