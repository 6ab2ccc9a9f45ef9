/**
 * The codec's one error class. Every failure the codec raises on purpose is a `CodecError` whose
 * `code` says which family it belongs to; messages quote the field and got-vs-expected.
 *
 * Event validation does NOT throw: it returns issues (see `validate-event.ts`), because rejecting
 * client input is an expected outcome, not an exception. Errors here are for bytes that do not
 * match the format (corruption, truncation, a newer version), misuse of the API, and limits.
 */

/**
 * What went wrong, by family:
 * - `BAD_FRAME_HEADER`: a frame header does not match the format (magic, version, flags, lengths).
 * - `BAD_BATCH_BODY`: a batch body's length table is inconsistent with its bytes.
 * - `BAD_RECORD`: a leaf's bytes are not a well-formed record of a known version.
 * - `BAD_PERSONAL`: a decrypted personal-data blob is not well formed.
 * - `UNSUPPORTED_VERSION`: the bytes name a format version this build does not read.
 * - `LIMIT_EXCEEDED`: an input is larger than a documented limit (records, batches, bodies).
 * - `INVALID_ARGUMENT`: the caller passed a value outside the documented range.
 * - `BUFFER_TOO_SMALL`: a caller-supplied output buffer cannot hold the result.
 * - `COMPRESSION`: snappy rejected the input or produced a length other than the header's.
 * - `LOGIC`: an impossible state (a bug in this package).
 */
export type CodecErrorCode =
  | 'BAD_FRAME_HEADER'
  | 'BAD_BATCH_BODY'
  | 'BAD_RECORD'
  | 'BAD_PERSONAL'
  | 'UNSUPPORTED_VERSION'
  | 'LIMIT_EXCEEDED'
  | 'INVALID_ARGUMENT'
  | 'BUFFER_TOO_SMALL'
  | 'COMPRESSION'
  | 'LOGIC';

/** Options for {@link CodecError}. */
export interface CodecErrorOptions {
  /** Byte offset (within the bytes being decoded) of the offending field, when known. */
  offset?: number;
  /** The underlying error, e.g. from msgpackr or snappy. */
  cause?: unknown;
}

/**
 * The base (and only) error class of `@sealog/codec`.
 *
 * @example
 * ```ts
 * try { decodeFrameHeader(bytes); }
 * catch (e) { if (e instanceof CodecError && e.code === 'BAD_FRAME_HEADER') report(e.offset, e.message); }
 * ```
 */
export class CodecError extends Error {
  /** Which family of failure; stable across releases, safe to branch on. */
  readonly code: CodecErrorCode;
  /** Byte offset of the offending field within the decoded bytes, or `undefined` when not byte-related. */
  readonly offset: number | undefined;

  constructor(code: CodecErrorCode, message: string, options: CodecErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CodecError';
    this.code = code;
    this.offset = options.offset;
  }
}
