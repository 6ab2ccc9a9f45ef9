/**
 * Server configuration from flags, environment and a JSON config file — flags win over the
 * environment, which wins over the file, which wins over the defaults — validated once at start
 * with messages that name the flag, variable or file path (`/ledger/batch_max_records`) and quote
 * what was given. The file is checked against a JSON Schema (ajv) that refuses unknown keys, so
 * a misspelt setting fails the start instead of being ignored.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { LedgerOptions, LogConfig } from '@sealog/ledger';
import { Ajv } from 'ajv';
import { ConfigError } from './errors';

/** Embedded default data directory (CONTRACT §4), relative to the working directory. */
export const DEFAULT_DATA_DIR = './sealog-data';
/** Default HTTP port (CONTRACT §4). */
export const DEFAULT_HTTP_PORT = 7070;
/** Default gRPC port (CONTRACT §4). */
export const DEFAULT_GRPC_PORT = 7071;
/**
 * Records per batch (frame) in the server, unless configured: a search or history reads (decrypts
 * and decompresses) the whole frame of every record it returns, so smaller frames bound the read
 * cost per hit. `pnpm bench:http`, same run conditions: 2048 → search p50 166 ms / p99 528 ms,
 * 256 → p50 34 ms / p99 76 ms. Then (two A/B rounds, 12 s ingest): 256 → 64 took the cold
 * 1,000-record history (one record per frame) from p99 311–315 ms to 52–95 ms and search p50 from
 * 15–16 to 9–11 ms, for ~10% more server CPU per ingested event (medians 170 vs 196 µs, noisy)
 * and ~7% more bytes on disk.
 */
export const DEFAULT_SERVER_BATCH_RECORDS = 64;
/**
 * The ledger's worker threads in the server, unless configured (the library's default is 1): with
 * the server's small frames (above) finishing frames is a larger share of the work, and a worker
 * of their own keeps them from queueing behind the sealing of appends. `pnpm bench:http
 * --config` with `prepare_workers` 1 vs 2, 6 alternated pairs (2026-11-24): durable ingest
 * 18.9/20.7/20.0/18.3/19.3/19.8k → 21.7/25.2/22.7/21.9/21.7/23.2k events/s (median 1.14×, higher
 * in all 6), ingest p99 645–1,112 → 559–709 ms, server CPU per event equal (104–116 µs both);
 * the price: the index writer gets less CPU during a saturated burst, so its catch-up afterwards
 * took 11.8–16.7 s instead of 5.5–8.7 s, and ~100 MiB more memory. 0 on one-core machines.
 */
export const DEFAULT_SERVER_PREPARE_WORKERS = 2;

/** Default listen address: loopback only, so a first start exposes nothing to the network. */
export const DEFAULT_HOST = '127.0.0.1';

/** Validated server configuration. */
export interface ServeConfig {
  /** Absolute data directory. */
  readonly dataDir: string;
  /** HTTP port, 0..65535 (0 = any free port). */
  readonly port: number;
  /** gRPC port, 0..65535 (0 = any free port). */
  readonly grpcPort: number;
  /** Listen address. */
  readonly host: string;
  /** `SEALOG_ADMIN_KEY`: becomes the admin key on first start. */
  readonly adminKey: string | undefined;
  /** Ledger settings from the config file (logs, batching, durability …); empty without one. */
  readonly ledger: Omit<LedgerOptions, 'dir' | 'onNotice'>;
  /** Search indexer settings from the config file. */
  readonly indexer: { readonly pollIntervalMs?: number };
  /** Search index settings from the config file (`maxScanRows`: the scan budget of one page). */
  readonly index: { readonly maxScanRows?: number };
  /** The config file read, if any (absolute). */
  readonly configFile: string | undefined;
}

/** Raw inputs: commander options and the environment. */
export interface ServeInputs {
  readonly dataDir?: string | undefined;
  readonly port?: string | undefined;
  readonly grpcPort?: string | undefined;
  readonly host?: string | undefined;
  /** `--config FILE` (else `SEALOG_CONFIG`). */
  readonly config?: string | undefined;
}

/** Admin keys from the environment must carry at least this many characters (≈ 96 bits base64). */
export const MIN_ADMIN_KEY_CHARS = 16;
const ADMIN_KEY_RE = /^[\x21-\x7e]+$/;

function parsePort(value: string, source: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) {
    throw new ConfigError(`${source}: expected a port 0..65535, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * Resolves and validates the configuration.
 * @throws {ConfigError} naming the flag or variable and the value it got.
 * @example
 * const config = resolveServeConfig({ port: '8080' }, process.env);
 */
export function resolveServeConfig(inputs: ServeInputs, env: NodeJS.ProcessEnv): ServeConfig {
  const configPath = inputs.config ?? (env.SEALOG_CONFIG || undefined);
  const file = configPath === undefined ? undefined : readConfigFile(resolve(configPath));
  const fromFile = file?.config ?? {};
  // Relative paths in the file are relative to the file, not to the working directory.
  const fileDataDir =
    fromFile.data_dir === undefined ? undefined : resolve(dirname(file!.path), fromFile.data_dir);
  const dataDirRaw = inputs.dataDir ?? (env.SEALOG_DATA_DIR || fileDataDir) ?? DEFAULT_DATA_DIR;
  if (dataDirRaw.trim() === '') {
    throw new ConfigError(
      `${inputs.dataDir === undefined ? 'SEALOG_DATA_DIR' : '--data-dir'}: must not be empty`,
    );
  }
  const port =
    inputs.port !== undefined
      ? parsePort(inputs.port, '--port')
      : env.SEALOG_PORT !== undefined && env.SEALOG_PORT !== ''
        ? parsePort(env.SEALOG_PORT, 'SEALOG_PORT')
        : (fromFile.port ?? DEFAULT_HTTP_PORT);
  const grpcPort =
    inputs.grpcPort !== undefined
      ? parsePort(inputs.grpcPort, '--grpc-port')
      : env.SEALOG_GRPC_PORT !== undefined && env.SEALOG_GRPC_PORT !== ''
        ? parsePort(env.SEALOG_GRPC_PORT, 'SEALOG_GRPC_PORT')
        : (fromFile.grpc_port ?? DEFAULT_GRPC_PORT);
  const host = inputs.host ?? (env.SEALOG_HOST || fromFile.host || DEFAULT_HOST);
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) {
    throw new ConfigError(`SEALOG_HOST: expected a host name or IP address, got ${JSON.stringify(host)}`);
  }
  const adminKey = env.SEALOG_ADMIN_KEY === '' ? undefined : env.SEALOG_ADMIN_KEY;
  if (adminKey !== undefined && (adminKey.length < MIN_ADMIN_KEY_CHARS || !ADMIN_KEY_RE.test(adminKey))) {
    throw new ConfigError(
      `SEALOG_ADMIN_KEY: expected at least ${MIN_ADMIN_KEY_CHARS} printable ASCII characters without spaces, got ${adminKey.length} characters`,
    );
  }
  return {
    dataDir: resolve(dataDirRaw),
    port,
    grpcPort,
    host,
    adminKey,
    ledger: ledgerOptionsOf(fromFile),
    indexer:
      fromFile.index?.poll_interval_ms === undefined
        ? {}
        : { pollIntervalMs: fromFile.index.poll_interval_ms },
    index: fromFile.index?.max_scan_rows === undefined ? {} : { maxScanRows: fromFile.index.max_scan_rows },
    configFile: file?.path,
  };
}

/** The config file's shape (snake_case, as written by operators). */
export interface ConfigFile {
  data_dir?: string;
  host?: string;
  port?: number;
  grpc_port?: number;
  logs?: Array<{ id: string; retention_classes?: string[]; origin?: string }>;
  ledger?: {
    durability?: 'group' | 'every-frame';
    group_commit_interval_ms?: number;
    batch_max_records?: number;
    batch_max_wait_ms?: number;
    queue_max_records?: number;
    queue_max_bytes?: number;
    segment_bytes?: number;
    checkpoint_interval_ms?: number;
    prepare_workers?: 0 | 1 | 2;
    worker_young_generation_mb?: number;
    idempotency_window?: number;
    read_cache_mb?: number;
  };
  index?: { poll_interval_ms?: number; max_scan_rows?: number };
}

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;

/** JSON Schema of the config file (documented in apps/server/README.md). */
const CONFIG_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data_dir: { type: 'string', minLength: 1 },
    host: { type: 'string', pattern: '^[A-Za-z0-9.:\\[\\]-]{1,253}$' },
    port: int(0, 65_535),
    grpc_port: int(0, 65_535),
    logs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          retention_classes: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          },
          origin: { type: 'string', minLength: 1, maxLength: 255 },
        },
      },
    },
    ledger: {
      type: 'object',
      additionalProperties: false,
      properties: {
        durability: { enum: ['group', 'every-frame'] },
        group_commit_interval_ms: int(0, 1000),
        batch_max_records: int(1, 65_536),
        batch_max_wait_ms: int(0, 10_000),
        queue_max_records: int(1, 100_000_000),
        queue_max_bytes: int(1024, 64 * 1024 ** 3),
        segment_bytes: int(4096, 4 * 1024 ** 3),
        checkpoint_interval_ms: int(10, 3_600_000),
        prepare_workers: { enum: [0, 1, 2] },
        worker_young_generation_mb: { anyOf: [{ const: 0 }, int(3, 1024)] },
        idempotency_window: int(1, 100_000_000),
        read_cache_mb: int(0, 64 * 1024),
      },
    },
    index: {
      type: 'object',
      additionalProperties: false,
      properties: { poll_interval_ms: int(1, 60_000), max_scan_rows: int(100, 100_000_000) },
    },
  },
} as const;

const validateConfigFile = new Ajv({ allErrors: true, strict: true }).compile<ConfigFile>(CONFIG_FILE_SCHEMA);

/**
 * Reads and validates a config file.
 * @throws {ConfigError} naming the file and, per problem, the JSON path (`/ledger/batch_max_records`).
 */
export function readConfigFile(path: string): { path: string; config: ConfigFile } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (!validateConfigFile(parsed)) {
    const problems = (validateConfigFile.errors ?? []).map((e) => {
      const where = e.instancePath === '' ? '/' : e.instancePath;
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      return extra === undefined
        ? `${where}: ${e.message ?? 'invalid'}`
        : `${where}: unknown setting ${JSON.stringify(extra)}`;
    });
    throw new ConfigError(`config file ${path}: ${problems.join('; ')}`);
  }
  return { path, config: parsed };
}

function ledgerOptionsOf(f: ConfigFile): Omit<LedgerOptions, 'dir' | 'onNotice'> {
  const l = f.ledger ?? {};
  const logs: LogConfig[] | undefined = f.logs?.map((x) => ({
    id: x.id,
    ...(x.retention_classes === undefined ? {} : { retentionClasses: x.retention_classes }),
    ...(x.origin === undefined ? {} : { origin: x.origin }),
  }));
  return {
    batchMaxRecords: DEFAULT_SERVER_BATCH_RECORDS,
    ...(logs === undefined ? {} : { logs }),
    ...(l.durability === undefined
      ? {}
      : {
          durability:
            l.durability === 'group'
              ? {
                  mode: 'group',
                  ...(l.group_commit_interval_ms === undefined
                    ? {}
                    : { intervalMs: l.group_commit_interval_ms }),
                }
              : { mode: 'every-frame' },
        }),
    ...(l.batch_max_records === undefined ? {} : { batchMaxRecords: l.batch_max_records }),
    ...(l.batch_max_wait_ms === undefined ? {} : { batchMaxWaitMs: l.batch_max_wait_ms }),
    ...(l.queue_max_records === undefined ? {} : { queueMaxRecords: l.queue_max_records }),
    ...(l.queue_max_bytes === undefined ? {} : { queueMaxBytes: l.queue_max_bytes }),
    ...(l.segment_bytes === undefined ? {} : { segmentBytes: l.segment_bytes }),
    ...(l.checkpoint_interval_ms === undefined ? {} : { checkpointIntervalMs: l.checkpoint_interval_ms }),
    prepareWorkers: l.prepare_workers ?? DEFAULT_SERVER_PREPARE_WORKERS,
    ...(l.worker_young_generation_mb === undefined
      ? {}
      : { workerYoungGenerationMb: l.worker_young_generation_mb }),
    ...(l.idempotency_window === undefined ? {} : { idempotencyWindow: l.idempotency_window }),
    ...(l.read_cache_mb === undefined ? {} : { readCacheBytes: l.read_cache_mb * 1024 * 1024 }),
  };
}
