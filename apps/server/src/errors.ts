/**
 * Typed errors of the server. `ConfigError` stops `sealog serve` before anything starts;
 * `HttpError` carries an HTTP status and the CONTRACT §2 error body
 * (`{"error": {"code", "message", "details"}}`) to the one error handler in `app.ts`.
 */

/** A configuration value (flag, environment variable, key file) is invalid. */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
}

/** One entry of `error.details` (CONTRACT §2): batch position and field path when they apply. */
export interface ErrorDetail {
  readonly index?: number;
  readonly path?: string;
  readonly code?: string;
  readonly message: string;
}

/** An HTTP error answered with the CONTRACT §2 body. */
export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  /** HTTP status, 400..599. */
  readonly status: number;
  /** UPPER_SNAKE machine-readable code. */
  readonly code: string;
  readonly details: readonly ErrorDetail[];
  /** Seconds for the `Retry-After` header (429 and 503). */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: readonly ErrorDetail[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.details = options.details ?? [];
    this.retryAfter = options.retryAfter;
  }
}
