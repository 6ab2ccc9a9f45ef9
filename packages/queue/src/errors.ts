/**
 * Typed errors of @sealog/queue. Every error carries a literal `code` so callers (the HTTP layer
 * mapping to 429/503, the ledger's shutdown path) branch on data, not on message text.
 * Deliberately no error for "full": a full queue is a routine result (`'full'`), not a failure.
 */

/** Every failure this package reports, by cause. */
export type QueueErrorCode =
  /** The queue (or the lane) was closed: nothing of the refused batch was accepted. */
  | 'QUEUE_CLOSED'
  /** A batch can never fit (more items or bytes than the whole capacity): waiting would deadlock. */
  | 'BATCH_TOO_LARGE'
  /** An argument is out of range (quoted in the message with got-vs-expected). */
  | 'BAD_ARGUMENT'
  /** An `AbortSignal` fired while an enqueue waited for room; nothing was accepted. */
  | 'ABORTED'
  /** A second `dequeue` was started while one was still pending (one consumer per queue). */
  | 'CONCURRENT_DEQUEUE'
  /** A shared-ring lane handle was attached by a second producer (lanes are single-producer). */
  | 'LANE_IN_USE'
  /** Shared-ring bytes do not follow the ring's framing: memory was overwritten by someone else. */
  | 'RING_CORRUPT';

/** Base error of this package. */
export class QueueError extends Error {
  override readonly name: string = 'QueueError';
  /** Machine-readable cause. */
  readonly code: QueueErrorCode;

  constructor(code: QueueErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/**
 * Thrown (or rejected) by every enqueue after `close()`, and by enqueues still waiting for room
 * when `close()` ran. Its code is always `'QUEUE_CLOSED'`, so `err.code` checks and
 * `instanceof QueueClosedError` agree.
 */
export class QueueClosedError extends QueueError {
  override readonly name: string = 'QueueClosedError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super('QUEUE_CLOSED', message, options);
  }
}
