import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBatchQueue, type Lane, QueueClosedError, QueueError } from '../src/index';

interface Item {
  readonly lane: number;
  readonly seq: number;
  readonly size: number;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

/** Settles the promise-job queue (several hops: resolution chains are a few jobs deep). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function stateOf(p: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  const marker = Symbol('pending');
  return Promise.race([p, Promise.resolve(marker)]).then(
    (v) => (v === marker ? 'pending' : 'fulfilled'),
    () => 'rejected',
  );
}

afterEach(() => {
  vi.useRealTimers();
});

describe('batch-queue', () => {
  it('delivers one lane in enqueue order, in batches of at most maxItems', async () => {
    const q = createBatchQueue<number>({ maxItems: 100 });
    const lane = q.lane();
    await lane.enqueue(range(0, 10));
    await lane.enqueue(range(10, 25));
    expect(await q.dequeue({ maxItems: 8, maxWaitMs: 0 })).toEqual(range(0, 8));
    expect(await q.dequeue({ maxItems: 100, maxWaitMs: 0 })).toEqual(range(8, 25));
    expect(q.size).toBe(0);
  });

  it('resolves dequeue as soon as maxItems are queued, before maxWaitMs', async () => {
    const q = createBatchQueue<number>({ maxItems: 100 });
    const lane = q.lane();
    const p = q.dequeue({ maxItems: 5, maxWaitMs: 60_000 });
    lane.tryEnqueue([1, 2, 3]);
    expect(await stateOf(p)).toBe('pending');
    lane.tryEnqueue([4, 5, 6]);
    expect(await p).toEqual([1, 2, 3, 4, 5]);
    expect(q.size).toBe(1);
  });

  it('hands out a partial batch when maxWaitMs elapses', async () => {
    vi.useFakeTimers();
    const q = createBatchQueue<number>({ maxItems: 100 });
    const lane = q.lane();
    const p = q.dequeue({ maxItems: 10, maxWaitMs: 50 });
    lane.tryEnqueue([1, 2]);
    await vi.advanceTimersByTimeAsync(49);
    expect(await stateOf(p)).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toEqual([1, 2]);
  });

  it('waits for the first item when maxWaitMs elapsed on an empty queue, without a timer spinning', async () => {
    vi.useFakeTimers();
    const q = createBatchQueue<number>({ maxItems: 100 });
    const lane = q.lane();
    const p = q.dequeue({ maxItems: 10, maxWaitMs: 20 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await stateOf(p)).toBe('pending');
    expect(vi.getTimerCount()).toBe(0);
    lane.tryEnqueue([7, 8, 9]);
    expect(await p).toEqual([7, 8, 9]);
  });

  it('waits for a full batch forever with maxWaitMs Infinity, and close flushes it', async () => {
    const q = createBatchQueue<number>({ maxItems: 100 });
    const p = q.dequeue({ maxItems: 10, maxWaitMs: Number.POSITIVE_INFINITY });
    q.lane().tryEnqueue([1, 2, 3]);
    expect(await stateOf(p)).toBe('pending');
    q.close();
    expect(await p).toEqual([1, 2, 3]);
    expect(await q.dequeue({ maxItems: 10, maxWaitMs: 0 })).toBeNull();
  });

  it('gives every non-empty lane an equal share of a batch', async () => {
    const q = createBatchQueue<string>({ maxItems: 1000 });
    const a = q.lane('a');
    const b = q.lane('b');
    const c = q.lane('c');
    a.tryEnqueue(range(0, 100).map((i) => `a${i}`));
    b.tryEnqueue(range(0, 100).map((i) => `b${i}`));
    c.tryEnqueue(['c0']);
    const batch = (await q.dequeue({ maxItems: 9, maxWaitMs: 0 })) ?? [];
    const count = (p: string): number => batch.filter((x) => x.startsWith(p)).length;
    expect(batch).toHaveLength(9);
    expect(count('c')).toBe(1);
    expect(Math.abs(count('a') - count('b'))).toBeLessThanOrEqual(1);
  });

  it('does not let a flooding lane starve a trickling one', async () => {
    const q = createBatchQueue<string>({ maxItems: 10_000 });
    const flood = q.lane('flood');
    const trickle = q.lane('trickle');
    flood.tryEnqueue(range(0, 9000).map(() => 'f'));
    let servedTrickle = 0;
    for (let round = 0; round < 20; round++) {
      trickle.tryEnqueue(['t']);
      const batch = q.tryDequeue(4);
      if (batch.includes('t')) servedTrickle++;
    }
    expect(servedTrickle).toBe(20);
  });

  it('rotates the starting lane so single-item batches go round-robin', () => {
    const q = createBatchQueue<string>({ maxItems: 100 });
    const lanes = ['a', 'b', 'c'].map((id) => q.lane(id));
    for (const lane of lanes) lane.tryEnqueue([lane.id, lane.id, lane.id]);
    const order: string[] = [];
    for (let i = 0; i < 9; i++) order.push(...q.tryDequeue(1));
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('reports full without accepting anything when items or bytes would exceed capacity', () => {
    const q = createBatchQueue<Uint8Array>({ maxItems: 4, maxBytes: 100, sizeOf: (b) => b.length });
    const lane = q.lane();
    expect(lane.tryEnqueue([new Uint8Array(60), new Uint8Array(30)])).toBe('ok');
    expect(lane.tryEnqueue([new Uint8Array(11)])).toBe('full');
    expect(lane.tryEnqueue([new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)])).toBe('full');
    expect(q.size).toBe(2);
    expect(q.byteSize).toBe(90);
    expect(lane.tryEnqueue([new Uint8Array(10), new Uint8Array(0)])).toBe('ok');
    expect(q.stats()).toMatchObject({ items: 4, bytes: 100, highWaterItems: 4, highWaterBytes: 100 });
  });

  it('makes enqueue wait on a full queue and lets a dequeue release it', async () => {
    const q = createBatchQueue<number>({ maxItems: 3 });
    const lane = q.lane();
    await lane.enqueue([1, 2, 3]);
    const blocked = lane.enqueue([4, 5]);
    expect(await stateOf(blocked)).toBe('pending');
    expect(q.stats()).toMatchObject({ waiters: 1, waitingItems: 2, items: 3 });
    expect(q.tryDequeue(1)).toEqual([1]);
    expect(await stateOf(blocked)).toBe('pending');
    expect(q.tryDequeue(1)).toEqual([2]);
    await expect(blocked).resolves.toBeUndefined();
    expect(q.tryDequeue(10)).toEqual([3, 4, 5]);
  });

  it('admits waiters first come first served, so a big batch is not overtaken', async () => {
    const q = createBatchQueue<string>({ maxItems: 4 });
    const a = q.lane('a');
    const b = q.lane('b');
    a.tryEnqueue(['a1', 'a2', 'a3', 'a4']);
    const big = a.enqueue(['A1', 'A2', 'A3']);
    const small = b.enqueue(['b1']);
    expect(b.tryEnqueue(['b2'])).toBe('full');
    expect(q.tryDequeue(1)).toEqual(['a1']);
    // One free slot fits `small`, but `big` arrived first.
    expect(await stateOf(small)).toBe('pending');
    q.tryDequeue(2);
    await big;
    expect(await stateOf(small)).toBe('pending');
    q.tryDequeue(1);
    await small;
    // Equal shares: lane a gets ⌈4/2⌉ = 2 first, then b, then a's rest.
    expect(q.tryDequeue(10)).toEqual(['A1', 'A2', 'b1', 'A3']);
  });

  it('rejects a batch that can never fit with BATCH_TOO_LARGE instead of waiting forever', async () => {
    const q = createBatchQueue<string>({ maxItems: 3, maxBytes: 10, sizeOf: (s) => s.length });
    const lane = q.lane();
    await expect(lane.enqueue(['a', 'b', 'c', 'd'])).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
    await expect(lane.enqueue(['aaaaaa', 'bbbbbb'])).rejects.toThrow(/12 bytes.*maxBytes 10/);
    expect(() => lane.tryEnqueue(['a', 'b', 'c', 'd'])).toThrow(QueueError);
    expect(q.size).toBe(0);
  });

  it('rejects waiting enqueues on close, drains what was accepted, then signals the end', async () => {
    const q = createBatchQueue<number>({ maxItems: 2 });
    const lane = q.lane();
    await lane.enqueue([1, 2]);
    const waiting = lane.enqueue([3]);
    let drained = false;
    void q.drained.then(() => {
      drained = true;
    });
    q.close();
    await expect(waiting).rejects.toBeInstanceOf(QueueClosedError);
    await expect(lane.enqueue([4])).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
    expect(() => lane.tryEnqueue([4])).toThrow(QueueClosedError);
    expect(() => q.lane()).toThrow(QueueClosedError);
    await flush();
    expect(drained).toBe(false);
    expect(await q.dequeue({ maxItems: 1, maxWaitMs: 10 })).toEqual([1]);
    expect(await q.dequeue({ maxItems: 10, maxWaitMs: 10 })).toEqual([2]);
    await q.drained;
    expect(await q.dequeue({ maxItems: 10, maxWaitMs: 10 })).toBeNull();
    expect(await q.dequeue({ maxItems: 10, maxWaitMs: 10 })).toBeNull();
  });

  it('ends a pending dequeue with null when an empty queue closes', async () => {
    const q = createBatchQueue<number>({ maxItems: 2 });
    const p = q.dequeue({ maxItems: 1, maxWaitMs: Number.POSITIVE_INFINITY });
    q.close();
    expect(await p).toBeNull();
    await q.drained;
  });

  it('cancels a waiting enqueue with an AbortSignal and admits the batch behind it', async () => {
    const q = createBatchQueue<string>({ maxItems: 3 });
    const a = q.lane('a');
    const b = q.lane('b');
    a.tryEnqueue(['x', 'y']);
    const controller = new AbortController();
    const big = a.enqueue(['1', '2', '3'], { signal: controller.signal });
    const small = b.enqueue(['s']);
    expect(await stateOf(small)).toBe('pending');
    controller.abort(new Error('client went away'));
    await expect(big).rejects.toMatchObject({ code: 'ABORTED', cause: new Error('client went away') });
    await small;
    expect(q.tryDequeue(10)).toEqual(['x', 'y', 's']);
    expect(q.stats().waiters).toBe(0);
    const pre = new AbortController();
    pre.abort();
    await expect(a.enqueue(['z'], { signal: pre.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses a second pending dequeue', async () => {
    const q = createBatchQueue<number>({ maxItems: 2 });
    const first = q.dequeue({ maxItems: 1, maxWaitMs: 5 });
    await expect(q.dequeue({ maxItems: 1, maxWaitMs: 5 })).rejects.toMatchObject({
      code: 'CONCURRENT_DEQUEUE',
    });
    expect(() => q.tryDequeue(1)).toThrow(/pending dequeue/);
    q.close();
    expect(await first).toBeNull();
  });

  it('validates options and sizes, quoting got-vs-expected', async () => {
    expect(() => createBatchQueue({ maxItems: 0 })).toThrow(/maxItems: expected an integer in \[1, .*got 0/);
    expect(() => createBatchQueue({ maxItems: 1, maxBytes: 0.5 })).toThrow(/maxBytes/);
    const q = createBatchQueue<number>({ maxItems: 10, maxBytes: 100, sizeOf: (n) => n });
    expect(() => q.lane().tryEnqueue([1, -1])).toThrow(
      /sizeOf\(items\[1\]\) expected an integer ≥ 0, got -1/,
    );
    await expect(q.dequeue({ maxItems: 0, maxWaitMs: 0 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(q.dequeue({ maxItems: 1, maxWaitMs: Number.NaN })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
    expect(q.size).toBe(0);
  });

  it('reports per-lane depth, waiters and high-water marks', async () => {
    const q = createBatchQueue<number>({ maxItems: 5, sizeOf: () => 10 });
    const a = q.lane('a');
    const b = q.lane('b');
    a.tryEnqueue([1, 2, 3]);
    b.tryEnqueue([4, 5]);
    const waiting = b.enqueue([6]);
    q.tryDequeue(4);
    await waiting;
    expect(a.depth + b.depth).toBe(2);
    expect(q.stats()).toEqual({
      items: 2,
      bytes: 20,
      maxItems: 5,
      maxBytes: Number.POSITIVE_INFINITY,
      highWaterItems: 5,
      highWaterBytes: 50,
      waiters: 0,
      waitingItems: 0,
      enqueuedItems: 6,
      dequeuedItems: 4,
      closed: false,
      lanes: [
        { id: 'a', items: a.depth, bytes: a.bytes, highWaterItems: 3 },
        { id: 'b', items: b.depth, bytes: b.bytes, highWaterItems: 2 },
      ],
    });
  });

  it('forgets a released lane once it is empty and refuses its later enqueues', () => {
    const q = createBatchQueue<number>({ maxItems: 5 });
    const a = q.lane('a');
    a.tryEnqueue([1]);
    a.release();
    expect(() => a.tryEnqueue([2])).toThrow(/lane 'a' was released/);
    expect(q.stats().lanes.map((l) => l.id)).toEqual(['a']);
    expect(q.tryDequeue(5)).toEqual([1]);
    expect(q.stats().lanes).toEqual([]);
  });

  it('matches a simple model on random synchronous command sequences (property)', () => {
    const cmd = fc.oneof(
      fc.record({
        op: fc.constant('try' as const),
        lane: fc.nat(2),
        sizes: fc.array(fc.nat(20), { maxLength: 6 }),
      }),
      fc.record({ op: fc.constant('take' as const), n: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ op: fc.constant('close' as const) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 60 }),
        fc.array(cmd),
        (cap, maxBytes, cmds) => {
          const q = createBatchQueue<Item>({ maxItems: cap, maxBytes, sizeOf: (it) => it.size });
          const lanes = [q.lane(), q.lane(), q.lane()];
          const model: Item[][] = [[], [], []];
          const seq = [0, 0, 0];
          const dequeued: Item[] = [];
          let closed = false;
          for (const c of cmds) {
            if (c.op === 'try') {
              const items = c.sizes.map((size) => ({ lane: c.lane, seq: seq[c.lane]!++, size }));
              const n = model.reduce((s, l) => s + l.length, 0);
              const bytes = model.reduce((s, l) => s + l.reduce((t, it) => t + it.size, 0), 0);
              const batchBytes = items.reduce((s, it) => s + it.size, 0);
              let result: string;
              try {
                result = lanes[c.lane]!.tryEnqueue(items);
              } catch (e) {
                result = (e as QueueError).code;
              }
              const expected = closed
                ? 'QUEUE_CLOSED'
                : items.length > cap || batchBytes > maxBytes
                  ? 'BATCH_TOO_LARGE'
                  : n + items.length <= cap && bytes + batchBytes <= maxBytes
                    ? 'ok'
                    : 'full';
              expect(result).toBe(expected);
              if (result === 'ok') model[c.lane]!.push(...items);
            } else if (c.op === 'take') {
              const batch = q.tryDequeue(c.n);
              const total = model.reduce((s, l) => s + l.length, 0);
              expect(batch).toHaveLength(Math.min(c.n, total));
              for (const it of batch) {
                // Each lane's head must be exactly this item: FIFO per lane, nothing duplicated.
                expect(model[it.lane]!.shift()).toBe(it);
                dequeued.push(it);
              }
            } else {
              q.close();
              closed = true;
            }
            const s = q.stats();
            expect(s.items).toBe(model.reduce((t, l) => t + l.length, 0));
            expect(s.items).toBeLessThanOrEqual(cap);
            expect(s.bytes).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
    );
  });

  it('loses, duplicates and reorders nothing under random async interleavings with close (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.array(fc.array(fc.nat(9), { minLength: 1, maxLength: 5 }), { maxLength: 5 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        async (s, cap, plan, take, closeEarly) => {
          const maxBytes = 45;
          const q = createBatchQueue<Item>({ maxItems: cap, maxBytes, sizeOf: (it) => it.size });
          const accepted: Item[][] = plan.map(() => []);
          const received: Item[] = [];
          const problems: string[] = [];
          const check = (): void => {
            const st = q.stats();
            if (st.items > cap || st.bytes > maxBytes) problems.push(`over capacity ${st.items}/${st.bytes}`);
          };
          const producer = async (laneNo: number, lane: Lane<Item>, batches: number[][]): Promise<void> => {
            let seq = 0;
            for (const sizes of batches) {
              await s.schedule(Promise.resolve(), `lane ${laneNo}`);
              const items = sizes.map((size) => ({ lane: laneNo, seq: seq++, size }));
              if (items.length > cap || items.reduce((t, it) => t + it.size, 0) > maxBytes) continue;
              try {
                await lane.enqueue(items);
                accepted[laneNo]!.push(...items);
              } catch (e) {
                if (!(e instanceof QueueClosedError)) throw e;
                return;
              }
              check();
            }
          };
          const consumer = async (): Promise<void> => {
            for (;;) {
              await s.schedule(Promise.resolve(), 'consumer');
              const batch = await q.dequeue({ maxItems: take, maxWaitMs: 0 });
              if (batch === null) return;
              if (batch.length === 0 || batch.length > take) problems.push(`batch of ${batch.length}`);
              received.push(...batch);
              check();
            }
          };
          const lanes = plan.map(() => q.lane());
          const tasks = plan.map((batches, i) => producer(i, lanes[i]!, batches));
          const consumed = consumer();
          if (closeEarly) void s.schedule(Promise.resolve(), 'close').then(() => q.close());
          // Producers finish (the consumer keeps making room); then close ends the consumer.
          const everything = Promise.all(tasks)
            .then(() => q.close())
            .then(() => consumed);
          await s.waitFor(everything);
          await q.drained;
          expect(problems).toEqual([]);
          for (let l = 0; l < plan.length; l++) {
            expect(received.filter((it) => it.lane === l)).toEqual(accepted[l]);
          }
          expect(received).toHaveLength(accepted.reduce((t, a) => t + a.length, 0));
          expect(q.stats().highWaterItems).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: 300 },
    );
  });
});
