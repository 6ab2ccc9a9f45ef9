/**
 * Child process for the kill -9 tests: appends audit events under load through a real ledger
 * (durable group commit) and prints "ack <event_id> <leaf_index>" once each is acknowledged.
 * argv: dir, first event number
 */
import { createLedger } from '../src/index';
import { auditEvent } from './events';

const [dir, startArg] = process.argv.slice(2);
const ledger = await createLedger({
  dir: dir!,
  batchMaxWaitMs: 2,
  checkpointIntervalMs: 30,
  snapshotIntervalMs: 100,
  segmentBytes: 256 * 1024,
  onNotice: () => {},
});
let n = Number(startArg);
process.stdout.write('ready\n');
for (;;) {
  const batch = Array.from({ length: 50 }, () => {
    const i = n++;
    return auditEvent(i, { event_id: `ev-${i}` });
  });
  const inflight: Promise<unknown>[] = [];
  for (let k = 0; k < 4; k++) {
    const part = batch.slice(k * 12, k * 12 + 12);
    inflight.push(
      ledger.append(part).then((results) => {
        let out = '';
        for (const r of results) out += `ack ${r.event_id} ${r.leaf_index}\n`;
        process.stdout.write(out);
      }),
    );
  }
  await Promise.all(inflight);
}
