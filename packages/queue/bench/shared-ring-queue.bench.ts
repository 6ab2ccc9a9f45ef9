/**
 * Bytes/s from a real worker-thread producer to the main thread: `SharedRingQueue` (the worker
 * copies batches into a SharedArrayBuffer ring; the consumer copies them out) next to the raw
 * primitive it replaces, `postMessage` of the same batches (structured clone of Uint8Array[]).
 * Messages are 256–768 B (mean ≈ 512 B, like an encoded audit event), 64 per producer batch.
 * Both cases are checked for count and content before they are timed.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, bench, describe } from 'vitest';
import { createSharedRingQueue } from '../src/index';
import { PRODUCER_WORKER_URL, workerLibUrl } from '../test/support/worker-lib';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
/** Producer batches per timed iteration. */
const BATCHES = QUICK ? 32 : 2048;
const BATCH_SIZE = 64;
const MIN_BYTES = 256;
const MAX_BYTES = 768;
/** Ring per lane: 1 MiB ≈ 2000 messages in flight. */
const LANE_CAPACITY_BYTES = 1 << 20;
const CONSUMER_BATCH = 2048;
const OPTIONS = QUICK ? { time: 50, iterations: 3, warmupTime: 10, warmupIterations: 1 } : { time: 3000 };

interface Done {
  type: 'done';
  sent: number;
  error: string | null;
}

function startWorker(mode: 'enqueue' | 'post', handle: unknown): Worker {
  return new Worker(PRODUCER_WORKER_URL, {
    workerData: {
      lib: workerLibUrl(),
      handle,
      lane: 0,
      minBytes: MIN_BYTES,
      maxBytes: MAX_BYTES,
      batchSize: BATCH_SIZE,
      mode,
    },
  });
}

function checkMessage(m: Uint8Array): void {
  const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const seq = view.getUint32(0, true);
  if (
    view.getUint32(4, true) !== 0 ||
    m.byteLength !== MIN_BYTES + ((seq * 7919) % (MAX_BYTES - MIN_BYTES + 1))
  ) {
    throw new Error(`message ${seq}: bad header or length ${m.byteLength}`);
  }
  for (let i = 8; i < m.byteLength; i++) {
    if (m[i] !== ((seq + i) & 0xff)) throw new Error(`message ${seq}: byte ${i} differs`);
  }
}

const queue = createSharedRingQueue({ lanes: 1, laneCapacityBytes: LANE_CAPACITY_BYTES });
const ringWorker = startWorker('enqueue', queue.laneHandle(0));
const postWorker = startWorker('post', null);

/** One iteration over the ring: the worker produces BATCHES batches, we consume them all. */
async function runRing(check: boolean): Promise<number> {
  const done = new Promise<Done>((resolve) => ringWorker.once('message', resolve));
  ringWorker.postMessage({ cmd: 'run', batches: BATCHES });
  const want = BATCHES * BATCH_SIZE;
  let got = 0;
  let bytes = 0;
  while (got < want) {
    const batch = await queue.dequeue({ maxMessages: CONSUMER_BATCH, maxWaitMs: 0 });
    if (batch === null) throw new Error('ring ended early');
    if (check) for (const m of batch.messages) checkMessage(m);
    got += batch.messages.length;
    bytes += batch.bytes;
  }
  const result = await done;
  if (result.error !== null || result.sent !== want)
    throw new Error(`ring worker: ${JSON.stringify(result)}`);
  return bytes;
}

/** One iteration over postMessage: the worker posts the same batches, we receive them all. */
function runPost(check: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const want = BATCHES * BATCH_SIZE;
    let got = 0;
    let bytes = 0;
    let finished = false;
    const onMessage = (msg: { type: string; batch?: Uint8Array[]; sent?: number }): void => {
      if (msg.type === 'batch' && msg.batch !== undefined) {
        for (const m of msg.batch) {
          if (check) checkMessage(m);
          bytes += m.byteLength;
        }
        got += msg.batch.length;
      } else if (msg.type === 'done') {
        finished = true;
      }
      if (finished && got === want) {
        postWorker.off('message', onMessage);
        resolve(bytes);
      } else if (finished && got !== want) {
        reject(new Error(`postMessage: expected ${want} messages, got ${got}`));
      }
    };
    postWorker.on('message', onMessage);
    postWorker.postMessage({ cmd: 'run', batches: BATCHES });
  });
}

const ringBytes = await runRing(true);
const postBytes = await runPost(true);
if (ringBytes !== postBytes)
  throw new Error(`ring moved ${ringBytes} B, postMessage ${postBytes} B: not the same work`);

afterAll(async () => {
  queue.close();
  await Promise.all([ringWorker.terminate(), postWorker.terminate()]);
});

describe(`worker → main thread, ${BATCHES} batches × ${BATCH_SIZE} messages (${(ringBytes / 2 ** 20).toFixed(1)} MiB per iteration)`, () => {
  bench(
    'SharedRingQueue (1 worker lane, 1 MiB ring)',
    async () => {
      await runRing(false);
    },
    OPTIONS,
  );
  bench(
    'baseline: postMessage of the same Uint8Array[] batches',
    async () => {
      await runPost(false);
    },
    OPTIONS,
  );
});
