/**
 * Typed errors of the verifier. Errors are for misuse and for I/O that makes verification
 * impossible (exit code 2); everything wrong *inside* the verified data is a {@link Finding}
 * instead, so one run reports every problem rather than dying at the first.
 */

/** Stable failure families of {@link VerifierError}. */
export type VerifierErrorCode = 'USAGE' | 'IO_ERROR' | 'BAD_KEY' | 'BAD_CHECKPOINT' | 'LOGIC';

/** Base class of every error this package throws. */
export class VerifierError extends Error {
  /** Which family of failure; safe to branch on. */
  readonly code: VerifierErrorCode;

  constructor(code: VerifierErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VerifierError';
    this.code = code;
  }
}
