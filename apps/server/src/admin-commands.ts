/**
 * Offline operator commands on a data directory (CONTRACT §4 "as the project defines them"):
 * - `sealog reindex` rebuilds the search index from the logs;
 * - `sealog export` writes an export (ndjson, csv or a verifiable bundle) of one tenant;
 * - `sealog keys create|list|revoke` manages API keys.
 *
 * `reindex` and `export` open the ledger, so they need the server stopped (the data directory
 * lock says so, exit 2). `keys` only edits `keys/api-keys.json`, which a running server re-reads
 * within a second, so it works while the server runs. Exports made here are recorded in the
 * tenant's log like API exports, with actor `cli:<os user>`.
 *
 * Exit codes: 0 done, 2 usage, configuration or I/O error (messages name the flag or file).
 */
import { createWriteStream, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createIndexer, openSearchIndex, reindex } from '@sealog/index';
import { createLedger, type Ledger, LedgerError } from '@sealog/ledger';
import cliProgress from 'cli-progress';
import { AccessLog, erasureOf } from './access-log';
import { ApiKeyStore, isRole, isTenantScope, type Role } from './api-keys';
import { DEFAULT_DATA_DIR } from './config';
import { ConfigError, HttpError } from './errors';
import { type ExportFormat, parseConsistencyFrom, startExport } from './export-stream';
import { filterMetadata, parseFilter } from './filters';
import { INDEX_FILE, isErasedIn } from './serve';

/** Streams the commands write to. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly isTTY: boolean;
}

/** The data directory of a command: flag, then `SEALOG_DATA_DIR`, then the default. */
function dataDirOf(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? (env.SEALOG_DATA_DIR || DEFAULT_DATA_DIR));
}

function requireDataDir(dir: string): void {
  if (!existsSync(join(dir, 'logs'))) {
    throw new ConfigError(`no sealog data directory at ${dir} (no logs/ inside); give --data-dir`);
  }
}

/** Opens the ledger of an existing data dir for an offline command (quiet; lock errors explained). */
async function openLedger(dir: string): Promise<Ledger> {
  requireDataDir(dir);
  try {
    return await createLedger({ dir, onNotice: () => {}, prepareWorkers: 0 });
  } catch (error) {
    if (error instanceof LedgerError && error.code === 'LOCKED') {
      throw new ConfigError(`${error.message}; stop the server first`);
    }
    throw error;
  }
}

/** Runs `body`, mapping expected failures to exit 2 with one line on stderr. */
async function guarded(name: string, io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof HttpError || error instanceof LedgerError) {
      io.stderr.write(`sealog ${name}: ${error.message}\n`);
      return 2;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      io.stderr.write(`sealog ${name}: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

/**
 * `sealog reindex [--data-dir DIR]`: empties the search index and indexes every durable record
 * again (erased subjects stay erased). Progress bar on a TTY.
 */
export async function runReindexCommand(
  opts: { dataDir?: string | undefined },
  env: NodeJS.ProcessEnv,
  io: CommandIo,
): Promise<number> {
  return guarded('reindex', io, async () => {
    const dir = dataDirOf(opts.dataDir, env);
    const ledger = await openLedger(dir);
    const index = openSearchIndex({ path: join(dir, INDEX_FILE) });
    const started = performance.now();
    const total = ledger.logs().reduce((n, l) => n + l.treeSize, 0);
    let bar: cliProgress.SingleBar | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (io.isTTY) {
        bar = new cliProgress.SingleBar(
          {
            format: 'reindexing [{bar}] {percentage}% | {value}/{total} records | {duration_formatted}',
            stream: io.stderr as NodeJS.WritableStream,
            clearOnComplete: true,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
        const b = bar;
        // The rows count of the index is its progress; read it a few times per second.
        timer = setInterval(() => b.update(Math.min(total, index.stats().rows)), 250);
      }
      await reindex(ledger, index, { isErased: isErasedIn(ledger), erasureOf });
    } finally {
      if (timer !== undefined) clearInterval(timer);
      bar?.stop();
      index.close();
      await ledger.close();
    }
    const seconds = (performance.now() - started) / 1000;
    io.stdout.write(
      `reindexed ${total} records of ${dir} in ${seconds.toFixed(1)} s (${Math.round(total / Math.max(seconds, 1e-3))} records/s)\n`,
    );
    return 0;
  });
}

/** Options of `sealog export`. */
export interface ExportOptions {
  readonly dataDir?: string | undefined;
  readonly tenant?: string | undefined;
  readonly format?: string | undefined;
  readonly out?: string | undefined;
  readonly logId?: string | undefined;
  readonly order?: string | undefined;
  readonly personal?: boolean | undefined;
  readonly actorId?: string | undefined;
  readonly action?: string | undefined;
  readonly resourceType?: string | undefined;
  readonly resourceId?: string | undefined;
  readonly result?: string | undefined;
  readonly category?: string | undefined;
  readonly startTime?: string | undefined;
  readonly endTime?: string | undefined;
  /** `--consistency-from N[,N…]`, repeatable (bundle). */
  readonly consistencyFrom?: readonly string[] | undefined;
}

/**
 * `sealog export --tenant T [--format ndjson|csv|bundle] [filters] [--consistency-from N[,N…]]
 * [--out FILE]`: brings the index up to date, then streams the export to FILE or stdout.
 */
export async function runExportCommand(
  opts: ExportOptions,
  env: NodeJS.ProcessEnv,
  io: CommandIo,
): Promise<number> {
  return guarded('export', io, async () => {
    if (opts.tenant === undefined || !isTenantScope(opts.tenant) || opts.tenant === '*') {
      throw new ConfigError('--tenant: expected a tenant id (1..128 chars [A-Za-z0-9._-])');
    }
    const format = opts.format ?? 'ndjson';
    if (format !== 'ndjson' && format !== 'csv' && format !== 'bundle') {
      throw new ConfigError(`--format: expected ndjson, csv or bundle, got ${JSON.stringify(format)}`);
    }
    if (opts.order !== undefined && opts.order !== 'asc' && opts.order !== 'desc') {
      throw new ConfigError(`--order: expected asc or desc, got ${JSON.stringify(opts.order)}`);
    }
    const consistencyFrom = parseConsistencyFrom(
      opts.consistencyFrom === undefined || opts.consistencyFrom.length === 0
        ? undefined
        : opts.consistencyFrom,
      '--consistency-from',
    );
    if (consistencyFrom !== undefined && format !== 'bundle') {
      throw new ConfigError('--consistency-from: only with --format bundle');
    }
    const filter = parseFilter({
      actor_id: opts.actorId,
      action: opts.action,
      resource_type: opts.resourceType,
      resource_id: opts.resourceId,
      result: opts.result,
      category: opts.category,
      start_time: opts.startTime,
      end_time: opts.endTime,
    });
    const dir = dataDirOf(opts.dataDir, env);
    const ledger = await openLedger(dir);
    const index = openSearchIndex({ path: join(dir, INDEX_FILE) });
    try {
      const indexer = createIndexer({ ledger, index, isErased: isErasedIn(ledger), erasureOf });
      try {
        await indexer.catchUp();
      } finally {
        await indexer.stop();
      }
      const started = startExport({
        ledger,
        index,
        tenant: opts.tenant,
        filter,
        format: format as ExportFormat,
        personal: opts.personal !== false,
        order: opts.order === 'desc' ? 'desc' : 'asc',
        ...(opts.logId === undefined ? {} : { logId: opts.logId }),
        ...(consistencyFrom === undefined ? {} : { consistencyFrom }),
      });
      const sink = opts.out === undefined ? io.stdout : createWriteStream(opts.out, { mode: 0o600 });
      await pipeline(started.stream, sink, { end: opts.out !== undefined });
      const { count, completed } = await started.done;
      const token =
        filter.actorId === undefined
          ? undefined
          : ledger.keyMaterial.subjectToken(opts.tenant, filter.actorId);
      await new AccessLog(ledger).record(
        `cli:${userInfo().username}`,
        opts.tenant,
        'sealog.export',
        { ...filterMetadata(filter, token), format, count, completed },
        'durable',
      );
      io.stderr.write(
        `exported ${count} records of tenant ${opts.tenant}${opts.out === undefined ? '' : ` to ${opts.out}`}\n`,
      );
      return 0;
    } finally {
      index.close();
      await ledger.close();
    }
  });
}

/** `sealog keys create --tenant T --roles r1,r2 | list | revoke KEY_ID` (server may be running). */
export async function runKeysCommand(
  action: string,
  opts: {
    dataDir?: string | undefined;
    tenant?: string | undefined;
    roles?: string | undefined;
    json?: boolean | undefined;
  },
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  io: CommandIo,
): Promise<number> {
  return guarded('keys', io, async () => {
    const dir = dataDirOf(opts.dataDir, env);
    if (!existsSync(join(dir, 'keys', 'api-keys.json'))) {
      throw new ConfigError(
        `no API key file in ${dir} (start the server once to create it); give --data-dir`,
      );
    }
    const { store } = await ApiKeyStore.open(dir);
    switch (action) {
      case 'create': {
        if (opts.tenant === undefined || !isTenantScope(opts.tenant)) {
          throw new ConfigError('--tenant: expected "*" or a tenant id (1..128 chars [A-Za-z0-9._-])');
        }
        const roles = (opts.roles ?? '').split(',').filter((r) => r !== '');
        const bad = roles.filter((r) => !isRole(r));
        if (roles.length === 0 || bad.length > 0) {
          throw new ConfigError(
            `--roles: expected a comma-separated list of ingest, read, export, erase, admin${bad.length > 0 ? `; unknown: ${bad.join(', ')}` : ''}`,
          );
        }
        const created = await store.create(opts.tenant, roles as Role[]);
        if (opts.json === true) io.stdout.write(`${JSON.stringify(created)}\n`);
        else io.stdout.write(`${created.key}\n`);
        io.stderr.write(
          `created ${created.key_id} (tenant ${opts.tenant}, roles ${roles.join(',')}); the key is shown once\n`,
        );
        return 0;
      }
      case 'list': {
        const keys = store.list();
        if (opts.json === true) {
          io.stdout.write(`${JSON.stringify(keys)}\n`);
        } else {
          for (const k of keys)
            io.stdout.write(`${k.key_id}\t${k.tenant_id}\t${k.roles.join(',')}\t${k.created_at}\n`);
        }
        return 0;
      }
      case 'revoke': {
        const keyId = args[0];
        if (keyId === undefined || args.length !== 1)
          throw new ConfigError('usage: sealog keys revoke KEY_ID');
        if (!(await store.revoke(keyId))) throw new ConfigError(`no API key ${keyId}`);
        io.stderr.write(`revoked ${keyId} (a running server stops accepting it within a second)\n`);
        return 0;
      }
      default:
        throw new ConfigError(
          `unknown keys action ${JSON.stringify(action)}: expected create, list or revoke`,
        );
    }
  });
}
