/**
 * Memory layout shared by the two sides of `SharedRingQueue`: the consumer (`shared-ring-queue`)
 * and a producer attached in a worker (`shared-ring-producer`). Both sides import only this file
 * for the layout, so the layout is defined once.
 *
 * Global block (one per queue, `Int32Array` over a SharedArrayBuffer of {@link GLOBAL_BYTES}):
 *   [G_DOORBELL]          bumped by a producer after each publish; the consumer waits on it.
 *   [G_CONSUMER_WAITING]  1 while the consumer may be waiting (producers notify only then).
 *   [G_CLOSED]            1 once the consumer closed the queue.
 * Lane block (one SharedArrayBuffer per lane): {@link LANE_CONTROL_BYTES} of control words, then
 * the data ring of `capacityBytes` (a power of two). Head and tail sit on separate 64-byte lines
 * so the consumer's and the producer's writes do not bounce one cache line.
 *   [L_HEAD]     free-running byte position read up to (consumer writes).
 *   [L_TAIL]     free-running byte position written up to (producer writes; the release point).
 *   [L_PUBLISHED] messages published, free-running (producer writes, after L_TAIL).
 *   [L_BUSY]     1 while a producer is between its closed-check and its publish.
 *   [L_DONE]     1 once the producer closed its lane.
 *   [L_ATTACHED] 1 once a producer attached (lanes are single-producer).
 *   [L_PRODUCER_WAITING] 1 while the producer may be waiting for room.
 *   [L_HIGH_WATER] most bytes ever in use in the ring.
 * Ring records are 4-byte aligned: int32 length, then the payload, padded to 4. A record never
 * wraps: when it does not fit before the ring's end, the producer writes {@link WRAP_MARKER} in
 * the length slot and starts the record at offset 0. Positions are int32 and wrap at 2^32, which
 * the power-of-two capacity divides, so `position & (capacity - 1)` is always the ring offset.
 * This file allocates nothing and owns no buffers.
 */
import { QueueError } from './errors';

/** Handle kind tag, checked by `attachLane`. */
export const LANE_HANDLE_KIND: string = 'sealog.shared-ring-lane';
/** Layout version, checked by `attachLane`; bump on any layout change. */
export const LANE_HANDLE_VERSION: number = 1;

/** Bytes of the global block: 4 cache lines. */
export const GLOBAL_BYTES: number = 256;
/** Int32 index of the doorbell counter. */
export const G_DOORBELL: number = 0;
/** Int32 index of the consumer-waiting flag (its own cache line). */
export const G_CONSUMER_WAITING: number = 16;
/** Int32 index of the closed flag. */
export const G_CLOSED: number = 32;

/** Bytes of control words before a lane's data ring: 2 cache lines. */
export const LANE_CONTROL_BYTES: number = 128;
/** Int32 index of the consumer's head position (first cache line). */
export const L_HEAD: number = 0;
/** Int32 index of the producer's tail position (second cache line). */
export const L_TAIL: number = 16;
/** Int32 index of the published-messages counter. */
export const L_PUBLISHED: number = 17;
/** Int32 index of the producer's in-flight flag. */
export const L_BUSY: number = 18;
/** Int32 index of the lane-done flag. */
export const L_DONE: number = 19;
/** Int32 index of the attached flag. */
export const L_ATTACHED: number = 20;
/** Int32 index of the producer-waiting flag. */
export const L_PRODUCER_WAITING: number = 21;
/** Int32 index of the high-water mark in bytes. */
export const L_HIGH_WATER: number = 22;

/** Record length header bytes. */
export const RECORD_HEADER_BYTES: number = 4;
/** Length value that means "the rest of the ring is padding; continue at offset 0". */
export const WRAP_MARKER: number = -1;
/** Smallest lane ring, in bytes. */
export const MIN_LANE_CAPACITY_BYTES: number = 64;
/** Largest lane ring, in bytes (1 GiB). */
export const MAX_LANE_CAPACITY_BYTES: number = 2 ** 30;
/** Most lanes one queue may have. */
export const MAX_LANES: number = 1024;

/**
 * Structured-cloneable description of one lane: post it to a worker (`postMessage` or
 * `workerData`) and call `attachLane(handle)` there. The SharedArrayBuffers are shared, not copied.
 */
export interface SharedRingLaneHandle {
  /** Always {@link LANE_HANDLE_KIND}. */
  readonly kind: string;
  /** Always {@link LANE_HANDLE_VERSION}. */
  readonly version: number;
  /** Lane number, 0 ≤ index < lanes. */
  readonly index: number;
  /** Ring size in bytes, a power of two. */
  readonly capacityBytes: number;
  /** The queue's global block. */
  readonly global: SharedArrayBuffer;
  /** This lane's control words and ring. */
  readonly lane: SharedArrayBuffer;
}

/** Rounds `n` ≥ 0 up to a multiple of 4. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Ring bytes one message of `payloadBytes` takes (header + padded payload, no wrap padding). */
export function recordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + align4(payloadBytes);
}

/**
 * Largest sum of `recordBytes` one batch may have in a ring of `capacityBytes`: half the ring.
 * Why half: a batch of S ≤ C/2 bytes wraps at most once and wastes less than S on padding, so it
 * fits an empty ring from any offset; a larger batch could need more than C from some offsets
 * and would wait forever.
 */
export function maxBatchRecordBytes(capacityBytes: number): number {
  return capacityBytes / 2;
}

/**
 * Checks a handle received from another thread.
 * @throws `QueueError` `BAD_ARGUMENT` naming the first bad field.
 */
export function checkLaneHandle(handle: SharedRingLaneHandle): void {
  if (handle === null || typeof handle !== 'object') {
    throw new QueueError('BAD_ARGUMENT', `lane handle: expected an object, got ${String(handle)}`);
  }
  if (handle.kind !== LANE_HANDLE_KIND || handle.version !== LANE_HANDLE_VERSION) {
    throw new QueueError(
      'BAD_ARGUMENT',
      `lane handle: expected kind '${LANE_HANDLE_KIND}' v${LANE_HANDLE_VERSION}, got '${String(handle.kind)}' v${String(handle.version)}`,
    );
  }
  const cap = handle.capacityBytes;
  if (
    !Number.isInteger(cap) ||
    cap < MIN_LANE_CAPACITY_BYTES ||
    cap > MAX_LANE_CAPACITY_BYTES ||
    (cap & (cap - 1)) !== 0
  ) {
    throw new QueueError('BAD_ARGUMENT', `lane handle capacityBytes: expected a power of two, got ${cap}`);
  }
  if (!(handle.global instanceof SharedArrayBuffer) || handle.global.byteLength !== GLOBAL_BYTES) {
    throw new QueueError(
      'BAD_ARGUMENT',
      `lane handle global: expected a SharedArrayBuffer of ${GLOBAL_BYTES} bytes`,
    );
  }
  if (!(handle.lane instanceof SharedArrayBuffer) || handle.lane.byteLength !== LANE_CONTROL_BYTES + cap) {
    throw new QueueError(
      'BAD_ARGUMENT',
      `lane handle lane: expected a SharedArrayBuffer of ${LANE_CONTROL_BYTES + cap} bytes, got ${
        handle.lane instanceof SharedArrayBuffer ? handle.lane.byteLength : typeof handle.lane
      }`,
    );
  }
}
