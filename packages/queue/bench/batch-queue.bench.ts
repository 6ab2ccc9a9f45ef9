/**
 * Items/s through `BatchQueue` (enqueue batches on 1, 4 and 16 lanes, dequeue batches of 2048)
 * next to the raw primitive it replaces: one plain array with push + splice(0, n) doing the same
 * work (no lanes, no fairness, no bounds). Each case checks its output before it is timed.
 */
import { bench, describe } from 'vitest';
import { createBatchQueue } from '../src/index';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
/** Items moved per timed iteration. */
const ITEMS_PER_ITERATION = QUICK ? 8192 : 262_144;
/** Producer batch (the thesis used 4096 per producer call; HTTP batches are smaller). */
const PRODUCER_BATCH = 64;
/** Consumer batch (the thesis's writer batch). */
const CONSUMER_BATCH = 2048;
/** Queue capacity in items: a few consumer batches, so enqueue and dequeue interleave. */
const CAPACITY = 8192;
const OPTIONS = QUICK ? { time: 50, iterations: 5, warmupTime: 10, warmupIterations: 2 } : { time: 1500 };

interface Item {
  readonly lane: number;
  readonly seq: number;
}

function makeBatches(lanes: number): Item[][] {
  const batches: Item[][] = [];
  for (let lane = 0; lane < lanes; lane++) {
    const batch: Item[] = [];
    for (let i = 0; i < PRODUCER_BATCH; i++) batch.push({ lane, seq: i });
    batches.push(batch);
  }
  return batches;
}

/** One iteration through BatchQueue; returns what the consumer saw, for the check. */
async function runQueue(lanes: number, batches: Item[][], sink: Item[] | null): Promise<number> {
  const q = createBatchQueue<Item>({ maxItems: CAPACITY });
  const handles = batches.map((_, i) => q.lane(`lane-${i}`));
  let sent = 0;
  let received = 0;
  while (sent < ITEMS_PER_ITERATION) {
    // Round-robin producers until the queue pushes back, then the consumer takes a batch.
    for (let l = 0; l < lanes && sent < ITEMS_PER_ITERATION; l++) {
      if (handles[l]!.tryEnqueue(batches[l]!) === 'full') break;
      sent += PRODUCER_BATCH;
    }
    if (q.size >= CONSUMER_BATCH || sent >= ITEMS_PER_ITERATION) {
      const batch = await q.dequeue({ maxItems: CONSUMER_BATCH, maxWaitMs: 0 });
      received += batch?.length ?? 0;
      if (sink !== null && batch !== null) sink.push(...batch);
    }
  }
  while (q.size > 0) {
    const batch = await q.dequeue({ maxItems: CONSUMER_BATCH, maxWaitMs: 0 });
    received += batch?.length ?? 0;
    if (sink !== null && batch !== null) sink.push(...batch);
  }
  return received;
}

/** The same work with one plain array: push every item, splice batches off the front. */
function runArray(lanes: number, batches: Item[][], sink: Item[] | null): number {
  const queue: Item[] = [];
  let sent = 0;
  let received = 0;
  while (sent < ITEMS_PER_ITERATION) {
    for (let l = 0; l < lanes && sent < ITEMS_PER_ITERATION; l++) {
      if (queue.length + PRODUCER_BATCH > CAPACITY) break;
      const batch = batches[l]!;
      for (let i = 0; i < batch.length; i++) queue.push(batch[i]!);
      sent += PRODUCER_BATCH;
    }
    if (queue.length >= CONSUMER_BATCH || sent >= ITEMS_PER_ITERATION) {
      const batch = queue.splice(0, CONSUMER_BATCH);
      received += batch.length;
      if (sink !== null) sink.push(...batch);
    }
  }
  while (queue.length > 0) {
    const batch = queue.splice(0, CONSUMER_BATCH);
    received += batch.length;
    if (sink !== null) sink.push(...batch);
  }
  return received;
}

function check(name: string, lanes: number, got: Item[]): void {
  if (got.length !== ITEMS_PER_ITERATION)
    throw new Error(`${name}: expected ${ITEMS_PER_ITERATION} items, got ${got.length}`);
  const perLane = new Array<number>(lanes).fill(0);
  for (const item of got) {
    // Reused batches: each lane repeats seq 0…63, so per-lane order means seq cycles in order.
    if (item.seq !== perLane[item.lane]! % PRODUCER_BATCH)
      throw new Error(`${name}: lane ${item.lane} out of order`);
    perLane[item.lane]!++;
  }
}

for (const lanes of [1, 4, 16]) {
  const batches = makeBatches(lanes);
  const queueSink: Item[] = [];
  await runQueue(lanes, batches, queueSink);
  check('BatchQueue', lanes, queueSink);
  const arraySink: Item[] = [];
  runArray(lanes, batches, arraySink);
  check('array', lanes, arraySink);

  describe(`enqueue+dequeue ${ITEMS_PER_ITERATION} items, ${lanes} lane(s), batches ${PRODUCER_BATCH} in / ${CONSUMER_BATCH} out`, () => {
    bench(
      `BatchQueue (${lanes} lanes)`,
      async () => {
        await runQueue(lanes, batches, null);
      },
      OPTIONS,
    );
    bench(
      `baseline: plain array push + splice (${lanes} producers)`,
      () => {
        runArray(lanes, batches, null);
      },
      OPTIONS,
    );
  });
}
