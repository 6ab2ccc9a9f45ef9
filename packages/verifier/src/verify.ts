/**
 * Entry points: verify one log directory or every log of a data directory. Resolves keys (the
 * master key from options or `<data-dir>/keys/master.key`), routes auditor checkpoints to the log
 * with their origin, and merges the per-log results into one report.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseCheckpoint } from '@sealog/crypto-envelope';
import { listSegmentFiles } from '@sealog/segment-store';
import { VerifierError } from './errors';
import { DEFAULT_MAX_FINDINGS, FindingCollector } from './finding';
import { type LogCounts, LogVerifier, readLogIdentity } from './log-verifier';
import type { AuditorCheckpoint, VerifyOptions, VerifyReport } from './report';
import { InlineRunner, sharedWorkerRunner, type UnitRunner } from './unit-pool';

/** Most worker threads used by default: the target machines have 2 cores. */
const MAX_DEFAULT_THREADS = 2;
/**
 * Below this many segment bytes verification runs on the calling thread: starting the workers
 * (once per process, ~60–150 ms from dist) costs about what they would save.
 */
export const PARALLEL_MIN_BYTES: number = 32 * 1024 * 1024;
/** Default segment bytes per unit of parallel work (README, "Benchmarks"). */
export const DEFAULT_UNIT_BYTES: number = 8 * 1024 * 1024;

/** Master key file of a data directory (docs/FORMAT.md, "Key material"). */
export const MASTER_KEY_FILE: string = join('keys', 'master.key');

/**
 * Verifies one log directory (`<data-dir>/logs/<log_id>`). Keyed checks run when
 * `options.masterKey` is given.
 * @throws {VerifierError} `BAD_KEY` for a key that does not parse; `IO_ERROR` when the directory
 *   cannot be read. Problems in the data are findings, never errors.
 * @example
 * const report = await verifyLogDir('sealog-data/logs/default', { checkpoints: [savedNote] });
 * if (!report.ok) for (const f of report.findings) console.log(f.message);
 */
export async function verifyLogDir(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyLogs([dir], options.keyless === true ? undefined : options.masterKey, options);
}

/**
 * Verifies every log under `<dataDir>/logs/`. Uses `<dataDir>/keys/master.key` for the keyed checks
 * unless `options.masterKey` is given or `options.keyless` is set.
 * @throws {VerifierError} as {@link verifyLogDir}; `IO_ERROR` when `logs/` cannot be listed.
 * @example
 * const report = await verifyDataDir('./sealog-data');
 * console.log(report.ok, report.summary);
 */
export async function verifyDataDir(dataDir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const logsDir = join(dataDir, 'logs');
  let names: string[];
  try {
    names = readdirSync(logsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (error) {
    throw new VerifierError('IO_ERROR', `${logsDir}: cannot list logs: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let masterKey = options.masterKey;
  if (masterKey === undefined && options.keyless !== true && existsSync(join(dataDir, MASTER_KEY_FILE))) {
    masterKey = readFileSync(join(dataDir, MASTER_KEY_FILE), 'utf8');
  }
  if (options.keyless === true) masterKey = undefined;
  return verifyLogs(
    names.map((n) => join(logsDir, n)),
    masterKey,
    options,
    logsDir,
  );
}

/** True when `path` looks like a log directory (has segments, `log.json` or `checkpoints.log`). */
export function isLogDir(path: string): boolean {
  return (
    existsSync(join(path, 'log.json')) ||
    existsSync(join(path, 'checkpoints.log')) ||
    (existsSync(path) && listSegmentFiles(path).length > 0)
  );
}

async function verifyLogs(
  dirs: readonly string[],
  masterKey: string | undefined,
  options: VerifyOptions,
  dataDirLogs?: string,
): Promise<VerifyReport> {
  const started = performance.now();
  const findings = new FindingCollector(options.maxFindings ?? DEFAULT_MAX_FINDINGS);
  const auditor = normalizeAuditor(options.checkpoints ?? []);
  if (dirs.length === 0) {
    findings.error('NO_LOGS', dataDirLogs ?? '', `no log directories under ${dataDirLogs}`);
  }
  // Route auditor checkpoints by origin; a single log directory takes them all (mismatches are findings).
  const origins = dirs.map((d) => readLogIdentity(d)?.origin);
  const routed: AuditorCheckpoint[][] = dirs.map(() => []);
  for (const a of auditor) {
    if (dirs.length === 1) {
      routed[0]!.push(a);
      continue;
    }
    let origin: string | undefined;
    try {
      origin = parseCheckpoint(noteText(a.note)).origin;
    } catch {
      origin = undefined;
    }
    const i = origins.indexOf(origin);
    if (i < 0) {
      findings.error(
        'AUDITOR_CHECKPOINT',
        a.file ?? 'checkpoint',
        `${a.file ?? 'checkpoint'}: no log in this data directory has origin ${JSON.stringify(origin)} (logs: ${origins.map((o) => JSON.stringify(o)).join(', ')})`,
        { ...(origin === undefined ? {} : { found: origin }) },
      );
    } else routed[i]!.push(a);
  }
  let totalBytes = 0;
  for (const d of dirs) {
    try {
      for (const s of listSegmentFiles(d)) totalBytes += statSync(s.path).size;
    } catch (error) {
      throw new VerifierError('IO_ERROR', `${d}: cannot list segments: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  let done = 0;
  const sum: LogCounts = { segments: 0, frames: 0, records: 0, leaves: 0, bytes: 0, checkpoints: 0 };
  const threads =
    options.threads ??
    (totalBytes >= PARALLEL_MIN_BYTES ? Math.min(MAX_DEFAULT_THREADS, availableParallelism()) : 0);
  if (!Number.isInteger(threads) || threads < 0) {
    throw new VerifierError('USAGE', `threads: expected an integer ≥ 0, got ${threads}`);
  }
  const unitBytes = options.unitBytes ?? DEFAULT_UNIT_BYTES;
  if (!Number.isSafeInteger(unitBytes) || unitBytes < 1) {
    throw new VerifierError('USAGE', `unitBytes: expected an integer ≥ 1, got ${unitBytes}`);
  }
  const runner: UnitRunner = threads === 0 ? new InlineRunner() : await sharedWorkerRunner(threads);
  for (let i = 0; i < dirs.length; i++) {
    const counts = await new LogVerifier({
      dir: dirs[i]!,
      masterKey,
      publicKeys: options.publicKeys ?? [],
      auditor: routed[i]!,
      findings,
      runner,
      unitBytes,
      onSegment: (bytes) => {
        done += bytes;
        options.onProgress?.({ bytes: done, totalBytes });
      },
    }).run();
    sum.segments += counts.segments;
    sum.frames += counts.frames;
    sum.records += counts.records;
    sum.leaves += counts.leaves;
    sum.bytes += counts.bytes;
    sum.checkpoints += counts.checkpoints;
  }
  return {
    ok: findings.errors === 0,
    findings: findings.result(dataDirLogs ?? dirs[0] ?? ''),
    summary: {
      logs: dirs.length,
      ...sum,
      keyed: masterKey !== undefined,
      ms: Math.round(performance.now() - started),
    },
  };
}

function normalizeAuditor(list: readonly (string | AuditorCheckpoint)[]): AuditorCheckpoint[] {
  return list.map((c, i) => (typeof c === 'string' ? { note: c, file: `checkpoint #${i + 1}` } : c));
}

/** The text part of a signed note (before the blank line), for routing by origin. */
function noteText(note: string): string {
  const split = note.lastIndexOf('\n\n');
  return split < 0 ? note : note.slice(0, split + 1);
}
