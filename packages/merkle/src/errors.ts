/**
 * The merkle package's one error class. Everything this package throws on purpose is a
 * `MerkleError` whose `code` names the family; messages quote the field and got-vs-expected.
 *
 * Not thrown for a wrong proof: `verifyInclusion`/`verifyConsistency` answer `false` for proofs,
 * sizes or indices that do not check out. Errors are for misuse (wrong types, out-of-range
 * arguments, hashes that are not 32 bytes) and for tree hashes a store does not hold.
 */

/**
 * What went wrong, by family:
 * - `INVALID_TYPE`: an argument is not of the documented type (e.g. not a `Uint8Array`).
 * - `INVALID_INTEGER`: a size or index is negative, fractional or above `Number.MAX_SAFE_INTEGER`.
 * - `OUT_OF_RANGE`: an index or size is outside the tree (index ≥ size, size1 > size2, …).
 * - `INVALID_HASH_LENGTH`: a value used as a hash is not exactly 32 bytes.
 * - `INVALID_STATE`: serialised state (compact range) is inconsistent with its size.
 * - `TILE_MISSING`: a tile store does not (yet) hold a hash the tree needs.
 * - `TILE_CORRUPT`: a stored tile has the wrong length, or a full tile would change.
 * - `STORE_FAILED`: a tile store I/O operation failed (see `cause`); the tree refuses further use.
 * - `LOGIC`: an impossible state (a bug in this package).
 */
export type MerkleErrorCode =
  | 'INVALID_TYPE'
  | 'INVALID_INTEGER'
  | 'OUT_OF_RANGE'
  | 'INVALID_HASH_LENGTH'
  | 'INVALID_STATE'
  | 'TILE_MISSING'
  | 'TILE_CORRUPT'
  | 'STORE_FAILED'
  | 'LOGIC';

/**
 * Base error of `@sealog/merkle`.
 *
 * @example
 * ```ts
 * try { inclusionProof(leafHashes, 99); } catch (e) {
 *   if (e instanceof MerkleError && e.code === 'OUT_OF_RANGE') { ... }
 * }
 * ```
 */
export class MerkleError extends Error {
  /** Family of the failure; stable, switch on it. */
  readonly code: MerkleErrorCode;

  /**
   * @param code - family of the failure.
   * @param message - human-readable; quotes the field and got-vs-expected.
   * @param options - `cause` of the failure, when another error triggered it.
   */
  constructor(code: MerkleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MerkleError';
    this.code = code;
  }
}
