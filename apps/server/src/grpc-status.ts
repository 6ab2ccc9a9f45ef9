/**
 * gRPC errors of the ingest service: `GrpcCallError` (a gRPC status code plus the same
 * UPPER_SNAKE `code` and `details` the JSON API answers), the mapping of every thrown value to
 * one, and its encoding as status + trailing metadata (docs/GRPC.md "Errors").
 *
 * Trailers stay small: gRPC implementations commonly cap metadata at 8 KiB, and a batch can have
 * up to 64 validation issues, so the status message and the JSON details are cut to budgets
 * below and say how many issues they left out.
 */
import { Metadata, status } from '@grpc/grpc-js';
import { LedgerError } from '@sealog/ledger';
import { RETRY_AFTER_FULL_S, RETRY_AFTER_UNAVAILABLE_S } from './app';
import { type GrpcIssue, toGrpcIssues } from './grpc-events';

/** Trailer with the error as JSON `{"code", "message", "details": [...], "omitted"?}` (binary: UTF-8 bytes). */
export const ERROR_DETAILS_TRAILER = 'sealog-error-details-bin';
/** Trailer with the UPPER_SNAKE error code alone (ASCII), for clients that skip the JSON. */
export const ERROR_CODE_TRAILER = 'sealog-error-code';
/** Trailer with seconds to wait before retrying (RESOURCE_EXHAUSTED from backpressure, UNAVAILABLE). */
export const RETRY_AFTER_TRAILER = 'retry-after';
/** Budget of the status message in UTF-8 bytes (percent-encoding may triple non-ASCII on the wire). */
export const MAX_STATUS_MESSAGE_BYTES = 1024;
/** Budget of the details trailer's JSON in bytes (base64 on the wire: ≤ 4 KiB). */
export const MAX_ERROR_DETAILS_BYTES = 3072;

/** A failed call: what the client receives as status, message and trailers. */
export class GrpcCallError extends Error {
  override readonly name: string = 'GrpcCallError';
  /** gRPC status code (never OK). */
  readonly status: status;
  /** UPPER_SNAKE reason, the same code the JSON API answers (`INVALID_EVENT`, `BACKPRESSURE` …). */
  readonly code: string;
  /** Per-event issues with index and proto path; empty when the error is not about fields. */
  readonly details: readonly GrpcIssue[];
  /** Seconds for the `retry-after` trailer, when retrying later can succeed. */
  readonly retryAfter: number | undefined;

  constructor(
    grpcStatus: status,
    code: string,
    message: string,
    options: { details?: readonly GrpcIssue[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = grpcStatus;
    this.code = code;
    this.details = options.details ?? [];
    this.retryAfter = options.retryAfter;
  }
}

/**
 * An `INVALID_ARGUMENT` error listing issues in its message as `events[i].path: reason` (batch)
 * or `path: reason` (single event), cut to {@link MAX_STATUS_MESSAGE_BYTES}.
 */
export function invalidEvents(code: string, issues: readonly GrpcIssue[], batch: boolean): GrpcCallError {
  const head = batch
    ? `${issues.length} invalid field(s) in the batch; nothing stored`
    : `invalid event (${issues.length} invalid field(s)); nothing stored`;
  return new GrpcCallError(status.INVALID_ARGUMENT, code, listIssues(head, issues, batch), {
    details: issues,
  });
}

function locationOf(issue: GrpcIssue, batch: boolean): string {
  if (!batch) return issue.path === '' ? 'event' : issue.path;
  return issue.path === '' ? `events[${issue.index}]` : `events[${issue.index}].${issue.path}`;
}

function listIssues(head: string, issues: readonly GrpcIssue[], batch: boolean): string {
  let listed = '';
  let bytes = Buffer.byteLength(head) + 2;
  for (let i = 0; i < issues.length; i++) {
    const issue = issues[i]!;
    const part = `${i === 0 ? '' : '; '}${locationOf(issue, batch)}: ${issue.message}`;
    const partBytes = Buffer.byteLength(part);
    // Leave room for the "… N more" tail (≤ 64 bytes).
    if (bytes + partBytes > MAX_STATUS_MESSAGE_BYTES - 64) {
      const more = `${issues.length - i} more in the ${ERROR_DETAILS_TRAILER} trailer`;
      return listed === '' ? `${head} (${more})` : `${head}: ${listed}; … ${more}`;
    }
    listed += part;
    bytes += partBytes;
  }
  return `${head}: ${listed}`;
}

/**
 * Maps anything an ingest call threw to the error the client receives.
 * @param occurredFromString - per event, whether `occurred_at` came from the RFC 3339 field.
 */
export function toGrpcCallError(
  error: unknown,
  batch: boolean,
  occurredFromString: readonly boolean[] = [],
): GrpcCallError {
  if (error instanceof GrpcCallError) return error;
  if (error instanceof LedgerError) {
    switch (error.code) {
      case 'INVALID_EVENT':
        return invalidEvents('INVALID_EVENT', toGrpcIssues(error.issues, occurredFromString), batch);
      case 'UNKNOWN_RETENTION_CLASS':
      case 'BAD_ARGUMENT':
        return new GrpcCallError(status.INVALID_ARGUMENT, error.code, error.message);
      case 'BACKPRESSURE':
        return new GrpcCallError(status.RESOURCE_EXHAUSTED, 'BACKPRESSURE', error.message, {
          retryAfter: RETRY_AFTER_FULL_S,
        });
      case 'CLOSED':
      case 'FAILED':
        return new GrpcCallError(status.UNAVAILABLE, 'UNAVAILABLE', error.message, {
          retryAfter: RETRY_AFTER_UNAVAILABLE_S,
        });
      default:
        return new GrpcCallError(status.INTERNAL, 'INTERNAL', `ledger error ${error.code}`, { cause: error });
    }
  }
  return new GrpcCallError(status.INTERNAL, 'INTERNAL', 'internal error', { cause: error });
}

/** The JSON of the details trailer, keeping as many issues as fit {@link MAX_ERROR_DETAILS_BYTES}. */
export function errorDetailsJson(e: GrpcCallError): string {
  const body: { code: string; message: string; details: GrpcIssue[]; omitted?: number } = {
    code: e.code,
    message: e.message,
    details: [],
  };
  let json = JSON.stringify(body);
  for (let i = 0; i < e.details.length; i++) {
    body.details.push(e.details[i]!);
    // `"omitted":NNNNN,` adds ≤ 16 bytes.
    const next = JSON.stringify(body);
    if (Buffer.byteLength(next) + 16 > MAX_ERROR_DETAILS_BYTES) {
      body.details.pop();
      body.omitted = e.details.length - i;
      return JSON.stringify(body);
    }
    json = next;
  }
  return json;
}

/** The status object grpc-js sends for `e`: code, message and trailers. */
export function toStatusResponse(e: GrpcCallError): { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, e.code);
  metadata.set(ERROR_DETAILS_TRAILER, Buffer.from(errorDetailsJson(e), 'utf8'));
  if (e.retryAfter !== undefined) metadata.set(RETRY_AFTER_TRAILER, String(e.retryAfter));
  return { code: e.status, details: e.message, metadata };
}
