import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachLane,
  createSharedRingQueue,
  LANE_CONTROL_BYTES,
  QueueClosedError,
  type QueueError,
  recordBytes,
  type SharedRingBatch,
  type SharedRingQueue,
} from '../src/index';
import { PRODUCER_WORKER_URL, workerLibUrl } from './support/worker-lib';

interface WorkerResult {
  type: 'done';
  sent: number;
  fulls: number;
  error: string | null;
}

const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function filled(length: number, value: number): Uint8Array {
  return new Uint8Array(length).fill(value);
}

function startProducer(
  queue: SharedRingQueue,
  lane: number,
  opts: { batches: number; batchSize: number; minBytes: number; maxBytes: number; mode: 'enqueue' | 'try' },
): { worker: Worker; result: Promise<WorkerResult> } {
  const worker = new Worker(PRODUCER_WORKER_URL, {
    workerData: { lib: workerLibUrl(), handle: queue.laneHandle(lane), lane, close: true, ...opts },
  });
  workers.push(worker);
  const result = new Promise<WorkerResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, result };
}

/** Checks a message built by the producer worker; returns its sequence number. */
function checkMessage(m: Uint8Array, lane: number, minBytes: number, maxBytes: number): number {
  const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const seq = view.getUint32(0, true);
  expect(view.getUint32(4, true)).toBe(lane);
  expect(m.byteLength).toBe(minBytes + ((seq * 7919) % (maxBytes - minBytes + 1)));
  for (let i = 8; i < m.byteLength; i++) {
    if (m[i] !== ((seq + lane + i) & 0xff)) throw new Error(`lane ${lane} seq ${seq}: byte ${i} differs`);
  }
  return seq;
}

async function drainAll(queue: SharedRingQueue, maxMessages: number): Promise<SharedRingBatch[]> {
  const batches: SharedRingBatch[] = [];
  for (;;) {
    const batch = await queue.dequeue({ maxMessages, maxWaitMs: 2 });
    if (batch === null) return batches;
    batches.push(batch);
  }
}

describe('shared-ring-queue', () => {
  it('returns published messages byte-exact and in order, batched across lanes', async () => {
    const q = createSharedRingQueue({ lanes: 2, laneCapacityBytes: 1024 });
    const a = attachLane(q.laneHandle(0));
    const b = attachLane(q.laneHandle(1));
    expect(a.tryEnqueue([bytes(1, 2, 3), bytes()])).toBe('ok');
    expect(b.tryEnqueue([bytes(9)])).toBe('ok');
    expect(a.tryEnqueue([bytes(4, 5, 6, 7, 8)])).toBe('ok');
    const batch = await q.dequeue({ maxMessages: 10, maxWaitMs: 0 });
    expect(batch?.messages).toEqual([bytes(1, 2, 3), bytes(), bytes(4, 5, 6, 7, 8), bytes(9)]);
    expect(Array.from(batch?.lanes ?? [])).toEqual([0, 0, 0, 1]);
    expect(batch?.bytes).toBe(9);
    expect(q.stats().lanes.map((l) => l.usedBytes)).toEqual([0, 0]);
  });

  it('wraps around the ring end, padding when a record does not fit before it', async () => {
    const q = createSharedRingQueue({ lanes: 1, laneCapacityBytes: 64 });
    const p = attachLane(q.laneHandle(0));
    // 20 + 20 = 40 bytes in use, then freed; the tail sits at offset 40.
    expect(p.tryEnqueue([filled(16, 1)])).toBe('ok');
    expect(p.tryEnqueue([filled(16, 2)])).toBe('ok');
    expect((await q.dequeue({ maxMessages: 2, maxWaitMs: 0 }))?.messages).toEqual([
      filled(16, 1),
      filled(16, 2),
    ]);
    // A 28-byte record does not fit the 24 bytes left: 24 bytes of padding, then offset 0.
    expect(p.tryEnqueue([filled(24, 3)])).toBe('ok');
    expect(q.stats().lanes[0]?.usedBytes).toBe(24 + 28);
    // Exactly fills up to the head: the ring is full to the byte.
    expect(p.tryEnqueue([filled(8, 4)])).toBe('ok');
    expect(q.stats().lanes[0]?.usedBytes).toBe(64);
    expect(p.tryEnqueue([bytes()])).toBe('full');
    const got = await q.dequeue({ maxMessages: 5, maxWaitMs: 0 });
    expect(got?.messages).toEqual([filled(24, 3), filled(8, 4)]);
    expect(q.stats().lanes[0]).toMatchObject({ usedBytes: 0, highWaterBytes: 64 });
  });

  it('keeps content intact through many wraps with random sizes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('put' as const), sizes: fc.array(fc.nat(40), { maxLength: 4 }) }),
            fc.record({ op: fc.constant('take' as const), n: fc.integer({ min: 1, max: 6 }) }),
          ),
          { maxLength: 80 },
        ),
        (cmds) => {
          const cap = 128;
          const q = createSharedRingQueue({ lanes: 2, laneCapacityBytes: cap });
          const producers = [attachLane(q.laneHandle(0)), attachLane(q.laneHandle(1))];
          const model: Uint8Array[][] = [[], []];
          let seq = 0;
          for (const [k, c] of cmds.entries()) {
            if (c.op === 'put') {
              const lane = k % 2;
              const msgs = c.sizes.map((size) => filled(size, seq++ & 0xff));
              const need = msgs.reduce((t, m) => t + recordBytes(m.byteLength), 0);
              let result: string;
              try {
                result = producers[lane]!.tryEnqueue(msgs);
              } catch (e) {
                result = (e as QueueError).code;
              }
              if (need > cap / 2) expect(result).toBe('BATCH_TOO_LARGE');
              // The half-capacity rule: a batch that is allowed always fits an empty ring.
              else if (model[lane]!.length === 0) expect(result).toBe('ok');
              if (result === 'ok') model[lane]!.push(...msgs);
            } else {
              const batch = q.tryDequeue(c.n);
              const total = model[0]!.length + model[1]!.length;
              expect(batch?.messages.length).toBe(Math.min(c.n, total));
              batch?.messages.forEach((m, i) => {
                expect(m).toEqual(model[batch.lanes[i]!]!.shift());
              });
            }
            for (const l of q.stats().lanes) expect(l.usedBytes).toBeLessThanOrEqual(cap);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports full on a full ring, makes enqueue wait, and releases it on dequeue', async () => {
    const q = createSharedRingQueue({ lanes: 1, laneCapacityBytes: 64 });
    const p = attachLane(q.laneHandle(0));
    expect(p.tryEnqueue([filled(28, 1)])).toBe('ok');
    expect(p.tryEnqueue([filled(28, 2)])).toBe('ok');
    expect(p.tryEnqueue([filled(1, 3)])).toBe('full');
    let done = false;
    const waiting = p.enqueue([filled(28, 3)]).then(() => {
      done = true;
    });
    // A later try must not overtake the waiting enqueue.
    expect(p.tryEnqueue([bytes()])).toBe('full');
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect((await q.dequeue({ maxMessages: 1, maxWaitMs: 0 }))?.messages).toEqual([filled(28, 1)]);
    await waiting;
    expect((await q.dequeue({ maxMessages: 5, maxWaitMs: 0 }))?.messages).toEqual([
      filled(28, 2),
      filled(28, 3),
    ]);
  });

  it('cancels a producer waiting for room with an AbortSignal, leaving the ring unchanged', async () => {
    const q = createSharedRingQueue({ lanes: 1, laneCapacityBytes: 64 });
    const p = attachLane(q.laneHandle(0));
    p.tryEnqueue([filled(28, 1)]);
    p.tryEnqueue([filled(28, 2)]);
    const controller = new AbortController();
    const waiting = p.enqueue([filled(8, 3)], { signal: controller.signal });
    controller.abort('shutdown');
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED', cause: 'shutdown' });
    expect(q.stats().lanes[0]).toMatchObject({ usedBytes: 64, pendingMessages: 2 });
    q.tryDequeue(1);
    await p.enqueue([filled(8, 4)]);
    expect(q.tryDequeue(5)?.messages).toEqual([filled(28, 2), filled(8, 4)]);
  });

  it('rejects batches over half the ring, second producers, and malformed handles', () => {
    const q = createSharedRingQueue({ lanes: 1, laneCapacityBytes: 64 });
    const p = attachLane(q.laneHandle(0));
    expect(() => p.tryEnqueue([filled(29, 0)])).toThrow(/needs 36 ring bytes, expected ≤ 32/);
    expect(() => attachLane(q.laneHandle(0))).toThrow(expect.objectContaining({ code: 'LANE_IN_USE' }));
    expect(() => attachLane({ ...q.laneHandle(0), version: 99 })).toThrow(/expected kind/);
    expect(() => q.laneHandle(1)).toThrow(/expected an index in \[0, 1\), got 1/);
    expect(() => createSharedRingQueue({ lanes: 1, laneCapacityBytes: 100 })).toThrow(/power of two/);
  });

  it('reports a corrupted ring as RING_CORRUPT instead of reading out of bounds', async () => {
    const q = createSharedRingQueue({ lanes: 1, laneCapacityBytes: 64 });
    const handle = q.laneHandle(0);
    const p = attachLane(handle);
    p.tryEnqueue([filled(4, 1)]);
    new Int32Array(handle.lane)[LANE_CONTROL_BYTES >> 2] = 1000;
    await expect(q.dequeue({ maxMessages: 1, maxWaitMs: 0 })).rejects.toMatchObject({ code: 'RING_CORRUPT' });
  });

  it('on close rejects new and waiting enqueues, drains what was published, then ends', async () => {
    const q = createSharedRingQueue({ lanes: 2, laneCapacityBytes: 64 });
    const p = attachLane(q.laneHandle(0));
    expect(p.tryEnqueue([filled(24, 1), bytes()])).toBe('ok');
    expect(p.tryEnqueue([filled(20, 2)])).toBe('ok');
    const waiting = p.enqueue([filled(20, 3)]);
    q.close();
    await expect(waiting).rejects.toBeInstanceOf(QueueClosedError);
    expect(() => p.tryEnqueue([bytes()])).toThrow(QueueClosedError);
    expect(p.closed).toBe(true);
    const rest = await drainAll(q, 2);
    expect(rest.flatMap((b) => b.messages)).toEqual([filled(24, 1), bytes(), filled(20, 2)]);
    await q.drained;
    expect(await q.dequeue({ maxMessages: 1, maxWaitMs: 0 })).toBeNull();
    expect(q.stats()).toMatchObject({ closed: true, ended: true, dequeuedMessages: 3 });
  });

  it('ends once every producer closed its lane and the rings are drained', async () => {
    const q = createSharedRingQueue({ lanes: 2, laneCapacityBytes: 64 });
    const a = attachLane(q.laneHandle(0));
    const b = attachLane(q.laneHandle(1));
    const pending = q.dequeue({ maxMessages: 10, maxWaitMs: Number.POSITIVE_INFINITY });
    a.tryEnqueue([bytes(1)]);
    a.close();
    expect(() => a.tryEnqueue([bytes(2)])).toThrow(/lane 0 was closed by its producer/);
    b.close();
    expect((await pending)?.messages).toEqual([bytes(1)]);
    expect(await q.dequeue({ maxMessages: 10, maxWaitMs: 0 })).toBeNull();
  });

  it('moves every message from real worker threads through small rings with backpressure', async () => {
    const lanes = 4;
    const perLane = { batches: 150, batchSize: 8, minBytes: 8, maxBytes: 120, mode: 'try' as const };
    const q = createSharedRingQueue({ lanes, laneCapacityBytes: 2048 });
    const started = Array.from({ length: lanes }, (_, lane) => startProducer(q, lane, perLane));
    const next = new Array<number>(lanes).fill(0);
    let total = 0;
    // A slow consumer (small batches) so the 2 KiB rings fill and producers must wait.
    for (;;) {
      const batch = await q.dequeue({ maxMessages: 16, maxWaitMs: 1 });
      if (batch === null) break;
      batch.messages.forEach((m, i) => {
        const lane = batch.lanes[i]!;
        expect(checkMessage(m, lane, perLane.minBytes, perLane.maxBytes)).toBe(next[lane]);
        next[lane]!++;
      });
      total += batch.messages.length;
    }
    const results = await Promise.all(started.map((s) => s.result));
    expect(results.every((r) => r.error === null && r.sent === 1200)).toBe(true);
    expect(next).toEqual([1200, 1200, 1200, 1200]);
    expect(total).toBe(4800);
    expect(results.reduce((t, r) => t + r.fulls, 0)).toBeGreaterThan(0);
    for (const lane of q.stats().lanes) expect(lane.highWaterBytes).toBeLessThanOrEqual(2048);
  });

  it('delivers everything workers had published when the consumer closes mid-stream', async () => {
    const lanes = 3;
    const perLane = { batches: 100_000, batchSize: 4, minBytes: 8, maxBytes: 64, mode: 'enqueue' as const };
    const q = createSharedRingQueue({ lanes, laneCapacityBytes: 4096 });
    const started = Array.from({ length: lanes }, (_, lane) => startProducer(q, lane, perLane));
    const next = new Array<number>(lanes).fill(0);
    let batches = 0;
    for (;;) {
      const batch = await q.dequeue({ maxMessages: 64, maxWaitMs: 1 });
      if (batch === null) break;
      batch.messages.forEach((m, i) => {
        const lane = batch.lanes[i]!;
        expect(checkMessage(m, lane, perLane.minBytes, perLane.maxBytes)).toBe(next[lane]);
        next[lane]!++;
      });
      if (++batches === 50) q.close();
    }
    const results = await Promise.all(started.map((s) => s.result));
    for (let lane = 0; lane < lanes; lane++) {
      expect(results[lane]?.error).toBe('QUEUE_CLOSED');
      // Every batch the producer saw accepted was delivered, and nothing more.
      expect(next[lane]).toBe(results[lane]?.sent);
    }
    await q.drained;
  });
});
