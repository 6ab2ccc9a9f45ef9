/**
 * The one error class of this package. Every failure a caller can act on has a literal `code`, so
 * callers switch on `err.code` instead of parsing messages. Messages quote the field and
 * got-vs-expected; they never contain key material or plaintext.
 *
 * Deliberately not here: error classes per module (one `code` union is easier to handle exhaustively).
 */

/**
 * Machine-readable reason of a {@link CryptoEnvelopeError}.
 *
 * - `AUTH_FAILED` — an AES-GCM tag did not verify (wrong key, nonce, AAD, or tampered bytes).
 * - `NONCE_REUSE` — a nonce issued by a {@link FrameSealer} was presented a second time.
 * - `NONCE_FOREIGN` — a nonce was not issued by this sealer.
 * - `KEY_EXHAUSTED` — a key reached its message limit; rotate to a new key.
 * - `KEY_ALREADY_BOUND` — a data key was already bound to a sealer.
 * - `KEY_OPEN_ONLY` — a key restored from storage may only open, never seal.
 * - `INVALID_ARGUMENT` — a parameter is out of range or malformed.
 * - `INVALID_KEY` — key material or a key string is malformed.
 * - `INSECURE_KEY_FILE` — a key file is readable or writable by group/other, or not a regular file.
 * - `UNKNOWN_KEK` — no master key in the keyring has the id a wrapped key names.
 * - `MALFORMED_WRAPPED_KEY` — serialized wrapped-key bytes do not follow the layout.
 * - `KEY_MISMATCH` — a sealed field was sealed under another key (e.g. the subject key was shredded and
 *   recreated), so it cannot be opened with this one.
 * - `MALFORMED_SEALED_FIELD` — sealed-field bytes do not follow the layout.
 * - `MALFORMED_NOTE` — a signed note violates C2SP signed-note syntax.
 * - `NOTE_UNVERIFIED` — no signature on the note is from a known key.
 * - `NOTE_INVALID_SIGNATURE` — a signature from a known key failed to verify.
 * - `AMBIGUOUS_KEY` — two verifier keys share name and key hash.
 * - `MALFORMED_CHECKPOINT` — checkpoint text violates C2SP tlog-checkpoint.
 * - `MALFORMED_INTEGRITY` — an integrity string does not follow `keySetId::keyId::algoVersion::hashHex`.
 * - `IO_ERROR` — the key store could not read or write a file.
 */
export type CryptoEnvelopeErrorCode =
  | 'AUTH_FAILED'
  | 'NONCE_REUSE'
  | 'NONCE_FOREIGN'
  | 'KEY_EXHAUSTED'
  | 'KEY_ALREADY_BOUND'
  | 'KEY_OPEN_ONLY'
  | 'INVALID_ARGUMENT'
  | 'INVALID_KEY'
  | 'INSECURE_KEY_FILE'
  | 'UNKNOWN_KEK'
  | 'MALFORMED_WRAPPED_KEY'
  | 'KEY_MISMATCH'
  | 'MALFORMED_SEALED_FIELD'
  | 'MALFORMED_NOTE'
  | 'NOTE_UNVERIFIED'
  | 'NOTE_INVALID_SIGNATURE'
  | 'AMBIGUOUS_KEY'
  | 'MALFORMED_CHECKPOINT'
  | 'MALFORMED_INTEGRITY'
  | 'IO_ERROR';

/**
 * Base (and only) error class of `@sealog/crypto-envelope`.
 *
 * @example
 * ```ts
 * try {
 *   openFrame(key, nonce, aad, body);
 * } catch (err) {
 *   if (err instanceof CryptoEnvelopeError && err.code === 'AUTH_FAILED') reportTamper(err);
 *   else throw err;
 * }
 * ```
 */
export class CryptoEnvelopeError extends Error {
  /** Machine-readable reason; stable across versions. */
  readonly code: CryptoEnvelopeErrorCode;

  /**
   * @param code - machine-readable reason.
   * @param message - human-readable text quoting field and got-vs-expected.
   * @param options - `cause`: the underlying error, when there is one.
   */
  constructor(code: CryptoEnvelopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CryptoEnvelopeError';
    this.code = code;
  }
}
