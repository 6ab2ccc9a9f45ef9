/**
 * `sealog serve` (CONTRACT §4): opens the ledger (creating keys on first start), the API key store
 * (creating the admin key on first start), starts the HTTP API and prints how to use it; on
 * SIGTERM/SIGINT it stops accepting, lets in-flight requests finish, closes the ledger (drain,
 * fsync, final signed checkpoint) and exits 0.
 *
 * gRPC (`grpc.ts`) serves the same ledger and keys on its own port.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createIndexer, type Indexer, openWorkerSearchIndex, type WorkerSearchIndex } from '@sealog/index';
import { createLedger, type Ledger, type LedgerOptions, subjectStoreIdOfToken } from '@sealog/ledger';
import type { FastifyInstance } from 'fastify';
import { erasureOf } from './access-log';
import { ApiKeyStore } from './api-keys';
import { createApp, type ServerState } from './app';
import { resolveServeConfig, type ServeConfig, type ServeInputs } from './config';
import { ConfigError } from './errors';
import { type RunningGrpcServer, startGrpcServer } from './grpc';

/** The search index database, relative to the data dir (derived data: safe to delete, then reindex). */
export const INDEX_FILE: string = join('index', 'search.sqlite');

/** Whether a record's subject key is gone (erased) or was replaced by a newer key of the subject. */
export function isErasedIn(
  ledger: Ledger,
): (tenantId: string, token: Uint8Array, subjectKeyId: string) => Promise<boolean> {
  return async (tenantId, token, subjectKeyId) => {
    const key = await ledger.keyMaterial.subjects.get(subjectStoreIdOfToken(tenantId, token));
    return key === undefined || Buffer.from(key.keyTag).toString('hex') !== subjectKeyId;
  };
}

/** How long a graceful shutdown may take before the process gives up with exit 1. */
export const SHUTDOWN_TIMEOUT_MS = 30_000;

/** Version of this package, shown in `/openapi.json`. */
export const SERVER_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

/** A started server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  readonly port: number;
  /** The gRPC port actually bound. */
  readonly grpcPort: number;
  /** The admin key created on this (first) start, when it was generated (not from the env). */
  readonly createdAdminKey: string | undefined;
  /** True when this start created the key store (first start). */
  readonly firstStart: boolean;
  readonly ledger: Ledger;
  readonly index: WorkerSearchIndex;
  readonly indexer: Indexer;
  readonly app: FastifyInstance;
  /** Stops accepting, finishes in-flight requests, closes the ledger. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startServer} beyond the validated config. */
export interface StartOptions {
  /** `false` silences the request log. */
  readonly logger?: boolean;
  /** Where the request log goes (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
  /** Operator notices (e.g. "generated a new master key"); default: stderr. */
  readonly onNotice?: (message: string) => void;
  /**
   * Ledger tuning (queue bounds, batch timing, durability …) on top of the defaults; `dir` and
   * `onNotice` come from the config. Tests use a tiny `queueMaxRecords` to provoke 429.
   */
  readonly ledgerOptions?: Omit<LedgerOptions, 'dir' | 'onNotice'>;
  /** `false` leaves prom-client's process metrics out of `/metrics` (tests); default: included. */
  readonly processMetrics?: boolean;
  /** Search indexer tuning (tests use a long poll interval to observe an index that lags). */
  readonly indexerOptions?: { readonly pollIntervalMs?: number };
}

/**
 * Starts the server on a validated config.
 * @throws {ConfigError} when the port is taken or the key file is malformed; ledger recovery errors.
 * @example
 * const server = await startServer(resolveServeConfig({ port: '0' }, process.env));
 * await server.close();
 */
export async function startServer(config: ServeConfig, options: StartOptions = {}): Promise<RunningServer> {
  const notice = options.onNotice ?? ((m: string) => process.stderr.write(`sealog: ${m}\n`));
  const state: ServerState = { phase: 'starting' };
  const ledger = await createLedger({
    ...config.ledger,
    ...options.ledgerOptions,
    dir: config.dataDir,
    onNotice: notice,
  });
  let app: FastifyInstance | undefined;
  let index: WorkerSearchIndex | undefined;
  let indexer: Indexer | undefined;
  let grpc: RunningGrpcServer | undefined;
  try {
    // Derived and rebuildable (`sealog reindex`); it follows durable records in the background.
    // Writes (inserts, checkpoints, erasures) run on the index's own worker thread; searches read
    // through a read-only connection here and never wait for a write transaction.
    index = await openWorkerSearchIndex({ path: join(config.dataDir, INDEX_FILE), ...config.index });
    let lastIndexError = '';
    indexer = createIndexer({
      ...config.indexer,
      ...options.indexerOptions,
      ledger,
      index,
      // Records of erased subjects are indexed without their token, also when the index file is
      // rebuilt from scratch (the erasures are remembered in the key store, not only here).
      isErased: isErasedIn(ledger),
      erasureOf,
      onError: (error) => {
        const message = (error as Error).message;
        if (message !== lastIndexError) notice(`search index: ${message} (retrying)`);
        lastIndexError = message;
      },
    });
    indexer.start();
    const lagOf = indexer;
    const opened = await ApiKeyStore.open(config.dataDir, config.adminKey);
    if (opened.adminKeyIgnored) notice('SEALOG_ADMIN_KEY ignored: the key store already exists');
    app = createApp({
      ledger,
      keys: opened.store,
      state,
      index,
      indexLag: () => lagOf.lag().records,
      version: SERVER_VERSION,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
      ...(options.processMetrics === undefined ? {} : { processMetrics: options.processMetrics }),
    });
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new ConfigError(`cannot listen on ${config.host}:${config.port}: ${code}`, { cause: error });
      }
      throw error;
    }
    grpc = await startGrpcServer({
      ledger,
      keys: opened.store,
      state,
      host: config.host,
      port: config.grpcPort,
      onNotice: notice,
    });
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    state.phase = 'ready';
    const started = app;
    const startedIndex = index;
    const startedIndexer = indexer;
    const startedGrpc = grpc;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${address.port}`,
      port: address.port,
      grpcPort: grpc.port,
      createdAdminKey: config.adminKey === undefined ? opened.createdAdminKey : undefined,
      firstStart: opened.createdAdminKey !== undefined,
      ledger,
      index: startedIndex,
      indexer: startedIndexer,
      app: started,
      close(): Promise<void> {
        closing ??= (async () => {
          // Order matters: refuse new work first, let in-flight requests (durable waits) finish,
          // then drain the ledger so everything acknowledged is fsync'd and checkpointed.
          state.phase = 'draining';
          await Promise.all([started.close(), startedGrpc.close()]);
          await startedIndexer.stop();
          await ledger.close();
          await startedIndex.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => {});
    await grpc?.close().catch(() => {});
    await indexer?.stop().catch(() => {});
    await ledger.close().catch(() => {});
    await index?.close().catch(() => {});
    throw error;
  }
}

/** The ready-to-paste lines printed after start. */
export function startBanner(server: RunningServer, config: ServeConfig): string {
  const lines = [
    `sealog listening on ${server.url} (data dir ${config.dataDir})`,
    `gRPC (sealog.v1.AuditLogService) on ${config.host}:${server.grpcPort}`,
  ];
  let keyRef = '$SEALOG_KEY';
  if (server.createdAdminKey !== undefined) {
    lines.push(
      '',
      'Admin API key (shown once; store it now, only its hash is kept):',
      `  ${server.createdAdminKey}`,
    );
    keyRef = server.createdAdminKey;
  } else if (server.firstStart) {
    lines.push('', 'Admin API key: the value of SEALOG_ADMIN_KEY.');
    keyRef = '$SEALOG_ADMIN_KEY';
  }
  const event = JSON.stringify({
    tenant_id: 'acme',
    occurred_at: '2026-11-23T10:00:00Z',
    action: 'role.upgrade',
    actor: { id: 'u-7', type: 'user' },
    resource: { type: 'role', id: 'admin' },
  });
  lines.push(
    '',
    'Try:',
    `  curl -sS -X POST '${server.url}/api/v1/events' -H "Authorization: Bearer ${keyRef}" -H 'Content-Type: application/json' -d '${event}'`,
    '',
    'Then search it (the index follows within ~50 ms):',
    `  curl -sS '${server.url}/api/v1/tenants/acme/audit-logs?actor_id=u-7' -H "Authorization: Bearer ${keyRef}"`,
    '',
  );
  return lines.join('\n');
}

/**
 * Runs `sealog serve` until SIGTERM/SIGINT.
 * @returns the exit code for usage/config errors (2); on success the process exits from the
 *   signal handler (0, or 1 when shutdown failed or timed out).
 */
export async function runServeCommand(
  inputs: ServeInputs,
  env: NodeJS.ProcessEnv,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  let config: ServeConfig;
  let server: RunningServer;
  try {
    config = resolveServeConfig(inputs, env);
    server = await startServer(config, { onNotice: (m) => io.stderr.write(`sealog: ${m}\n`) });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`sealog serve: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  io.stdout.write(startBanner(server, config));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      io.stderr.write(`sealog: ${signal} again while draining; still finishing\n`);
      return;
    }
    stopping = true;
    io.stderr.write(`sealog: ${signal}: draining\n`);
    const timer = setTimeout(() => {
      io.stderr.write(`sealog: shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    server.close().then(
      () => {
        io.stderr.write('sealog: stopped (ledger closed, final checkpoint signed)\n');
        process.exitCode = 0;
        // Nothing should keep the loop alive now; if something does, do not hang the operator.
        setTimeout(() => process.exit(0), 1000).unref();
      },
      (error: unknown) => {
        io.stderr.write(`sealog: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return 0;
}
