/**
 * `bench:audit` — audit events through the full `ledger.append` path, the paced latency run and
 * the pino baseline, in one process (see audit.ts).
 *
 * Usage: node --conditions=@sealog/source --import tsx benchmarks/src/bench-audit.ts
 *   [--events N] [--concurrency C] [--append-batch N] [--paced-seconds S] [--paced-rate R]
 *   [--no-pino] [--prefill N] [--json FILE]
 *   (--prefill: append N events first, untimed — e.g. 1000000 fills the idempotency window, as in a
 *   log that has run for a while)
 *   (--paced-rate: events/s of the paced phase; default half the saturated rate of this run)
 *   [--cpu-profile FILE.cpuprofile]   (profiles the saturation phase only)
 *   [--prepare-workers 0|1|2]   (the ledger's worker threads; default the ledger's default)
 *   [--worker-young-mb N]   (the ledger's workerYoungGenerationMb; default the ledger's, 6)
 */
import { runAudit } from './audit';
import {
  formatBytes,
  formatInt,
  formatMs,
  intArg,
  MIB,
  nodeFlags,
  parseArgs,
  prepareWorkersArg,
  printTable,
  stringArg,
  writeJsonResult,
} from './measure';

const args = parseArgs(process.argv.slice(2), {
  events: 'value',
  concurrency: 'value',
  'append-batch': 'value',
  'paced-seconds': 'value',
  'paced-rate': 'value',
  'no-pino': 'flag',
  prefill: 'value',
  'cpu-profile': 'value',
  json: 'value',
  'prepare-workers': 'value',
  'worker-young-mb': 'value',
});
const prefill = intArg(args, 'prefill', 0, 0);
const r = await runAudit({
  events: intArg(args, 'events', 1_000_000),
  concurrency: intArg(args, 'concurrency', 8),
  appendBatch: intArg(args, 'append-batch', 1000),
  pacedSeconds: intArg(args, 'paced-seconds', 3, 0),
  ...(args.has('paced-rate') ? { pacedRate: intArg(args, 'paced-rate', 1, 1) } : {}),
  skipPino: args.has('no-pino'),
  prefill,
  ...(args.has('cpu-profile') ? { cpuProfile: stringArg(args, 'cpu-profile')! } : {}),
  ...prepareWorkersArg(args),
  ...(args.has('worker-young-mb') ? { workerYoungGenerationMb: intArg(args, 'worker-young-mb', 6, 0) } : {}),
});
const l = r.latency_ms;
const rows: [string, string][] = [
  ['Execution time', `${r.seconds.toFixed(2)} s`],
  ['Throughput', `${formatInt(r.events_per_sec)} events/s (durable)`],
  ['Input', `${formatBytes(r.input_bytes)} of JSON (${(r.input_bytes / r.events).toFixed(0)} B/event)`],
  [
    `Latency per append (${r.append_batch} events, ${r.concurrency} in flight)`,
    `median ${formatMs(l.p50)}, p99 ${formatMs(l.p99)}, max ${formatMs(l.max)}`,
  ],
];
if (prefill > 0) rows.push(['Appended first (untimed)', `${formatInt(prefill)} events`]);
rows.push([
  `New subjects (${formatInt(r.new_subjects.events)} events, 1 key file each)`,
  `${formatInt(r.new_subjects.events_per_sec)} events/s (${r.new_subjects.seconds.toFixed(2)} s, not in the above)`,
]);
if (r.paced !== undefined) {
  const p = r.paced;
  rows.push([
    `Paced at ${formatInt(p.events_per_sec)} events/s (target ${formatInt(p.target_events_per_sec)})`,
    `p50 ${formatMs(p.latency_ms.p50)}, p99 ${formatMs(p.latency_ms.p99)}, max ${formatMs(p.latency_ms.max)}`,
  ]);
  const g = p.gc;
  rows.push([
    'Main-thread GC pauses while paced',
    `${g.minor.count} minor (mean ${formatMs(g.minor.mean_ms)}, max ${formatMs(g.minor.max_ms)}), ${g.major.count} major (mean ${formatMs(g.major.mean_ms)}, max ${formatMs(g.major.max_ms)})`,
  ]);
}
if (r.pino !== undefined) {
  rows.push(['pino → file (sync: false, no fsync)', `${formatInt(r.pino.events_per_sec)} events/s`]);
  rows.push(['ledger / pino', `${(r.events_per_sec / r.pino.events_per_sec).toFixed(2)}×`]);
}
rows.push(['Peak RSS (ledger phases)', `${(r.peak_rss_bytes / MIB).toFixed(0)} MiB`]);
if (r.pino !== undefined) {
  rows.push(['Peak RSS with the pino phase', `${(r.process_peak_rss_bytes / MIB).toFixed(0)} MiB`]);
}
rows.push(['Node flags', nodeFlags().join(' ') || '(none)']);
printTable(`sealog ledger.append — ${formatInt(r.events)} audit events, durable (group commit)`, rows);

const json = stringArg(args, 'json');
if (json !== undefined) {
  const out = {
    events: r.events,
    events_per_sec: r.events_per_sec,
    input_bytes: r.input_bytes,
    latency_ms: r.latency_ms,
    durable: r.durable,
    peak_rss_bytes: r.peak_rss_bytes,
    process_peak_rss_bytes: r.process_peak_rss_bytes,
    node_flags: nodeFlags(),
    seconds: r.seconds,
    concurrency: r.concurrency,
    append_batch: r.append_batch,
    new_subjects: r.new_subjects,
    paced: r.paced,
    pino: r.pino,
    ratio_vs_pino: r.pino === undefined ? undefined : r.events_per_sec / r.pino.events_per_sec,
    node: process.version,
  };
  writeJsonResult(json, out);
}
