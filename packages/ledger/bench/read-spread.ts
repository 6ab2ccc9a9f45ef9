/**
 * Read path, worst case: a resource history whose records sit one per frame, so every record costs
 * a frame (read, AES-GCM open, snappy, decode) plus a personal-field open. Builds a log of
 * `--frames` frames of `--frame-records` records (a hot resource every `--frame-records`-th event),
 * then times `readMany` + `view({ personal: true })` of all hot records, `--runs` times.
 *
 *   node --conditions=@sealog/source --import tsx packages/ledger/bench/read-spread.ts \
 *     [--frames 1000] [--frame-records 256] [--runs 15] [--cache-mb 32] [--dir DIR] [--json FILE]
 *
 * `--cache-mb 0` measures cold reads (every run decrypts every frame); the default measures the
 * first (cold) run as `max` and repeated (hot) runs as `p50`.
 *
 * With `--dir` an existing log built by an earlier run is reused (built when missing).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLedger } from '../src/index';
import { auditEvent } from '../test/events';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000' },
    'frame-records': { type: 'string', default: '256' },
    runs: { type: 'string', default: '15' },
    'cache-mb': { type: 'string', default: '32' },
    dir: { type: 'string' },
    json: { type: 'string' },
  },
});
const frames = Number(values.frames);
const perFrame = Number(values['frame-records']);
const runs = Number(values.runs);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'sealog-read-spread-'));
const build = !existsSync(join(dir, 'logs'));

const HOT = { type: 'document', id: 'hot-resource' };
const ledger = await createLedger({
  dir,
  batchMaxRecords: perFrame,
  batchMaxWaitMs: 50,
  durability: { mode: 'none' },
  readCacheBytes: Number(values['cache-mb']) * 1024 * 1024,
  onNotice: () => {},
});
if (build) {
  const total = frames * perFrame;
  for (let i = 0; i < total; i += perFrame) {
    const batch = Array.from({ length: perFrame }, (_, k) =>
      k === 0 ? auditEvent(i + k, { tenant_id: 'tenant-0', resource: HOT }) : auditEvent(i + k),
    );
    await ledger.append(batch);
  }
}
const size = ledger.logs()[0]!.treeSize;
const hot: number[] = [];
for (let i = 0; i < size; i += perFrame) hot.push(i);

const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const reads = await ledger.readMany('default', hot);
  const views = await Promise.all(reads.map((x) => ledger.view(x, { personal: true })));
  times.push(performance.now() - t0);
  if (views.length !== hot.length) throw new Error('short read');
}
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
const result = {
  records: hot.length,
  frames,
  frame_records: perFrame,
  runs,
  cache_mb: Number(values['cache-mb']),
  ms: { min: times[0], p50: q(0.5), max: times[times.length - 1] },
};
console.log(JSON.stringify(result));
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
await ledger.close();
if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
