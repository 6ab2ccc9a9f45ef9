/**
 * Typed errors of @sealog/ledger. `code` says what happened; `issues` carries per-event validation
 * problems (batch index + path) for `INVALID_EVENT`.
 */

/** Every failure the ledger reports, by cause. */
export type LedgerErrorCode =
  | 'INVALID_EVENT'
  | 'UNKNOWN_RETENTION_CLASS'
  | 'UNKNOWN_LOG'
  | 'BACKPRESSURE'
  | 'CLOSED'
  | 'NOT_FOUND'
  | 'CHECKPOINT_MISMATCH'
  | 'CORRUPT'
  | 'KEY_MISSING'
  | 'BAD_ARGUMENT'
  | 'LOCKED'
  | 'FAILED';

/** One problem with one event of a batch. */
export interface LedgerIssue {
  /** Position of the event in the submitted batch. */
  readonly index: number;
  /** Dotted path of the offending field, e.g. `actor.type`. */
  readonly path: string;
  /** Machine-readable reason. */
  readonly code: string;
  /** Human-readable reason with got-vs-expected. */
  readonly message: string;
}

/** Base error of this package. */
export class LedgerError extends Error {
  override readonly name: string = 'LedgerError';
  /** Machine-readable cause. */
  readonly code: LedgerErrorCode;
  /** Per-event problems (`INVALID_EVENT`), empty otherwise. */
  readonly issues: readonly LedgerIssue[];

  constructor(
    code: LedgerErrorCode,
    message: string,
    options: { cause?: unknown; issues?: LedgerIssue[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }
}
