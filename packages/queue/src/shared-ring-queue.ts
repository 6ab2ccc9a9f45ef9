/**
 * `SharedRingQueue`: the cross-thread variant of the buffer queue, for byte messages. Each
 * producer thread owns one lane: a single-producer/single-consumer ring in a SharedArrayBuffer
 * (see `shared-ring-layout` for the bytes). This class is the consumer: it hands out lane handles
 * (`laneHandle(i)`, posted to workers that call `attachLane`), reads batches across lanes
 * round-robin, frees ring space (which wakes waiting producers), and runs close/drain.
 *
 * Deliberately not here: object messages (serialize first; the ring moves bytes), several
 * consumers, resizing rings, blocking waits (`Atomics.waitAsync` only, so the consumer's event
 * loop keeps running). Each returned batch owns one fresh ArrayBuffer; its messages are views
 * into it, valid for as long as the caller keeps them.
 */
import { QueueError } from './errors';
import {
  align4,
  G_CLOSED,
  G_CONSUMER_WAITING,
  G_DOORBELL,
  GLOBAL_BYTES,
  L_ATTACHED,
  L_BUSY,
  L_DONE,
  L_HEAD,
  L_HIGH_WATER,
  L_PRODUCER_WAITING,
  L_PUBLISHED,
  L_TAIL,
  LANE_CONTROL_BYTES,
  LANE_HANDLE_KIND,
  LANE_HANDLE_VERSION,
  MAX_LANE_CAPACITY_BYTES,
  MAX_LANES,
  MIN_LANE_CAPACITY_BYTES,
  RECORD_HEADER_BYTES,
  type SharedRingLaneHandle,
  WRAP_MARKER,
} from './shared-ring-layout';

/** Longest timer delay Node accepts (ms); used only to hold the event loop open while waiting. */
const KEEPALIVE_MS = 2 ** 31 - 1;

function noop(): void {}

/** Options of {@link createSharedRingQueue}. */
export interface SharedRingQueueOptions {
  /** Number of producer lanes, integer, 1 ≤ n ≤ 1024. */
  readonly lanes: number;
  /**
   * Ring size per lane in bytes, a power of two, 64 ≤ n ≤ 2^30. One batch may use at most half
   * of it (record = 4-byte length + payload padded to 4).
   */
  readonly laneCapacityBytes: number;
}

/** Options of {@link SharedRingQueue.dequeue}; same timing rules as `BatchQueue.dequeue`. */
export interface SharedDequeueOptions {
  /** Most messages in one batch, integer ≥ 1. */
  readonly maxMessages: number;
  /**
   * Milliseconds, ≥ 0 or `Infinity`, from the call, after which any non-empty batch is handed
   * out; with nothing queued by then, the call resolves on the first message.
   */
  readonly maxWaitMs: number;
}

/** One dequeued batch. */
export interface SharedRingBatch {
  /** Message payloads, each lane's in publish order; views into one buffer owned by the caller. */
  readonly messages: Uint8Array[];
  /** Lane index of each message (same length as `messages`). */
  readonly lanes: Uint16Array;
  /** Sum of the payload lengths, bytes. */
  readonly bytes: number;
}

/** Per-lane counters in {@link SharedRingQueueStats}. */
export interface SharedRingLaneStats {
  /** Lane number. */
  readonly index: number;
  /** Ring bytes in use now (records and wrap padding). */
  readonly usedBytes: number;
  /** Messages published and not yet dequeued. */
  readonly pendingMessages: number;
  /** Most ring bytes ever in use. */
  readonly highWaterBytes: number;
  /** Whether a producer attached. */
  readonly attached: boolean;
  /** Whether its producer closed the lane. */
  readonly done: boolean;
}

/** A snapshot of the counters (allocated per call). */
export interface SharedRingQueueStats {
  /** Whether `close()` ran. */
  readonly closed: boolean;
  /** Whether a dequeue observed the end (closed or all lanes done, and empty). */
  readonly ended: boolean;
  /** Messages handed out so far. */
  readonly dequeuedMessages: number;
  /** Payload bytes handed out so far. */
  readonly dequeuedBytes: number;
  /** One entry per lane. */
  readonly lanes: readonly SharedRingLaneStats[];
}

/**
 * Consumer of a set of shared single-producer rings. Create with {@link createSharedRingQueue}.
 *
 * Invariants: a ring never holds more than its capacity; a batch is published whole or not at
 * all; nothing published is lost or duplicated; each lane's messages arrive in publish order.
 */
export class SharedRingQueue {
  /** Number of lanes. */
  readonly laneCount: number;
  /** Ring size per lane, bytes. */
  readonly laneCapacityBytes: number;
  /** Resolves once the end was observed (by `dequeue`, `tryDequeue` or `close`). */
  readonly drained: Promise<void>;
  private readonly globalBuffer: SharedArrayBuffer;
  private readonly global: Int32Array;
  private readonly laneBuffers: SharedArrayBuffer[];
  private readonly laneWords: Int32Array[];
  private readonly laneBytes: Uint8Array[];
  private readonly mask: number;
  /** Local copies of each lane's head (only this side writes it). */
  private readonly heads: Int32Array;
  /** Messages taken from each lane, free-running int32 like L_PUBLISHED. */
  private readonly consumed: Int32Array;
  /** Scratch: messages available per lane, then messages planned per lane. */
  private readonly avail: Int32Array;
  private readonly counts: Int32Array;
  /** Scratch: ring offset and payload length of each planned record. */
  private recordOffsets: Int32Array;
  private recordLengths: Int32Array;
  /** Scratch from `walk`: per lane, end offset of the first run and of the wrapped run (0 if none). */
  private readonly spans: Int32Array;
  /** Scratch from `walk`: per lane, the head position after the planned records. */
  private readonly nextHeads: Int32Array;
  private cursor: number;
  private isClosed: boolean;
  private isEnded: boolean;
  private pending: boolean;
  private dequeuedMessages: number;
  private dequeuedBytes: number;
  private resolveDrained: () => void;

  constructor(options: SharedRingQueueOptions) {
    const { lanes, laneCapacityBytes: cap } = options;
    if (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_LANES) {
      throw new QueueError(
        'BAD_ARGUMENT',
        `lanes: expected an integer in [1, ${MAX_LANES}], got ${String(lanes)}`,
      );
    }
    if (
      !Number.isInteger(cap) ||
      cap < MIN_LANE_CAPACITY_BYTES ||
      cap > MAX_LANE_CAPACITY_BYTES ||
      (cap & (cap - 1)) !== 0
    ) {
      throw new QueueError(
        'BAD_ARGUMENT',
        `laneCapacityBytes: expected a power of two in [${MIN_LANE_CAPACITY_BYTES}, ${MAX_LANE_CAPACITY_BYTES}], got ${String(cap)}`,
      );
    }
    this.laneCount = lanes;
    this.laneCapacityBytes = cap;
    this.globalBuffer = new SharedArrayBuffer(GLOBAL_BYTES);
    this.global = new Int32Array(this.globalBuffer);
    this.laneBuffers = [];
    this.laneWords = [];
    this.laneBytes = [];
    for (let i = 0; i < lanes; i++) {
      const buffer = new SharedArrayBuffer(LANE_CONTROL_BYTES + cap);
      this.laneBuffers.push(buffer);
      this.laneWords.push(new Int32Array(buffer));
      this.laneBytes.push(new Uint8Array(buffer));
    }
    this.mask = cap - 1;
    this.heads = new Int32Array(lanes);
    this.consumed = new Int32Array(lanes);
    this.avail = new Int32Array(lanes);
    this.counts = new Int32Array(lanes);
    this.recordOffsets = new Int32Array(64);
    this.recordLengths = new Int32Array(64);
    this.spans = new Int32Array(lanes * 2);
    this.nextHeads = new Int32Array(lanes);
    this.cursor = 0;
    this.isClosed = false;
    this.isEnded = false;
    this.pending = false;
    this.dequeuedMessages = 0;
    this.dequeuedBytes = 0;
    let resolveDrained: () => void = noop;
    this.drained = new Promise<void>((resolve) => {
      resolveDrained = resolve;
    });
    this.resolveDrained = resolveDrained;
  }

  /** Whether `close()` ran. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * The structured-cloneable handle of lane `index`, to pass to exactly one producer thread.
   * @throws `QueueError` `BAD_ARGUMENT` for an index out of range.
   */
  laneHandle(index: number): SharedRingLaneHandle {
    if (!Number.isInteger(index) || index < 0 || index >= this.laneCount) {
      throw new QueueError(
        'BAD_ARGUMENT',
        `laneHandle: expected an index in [0, ${this.laneCount}), got ${index}`,
      );
    }
    return {
      kind: LANE_HANDLE_KIND,
      version: LANE_HANDLE_VERSION,
      index,
      capacityBytes: this.laneCapacityBytes,
      global: this.globalBuffer,
      lane: this.laneBuffers[index] as SharedArrayBuffer,
    };
  }

  /**
   * Takes the next batch of up to `maxMessages` messages, lanes served round-robin with equal
   * shares, each lane's messages in publish order. Resolves at once with `maxMessages` if that
   * many are published; otherwise as soon as they are, or with what is there once `maxWaitMs`
   * has passed (or at once after close / when all lanes are done); `null` is the end signal:
   * closed (or every lane closed by its producer), no producer mid-publish, and everything
   * drained. Never resolves with an empty batch; waits with `Atomics.waitAsync`, never polls.
   * @throws (rejects) `QueueError` `CONCURRENT_DEQUEUE`, `BAD_ARGUMENT`, `RING_CORRUPT` (ring
   *   bytes that break the framing, i.e. memory written by someone else).
   * @example
   * ```ts
   * const queue = createSharedRingQueue({ lanes: 2, laneCapacityBytes: 1 << 20 });
   * new Worker(url, { workerData: { handle: queue.laneHandle(0) } });
   * for (let b = await queue.dequeue({ maxMessages: 2048, maxWaitMs: 5 }); b !== null;
   *      b = await queue.dequeue({ maxMessages: 2048, maxWaitMs: 5 })) handle(b.messages);
   * ```
   */
  async dequeue(options: SharedDequeueOptions): Promise<SharedRingBatch | null> {
    const { maxMessages, maxWaitMs } = options;
    this.checkMax(maxMessages, 'dequeue');
    if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0)) {
      throw new QueueError(
        'BAD_ARGUMENT',
        `dequeue maxWaitMs: expected a number ≥ 0, got ${String(maxWaitMs)}`,
      );
    }
    if (this.pending) {
      throw new QueueError(
        'CONCURRENT_DEQUEUE',
        'dequeue: expected no pending dequeue, got one still waiting',
      );
    }
    this.pending = true;
    const global = this.global;
    const deadline = performance.now() + maxWaitMs;
    let keepAlive: ReturnType<typeof setTimeout> | null = null;
    try {
      for (;;) {
        // Flag, then doorbell value, then look: a publish after the look bumps the doorbell past
        // `seq` (so the wait returns at once) and sees the flag (so it notifies a real wait).
        Atomics.store(global, G_CONSUMER_WAITING, 1);
        const seq = Atomics.load(global, G_DOORBELL);
        const endRequested = this.isClosed || this.allLanesDone();
        const busy = endRequested && this.anyProducerBusy();
        const available = this.countAvailable();
        if (available >= maxMessages) return this.take(maxMessages);
        if (available > 0 && (endRequested || performance.now() >= deadline)) return this.take(available);
        if (available === 0 && endRequested && !busy) return this.end();
        // Nothing queued: no timeout (the deadline only matters once something is there).
        const timeout = available > 0 ? Math.max(0, deadline - performance.now()) : Number.POSITIVE_INFINITY;
        const result = Atomics.waitAsync(global, G_DOORBELL, seq, timeout);
        if (result.async) {
          // A pending waitAsync does not keep a Node thread alive: hold a timer meanwhile.
          keepAlive ??= setTimeout(noop, KEEPALIVE_MS);
          await result.value;
        }
      }
    } finally {
      Atomics.store(global, G_CONSUMER_WAITING, 0);
      if (keepAlive !== null) clearTimeout(keepAlive);
      this.pending = false;
    }
  }

  /**
   * Takes up to `maxMessages` published messages now: an empty batch when there are none, `null`
   * once the end is reached (as `dequeue`).
   * @throws `QueueError` `CONCURRENT_DEQUEUE` while a `dequeue` is pending; `BAD_ARGUMENT`;
   *   `RING_CORRUPT`.
   */
  tryDequeue(maxMessages: number): SharedRingBatch | null {
    this.checkMax(maxMessages, 'tryDequeue');
    if (this.pending) {
      throw new QueueError('CONCURRENT_DEQUEUE', 'tryDequeue: expected no pending dequeue, got one waiting');
    }
    const endRequested = this.isClosed || this.allLanesDone();
    const busy = endRequested && this.anyProducerBusy();
    const available = this.countAvailable();
    if (available === 0 && endRequested && !busy) return this.end();
    return this.take(Math.min(available, maxMessages));
  }

  /**
   * Stops accepting: producers' later enqueues throw `QueueClosedError`, and producers waiting
   * for room are woken and reject with it (their messages were never copied). Messages already
   * published stay and are delivered; then `dequeue` returns `null`. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    Atomics.store(this.global, G_CLOSED, 1);
    for (let i = 0; i < this.laneCount; i++) Atomics.notify(this.laneWords[i] as Int32Array, L_HEAD);
    // Wake our own pending dequeue so it drains and ends instead of waiting for a publish.
    Atomics.add(this.global, G_DOORBELL, 1);
    Atomics.notify(this.global, G_DOORBELL);
    if (!this.pending && !this.anyProducerBusy() && this.countAvailable() === 0) this.end();
  }

  /** A snapshot of the counters. */
  stats(): SharedRingQueueStats {
    const lanes: SharedRingLaneStats[] = [];
    for (let i = 0; i < this.laneCount; i++) {
      const words = this.laneWords[i] as Int32Array;
      lanes.push({
        index: i,
        usedBytes: (Atomics.load(words, L_TAIL) - Atomics.load(words, L_HEAD)) | 0,
        pendingMessages: (Atomics.load(words, L_PUBLISHED) - (this.consumed[i] as number)) | 0,
        highWaterBytes: Atomics.load(words, L_HIGH_WATER),
        attached: Atomics.load(words, L_ATTACHED) !== 0,
        done: Atomics.load(words, L_DONE) !== 0,
      });
    }
    return {
      closed: this.isClosed,
      ended: this.isEnded,
      dequeuedMessages: this.dequeuedMessages,
      dequeuedBytes: this.dequeuedBytes,
      lanes,
    };
  }

  private checkMax(maxMessages: number, op: string): void {
    if (!Number.isInteger(maxMessages) || maxMessages < 1) {
      throw new QueueError(
        'BAD_ARGUMENT',
        `${op} maxMessages: expected an integer ≥ 1, got ${String(maxMessages)}`,
      );
    }
  }

  private end(): null {
    if (!this.isEnded) {
      this.isEnded = true;
      this.resolveDrained();
    }
    return null;
  }

  private allLanesDone(): boolean {
    for (let i = 0; i < this.laneCount; i++) {
      if (Atomics.load(this.laneWords[i] as Int32Array, L_DONE) === 0) return false;
    }
    return true;
  }

  private anyProducerBusy(): boolean {
    for (let i = 0; i < this.laneCount; i++) {
      if (Atomics.load(this.laneWords[i] as Int32Array, L_BUSY) !== 0) return true;
    }
    return false;
  }

  /** Fills `avail` per lane. @returns the total. */
  private countAvailable(): number {
    let total = 0;
    for (let i = 0; i < this.laneCount; i++) {
      const a =
        (Atomics.load(this.laneWords[i] as Int32Array, L_PUBLISHED) - (this.consumed[i] as number)) | 0;
      this.avail[i] = a;
      total += a;
    }
    return total;
  }

  /** Takes `n` ≤ available messages (`avail` must be fresh). */
  private take(n: number): SharedRingBatch {
    const lanes = this.laneCount;
    const avail = this.avail;
    const counts = this.counts;
    counts.fill(0);
    // Plan: deficit round-robin, equal shares per non-empty lane, from the cursor.
    let k = 0;
    let last = this.cursor;
    while (k < n) {
      let active = 0;
      for (let i = 0; i < lanes; i++) if ((avail[i] as number) > (counts[i] as number)) active++;
      const quantum = Math.ceil((n - k) / active);
      for (let v = 0, i = this.cursor; v < lanes && k < n; v++, i = i + 1 === lanes ? 0 : i + 1) {
        const left = (avail[i] as number) - (counts[i] as number);
        if (left <= 0) continue;
        let m = Math.min(left, quantum);
        if (m > n - k) m = n - k;
        counts[i] = (counts[i] as number) + m;
        k += m;
        last = i;
      }
    }
    const start = this.cursor;
    this.cursor = last + 1 === lanes ? 0 : last + 1;
    if (this.recordOffsets.length < n) {
      this.recordOffsets = new Int32Array(n);
      this.recordLengths = new Int32Array(n);
    }
    // Pass 1: walk each lane's records (validating framing), size the output.
    let total = 0;
    let payload = 0;
    let j = 0;
    for (let v = 0, i = start; v < lanes; v++, i = i + 1 === lanes ? 0 : i + 1) {
      const c = counts[i] as number;
      if (c === 0) continue;
      const span = this.walk(i, c, j);
      j += c;
      total += span;
    }
    const out = new Uint8Array(total);
    const messages: Uint8Array[] = new Array<Uint8Array>(n);
    const laneOf = new Uint16Array(n);
    const offsets = this.recordOffsets;
    const lengths = this.recordLengths;
    // Pass 2: copy each lane's region in at most two bulk copies (it wraps at most once), then
    // cut views: one bulk copy per lane rather than one per message (headers ride along, 4 B each).
    let at = 0;
    j = 0;
    for (let v = 0, i = start; v < lanes; v++, i = i + 1 === lanes ? 0 : i + 1) {
      const c = counts[i] as number;
      if (c === 0) continue;
      const words = this.laneWords[i] as Int32Array;
      const bytes = this.laneBytes[i] as Uint8Array;
      const headOff = (this.heads[i] as number) & this.mask;
      const firstEnd = this.spans[i * 2] as number;
      const secondEnd = this.spans[i * 2 + 1] as number;
      const lenA = firstEnd - headOff;
      out.set(bytes.subarray(LANE_CONTROL_BYTES + headOff, LANE_CONTROL_BYTES + firstEnd), at);
      if (secondEnd > 0)
        out.set(bytes.subarray(LANE_CONTROL_BYTES, LANE_CONTROL_BYTES + secondEnd), at + lenA);
      for (let r = 0; r < c; r++, j++) {
        const off = offsets[j] as number;
        const len = lengths[j] as number;
        const o = (off >= headOff ? at + off - headOff : at + lenA + off) + RECORD_HEADER_BYTES;
        messages[j] = out.subarray(o, o + len);
        laneOf[j] = i;
        payload += len;
      }
      at += lenA + secondEnd;
      // Free the space only after copying: the producer may overwrite it at once.
      const newHead = this.nextHeads[i] as number;
      this.heads[i] = newHead;
      this.consumed[i] = ((this.consumed[i] as number) + c) | 0;
      Atomics.store(words, L_HEAD, newHead);
      if (Atomics.load(words, L_PRODUCER_WAITING) !== 0) Atomics.notify(words, L_HEAD);
    }
    this.dequeuedMessages += n;
    this.dequeuedBytes += payload;
    return { messages, lanes: laneOf, bytes: payload };
  }
  /**
   * Walks `count` records of lane `lane` from its head, checking the framing, writing each
   * record's ring offset and payload length at `recordOffsets/recordLengths[at…]`, and the
   * lane's runs into `spans` / `nextHeads`.
   * @returns the bytes to copy (records of both runs, without wrap padding).
   * @throws `QueueError` `RING_CORRUPT` when lengths break the framing.
   */
  private walk(lane: number, count: number, at: number): number {
    const words = this.laneWords[lane] as Int32Array;
    const cap = this.laneCapacityBytes;
    const mask = this.mask;
    const tail = Atomics.load(words, L_TAIL);
    const offsets = this.recordOffsets;
    const lengths = this.recordLengths;
    let pos = this.heads[lane] as number;
    const headOff = pos & mask;
    let off = headOff;
    let wrapped = false;
    let firstEnd = 0;
    for (let r = 0; r < count; r++) {
      let len = words[(LANE_CONTROL_BYTES + off) >> 2] as number;
      if (len === WRAP_MARKER) {
        if (wrapped) this.corrupt(lane, off, 'a second wrap marker in one pass');
        wrapped = true;
        firstEnd = off;
        pos = (pos + cap - off) | 0;
        off = 0;
        len = words[LANE_CONTROL_BYTES >> 2] as number;
      }
      const rec = RECORD_HEADER_BYTES + align4(len);
      if (len < 0 || off + rec > cap)
        this.corrupt(lane, off, `record length ${len} overruns the ring end ${cap}`);
      pos = (pos + rec) | 0;
      if (((tail - pos) | 0) < 0) this.corrupt(lane, off, `record ends past the published tail ${tail}`);
      offsets[at + r] = off;
      lengths[at + r] = len;
      off += rec;
      if (off === cap) {
        if (wrapped) this.corrupt(lane, off, 'a second wrap in one pass');
        wrapped = true;
        firstEnd = cap;
        off = 0;
      }
    }
    if (!wrapped) firstEnd = off;
    this.spans[lane * 2] = firstEnd;
    this.spans[lane * 2 + 1] = wrapped ? off : 0;
    this.nextHeads[lane] = pos;
    return firstEnd - headOff + (wrapped ? off : 0);
  }

  private corrupt(lane: number, offset: number, what: string): never {
    throw new QueueError('RING_CORRUPT', `lane ${lane} ring offset ${offset}: ${what}`);
  }
}

/**
 * Creates the consumer side of a cross-thread queue with `lanes` single-producer rings.
 * @throws `QueueError` `BAD_ARGUMENT` for a lane count or capacity out of range.
 * @example
 * ```ts
 * const queue = createSharedRingQueue({ lanes: 4, laneCapacityBytes: 1 << 22 });
 * const worker = new Worker(new URL('./producer.js', import.meta.url), {
 *   workerData: { handle: queue.laneHandle(0) },
 * });
 * const batch = await queue.dequeue({ maxMessages: 2048, maxWaitMs: 5 });
 * ```
 */
export function createSharedRingQueue(options: SharedRingQueueOptions): SharedRingQueue {
  return new SharedRingQueue(options);
}
