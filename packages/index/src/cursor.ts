/**
 * Opaque page cursors for keyset pagination. A cursor names the last hit of a page by its sort key
 * — `(time, logId, leafIndex)`, where time is `occurredAt` for searches and the log's append clock
 * for resource histories — plus the kind of query and the order it was issued for. The next page
 * starts strictly after that key, so rows inserted while a client pages never shift, repeat or hide
 * rows of the pages still to come (unlike OFFSET).
 *
 * Wire form: base64url of the JSON array `["c1", kind, order, time, logId, leafIndex]`. Cursors are
 * not secret and not signed: a forged cursor only moves the page start within the query's own
 * tenant (the tenant comes from the query, never from the cursor). Not here: mapping a log id to
 * its position code (the index does that).
 */
import { IndexError } from './errors';
import { LEAF_INDEX_LIMIT } from './position';

/** Which query a cursor belongs to. */
export type CursorKind = 'search' | 'history';
/** Sort order of a page. */
export type SortOrder = 'asc' | 'desc';

/** Sort key of the last hit of a page. */
export interface CursorKey {
  /** Epoch milliseconds: `occurredAt` (search) or the append clock (history), integer ≥ 0. */
  readonly time: number;
  /** Log id of the hit. */
  readonly logId: string;
  /** Leaf index of the hit, integer 0 ≤ n < 2^40. */
  readonly leafIndex: number;
}

/** Longest cursor accepted, in characters (a real one is < 120). */
export const MAX_CURSOR_CHARS = 512;
/** Log ids as the ledger allows them. */
export const LOG_ID_PATTERN: RegExp = /^[A-Za-z0-9._-]{1,64}$/;

const VERSION = 'c1';
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Encodes the cursor of a page whose last hit has sort key `key`. */
export function encodeCursor(kind: CursorKind, order: SortOrder, key: CursorKey): string {
  const json = JSON.stringify([VERSION, kind, order, key.time, key.logId, key.leafIndex]);
  return Buffer.from(json, 'utf8').toString('base64url');
}

/**
 * Decodes a cursor issued by {@link encodeCursor} for the same kind of query and order.
 * @throws {IndexError} `BAD_CURSOR` when it is not a string of that form, or was issued for another
 *   kind of query or another order.
 */
export function decodeCursor(cursor: unknown, kind: CursorKind, order: SortOrder): CursorKey {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS) {
    throw new IndexError('BAD_CURSOR', `cursor: expected a non-empty string of ≤ ${MAX_CURSOR_CHARS} chars`);
  }
  if (!BASE64URL.test(cursor)) throw new IndexError('BAD_CURSOR', 'cursor: not base64url');
  const bytes = Buffer.from(cursor, 'base64url');
  // Node's decoder skips stray trailing characters; only the canonical encoding is a cursor.
  if (bytes.toString('base64url') !== cursor)
    throw new IndexError('BAD_CURSOR', 'cursor: not canonical base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new IndexError('BAD_CURSOR', 'cursor: malformed', { cause });
  }
  if (!Array.isArray(parsed) || parsed.length !== 6 || parsed[0] !== VERSION) {
    throw new IndexError('BAD_CURSOR', 'cursor: malformed');
  }
  const [, k, o, time, logId, leafIndex] = parsed as unknown[];
  if (k !== kind) {
    throw new IndexError('BAD_CURSOR', `cursor: issued for a ${String(k)} query, used for a ${kind} query`);
  }
  if (o !== order) {
    throw new IndexError('BAD_CURSOR', `cursor: issued for order ${String(o)}, used with order ${order}`);
  }
  if (
    typeof time !== 'number' ||
    !Number.isSafeInteger(time) ||
    time < 0 ||
    typeof logId !== 'string' ||
    !LOG_ID_PATTERN.test(logId) ||
    typeof leafIndex !== 'number' ||
    !Number.isSafeInteger(leafIndex) ||
    leafIndex < 0 ||
    leafIndex >= LEAF_INDEX_LIMIT
  ) {
    throw new IndexError('BAD_CURSOR', 'cursor: malformed');
  }
  return { time, logId, leafIndex };
}
