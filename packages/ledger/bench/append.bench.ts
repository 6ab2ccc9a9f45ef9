/**
 * Ledger append throughput: the full path (validate, seal personal fields, encode, batch, leaf
 * hash, Merkle, snappy, AES-GCM, chain, durable group commit) against the same with durability
 * `none`, on realistic audit events whose subjects already have keys (steady state). The cost of a
 * first-seen data subject (key creation) is measured separately.
 * Quick mode (SEALOG_BENCH_QUICK=1): 1,000 events per iteration.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { createLedger, type Ledger } from '../src/index';
import { auditEvent } from '../test/events';

const QUICK = process.env.SEALOG_BENCH_QUICK === '1';
const EVENTS = QUICK ? 1000 : 20_000;
const OPTIONS = QUICK ? { time: 50, iterations: 2, warmupIterations: 0 } : { time: 3000, iterations: 5 };
const root = mkdtempSync(join(tmpdir(), 'sealog-ledger-bench-'));
const events = Array.from({ length: EVENTS }, (_, i) => auditEvent(i));
let durable: Ledger;
let volatile: Ledger;

async function appendAll(ledger: Ledger): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < events.length; i += 1000) {
    inflight.push(ledger.append(events.slice(i, i + 1000)));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
}

beforeAll(async () => {
  durable = await createLedger({ dir: join(root, 'durable'), onNotice: () => {} });
  volatile = await createLedger({
    dir: join(root, 'none'),
    durability: { mode: 'none' },
    onNotice: () => {},
  });
  // Create every subject key once: the benchmark measures the steady state.
  await appendAll(durable);
  await appendAll(volatile);
});

afterAll(async () => {
  await durable.close();
  await volatile.close();
  rmSync(root, { recursive: true, force: true });
});

describe(`ledger.append ${EVENTS} audit events (1,000 per call, 8 calls in flight)`, () => {
  bench('durable (group commit)', () => appendAll(durable), OPTIONS);
  bench('durability none (no fsync)', () => appendAll(volatile), OPTIONS);
});

let fresh = 0;
describe('first-seen data subjects', () => {
  bench(
    `append 200 events of 200 new subjects (subject key creation)`,
    async () => {
      const batch = Array.from({ length: 200 }, (_, i) =>
        auditEvent(i, { actor: { id: `new-${fresh}-${i}`, type: 'user' } }),
      );
      fresh++;
      await durable.append(batch);
    },
    QUICK ? OPTIONS : { time: 2000, iterations: 3 },
  );
});
