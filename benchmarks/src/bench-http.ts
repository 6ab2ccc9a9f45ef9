/**
 * `bench:http` — the service end to end over loopback HTTP: `sealog serve` runs as its own process
 * (the real CLI, fresh data dir, durable group commit), and autocannon (in this process) posts
 * batches of audit events, then runs searches.
 *
 * Phase 1, ingest: `POST /api/v1/events` with `{"events": [...]}` of `--batch` events (1,000),
 * `--connections` in flight (4), for `--seconds` (20). Events/s counts only events of 200
 * (durable) answers; 429s are reported separately (backpressure, nothing stored).
 * Phase 2, query: once the search index has caught up (`sealog_index_lag_records` = 0), tenant +
 * actor + 7-day searches with limit 50 (random tenant/actor of the ingested corpus) for
 * `--query-seconds` (10): requests/s and latency percentiles (autocannon's HdrHistogram).
 *
 * Both processes share the machine's 2 cores: the figures are what one box does serving and
 * loading itself, not the server alone. Usage:
 *   node --conditions=@sealog/source --import tsx benchmarks/src/bench-http.ts
 *     [--seconds S] [--batch N] [--connections C] [--query-seconds S] [--json FILE]
 *     [--cpu-prof-dir DIR]   (the server writes one .cpuprofile per thread there on exit)
 *     [--config FILE]        (a `sealog serve` config file, e.g. other batch sizes)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ACTORS, makeAuditEvents, TENANTS } from './audit-events';
import {
  directoryBytes,
  formatInt,
  intArg,
  MIB,
  parseArgs,
  printTable,
  stringArg,
  temporaryDirectory,
  writeJsonResult,
} from './measure';

const args = parseArgs(process.argv.slice(2), {
  seconds: 'value',
  batch: 'value',
  connections: 'value',
  'query-seconds': 'value',
  'cpu-prof-dir': 'value',
  config: 'value',
  json: 'value',
});
const seconds = intArg(args, 'seconds', 20);
const batch = intArg(args, 'batch', 1000);
const connections = intArg(args, 'connections', 4);
const querySeconds = intArg(args, 'query-seconds', 10, 0);
const KEY = 'bench-admin-key-0123456789abcdef';
const ROOT = join(import.meta.dirname, '..', '..');
/** Tenant of the hot resource's events (the corpus assigns tenants by actor; see below). */
let HOT_TENANT = '';

/** Starts `sealog serve` and resolves with its URL once it printed the banner. */
async function startServerProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      // As `pnpm start` runs the server (packages/ledger README, "Node options").
      '--single-threaded-gc',
      '--no-allocation-site-pretenuring',
      '--heap-growing-percent=100',
      '--no-memory-reducer',
      '--conditions=@sealog/source',
      ...(stringArg(args, 'cpu-prof-dir') === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${stringArg(args, 'cpu-prof-dir')}`]),
      '--import',
      'tsx',
      join(ROOT, 'apps/server/src/cli.ts'),
      'serve',
      ...(stringArg(args, 'config') === undefined ? [] : ['--config', stringArg(args, 'config')!]),
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--grpc-port',
      '0',
    ],
    { env: { ...process.env, SEALOG_ADMIN_KEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  // The request log (pino, one line per request) is drained but not kept.
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer): void => {
      if (out.length < 64 * 1024) out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m !== null) resolve({ child, url: m[1]! });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

/** User + system CPU seconds of a process so far, from /proc (Linux); `undefined` elsewhere. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds per thread of a process so far (`/proc/<pid>/task/<tid>/stat`, Linux), by thread id;
 * empty elsewhere. Node names every thread `node`, so threads are told apart by id: the main thread's
 * id is the pid; worker threads start after V8's and libuv's helper threads (higher ids).
 */
function threadCpuSeconds(pid: number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (pid === undefined) return out;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    // Not Linux, or the process is gone: no per-thread figures.
  }
  return out;
}

async function indexLag(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^sealog_index_lag_records (\d+)/m.exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

const tmp = temporaryDirectory('sealog-bench-http-');
const dataDir = join(tmp.dir, 'data');
const { child, url } = await startServerProcess(dataDir);
try {
  // A pool of distinct bodies, cycled; no client event ids, so repeats are new events.
  const POOL = 16;
  const corpus = makeAuditEvents(batch * POOL, 7);
  // One hot resource: every 200th event, so its history is spread over every frame (worst case
  // for reads: each record of the history costs its own frame).
  HOT_TENANT = corpus[0]!.tenant_id as string;
  for (let i = 0; i < corpus.length; i += 200) {
    corpus[i]!.resource = { type: 'document', id: 'hot-1' };
    corpus[i]!.tenant_id = HOT_TENANT;
  }
  const bodies = Array.from({ length: POOL }, (_, i) =>
    JSON.stringify({ events: corpus.slice(i * batch, (i + 1) * batch) }),
  );
  let next = 0;
  let events = 0;
  let rejected = 0;
  const cpuAtStart = processCpuSeconds(child.pid);
  const threadsAtStart = threadCpuSeconds(child.pid);
  const ingest = await autocannon({
    url: `${url}/api/v1/events`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: bodies[next++ % POOL]! }),
        onResponse: (status) => {
          if (status === 200) events += batch;
          else if (status === 429) rejected += 1;
        },
      },
    ],
  });
  const eventsPerSec = events / seconds;

  let query: autocannon.Result | undefined;
  const lagStart = performance.now();
  while ((await indexLag(url)) !== 0) await new Promise((r) => setTimeout(r, 100));
  const catchUpSeconds = (performance.now() - lagStart) / 1000;
  // CPU the server spent on the ingest and on indexing it: a steadier figure than events/s on a
  // machine shared with noisy neighbours (they slow the clock, not the work).
  const cpuAtEnd = processCpuSeconds(child.pid);
  const cpuSeconds = cpuAtStart === undefined || cpuAtEnd === undefined ? undefined : cpuAtEnd - cpuAtStart;
  // Per thread, busiest first (≥ 1 µs per event): main thread, prepare worker, index writer, V8's
  // GC helpers and libuv's pool show up as separate ids.
  const threads = [...threadCpuSeconds(child.pid)]
    .map(([tid, s]) => ({
      tid,
      main: tid === child.pid,
      us_per_event: ((s - (threadsAtStart.get(tid) ?? 0)) * 1e6) / Math.max(1, events),
    }))
    .filter((t) => t.us_per_event >= 1)
    .sort((a, b) => b.us_per_event - a.us_per_event);
  if (querySeconds > 0) {
    const day = 86_400;
    const base = Date.UTC(2026, 10, 23, 8, 0, 0) / 1000;
    let q = 0;
    query = await autocannon({
      url,
      connections: 2,
      duration: querySeconds,
      headers: { authorization: `Bearer ${KEY}` },
      requests: [
        {
          setupRequest: (req) => {
            q += 1;
            const actor = (q * 7919) % ACTORS;
            const tenant = `tenant-${(actor % TENANTS).toString().padStart(3, '0')}`;
            return {
              ...req,
              path: `/api/v1/tenants/${tenant}/audit-logs?actor_id=user-${actor}&start_time=${base - 3 * day}&end_time=${base + 4 * day}&limit=50`,
            };
          },
        },
      ],
    });
  }
  let history: autocannon.Result | undefined;
  if (querySeconds > 0) {
    history = await autocannon({
      url: `${url}/api/v1/tenants/${HOT_TENANT}/resources/document/hot-1/history?limit=1000`,
      connections: 1,
      duration: Math.max(1, Math.round(querySeconds / 2)),
      headers: { authorization: `Bearer ${KEY}` },
    });
  }
  const dataBytes = directoryBytes(dataDir);
  const rows: [string, string][] = [
    ['Ingest', `${formatInt(eventsPerSec)} events/s durable (${formatInt(events)} events in ${seconds} s)`],
    [
      `Requests (${batch} events, ${connections} connections)`,
      `${formatInt(ingest.requests.average)} req/s; latency p50 ${ingest.latency.p50} ms, p99 ${ingest.latency.p99} ms, max ${ingest.latency.max} ms`,
    ],
    ['Non-2xx / 429 / errors', `${ingest.non2xx} / ${rejected} / ${ingest.errors}`],
    ['Index catch-up after ingest', `${catchUpSeconds.toFixed(1)} s`],
    [
      'Server CPU per event (ingest + indexing)',
      cpuSeconds === undefined
        ? 'n/a (needs /proc)'
        : `${((cpuSeconds * 1e6) / Math.max(1, events)).toFixed(0)} µs (${(cpuSeconds / (seconds + catchUpSeconds)).toFixed(2)} cores busy on average)`,
    ],
    [
      'Server CPU per event by thread (µs)',
      threads.length === 0
        ? 'n/a (needs /proc)'
        : threads.map((t) => `${t.main ? 'main' : t.tid} ${t.us_per_event.toFixed(0)}`).join(', '),
    ],
    ['Data dir', `${(dataBytes / MIB).toFixed(0)} MiB`],
  ];
  if (query !== undefined) {
    rows.push([
      'Search (tenant + actor + 7 days, limit 50)',
      `${formatInt(query.requests.average)} req/s; p50 ${query.latency.p50} ms, p99 ${query.latency.p99} ms, max ${query.latency.max} ms; non-2xx ${query.non2xx}`,
    ]);
  }
  if (history !== undefined) {
    rows.push([
      'History of the hot resource (limit 1000, spread over every frame)',
      `${formatInt(history.requests.average)} req/s; p50 ${history.latency.p50} ms, p99 ${history.latency.p99} ms; non-2xx ${history.non2xx}`,
    ]);
  }
  printTable('sealog over HTTP (sealog serve + autocannon on loopback, one 2-core machine)', rows);
  const json = stringArg(args, 'json');
  if (json !== undefined) {
    writeJsonResult(json, {
      seconds,
      batch,
      connections,
      events,
      events_per_sec: Math.round(eventsPerSec),
      requests_per_sec: ingest.requests.average,
      latency_ms: { p50: ingest.latency.p50, p99: ingest.latency.p99, max: ingest.latency.max },
      non_2xx: ingest.non2xx,
      rejected_429: rejected,
      errors: ingest.errors,
      index_catch_up_seconds: catchUpSeconds,
      ...(cpuSeconds === undefined
        ? {}
        : { server_cpu_us_per_event: Math.round((cpuSeconds * 1e6) / Math.max(1, events)) }),
      server_threads_us_per_event: threads.map((t) => ({
        thread: t.main ? 'main' : t.tid,
        us: Math.round(t.us_per_event),
      })),
      data_bytes: dataBytes,
      ...(query === undefined
        ? {}
        : {
            query: {
              requests_per_sec: query.requests.average,
              latency_ms: { p50: query.latency.p50, p99: query.latency.p99, max: query.latency.max },
              non_2xx: query.non2xx,
            },
          }),
      ...(history === undefined
        ? {}
        : {
            history: {
              requests_per_sec: history.requests.average,
              latency_ms: {
                p50: history.latency.p50,
                p99: history.latency.p99,
                max: history.latency.max,
              },
              non_2xx: history.non2xx,
            },
          }),
    });
  }
  if (
    ingest.errors > 0 ||
    events === 0 ||
    (query !== undefined && query.non2xx > 0) ||
    (history !== undefined && history.non2xx > 0)
  ) {
    process.exitCode = 1;
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  tmp.remove();
}
