/**
 * Typed errors of @sealog/segment-store. Every error carries a literal `code`; corruption errors
 * also carry the file and byte offset so an operator can find the spot.
 */

/** Every failure the segment store reports, by cause. */
export type SegmentStoreErrorCode =
  | 'BAD_ARGUMENT'
  | 'CLOSED'
  | 'FAILED'
  | 'FRAME_TOO_LARGE'
  | 'KEY_ORDER'
  | 'CORRUPT_SEGMENT'
  | 'NOT_FOUND'
  | 'SEGMENT_NOT_SEALED';

/** Base error of this package. */
export class SegmentStoreError extends Error {
  override readonly name: string = 'SegmentStoreError';
  /** Machine-readable cause. */
  readonly code: SegmentStoreErrorCode;
  /** File the error is about, when there is one. */
  readonly file: string | undefined;
  /** Byte offset inside `file`, when there is one. */
  readonly offset: number | undefined;

  constructor(
    code: SegmentStoreErrorCode,
    message: string,
    options: { cause?: unknown; file?: string; offset?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.offset = options.offset;
  }
}

/** Formats a byte offset the way every message of this package does: decimal and hex. */
export function formatOffset(offset: number): string {
  return `${offset} (0x${offset.toString(16)})`;
}
