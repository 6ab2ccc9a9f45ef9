/**
 * Export bundle of one resource's records (1,000 records, one per frame, in a log of `--frames`
 * frames of `--frame-records`): a full scan of the log against reading only candidate leaves (what
 * the server gets from its search index). Reuses the log `read-spread.ts` builds (`--dir`).
 *
 *   node --conditions=@sealog/source --import tsx packages/ledger/bench/bundle-candidates.ts \
 *     --dir DIR [--frames 1000] [--frame-records 256] [--runs 3]
 */
import { parseArgs } from 'node:util';
import { createLedger, exportBundle } from '../src/index';
import { auditEvent } from '../test/events';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    frames: { type: 'string', default: '1000' },
    'frame-records': { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
  },
});
if (values.dir === undefined) throw new Error('--dir is required (a log built by read-spread.ts)');
const perFrame = Number(values['frame-records']);
const ledger = await createLedger({
  dir: values.dir,
  batchMaxRecords: perFrame,
  durability: { mode: 'none' },
  onNotice: () => {},
});
const log = ledger.logs()[0]!;
if (log.treeSize === 0) {
  for (let i = 0; i < Number(values.frames) * perFrame; i += perFrame) {
    await ledger.append(
      Array.from({ length: perFrame }, (_, k) =>
        k === 0
          ? auditEvent(i, { tenant_id: 'tenant-0', resource: { type: 'document', id: 'hot-resource' } })
          : auditEvent(i + k),
      ),
    );
  }
}
const hot: number[] = [];
for (let i = 0; i < log.treeSize; i += perFrame) hot.push(i);
const filter = { tenantId: 'tenant-0', resourceType: 'document', resourceId: 'hot-resource' };
const time = async (candidates: boolean): Promise<{ ms: number; count: number; scanned: number }> => {
  const t0 = performance.now();
  const r = await exportBundle(ledger, filter, () => {}, candidates ? { candidates: async () => hot } : {});
  return { ms: performance.now() - t0, count: r.count, scanned: r.scanned };
};
for (let run = 0; run < Number(values.runs); run++) {
  for (const candidates of [false, true]) {
    const r = await time(candidates);
    console.log(
      `${candidates ? 'candidates' : 'full scan '}: ${r.ms.toFixed(0)} ms, ${r.count} records, ${r.scanned} read (log of ${log.treeSize})`,
    );
  }
}
await ledger.close();
