/**
 * Measurement helpers shared by the benchmarks: latency summaries, peak RSS, on-disk footprint,
 * temporary data directories, and the tiny command-line parser of the entry points.
 *
 * Not here: anything that is timed. These helpers run before or after a timed section.
 */
import { type Dirent, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Bytes in one GiB. */
export const GIB: number = 1024 ** 3;
/** Bytes in one MiB. */
export const MIB: number = 1024 ** 2;

/** Latency summary in milliseconds. */
export interface LatencySummary {
  /** Median, ms. */
  readonly p50: number;
  /** 99th percentile, ms. */
  readonly p99: number;
  /** Arithmetic mean, ms. */
  readonly avg: number;
  /** Maximum, ms. */
  readonly max: number;
  /** Number of samples. */
  readonly samples: number;
}

/**
 * Summarizes latency samples (ms). Sorts `samples` in place.
 *
 * @throws {Error} when there are no samples (a benchmark that measured nothing is broken).
 */
export function summarizeLatency(samples: Float64Array): LatencySummary {
  if (samples.length === 0) throw new Error('summarizeLatency: expected at least one sample, got 0');
  samples.sort();
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  return {
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    avg: sum / samples.length,
    max: samples[samples.length - 1]!,
    samples: samples.length,
  };
}

/**
 * Summarizes latencies that stand for `weights[i]` samples each (e.g. one per `enqueue` call, every
 * entry of which has the call's latency): the same figures as {@link summarizeLatency} of the
 * expanded samples, in memory per call instead of per entry — so a benchmark's own bookkeeping does
 * not grow with the number of entries it pushes (its peak RSS is the pipeline's).
 *
 * @throws {Error} when the lengths differ, a weight is not a positive integer, or there is nothing.
 * @example
 * summarizeWeightedLatency(Float64Array.of(2, 1), Uint32Array.of(1, 3)); // p50 1, avg 1.25, samples 4
 */
export function summarizeWeightedLatency(latencies: Float64Array, weights: Uint32Array): LatencySummary {
  const n = latencies.length;
  if (weights.length !== n) {
    throw new Error(`summarizeWeightedLatency: ${n} latencies but ${weights.length} weights`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => latencies[a]! - latencies[b]!);
  let total = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (w < 1) throw new Error(`summarizeWeightedLatency: weight ${i} is ${w}, expected ≥ 1`);
    total += w;
    sum += w * latencies[i]!;
  }
  if (total === 0) throw new Error('summarizeWeightedLatency: expected at least one sample, got 0');
  // Nearest rank r (1-based) of the expanded samples: the first latency whose cumulative weight reaches r.
  const at = (q: number): number => {
    const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
    let seen = 0;
    for (const i of order) {
      seen += weights[i]!;
      if (seen >= rank) return latencies[i]!;
    }
    return latencies[order[n - 1]!]!;
  };
  return { p50: at(0.5), p99: at(0.99), avg: sum / total, max: latencies[order[n - 1]!]!, samples: total };
}

/** Nearest-rank quantile of sorted samples, 0 ≤ q ≤ 1. */
function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * The V8/Node options this process runs with, as given on the command line (module loading
 * options left out), e.g. `--single-threaded-gc --no-allocation-site-pretenuring`.
 */
export function nodeFlags(): string[] {
  const flags: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const loading = ['--import', '--require', '--loader', '--experimental-loader', '--conditions'];
    if (loading.includes(a)) i++;
    else if (a.startsWith('--') && !loading.some((l) => a.startsWith(`${l}=`))) flags.push(a);
  }
  return flags;
}

/** Peak resident set size of this process so far, bytes. */
export function peakRssBytes(): number {
  // maxRSS is in KiB (getrusage).
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Total size in bytes of the regular files under `dir` (recursively). Files and directories that
 * vanish during the walk (a live server replaces partial tiles) count as 0.
 */
export function directoryBytes(dir: string): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(path);
    else if (entry.isFile()) total += statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

/** A fresh temporary directory under `base` (default the OS temp dir) and its remover. */
export function temporaryDirectory(prefix: string, base?: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(base ?? tmpdir(), `sealog-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Parsed `--name value` / `--flag` arguments. */
export type ParsedArgs = Map<string, string | true>;

/**
 * Parses `--name value` and `--flag` arguments; refuses anything not in `known`.
 *
 * @throws {Error} for unknown options or positional arguments.
 */
export function parseArgs(argv: readonly string[], known: Record<string, 'value' | 'flag'>): ParsedArgs {
  const out: ParsedArgs = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const kind = name === undefined ? undefined : known[name];
    if (name === undefined || kind === undefined) {
      throw new Error(
        `unknown argument ${JSON.stringify(arg)}; expected one of --${Object.keys(known).join(', --')}`,
      );
    }
    if (kind === 'flag') {
      out.set(name, true);
    } else {
      const value = argv[++i];
      if (value === undefined) throw new Error(`--${name}: expected a value`);
      out.set(name, value);
    }
  }
  return out;
}

/**
 * A non-negative integer option (accepts `1_000_000`, `1e6`, `250k`, `2m`), or `fallback`.
 *
 * @param min - smallest accepted value (default 1).
 * @throws {Error} when the value is not a safe integer ≥ `min`.
 */
export function intArg(args: ParsedArgs, name: string, fallback: number, min = 1): number {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  if (raw === true) throw new Error(`--${name}: expected a number`);
  const m = /^([0-9._e]+)([km]?)$/i.exec(raw.replaceAll('_', ''));
  const n =
    m === null ? Number.NaN : Number(m[1]) * (m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1e3 : 1e6);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--${name}: expected an integer ≥ ${min}, got ${raw}`);
  return n;
}

/** A string option restricted to `choices`, or `fallback`. */
export function choiceArg<T extends string>(
  args: ParsedArgs,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  if (raw === true || !(choices as readonly string[]).includes(raw)) {
    throw new Error(`--${name}: expected one of ${choices.join('|')}, got ${String(raw)}`);
  }
  return raw as T;
}

/** `--prepare-workers 0|1|2` as ledger options: `{}` when absent (the ledger's default). */
export function prepareWorkersArg(args: ParsedArgs): { prepareWorkers?: 0 | 1 | 2 } {
  if (!args.has('prepare-workers')) return {};
  return {
    prepareWorkers: Number(choiceArg(args, 'prepare-workers', ['0', '1', '2'] as const, '1')) as 0 | 1 | 2,
  };
}

/** A string option or `undefined`. */
export function stringArg(args: ParsedArgs, name: string): string | undefined {
  const raw = args.get(name);
  if (raw === true) throw new Error(`--${name}: expected a value`);
  return raw;
}

/** `1234567` → `1,234,567`. */
export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with 2 decimals, or 3 significant digits below 1 ms. */
export function formatMs(ms: number): string {
  return ms < 1 ? `${ms.toPrecision(3)} ms` : `${ms.toFixed(2)} ms`;
}

/** Bytes as GiB / MiB. */
export function formatBytes(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(2)} GiB` : `${(bytes / MIB).toFixed(1)} MiB`;
}

/** Prints a two-column Markdown table. */
export function printTable(title: string, rows: readonly (readonly [string, string])[]): void {
  const w0 = Math.max(6, ...rows.map((r) => r[0].length));
  const w1 = Math.max(5, ...rows.map((r) => r[1].length));
  console.log(`\n${title}\n`);
  console.log(`| ${'metric'.padEnd(w0)} | ${'value'.padEnd(w1)} |`);
  console.log(`| ${'-'.repeat(w0)} | ${'-'.repeat(w1)} |`);
  for (const [a, b] of rows) console.log(`| ${a.padEnd(w0)} | ${b.padEnd(w1)} |`);
}

/** Writes a benchmark's `--json` result (pretty-printed, parent directories created). */
export function writeJsonResult(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}
