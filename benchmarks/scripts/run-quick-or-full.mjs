#!/usr/bin/env node
/**
 * Runs the cross-package benchmarks, each in its own process, and checks their JSON output.
 *
 * - `SEALOG_BENCH_QUICK=1`: small sizes, a smoke test for CI (< 60 s on the 2-core VM); results
 *   go to `bench-results/` (gitignored). Exit code 1 when any run fails or any output is insane.
 * - otherwise: realistic sizes (several minutes); results go to `results/` (small JSON summaries
 *   and `scalability.svg`, meant to be committed with the README figures they back).
 *
 * Usage: node benchmarks/scripts/run-quick-or-full.mjs   (from anywhere)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.SEALOG_BENCH_QUICK === '1';
const out = join(root, quick ? 'bench-results' : 'results');

const runs = quick
  ? [
      ['bench-thesis.ts', ['--entries', '20000', '--json', join(out, 'thesis-mixed.json')]],
      ['bench-audit.ts', ['--events', '20000', '--paced-seconds', '1', '--json', join(out, 'audit.json')]],
      ['floors.ts', ['--json', join(out, 'floors.json')]],
      [
        'bench-thesis.ts',
        ['--scalability', '--max-writers', '2', '--entries-per-producer', '10000', '--out', out],
      ],
    ]
  : [
      ['bench-thesis.ts', ['--entries', '500000', '--json', join(out, 'thesis-mixed.json')]],
      [
        'bench-thesis.ts',
        ['--entries', '500000', '--payload', 'thesis', '--json', join(out, 'thesis-thesis.json')],
      ],
      ['bench-audit.ts', ['--events', '500000', '--json', join(out, 'audit.json')]],
      ['floors.ts', ['--json', join(out, 'floors.json')]],
      [
        'bench-thesis.ts',
        ['--scalability', '--max-writers', '4', '--entries-per-producer', '50000', '--out', out],
      ],
    ];

// The V8 options the root bench:* scripts and the server run with (packages/ledger README, "Node options").
const nodeFlags = [
  '--single-threaded-gc',
  '--no-allocation-site-pretenuring',
  '--heap-growing-percent=100',
  '--no-memory-reducer',
];
const problems = [];
const started = Date.now();
for (const [file, args] of runs) {
  console.log(
    `\n$ node ${nodeFlags.join(' ')} --conditions=@sealog/source --import tsx src/${file} ${args.join(' ')}`,
  );
  const r = spawnSync(
    process.execPath,
    [...nodeFlags, '--conditions=@sealog/source', '--import', 'tsx', join(root, 'src', file), ...args],
    { cwd: root, stdio: 'inherit' },
  );
  if (r.status !== 0) problems.push(`${file} ${args.join(' ')}: exit ${r.status ?? r.signal}`);
}

/** Sanity checks on what the runs wrote: counted, durable, stored, finite. */
function check(name, ok, what) {
  if (!ok) problems.push(`${name}: ${what}`);
}
function readJson(name) {
  try {
    return JSON.parse(readFileSync(join(out, name), 'utf8'));
  } catch (error) {
    problems.push(`${name}: ${error.message}`);
    return undefined;
  }
}
const finite = (...xs) => xs.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
for (const name of quick ? ['thesis-mixed.json'] : ['thesis-mixed.json', 'thesis-thesis.json']) {
  const t = readJson(name);
  if (t === undefined) continue;
  check(name, t.entries > 0 && t.entries_per_sec > 0, 'entries counted');
  check(name, t.durable === true, 'durable');
  check(name, t.stored_bytes > 0 && t.write_amplification > 0, 'stored bytes > 0');
  check(name, finite(t.latency_ms?.p50, t.latency_ms?.avg, t.latency_ms?.max), 'latency finite');
  check(name, t.baseline?.entries_per_sec > 0, 'baseline timed');
}
const a = readJson('audit.json');
if (a !== undefined) {
  check('audit.json', a.events > 0 && a.events_per_sec > 0 && a.input_bytes > 0, 'events counted');
  check('audit.json', a.durable === true, 'durable');
  check(
    'audit.json',
    finite(a.latency_ms?.p50, a.latency_ms?.p99, a.paced?.latency_ms?.p99),
    'latency finite',
  );
  check('audit.json', a.pino?.events_per_sec > 0, 'pino baseline timed');
  check(
    'audit.json',
    finite(a.paced?.gc?.minor?.count, a.paced?.gc?.minor?.mean_ms, a.paced?.gc?.major?.count),
    'paced GC pauses reported',
  );
  check('audit.json', Array.isArray(a.node_flags), 'node flags reported');
}
const f = readJson('floors.json');
if (f !== undefined) {
  check(
    'floors.json',
    finite(f.audit?.ledger_us_per_event, f.audit?.crypto_us_per_event, f.thesis?.us_per_entry) &&
      f.audit.crypto_us_per_event > 0 &&
      f.thesis.baseline_entries_per_sec > 0,
    'floors measured',
  );
}
const s = readJson('scalability.json');
if (s !== undefined) check('scalability.json', s.points?.length > 0, 'points written');

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (problems.length > 0) {
  console.error(`\nbenchmarks FAILED after ${seconds} s:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`\nbenchmarks OK in ${seconds} s; JSON in ${out}`);
