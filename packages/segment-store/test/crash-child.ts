/**
 * Child process for the kill -9 tests: appends frames under load with group commit and prints
 * "ack <key>" on stdout once each frame is durable. The parent kills it at a random moment.
 * argv: dir, startKey, segmentBytes
 */
import { openSegmentStore } from '../src/index';
import { payloadFor } from './payload';

const [dir, startArg, segArg] = process.argv.slice(2);
const store = await openSegmentStore({
  dir: dir!,
  logId: 'crash',
  durability: { mode: 'group', maxUnsyncedBytes: 1024 * 1024 },
  segmentBytes: Number(segArg),
});
let key = Math.max(Number(startArg), store.recovery.lastKey + 1);
process.stdout.write(`ready ${key}\n`);
// Keep a few hundred frames in flight so kills land mid-write, mid-fsync and mid-rotation.
for (;;) {
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < 64; i++) {
    const k = key++;
    const size = 200 + ((k * 7919) % 6000);
    inflight.push(store.append(payloadFor(k, size), k).then(() => process.stdout.write(`ack ${k}\n`)));
  }
  await Promise.all(inflight);
}
