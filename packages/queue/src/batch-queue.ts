/**
 * `BatchQueue<T>`: the thesis's buffer queue for one JS thread. A bounded queue (capacity in items
 * and in bytes) with one lane (sub-queue) per producer, batch enqueue with backpressure, and
 * batch dequeue that serves lanes fairly for a single consumer (the writer).
 *
 * Deliberately not here: crossing threads (see `SharedRingQueue`), multiple concurrent consumers
 * (ordering of leaf indexes is decided in one place, so one consumer loop owns the queue),
 * priorities, dropping. Items are stored by reference: the queue never copies or inspects an
 * item except through `sizeOf`. Each batch array returned by `dequeue` is freshly allocated and
 * owned by the caller.
 */
import { QueueClosedError, QueueError } from './errors';
import { Ring } from './ring';

/** Largest capacity in items, 2^30: keeps every count a small integer. */
export const MAX_QUEUE_ITEMS: number = 2 ** 30;

/** Options of {@link createBatchQueue}. */
export interface BatchQueueOptions<T> {
  /** Capacity in items across all lanes, integer, 1 ≤ n ≤ 2^30. */
  readonly maxItems: number;
  /**
   * Capacity in bytes across all lanes as counted by `sizeOf`, integer ≥ 1 or `Infinity`
   * (default `Infinity`).
   */
  readonly maxBytes?: number;
  /**
   * Byte size of one item, a non-negative integer; called exactly once per item, when it is
   * offered. Default: every item counts 1 item and 0 bytes (byte accounting is skipped).
   */
  readonly sizeOf?: (item: T) => number;
}

/** Options of {@link Lane.enqueue}. */
export interface EnqueueOptions {
  /** Cancels the wait for room; the batch is then not enqueued and the promise rejects `ABORTED`. */
  readonly signal?: AbortSignal;
}

/** Options of {@link BatchQueue.dequeue}. */
export interface DequeueOptions {
  /** Most items in one batch, integer ≥ 1. */
  readonly maxItems: number;
  /**
   * Milliseconds, ≥ 0 or `Infinity`, from the call, after which any non-empty batch is handed
   * out without waiting for `maxItems`. If the queue is still empty then, the call resolves as
   * soon as the first items arrive (never with an empty batch).
   */
  readonly maxWaitMs: number;
}

/** Result of a non-waiting enqueue: `'ok'` (all accepted) or `'full'` (nothing accepted). */
export type TryEnqueueResult = 'ok' | 'full';

/** Per-lane counters in {@link BatchQueueStats}. */
export interface LaneStats {
  /** The lane's id. */
  readonly id: string;
  /** Items of this lane in the queue now. */
  readonly items: number;
  /** Bytes of this lane in the queue now. */
  readonly bytes: number;
  /** Most items this lane ever had in the queue at once. */
  readonly highWaterItems: number;
}

/** A snapshot of the queue's counters (allocated per call; not for hot loops). */
export interface BatchQueueStats {
  /** Items in the queue now (accepted, not yet dequeued). */
  readonly items: number;
  /** Bytes in the queue now. */
  readonly bytes: number;
  /** Capacity in items. */
  readonly maxItems: number;
  /** Capacity in bytes (`Infinity` when unbounded). */
  readonly maxBytes: number;
  /** Most items ever in the queue at once. */
  readonly highWaterItems: number;
  /** Most bytes ever in the queue at once. */
  readonly highWaterBytes: number;
  /** Enqueue calls waiting for room. */
  readonly waiters: number;
  /** Items in the batches of those waiting calls (not counted in `items`). */
  readonly waitingItems: number;
  /** Items ever accepted. */
  readonly enqueuedItems: number;
  /** Items ever handed to the consumer. */
  readonly dequeuedItems: number;
  /** Whether `close()` ran. */
  readonly closed: boolean;
  /** One entry per live lane, in creation order. */
  readonly lanes: readonly LaneStats[];
}

/** A producer's handle on its own lane of a {@link BatchQueue}. */
export interface Lane<T> {
  /** The lane's id (for stats and logs). */
  readonly id: string;
  /** Items of this lane in the queue now. */
  readonly depth: number;
  /** Bytes of this lane in the queue now. */
  readonly bytes: number;
  /**
   * Enqueues all of `items` or none: resolves once the whole batch is in the queue, waiting for
   * room when it is full. Waiters are admitted strictly in arrival order across all lanes, so a
   * waiting batch is never overtaken (a later small batch waits behind an earlier big one).
   * While the returned promise is pending the queue holds a shallow copy of `items`.
   * @throws (rejects) `QueueClosedError` if the queue or lane is closed, or closes while waiting;
   *   `QueueError` `BATCH_TOO_LARGE` if the batch exceeds the capacity in items or bytes;
   *   `BAD_ARGUMENT` if `sizeOf` returns a bad size; `ABORTED` if `signal` fires first.
   * @example
   * ```ts
   * const lane = queue.lane('http-1');
   * await lane.enqueue([event1, event2]); // waits while the queue is full
   * ```
   */
  enqueue(items: readonly T[], options?: EnqueueOptions): Promise<void>;
  /**
   * Enqueues all of `items` now, or nothing and returns `'full'` (also when other batches are
   * waiting, so it never overtakes them).
   * @throws `QueueClosedError`, `QueueError` `BATCH_TOO_LARGE` / `BAD_ARGUMENT` as `enqueue`.
   */
  tryEnqueue(items: readonly T[]): TryEnqueueResult;
  /**
   * Ends this producer: later enqueues on this lane throw `QueueClosedError`; batches already
   * accepted or waiting stay and are delivered. The lane disappears from stats once empty.
   */
  release(): void;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** @internal The lane implementation; only its `Lane<T>` face is public. */
export class LaneImpl<T> implements Lane<T> {
  readonly id: string;
  readonly ring: Ring<T>;
  readonly queue: BatchQueue<T>;
  bytesHeld: number;
  highWaterItems: number;
  /** Enqueue calls of this lane waiting for room. */
  waiting: number;
  /** Whether the lane is in the queue's active (non-empty) list. */
  active: boolean;
  released: boolean;

  constructor(id: string, queue: BatchQueue<T>, sized: boolean) {
    this.id = id;
    this.ring = new Ring<T>(sized);
    this.queue = queue;
    this.bytesHeld = 0;
    this.highWaterItems = 0;
    this.waiting = 0;
    this.active = false;
    this.released = false;
  }

  get depth(): number {
    return this.ring.count;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  enqueue(items: readonly T[], options?: EnqueueOptions): Promise<void> {
    return this.queue.enqueueOn(this, items, options?.signal);
  }

  tryEnqueue(items: readonly T[]): TryEnqueueResult {
    return this.queue.tryEnqueueOn(this, items);
  }

  release(): void {
    this.queue.releaseLane(this);
  }
}

class EnqueueWaiter<T> {
  readonly lane: LaneImpl<T>;
  readonly items: T[];
  readonly sizes: Float64Array;
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  prev: EnqueueWaiter<T> | null;
  next: EnqueueWaiter<T> | null;

  constructor(
    lane: LaneImpl<T>,
    items: T[],
    sizes: Float64Array,
    bytes: number,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.lane = lane;
    this.items = items;
    this.sizes = sizes;
    this.bytes = bytes;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = undefined;
    this.onAbort = undefined;
    this.prev = null;
    this.next = null;
  }
}

/**
 * Bounded multi-lane batch queue. Create with {@link createBatchQueue}.
 *
 * Invariants: `items ≤ maxItems` and `bytes ≤ maxBytes` at every instant; nothing accepted is
 * dropped or duplicated; items of one lane are dequeued in the order they were enqueued;
 * waiting enqueues are admitted first-come first-served.
 */
export class BatchQueue<T> {
  /** Resolves once the queue is closed and every accepted item has been dequeued. */
  readonly drained: Promise<void>;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly sizeOf: ((item: T) => number) | null;
  private readonly sized: boolean;
  private items: number;
  private bytes: number;
  private highWaterItems: number;
  private highWaterBytes: number;
  private enqueuedItems: number;
  private dequeuedItems: number;
  private isClosed: boolean;
  private laneSeq: number;
  private readonly lanes: LaneImpl<T>[];
  /** Lanes holding items, served round-robin from `cursor`. */
  private readonly active: LaneImpl<T>[];
  private cursor: number;
  private waitHead: EnqueueWaiter<T> | null;
  private waitTail: EnqueueWaiter<T> | null;
  private waiterCount: number;
  private waitingItems: number;
  /** Sizes of the batch being offered; reused so an admitted batch allocates nothing. */
  private scratchSizes: Float64Array;
  private consumerResolve: ((batch: T[] | null) => void) | null;
  private consumerMax: number;
  private consumerDeadlinePassed: boolean;
  private consumerTimer: ReturnType<typeof setTimeout> | null;
  private readonly onConsumerTimer: () => void;
  private resolveDrained: () => void;

  constructor(options: BatchQueueOptions<T>) {
    const { maxItems, maxBytes = Number.POSITIVE_INFINITY, sizeOf } = options;
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > MAX_QUEUE_ITEMS) {
      throw new QueueError(
        'BAD_ARGUMENT',
        `maxItems: expected an integer in [1, ${MAX_QUEUE_ITEMS}], got ${String(maxItems)}`,
      );
    }
    if (!(maxBytes === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxBytes) && maxBytes >= 1))) {
      throw new QueueError(
        'BAD_ARGUMENT',
        `maxBytes: expected a safe integer ≥ 1 or Infinity, got ${String(maxBytes)}`,
      );
    }
    this.maxItems = maxItems;
    this.maxBytes = maxBytes;
    // Strategy chosen once: without sizeOf, byte accounting is skipped on every path.
    this.sizeOf = sizeOf ?? null;
    this.sized = sizeOf !== undefined;
    this.items = 0;
    this.bytes = 0;
    this.highWaterItems = 0;
    this.highWaterBytes = 0;
    this.enqueuedItems = 0;
    this.dequeuedItems = 0;
    this.isClosed = false;
    this.laneSeq = 0;
    this.lanes = [];
    this.active = [];
    this.cursor = 0;
    this.waitHead = null;
    this.waitTail = null;
    this.waiterCount = 0;
    this.waitingItems = 0;
    this.scratchSizes = new Float64Array(this.sized ? 64 : 0);
    this.consumerResolve = null;
    this.consumerMax = 0;
    this.consumerDeadlinePassed = false;
    this.consumerTimer = null;
    this.onConsumerTimer = () => {
      this.consumerTimer = null;
      this.consumerDeadlinePassed = true;
      this.serveConsumer();
    };
    let resolveDrained: () => void = () => {};
    this.drained = new Promise<void>((resolve) => {
      resolveDrained = resolve;
    });
    this.resolveDrained = resolveDrained;
  }

  /** Items in the queue now (accepted, not yet dequeued), 0 ≤ size ≤ maxItems. */
  get size(): number {
    return this.items;
  }

  /** Bytes in the queue now, 0 ≤ byteSize ≤ maxBytes. */
  get byteSize(): number {
    return this.bytes;
  }

  /** Whether `close()` ran. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Opens a new producer lane. Give each producer (connection, worker, tenant…) its own lane:
   * the consumer serves lanes round-robin, so one busy producer cannot starve the others.
   * @param id - name for stats; default `lane-<n>`.
   * @throws `QueueClosedError` after `close()`.
   */
  lane(id?: string): Lane<T> {
    if (this.isClosed) throw new QueueClosedError('lane: queue is closed');
    this.laneSeq++;
    const lane = new LaneImpl<T>(id ?? `lane-${this.laneSeq}`, this, this.sized);
    this.lanes.push(lane);
    return lane;
  }

  /**
   * Takes the next batch: up to `maxItems` items, lanes served round-robin (each non-empty lane
   * gets an equal share of the batch, leftovers go on in lane order from where the last batch
   * stopped), each lane's items in their enqueue order. Resolves:
   * 1. at once with `maxItems` items if that many are queued;
   * 2. otherwise as soon as `maxItems` are queued, or when `maxWaitMs` has passed since the call
   *    and at least one item is queued (with all queued items, up to `maxItems`);
   * 3. if `maxWaitMs` passed with the queue empty, as soon as the first items arrive;
   * 4. after `close()`: with what is left (up to `maxItems`), then `null` once the queue is
   *    empty — `null` is the end signal and is returned again on every later call.
   * It never resolves with an empty batch and never polls: a consumer loop awaiting it is idle
   * while the queue is idle. One call may be pending at a time.
   * @throws (rejects) `QueueError` `CONCURRENT_DEQUEUE` if another call is pending;
   *   `BAD_ARGUMENT` for a bad `maxItems` / `maxWaitMs`.
   * @example
   * ```ts
   * for (let batch = await q.dequeue({ maxItems: 2048, maxWaitMs: 5 }); batch !== null;
   *      batch = await q.dequeue({ maxItems: 2048, maxWaitMs: 5 })) {
   *   await writeBatch(batch);
   * }
   * ```
   */
  dequeue(options: DequeueOptions): Promise<T[] | null> {
    const { maxItems, maxWaitMs } = options;
    if (!Number.isInteger(maxItems) || maxItems < 1) {
      return Promise.reject(
        new QueueError('BAD_ARGUMENT', `dequeue maxItems: expected an integer ≥ 1, got ${String(maxItems)}`),
      );
    }
    if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0)) {
      return Promise.reject(
        new QueueError('BAD_ARGUMENT', `dequeue maxWaitMs: expected a number ≥ 0, got ${String(maxWaitMs)}`),
      );
    }
    if (this.consumerResolve !== null) {
      return Promise.reject(
        new QueueError('CONCURRENT_DEQUEUE', 'dequeue: expected no pending dequeue, got one still waiting'),
      );
    }
    const items = this.items;
    if (items >= maxItems) return Promise.resolve(this.take(maxItems));
    if (this.isClosed || (maxWaitMs === 0 && items > 0)) {
      return Promise.resolve(items > 0 ? this.take(items) : null);
    }
    return new Promise<T[] | null>((resolve) => {
      this.consumerResolve = resolve;
      this.consumerMax = maxItems;
      this.consumerDeadlinePassed = maxWaitMs === 0;
      if (maxWaitMs > 0 && maxWaitMs !== Number.POSITIVE_INFINITY) {
        this.consumerTimer = setTimeout(this.onConsumerTimer, maxWaitMs);
      }
    });
  }

  /**
   * Takes up to `maxItems` queued items now (same lane order as `dequeue`); an empty array when
   * the queue is empty.
   * @throws `QueueError` `CONCURRENT_DEQUEUE` while a `dequeue` is pending; `BAD_ARGUMENT`.
   */
  tryDequeue(maxItems: number): T[] {
    if (!Number.isInteger(maxItems) || maxItems < 1) {
      throw new QueueError('BAD_ARGUMENT', `tryDequeue maxItems: expected an integer ≥ 1, got ${maxItems}`);
    }
    if (this.consumerResolve !== null) {
      throw new QueueError('CONCURRENT_DEQUEUE', 'tryDequeue: expected no pending dequeue, got one waiting');
    }
    return this.take(Math.min(maxItems, this.items));
  }

  /**
   * Stops accepting: every later enqueue (and `lane()`) throws `QueueClosedError`. Enqueues still
   * waiting for room are rejected with `QueueClosedError` — their items were never accepted, so
   * their callers can report "not stored" (e.g. 503). Items already accepted stay and are
   * delivered by `dequeue`, which then returns `null`; `drained` resolves when the last one is
   * taken. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    let w = this.waitHead;
    this.waitHead = null;
    this.waitTail = null;
    this.waiterCount = 0;
    this.waitingItems = 0;
    while (w !== null) {
      const next = w.next;
      this.detachSignal(w);
      w.lane.waiting--;
      w.reject(
        new QueueClosedError(
          `enqueue: queue closed while a batch of ${w.items.length} items waited for room`,
        ),
      );
      w = next;
    }
    for (let i = this.lanes.length - 1; i >= 0; i--) this.maybeForgetLane(this.lanes[i] as LaneImpl<T>);
    this.serveConsumer();
    if (this.items === 0) this.resolveDrained();
  }

  /** A snapshot of the counters. */
  stats(): BatchQueueStats {
    const lanes: LaneStats[] = [];
    for (const lane of this.lanes) {
      lanes.push({
        id: lane.id,
        items: lane.ring.count,
        bytes: lane.bytesHeld,
        highWaterItems: lane.highWaterItems,
      });
    }
    return {
      items: this.items,
      bytes: this.bytes,
      maxItems: this.maxItems,
      maxBytes: this.maxBytes,
      highWaterItems: this.highWaterItems,
      highWaterBytes: this.highWaterBytes,
      waiters: this.waiterCount,
      waitingItems: this.waitingItems,
      enqueuedItems: this.enqueuedItems,
      dequeuedItems: this.dequeuedItems,
      closed: this.isClosed,
      lanes,
    };
  }

  /** @internal Lane.enqueue; public only so the lane class can reach it. */
  enqueueOn(lane: LaneImpl<T>, items: readonly T[], signal: AbortSignal | undefined): Promise<void> {
    let bytes: number;
    try {
      bytes = this.admissible(lane, items, 'enqueue');
    } catch (error) {
      return Promise.reject(error);
    }
    const n = items.length;
    if (n === 0) return RESOLVED;
    if (signal?.aborted === true) {
      return Promise.reject(
        new QueueError('ABORTED', 'enqueue: signal was aborted before the call', { cause: signal.reason }),
      );
    }
    if (this.waitHead === null && this.fits(n, bytes)) {
      this.admit(lane, items, this.scratchSizes, bytes);
      this.serveConsumer();
      // One shared settled promise: the fast path allocates nothing per call.
      return RESOLVED;
    }
    return this.wait(lane, items, bytes, signal);
  }

  /** @internal Lane.tryEnqueue. */
  tryEnqueueOn(lane: LaneImpl<T>, items: readonly T[]): TryEnqueueResult {
    const bytes = this.admissible(lane, items, 'tryEnqueue');
    if (items.length === 0) return 'ok';
    if (this.waitHead !== null || !this.fits(items.length, bytes)) return 'full';
    this.admit(lane, items, this.scratchSizes, bytes);
    this.serveConsumer();
    return 'ok';
  }

  /** @internal Lane.release. */
  releaseLane(lane: LaneImpl<T>): void {
    lane.released = true;
    this.maybeForgetLane(lane);
  }

  /** Checks an offered batch; measures it into `scratchSizes`. @returns its bytes. */
  private admissible(lane: LaneImpl<T>, items: readonly T[], op: string): number {
    if (this.isClosed) throw new QueueClosedError(`${op}: queue is closed`);
    if (lane.released) throw new QueueClosedError(`${op}: lane '${lane.id}' was released`);
    const n = items.length;
    if (n > this.maxItems) {
      throw new QueueError(
        'BATCH_TOO_LARGE',
        `${op}: batch of ${n} items can never fit, expected ≤ maxItems ${this.maxItems}`,
      );
    }
    if (this.sizeOf === null) return 0;
    if (this.scratchSizes.length < n)
      this.scratchSizes = new Float64Array(Math.max(n, this.scratchSizes.length * 2));
    const sizes = this.scratchSizes;
    const sizeOf = this.sizeOf;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const s = sizeOf(items[i] as T);
      if (!Number.isSafeInteger(s) || s < 0) {
        throw new QueueError('BAD_ARGUMENT', `${op}: sizeOf(items[${i}]) expected an integer ≥ 0, got ${s}`);
      }
      sizes[i] = s;
      bytes += s;
    }
    if (bytes > this.maxBytes) {
      throw new QueueError(
        'BATCH_TOO_LARGE',
        `${op}: batch of ${bytes} bytes can never fit, expected ≤ maxBytes ${this.maxBytes}`,
      );
    }
    return bytes;
  }

  private fits(n: number, bytes: number): boolean {
    return this.items + n <= this.maxItems && this.bytes + bytes <= this.maxBytes;
  }

  private admit(lane: LaneImpl<T>, items: readonly T[], sizes: Float64Array, bytes: number): void {
    const ring = lane.ring;
    const n = items.length;
    if (this.sized) {
      for (let i = 0; i < n; i++) ring.push(items[i] as T, sizes[i] as number);
    } else {
      for (let i = 0; i < n; i++) ring.push(items[i] as T, 0);
    }
    lane.bytesHeld += bytes;
    if (ring.count > lane.highWaterItems) lane.highWaterItems = ring.count;
    this.items += n;
    this.bytes += bytes;
    this.enqueuedItems += n;
    if (this.items > this.highWaterItems) this.highWaterItems = this.items;
    if (this.bytes > this.highWaterBytes) this.highWaterBytes = this.bytes;
    if (!lane.active) {
      lane.active = true;
      this.active.push(lane);
    }
  }

  private wait(
    lane: LaneImpl<T>,
    items: readonly T[],
    bytes: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    // The waiting path copies: the caller may reuse its array, and the scratch sizes are shared.
    const copy = items.slice();
    const sizes = this.sized ? this.scratchSizes.slice(0, items.length) : this.scratchSizes;
    return new Promise<void>((resolve, reject) => {
      const w = new EnqueueWaiter<T>(lane, copy, sizes, bytes, resolve, reject);
      w.prev = this.waitTail;
      if (this.waitTail === null) this.waitHead = w;
      else this.waitTail.next = w;
      this.waitTail = w;
      this.waiterCount++;
      this.waitingItems += copy.length;
      lane.waiting++;
      if (signal !== undefined) {
        w.signal = signal;
        w.onAbort = () => this.abortWaiter(w);
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
    });
  }

  private unlink(w: EnqueueWaiter<T>): void {
    if (w.prev === null) this.waitHead = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.waitTail = w.prev;
    else w.next.prev = w.prev;
    w.prev = null;
    w.next = null;
    this.waiterCount--;
    this.waitingItems -= w.items.length;
    w.lane.waiting--;
    this.detachSignal(w);
  }

  private detachSignal(w: EnqueueWaiter<T>): void {
    if (w.signal !== undefined && w.onAbort !== undefined) w.signal.removeEventListener('abort', w.onAbort);
    w.signal = undefined;
    w.onAbort = undefined;
  }

  private abortWaiter(w: EnqueueWaiter<T>): void {
    const reason: unknown = w.signal?.reason;
    this.unlink(w);
    w.reject(new QueueError('ABORTED', 'enqueue: signal aborted while waiting for room', { cause: reason }));
    this.maybeForgetLane(w.lane);
    // The aborted batch may have been the head blocking smaller ones behind it.
    this.pumpWaiters();
  }

  /** Admits waiting batches in arrival order while the head one fits. */
  private pumpWaiters(): void {
    let admitted = false;
    while (this.waitHead !== null) {
      const w = this.waitHead;
      if (!this.fits(w.items.length, w.bytes)) break;
      this.unlink(w);
      this.admit(w.lane, w.items, w.sizes, w.bytes);
      w.resolve();
      admitted = true;
    }
    if (admitted) this.serveConsumer();
  }

  /** Resolves the pending dequeue if its condition now holds. */
  private serveConsumer(): void {
    const resolve = this.consumerResolve;
    if (resolve === null) return;
    const items = this.items;
    if (!(items >= this.consumerMax || (this.consumerDeadlinePassed && items > 0) || this.isClosed)) return;
    if (this.consumerTimer !== null) {
      clearTimeout(this.consumerTimer);
      this.consumerTimer = null;
    }
    // Clear before taking: take() admits waiters, which re-enters serveConsumer.
    this.consumerResolve = null;
    const n = Math.min(items, this.consumerMax);
    resolve(n > 0 ? this.take(n) : null);
  }

  /** Removes `n` ≤ items items, lanes served by deficit round-robin. */
  private take(n: number): T[] {
    const out: T[] = new Array<T>(n);
    if (n === 0) return out;
    const act = this.active;
    let k = 0;
    let freed = 0;
    while (k < n) {
      const len = act.length;
      if (len === 0) throw new Error(`logic error: ${n - k} items counted but no lane holds them`);
      // Equal share per lane this round; lanes with fewer items leave the rest to the next round.
      const quantum = Math.ceil((n - k) / len);
      let i = this.cursor < len ? this.cursor : 0;
      for (let visited = 0; visited < len && k < n; visited++) {
        const lane = act[i] as LaneImpl<T>;
        let m = Math.min(lane.ring.count, quantum);
        if (m > n - k) m = n - k;
        const bytes = lane.ring.takeInto(out, k, m);
        lane.bytesHeld -= bytes;
        freed += bytes;
        k += m;
        i = i + 1 === len ? 0 : i + 1;
      }
      // Compact out emptied lanes, keeping the cursor on the next lane to serve.
      let write = 0;
      let nextCursor = 0;
      for (let read = 0; read < len; read++) {
        const lane = act[read] as LaneImpl<T>;
        if (read === i) nextCursor = write;
        if (lane.ring.count > 0) {
          act[write++] = lane;
        } else {
          lane.active = false;
          if (lane.released) this.maybeForgetLane(lane);
        }
      }
      act.length = write;
      this.cursor = nextCursor;
    }
    this.items -= n;
    this.bytes -= freed;
    this.dequeuedItems += n;
    if (this.waitHead !== null) this.pumpWaiters();
    if (this.isClosed && this.items === 0) this.resolveDrained();
    return out;
  }

  private maybeForgetLane(lane: LaneImpl<T>): void {
    if (!(lane.released || this.isClosed) || lane.ring.count > 0 || lane.waiting > 0) return;
    const at = this.lanes.indexOf(lane);
    if (at >= 0) this.lanes.splice(at, 1);
  }
}

/**
 * Creates a bounded multi-lane batch queue.
 * @throws `QueueError` `BAD_ARGUMENT` for a capacity out of range.
 * @example
 * ```ts
 * const queue = createBatchQueue<Uint8Array>({ maxItems: 100_000, maxBytes: 64 << 20, sizeOf: (b) => b.length });
 * const lane = queue.lane('ingest-1');
 * await lane.enqueue([record]);
 * const batch = await queue.dequeue({ maxItems: 2048, maxWaitMs: 5 }); // Uint8Array[] | null
 * ```
 */
export function createBatchQueue<T>(options: BatchQueueOptions<T>): BatchQueue<T> {
  return new BatchQueue<T>(options);
}
