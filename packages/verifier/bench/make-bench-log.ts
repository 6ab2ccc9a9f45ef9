/**
 * Writes a realistically sized data directory with the ledger, for the throughput figures in the
 * README: the ledger's own defaults for frames (≤ 2048 records) and segments (64 MiB), the events
 * of the test suite, a checkpoint every ~16 MiB. Run once, then time `verify-throughput.ts` on it.
 *
 *   node --conditions=@sealog/source --import tsx packages/verifier/bench/make-bench-log.ts DIR [MiB]
 *
 * DIR must not exist yet (or be empty). MiB is the target of segment bytes (default 300).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLedger } from '@sealog/ledger';
import { auditEvent } from '../test/support/make-log';

/** Events per `append` call (one frame's worth at the ledger's default batch size). */
const EVENTS_PER_APPEND = 2048;
/** Appends between two signed checkpoints (~16 MiB of segments). */
const APPENDS_PER_CHECKPOINT = 32;

function segmentBytes(dir: string): number {
  const logDir = join(dir, 'logs', 'default');
  let total = 0;
  for (const name of readdirSync(logDir))
    if (name.endsWith('.seg')) total += statSync(join(logDir, name)).size;
  return total;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const targetMiB = Number(process.argv[3] ?? 300);
  if (dir === undefined || !(targetMiB > 0)) {
    throw new Error('usage: make-bench-log.ts DIR [MiB]');
  }
  const ledger = await createLedger({
    dir,
    checkpointIntervalMs: 3_600_000,
    snapshotIntervalMs: 3_600_000,
    durability: { mode: 'none' },
    onNotice: () => {},
  });
  const started = performance.now();
  let i = 0;
  let appends = 0;
  const target = targetMiB * 1048576;
  for (;;) {
    const events = [];
    for (let k = 0; k < EVENTS_PER_APPEND; k++) events.push(auditEvent(i++));
    await ledger.append(events);
    appends += 1;
    if (appends % APPENDS_PER_CHECKPOINT === 0) {
      await ledger.checkpoint();
      const bytes = segmentBytes(dir);
      process.stderr.write(`${i} events, ${(bytes / 1048576).toFixed(0)} MiB\n`);
      if (bytes >= target) break;
    }
  }
  await ledger.close();
  const bytes = segmentBytes(dir);
  console.log(
    `${dir}: ${i} events, ${(bytes / 1048576).toFixed(1)} MiB of segments in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

await main();
