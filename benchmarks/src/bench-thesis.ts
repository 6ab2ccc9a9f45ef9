/**
 * `bench:thesis` — the thesis main benchmark on the sealog pipeline, with the hand-written
 * single-thread baseline timed in the same run (see thesis.ts for what each side does).
 *
 * Usage: node --conditions=@sealog/source --import tsx benchmarks/src/bench-thesis.ts
 *   [--entries N] [--producers P] [--writers W] [--payload mixed|thesis] [--json FILE]
 *   [--writer-batch N] [--producer-batch N] [--queue N] [--no-baseline]
 *   [--prepare-workers 0|1|2]   (default the ledger's: frames are finished in a worker thread)
 *   [--cpu-profile FILE.cpuprofile]   (profiles the timed ledger section only)
 *   [--scalability [--max-writers N] [--entries-per-producer N] [--out DIR]]
 */
import {
  choiceArg,
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
import { runScalability } from './scalability';
import { runThesis, runThesisBaseline } from './thesis';
import { createEntryPool, THESIS_PAYLOADS } from './thesis-entries';

const args = parseArgs(process.argv.slice(2), {
  entries: 'value',
  producers: 'value',
  writers: 'value',
  payload: 'value',
  json: 'value',
  'writer-batch': 'value',
  'producer-batch': 'value',
  queue: 'value',
  'no-baseline': 'flag',
  scalability: 'flag',
  'max-writers': 'value',
  'entries-per-producer': 'value',
  out: 'value',
  'cpu-profile': 'value',
  'prepare-workers': 'value',
});

if (args.has('scalability')) {
  await runScalability({
    maxWriters: intArg(args, 'max-writers', 4),
    entriesPerProducer: intArg(args, 'entries-per-producer', 100_000),
    outDir: stringArg(args, 'out') ?? new URL('../results', import.meta.url).pathname,
    payloads: args.has('payload') ? [choiceArg(args, 'payload', THESIS_PAYLOADS, 'mixed')] : THESIS_PAYLOADS,
  });
} else {
  const payload = choiceArg(args, 'payload', THESIS_PAYLOADS, 'mixed');
  const entries = intArg(args, 'entries', 500_000);
  const writerBatch = intArg(args, 'writer-batch', 2048);
  const pool = createEntryPool(payload);
  const r = await runThesis({
    entries,
    producers: intArg(args, 'producers', 1),
    writers: intArg(args, 'writers', 1),
    payload,
    writerBatch,
    producerBatch: intArg(args, 'producer-batch', 4096),
    ...(args.has('queue') ? { queueRecords: intArg(args, 'queue', 0) } : {}),
    pool,
    ...(args.has('cpu-profile') ? { cpuProfile: stringArg(args, 'cpu-profile')! } : {}),
    ...prepareWorkersArg(args),
  });
  printTable(
    `sealog ledger — ${formatInt(r.entries)} × ${pool.entryBytes} B ${payload} entries, ${r.producers} producer(s), ${r.writers} writer(s), durable (group commit)`,
    [
      ['Execution time', `${r.seconds.toFixed(2)} s (+ ${r.close_seconds.toFixed(2)} s close)`],
      ['Throughput (entries)', `${formatInt(r.entries_per_sec)} entries/s`],
      ['Throughput (data)', `${r.gib_per_sec.toFixed(3)} GiB/s`],
      [
        'Latency (enqueue → durable)',
        `median ${formatMs(r.latency_ms.p50)}, avg ${formatMs(r.latency_ms.avg)}, max ${formatMs(r.latency_ms.max)}`,
      ],
      ['Write amplification', r.write_amplification.toFixed(3)],
      ['Storage footprint', `${formatBytes(r.stored_bytes)} for ${formatBytes(r.input_bytes)} input`],
      ['Peak RSS', `${(r.peak_rss_bytes / MIB).toFixed(0)} MiB`],
      ['Node flags', nodeFlags().join(' ') || '(none)'],
    ],
  );
  const out: Record<string, unknown> = {
    entries: r.entries,
    seconds: r.seconds,
    entries_per_sec: r.entries_per_sec,
    input_bytes: r.input_bytes,
    latency_ms: { p50: r.latency_ms.p50, avg: r.latency_ms.avg, max: r.latency_ms.max },
    stored_bytes: r.stored_bytes,
    write_amplification: r.write_amplification,
    durable: r.durable,
    peak_rss_bytes: r.peak_rss_bytes,
    node_flags: nodeFlags(),
    payload,
    producers: r.producers,
    writers: r.writers,
    gib_per_sec: r.gib_per_sec,
    latency_p99_ms: r.latency_ms.p99,
    close_seconds: r.close_seconds,
    node: process.version,
  };
  if (!args.has('no-baseline')) {
    const b = runThesisBaseline(pool, entries, writerBatch);
    printTable(
      'hand-written single-thread baseline (pack + snappy + AES-GCM + append; no hashing, no fsync)',
      [
        ['Execution time', `${b.seconds.toFixed(2)} s`],
        ['Throughput (entries)', `${formatInt(b.entries_per_sec)} entries/s`],
        ['Throughput (data)', `${b.gib_per_sec.toFixed(3)} GiB/s`],
        ['Write amplification', (b.stored_bytes / b.input_bytes).toFixed(3)],
        ['ledger / baseline', `${(r.entries_per_sec / b.entries_per_sec).toFixed(2)}×`],
      ],
    );
    out.baseline = {
      seconds: b.seconds,
      entries_per_sec: b.entries_per_sec,
      gib_per_sec: b.gib_per_sec,
      stored_bytes: b.stored_bytes,
      durable: false,
    };
    out.ratio_vs_baseline = r.entries_per_sec / b.entries_per_sec;
  }
  const json = stringArg(args, 'json');
  if (json !== undefined) {
    writeJsonResult(json, out);
  }
}
