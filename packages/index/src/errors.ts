/**
 * Typed errors of @sealog/index. `code` says what went wrong; the message quotes the argument and
 * what was expected. Database failures (disk full, a locked or corrupt file) surface as `FAILED`
 * with the driver's error as `cause`: the index is rebuildable, so the caller's remedy is to report,
 * retry later or rebuild (`sealog reindex`).
 */

/** Every failure the index reports, by cause. */
export type IndexErrorCode =
  /** An argument out of its documented range (limit, time, token length, …). */
  | 'BAD_ARGUMENT'
  /** A cursor that this index did not issue for this kind of query and order. */
  | 'BAD_CURSOR'
  /** The index was closed (or the indexer stopped) before the call. */
  | 'CLOSED'
  /** A bulk load is running (secondary indexes dropped): searches wait for `finishBulkLoad()`. */
  | 'REBUILDING'
  /** The file holds an index of another schema version: delete it and reindex. */
  | 'INCOMPATIBLE'
  /** The database failed (I/O, full disk, corruption); `cause` holds the driver's error. */
  | 'FAILED';

/** Base error of this package. */
export class IndexError extends Error {
  override readonly name: string = 'IndexError';
  /** Machine-readable cause; safe to branch on. */
  readonly code: IndexErrorCode;

  constructor(code: IndexErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
