// Generic producer for tests and benches, run in a worker thread (plain ESM: workers cannot load
// TypeScript on Node 20). It imports the package from `workerData.lib` and sends numbered,
// self-checking messages: bytes 0-3 = sequence number (u32 LE), 4-7 = lane (u32 LE), then
// (seq + lane + i) & 0xff. Sizes cycle deterministically through [minBytes, maxBytes].
//
// workerData: { lib, handle, lane, minBytes, maxBytes, batchSize, mode: 'enqueue' | 'try' | 'post',
//   batches?: number (run once at start), close?: boolean (close the lane when that run ends) }
// Messages from the parent: { cmd: 'run', batches } → replies { type: 'done', sent, fulls }.
import { parentPort, workerData } from 'node:worker_threads';

const { lib, handle, lane, minBytes, maxBytes, batchSize, mode } = workerData;
const { attachLane } = await import(lib);
const producer = mode === 'post' ? null : attachLane(handle);
let seq = 0;

function sizeOf(n) {
  return minBytes + ((n * 7919) % (maxBytes - minBytes + 1));
}

function makeMessage(n) {
  const size = sizeOf(n);
  const m = new Uint8Array(size);
  const view = new DataView(m.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, lane, true);
  for (let i = 8; i < size; i++) m[i] = (n + lane + i) & 0xff;
  return m;
}

// Pre-built batches, reused across runs: the bench times transport, not message building.
const pool = [];
for (let b = 0; b < 64; b++) {
  const batch = [];
  for (let i = 0; i < batchSize; i++) batch.push(makeMessage(b * batchSize + i));
  pool.push(batch);
}

async function run(batches, fresh) {
  let sent = 0;
  let fulls = 0;
  try {
    for (let b = 0; b < batches; b++) {
      let batch;
      if (fresh) {
        batch = [];
        for (let i = 0; i < batchSize; i++) batch.push(makeMessage(seq++));
      } else {
        batch = pool[b % pool.length];
      }
      if (mode === 'post') {
        parentPort.postMessage({ type: 'batch', batch });
      } else if (mode === 'try') {
        if (producer.tryEnqueue(batch) === 'full') {
          fulls++;
          await producer.enqueue(batch);
        }
      } else {
        await producer.enqueue(batch);
      }
      sent += batch.length;
    }
  } catch (error) {
    return { type: 'done', sent, fulls, error: error.code ?? String(error) };
  }
  return { type: 'done', sent, fulls, error: null };
}

parentPort.on('message', async (msg) => {
  if (msg.cmd === 'run') parentPort.postMessage(await run(msg.batches, false));
  if (msg.cmd === 'exit') {
    producer?.close();
    parentPort.close();
  }
});

if (workerData.batches !== undefined) {
  const result = await run(workerData.batches, true);
  if (workerData.close) producer.close();
  parentPort.postMessage(result);
}
