/**
 * How long index writes block the calling thread: an indexer indexes `--live` rows into an index
 * that already holds `--rows` rows, once with the synchronous `SearchIndex` (writes on this thread)
 * and once with `WorkerSearchIndex` (writes on its writer thread), while `monitorEventLoopDelay`
 * samples this thread's event loop. Both runs start from a copy of the same base file; the modes
 * alternate over `--repeat` rounds.
 *
 * The source is synthetic (bench/synthetic.ts, records pre-built in memory), not the ledger: what
 * is timed is the index side only (row extraction, packing, inserts, checkpoints), not decryption.
 * Also times packing 1,000 rows for the writer thread against cloning them as objects.
 *
 * node --conditions=@sealog/source --import tsx packages/index/bench/event-loop-delay.ts --rows 1000000 --live 200000
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createIndexer,
  type IndexRow,
  type IndexSource,
  type IndexTarget,
  openSearchIndex,
  openWorkerSearchIndex,
  type SourceRecord,
} from '../src/index';
import { packRows } from '../src/row-batch';
import { liveRows, syntheticRows, syntheticSet } from './synthetic';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    live: { type: 'string', default: '200000' },
    repeat: { type: 'string', default: '1' },
    dir: { type: 'string', default: join(tmpdir(), 'sealog-eld') },
  },
});
const baseRows = Number(values.rows);
const liveCount = Number(values.live);
const dir = values.dir;
mkdirSync(dir, { recursive: true });
const set = syntheticSet({ rows: baseRows });
const basePath = join(dir, `base-${baseRows}.db`);

if (!existsSync(basePath)) {
  const t0 = performance.now();
  const index = openSearchIndex({ path: basePath, cacheBytes: 512 * 1024 * 1024 });
  index.reset({ bulkLoad: true });
  for (const chunk of syntheticRows(set, 10_000)) index.insert(chunk.rows, chunk.watermarks);
  index.finishBulkLoad();
  index.close();
  console.log(`base: ${baseRows} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/** The live rows as records shaped like the ledger's decoded ones (only the read fields). */
const records: SourceRecord[] = [];
for (const chunk of liveRows(set, 0, liveCount, 10_000)) {
  for (const r of chunk.rows) records.push({ logId: 'live', leafIndex: r.leafIndex, record: recordOf(r) });
}
function recordOf(r: IndexRow): SourceRecord['record'] {
  return {
    tenant_id: r.tenantId,
    event_id: r.eventId,
    occurred_at: r.occurredAt,
    received_at: r.receivedAt,
    subject_token: r.subjectToken,
    subject_key_id: '00000000',
    actor_type: r.actorType,
    action: r.action,
    category: r.category,
    resource: { type: r.resourceType, id: r.resourceId },
    result: r.result,
  } as unknown as SourceRecord['record'];
}
const source: IndexSource = {
  logs: () => [
    {
      logId: 'live',
      treeSize: liveCount,
      async *iterate(from: number, to: number) {
        for (let i = from; i < to; i++) yield records[i]!;
      },
    },
  ],
};

async function run(mode: 'inline' | 'worker'): Promise<Record<string, number | string>> {
  const path = join(dir, `run-${mode}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  copyFileSync(basePath, path);
  const index: IndexTarget =
    mode === 'inline' ? openSearchIndex({ path }) : await openWorkerSearchIndex({ path });
  const eld = monitorEventLoopDelay({ resolution: 10 });
  const t0 = performance.now();
  eld.enable();
  await createIndexer({ ledger: source, index }).catchUp();
  eld.disable();
  const seconds = (performance.now() - t0) / 1000;
  if (index.stats().rows !== baseRows + liveCount) throw new Error(`${mode}: rows ${index.stats().rows}`);
  await index.close();
  const ms = (ns: number) => Number((ns / 1e6).toFixed(1));
  return {
    mode,
    rowsPerSecond: Math.round(liveCount / seconds),
    delayP50Ms: ms(eld.percentile(50)),
    delayP99Ms: ms(eld.percentile(99)),
    delayMaxMs: ms(eld.max),
    delayMeanMs: ms(eld.mean),
  };
}

function cloneCost(): void {
  const rows = records.slice(0, 1000).map((r) => ({
    logId: 'live',
    leafIndex: r.leafIndex,
    tenantId: r.record.tenant_id,
    eventId: r.record.event_id,
    occurredAt: r.record.occurred_at,
    receivedAt: r.record.received_at,
    subjectToken: Uint8Array.from(r.record.subject_token),
    actorType: r.record.actor_type,
    action: r.record.action,
    category: r.record.category,
    resourceType: r.record.resource.type,
    resourceId: r.record.resource.id,
    result: r.record.result,
  }));
  const time = (fn: () => void) => {
    const samples: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      fn();
      samples.push(performance.now() - t);
    }
    return samples.sort((a, b) => a - b)[150]!.toFixed(3);
  };
  const objects = time(() => structuredClone(rows));
  const packed = time(() => {
    const b = packRows(rows);
    structuredClone(b, { transfer: [b.numbers.buffer as ArrayBuffer, b.tokens.buffer as ArrayBuffer] });
  });
  console.log(
    `1,000 rows, structuredClone median: objects ${objects} ms, packed (incl. packing) ${packed} ms`,
  );
}

cloneCost();
const results: Record<string, number | string>[] = [];
for (let round = 0; round < Number(values.repeat); round++) {
  for (const mode of round % 2 === 0 ? (['inline', 'worker'] as const) : (['worker', 'inline'] as const)) {
    const r = await run(mode);
    console.log(JSON.stringify(r));
    results.push(r);
  }
}
