/**
 * The producer side of `SharedRingQueue`, meant to run in a worker thread: `attachLane(handle)`
 * turns a lane handle received from the consumer's thread into a `SharedRingProducer` that copies
 * byte messages into the lane's single-producer/single-consumer ring. Lock-free: the producer
 * only writes the tail, the consumer only writes the head; a batch becomes visible at once with
 * one atomic store of the tail.
 *
 * Deliberately not here: more than one producer per lane (attach refuses a second one), message
 * framing beyond a length prefix, and blocking waits — waiting for room uses `Atomics.waitAsync`,
 * so even a producer on the main thread never blocks its event loop. Payload bytes are copied
 * into the ring before `tryEnqueue`/`enqueue` returns or resolves; the caller keeps its buffers.
 */
import type { EnqueueOptions, TryEnqueueResult } from './batch-queue';
import { QueueClosedError, QueueError } from './errors';
import {
  checkLaneHandle,
  G_CLOSED,
  G_CONSUMER_WAITING,
  G_DOORBELL,
  L_ATTACHED,
  L_BUSY,
  L_DONE,
  L_HEAD,
  L_HIGH_WATER,
  L_PRODUCER_WAITING,
  L_PUBLISHED,
  L_TAIL,
  LANE_CONTROL_BYTES,
  maxBatchRecordBytes,
  RECORD_HEADER_BYTES,
  recordBytes,
  type SharedRingLaneHandle,
  WRAP_MARKER,
} from './shared-ring-layout';

/** Longest timer delay Node accepts (ms); used only to hold the event loop open while waiting. */
const KEEPALIVE_MS = 2 ** 31 - 1;
const RESOLVED: Promise<void> = Promise.resolve();

function noop(): void {}

/** One producer's end of a shared-ring lane. Create with {@link attachLane}. */
export class SharedRingProducer {
  /** Lane number. */
  readonly index: number;
  /** Ring size in bytes. */
  readonly capacityBytes: number;
  /** Largest sum of record sizes (4 + payload rounded up to 4, per message) in one batch. */
  readonly maxBatchBytes: number;
  private readonly global: Int32Array;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly mask: number;
  private tail: number;
  private published: number;
  private lastHead: number;
  private waiting: number;
  private chain: Promise<void>;
  private isDone: boolean;

  constructor(handle: SharedRingLaneHandle) {
    checkLaneHandle(handle);
    this.index = handle.index;
    this.capacityBytes = handle.capacityBytes;
    this.maxBatchBytes = maxBatchRecordBytes(handle.capacityBytes);
    this.global = new Int32Array(handle.global);
    this.words = new Int32Array(handle.lane);
    this.bytes = new Uint8Array(handle.lane);
    this.mask = handle.capacityBytes - 1;
    if (Atomics.compareExchange(this.words, L_ATTACHED, 0, 1) !== 0) {
      throw new QueueError('LANE_IN_USE', `attachLane: lane ${handle.index} already has a producer`);
    }
    this.tail = Atomics.load(this.words, L_TAIL);
    this.published = Atomics.load(this.words, L_PUBLISHED);
    this.lastHead = Atomics.load(this.words, L_HEAD);
    this.waiting = 0;
    this.chain = RESOLVED;
    this.isDone = false;
  }

  /** Whether this lane or the whole queue is closed. */
  get closed(): boolean {
    return this.isDone || Atomics.load(this.global, G_CLOSED) !== 0;
  }

  /**
   * Copies all of `messages` into the ring now, or nothing and returns `'full'` (also while an
   * earlier `enqueue` of this producer is still waiting, so it never overtakes it).
   * @throws `QueueClosedError` if the queue or this lane is closed; `QueueError`
   *   `BATCH_TOO_LARGE` if the batch exceeds `maxBatchBytes`; `BAD_ARGUMENT` for a non-Uint8Array.
   */
  tryEnqueue(messages: readonly Uint8Array[]): TryEnqueueResult {
    if (this.waiting > 0) {
      this.measure(messages, 'tryEnqueue');
      this.checkOpen('tryEnqueue');
      return 'full';
    }
    return this.attempt(messages, 'tryEnqueue');
  }

  /**
   * Copies all of `messages` into the ring, waiting (with `Atomics.waitAsync`, never blocking the
   * thread) while it lacks room. Calls are served in order. While the promise is pending the
   * producer holds a shallow copy of `messages`; do not change the payload bytes until it settles.
   * @throws (rejects) `QueueClosedError` if the queue or lane is or becomes closed first;
   *   `QueueError` `BATCH_TOO_LARGE`, `BAD_ARGUMENT` as `tryEnqueue`; `ABORTED` if `signal` fires.
   * @example
   * ```ts
   * // in a worker: const producer = attachLane(workerData.handle);
   * await producer.enqueue([encoded1, encoded2]);
   * ```
   */
  enqueue(messages: readonly Uint8Array[], options?: EnqueueOptions): Promise<void> {
    const signal = options?.signal;
    if (this.waiting === 0 && signal?.aborted !== true) {
      try {
        if (this.attempt(messages, 'enqueue') === 'ok') return RESOLVED;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const copy = messages.slice();
    this.waiting++;
    const run = this.chain.then(() => this.waitAndEnqueue(copy, signal));
    this.chain = run.then(noop, noop);
    return run.finally(() => {
      this.waiting--;
    });
  }

  /**
   * Ends this lane: later enqueues throw `QueueClosedError`, waiting ones reject with it; what was
   * already copied stays and is delivered. Once every lane is closed, the consumer's `dequeue`
   * ends with `null` after draining. Idempotent.
   */
  close(): void {
    if (this.isDone) return;
    this.isDone = true;
    Atomics.store(this.words, L_DONE, 1);
    // Wake our own waiting enqueue (it re-checks and rejects) and the consumer (it may be done).
    Atomics.notify(this.words, L_HEAD);
    this.ringDoorbell();
  }

  private checkOpen(op: string): void {
    if (this.isDone) throw new QueueClosedError(`${op}: lane ${this.index} was closed by its producer`);
    if (Atomics.load(this.global, G_CLOSED) !== 0) throw new QueueClosedError(`${op}: queue is closed`);
  }

  /** @returns the batch's ring bytes without wrap padding. */
  private measure(messages: readonly Uint8Array[], op: string): number {
    let need = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (!(m instanceof Uint8Array)) {
        throw new QueueError('BAD_ARGUMENT', `${op}: messages[${i}] expected a Uint8Array, got ${typeof m}`);
      }
      need += recordBytes(m.byteLength);
    }
    if (need > this.maxBatchBytes) {
      throw new QueueError(
        'BATCH_TOO_LARGE',
        `${op}: batch needs ${need} ring bytes, expected ≤ ${this.maxBatchBytes} (half of lane capacity ${this.capacityBytes})`,
      );
    }
    return need;
  }

  private attempt(messages: readonly Uint8Array[], op: string): TryEnqueueResult {
    this.measure(messages, op);
    if (this.isDone) throw new QueueClosedError(`${op}: lane ${this.index} was closed by its producer`);
    const n = messages.length;
    if (n === 0) {
      this.checkOpen(op);
      return 'ok';
    }
    const words = this.words;
    // BUSY before the closed check: a consumer that closes and then sees BUSY = 0 knows that no
    // publish from this lane can still be on its way (both sides use sequentially consistent
    // atomics, so one of them sees the other's store).
    Atomics.store(words, L_BUSY, 1);
    if (Atomics.load(this.global, G_CLOSED) !== 0) {
      Atomics.store(words, L_BUSY, 0);
      this.ringDoorbell();
      throw new QueueClosedError(`${op}: queue is closed`);
    }
    const head = Atomics.load(words, L_HEAD);
    this.lastHead = head;
    const cap = this.capacityBytes;
    const mask = this.mask;
    // Plan first (positions only) so a batch that does not fit leaves the ring untouched.
    let pos = this.tail;
    for (let i = 0; i < n; i++) {
      const rec = recordBytes((messages[i] as Uint8Array).byteLength);
      const off = pos & mask;
      if (cap - off < rec) pos = (pos + cap - off) | 0;
      pos = (pos + rec) | 0;
    }
    const used = (pos - head) | 0;
    if (used > cap) {
      Atomics.store(words, L_BUSY, 0);
      // A consumer that closed meanwhile may be waiting for BUSY to clear: tell it.
      if (Atomics.load(this.global, G_CLOSED) !== 0) this.ringDoorbell();
      return 'full';
    }
    const bytes = this.bytes;
    pos = this.tail;
    for (let i = 0; i < n; i++) {
      const m = messages[i] as Uint8Array;
      const len = m.byteLength;
      const rec = recordBytes(len);
      let off = pos & mask;
      if (cap - off < rec) {
        // Records never wrap: mark the rest of the ring as padding (always ≥ 4 bytes, aligned).
        words[(LANE_CONTROL_BYTES + off) >> 2] = WRAP_MARKER;
        pos = (pos + cap - off) | 0;
        off = 0;
      }
      words[(LANE_CONTROL_BYTES + off) >> 2] = len;
      bytes.set(m, LANE_CONTROL_BYTES + off + RECORD_HEADER_BYTES);
      pos = (pos + rec) | 0;
    }
    this.tail = pos;
    // The tail store publishes the plain writes above (release); PUBLISHED follows it so a
    // consumer that reads PUBLISHED then TAIL never counts a message it cannot reach.
    Atomics.store(words, L_TAIL, pos);
    this.published = (this.published + n) | 0;
    Atomics.store(words, L_PUBLISHED, this.published);
    if (used > Atomics.load(words, L_HIGH_WATER)) Atomics.store(words, L_HIGH_WATER, used);
    Atomics.store(words, L_BUSY, 0);
    this.ringDoorbell();
    return 'ok';
  }

  private ringDoorbell(): void {
    Atomics.add(this.global, G_DOORBELL, 1);
    // Notify only a consumer that said it may wait: saves a futex wake per batch when it is busy.
    if (Atomics.load(this.global, G_CONSUMER_WAITING) !== 0) Atomics.notify(this.global, G_DOORBELL);
  }

  private async waitAndEnqueue(
    messages: readonly Uint8Array[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const words = this.words;
    // A pending Atomics.waitAsync does not keep a Node thread alive: hold a timer while waiting.
    const keepAlive = setTimeout(noop, KEEPALIVE_MS);
    const onAbort = (): void => {
      // Wake our own waitAsync; the loop sees the aborted signal.
      Atomics.notify(words, L_HEAD);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal?.aborted === true) {
          throw new QueueError('ABORTED', 'enqueue: signal aborted while waiting for room', {
            cause: signal.reason,
          });
        }
        // Flag first, then look at the head (inside attempt): a consumer that moves the head
        // after our look sees the flag and notifies; one that moved it before is seen by the look.
        Atomics.store(words, L_PRODUCER_WAITING, 1);
        if (this.attempt(messages, 'enqueue') === 'ok') return;
        const result = Atomics.waitAsync(words, L_HEAD, this.lastHead);
        if (result.async) await result.value;
      }
    } finally {
      Atomics.store(words, L_PRODUCER_WAITING, 0);
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(keepAlive);
    }
  }
}

/**
 * Attaches this thread as the single producer of a lane.
 * @throws `QueueError` `BAD_ARGUMENT` for a malformed handle; `LANE_IN_USE` if the lane already
 *   has a producer (also after that producer closed: a lane is used once).
 * @example
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * const producer = attachLane(workerData.handle);
 * await producer.enqueue([new TextEncoder().encode('hello')]);
 * producer.close();
 * ```
 */
export function attachLane(handle: SharedRingLaneHandle): SharedRingProducer {
  return new SharedRingProducer(handle);
}
