/**
 * `sealog verify PATH [--checkpoint FILE]... [--key FILE]... [--keyless] [--json]` (CONTRACT.md §4):
 * argument parsing, key and checkpoint files, a progress bar on a TTY, human or JSON output, and
 * the exit code — 0 verified, 1 tampering or corruption found, 2 usage or I/O error.
 *
 * Not here: the checks themselves (verify.ts). The `sealog` binary wires this function in.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NoteVerifier } from '@sealog/crypto-envelope';
import cliProgress from 'cli-progress';
import { verifyBundle } from './bundle-verifier';
import { VerifierError } from './errors';
import { type Finding, hexOffset } from './finding';
import type { AuditorCheckpoint, VerifyOptions, VerifyProgress, VerifyReport } from './report';
import { isLogDir, verifyDataDir, verifyLogDir } from './verify';

/** Exit code: everything verified. */
export const EXIT_VERIFIED = 0;
/** Exit code: tampering or corruption found. */
export const EXIT_FINDINGS = 1;
/** Exit code: usage or I/O error. */
export const EXIT_USAGE = 2;

/** Where the command writes. */
export interface VerifyCommandIO {
  /** Report output (human text or JSON). */
  readonly stdout: { write(chunk: string): unknown };
  /** Errors and the progress bar. */
  readonly stderr: { write(chunk: string): unknown };
  /** Show a progress bar (stderr is a terminal). */
  readonly isTTY: boolean;
}

/** Usage text of the command. */
export const VERIFY_USAGE = `usage: sealog verify PATH [--checkpoint FILE]... [--key FILE]... [--keyless] [--json]
  PATH              a data directory (holds logs/), one log directory (logs/<log_id>) or an
                    export bundle file (JSON Lines, docs/FORMAT.md "Export bundles")
  --checkpoint FILE a signed checkpoint you kept; the data (or the bundle's tree) must contain that
                    tree (repeatable)
  --key FILE        the master key (hex or base64; enables decryption checks) or the log's
                    public key (<name>+<hash>+<base64>, pinned instead of log.json's or the
                    bundle's own) (repeatable)
  --keyless         do not decrypt, even when <data-dir>/keys/master.key exists
  --json            print the report as JSON
exit codes: 0 verified, 1 tampering or corruption found, 2 usage or I/O error
`;

/**
 * Runs `sealog verify` with `argv` (the arguments after `verify`).
 * @returns the exit code (never throws for bad input or I/O; those give 2).
 * @example
 * process.exitCode = await runVerifyCommand(process.argv.slice(3), {
 *   stdout: process.stdout, stderr: process.stderr, isTTY: process.stderr.isTTY === true });
 */
export async function runVerifyCommand(argv: readonly string[], io: VerifyCommandIO): Promise<number> {
  let values: { checkpoint?: string[]; key?: string[]; keyless?: boolean; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        checkpoint: { type: 'string', multiple: true },
        key: { type: 'string', multiple: true },
        keyless: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.stderr.write(`sealog verify: ${(error as Error).message}\n${VERIFY_USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help === true) {
    io.stdout.write(VERIFY_USAGE);
    return EXIT_VERIFIED;
  }
  if (positionals.length !== 1) {
    io.stderr.write(`sealog verify: expected exactly one PATH, got ${positionals.length}\n${VERIFY_USAGE}`);
    return EXIT_USAGE;
  }
  const path = positionals[0]!;
  let bar: cliProgress.SingleBar | undefined;
  try {
    const options = buildOptions(values);
    if (io.isTTY && values.json !== true) {
      bar = new cliProgress.SingleBar(
        {
          format: 'verifying [{bar}] {percentage}% | {value}/{total} MiB | {duration_formatted}',
          stream: io.stderr as NodeJS.WritableStream,
          clearOnComplete: true,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      const b = bar;
      (options as { onProgress?: (p: VerifyProgress) => void }).onProgress = (p) => {
        const mib = (n: number): number => Math.round((n / 1048576) * 10) / 10;
        if (!started) {
          b.start(mib(p.totalBytes), 0);
          started = true;
        }
        b.update(mib(p.bytes));
      };
    }
    const report = await verifyPath(path, options);
    bar?.stop();
    io.stdout.write(
      values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(path, report),
    );
    return report.ok ? EXIT_VERIFIED : EXIT_FINDINGS;
  } catch (error) {
    bar?.stop();
    io.stderr.write(`sealog verify: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
}

/**
 * Verifies `path` as a data directory, a log directory or (a file) an export bundle.
 * @throws {VerifierError} `USAGE`, `IO_ERROR`, `BAD_KEY`.
 */
export function verifyPath(path: string, options: VerifyOptions): Promise<VerifyReport> {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    throw new VerifierError('IO_ERROR', `${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!isDir) {
    // A file is an export bundle: it carries its own checkpoint and holds no ciphertext.
    if (options.masterKey !== undefined) {
      throw new VerifierError('USAGE', `${path}: a master key does not apply to an export bundle`);
    }
    return verifyBundle(path, options);
  }
  if (existsSync(join(path, 'logs'))) return verifyDataDir(path, options);
  if (isLogDir(path)) return verifyLogDir(path, options);
  throw new VerifierError('USAGE', `${path}: neither a data directory (no logs/) nor a log directory`);
}

function buildOptions(values: { checkpoint?: string[]; key?: string[]; keyless?: boolean }): VerifyOptions {
  const checkpoints: AuditorCheckpoint[] = [];
  for (const file of values.checkpoint ?? []) checkpoints.push({ note: readText(file), file });
  const publicKeys: string[] = [];
  let masterKey: string | undefined;
  for (const file of values.key ?? []) {
    const text = readText(file).trim();
    if (/^[0-9a-fA-F]{64}$/.test(text) || /^[A-Za-z0-9+/]{43}=$/.test(text)) {
      if (masterKey !== undefined) throw new VerifierError('USAGE', `${file}: a second master key`);
      masterKey = text;
      continue;
    }
    try {
      NoteVerifier.parse(text);
    } catch (error) {
      throw new VerifierError(
        'BAD_KEY',
        `${file}: neither a master key (64 hex / 44 base64) nor a public key (<name>+<hash>+<base64>): ${(error as Error).message}`,
        { cause: error },
      );
    }
    publicKeys.push(text);
  }
  return {
    checkpoints,
    publicKeys,
    ...(masterKey === undefined ? {} : { masterKey }),
    ...(values.keyless === true ? { keyless: true } : {}),
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new VerifierError('IO_ERROR', `${file}: cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** One finding as a line: `ERROR CHAIN_HASH …/0000000002.seg @ 0x1a2b: frame 812 @ …: chain hash mismatch: …`. */
export function formatFinding(f: Finding): string {
  const at = f.offset === undefined ? '' : ` @ ${hexOffset(f.offset)}`;
  return `${f.severity.toUpperCase()} ${f.code} ${f.file}${at}: ${f.message}`;
}

/** The human report: findings, then a summary line. */
export function formatReport(path: string, report: VerifyReport): string {
  let out = '';
  for (const f of report.findings) out += `${formatFinding(f)}\n`;
  const s = report.summary;
  const mib = s.bytes / 1048576;
  const rate = s.ms > 0 ? mib / (s.ms / 1000) : 0;
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const b = s.bundle;
  if (b !== undefined) {
    out +=
      `${report.ok ? 'VERIFIED' : 'FAILED'} ${path}: export bundle v${b.version} of log ${b.logId} (${b.origin}), ` +
      `${b.records} record(s) (trailer: ${b.trailerCount ?? 'missing'}) against checkpoint size ${b.treeSize}, ` +
      `key ${b.keyTrust === 'pinned' ? 'pinned' : 'NOT pinned (embedded in the bundle)'}, ` +
      `${b.consistencyProofs > 0 ? `${b.consistencyProofs} consistency proof(s), ` : ''}` +
      `${b.auditorProven + b.auditorUnproven > 0 ? `your checkpoints: ${b.auditorProven} proven, ${b.auditorUnproven} NOT proven, ` : ''}` +
      `${mib.toFixed(1)} MiB, ${s.ms} ms` +
      `${report.ok ? '' : `; ${errors} error(s)`}\n`;
    return out;
  }
  out +=
    `${report.ok ? 'VERIFIED' : 'FAILED'} ${path}: ${s.logs} log(s), ${s.segments} segments, ${s.frames} frames, ` +
    `${s.leaves} leaves, ${s.keyed ? `${s.records} records decrypted` : 'keyless (no master key)'}, ` +
    `${mib.toFixed(1)} MiB, ${s.checkpoints} checkpoints verified, ${s.ms} ms (${rate.toFixed(0)} MiB/s)` +
    `${report.ok ? '' : `; ${errors} error(s)`}\n`;
  return out;
}
