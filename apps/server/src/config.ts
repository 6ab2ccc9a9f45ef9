/**
 * Server configuration from flags and environment (flags win), validated once at start with
 * messages that name the flag or variable and quote what was given.
 *
 * Not here: a config file (later slice of issue 5).
 */
import { resolve } from 'node:path';
import { ConfigError } from './errors';

/** Embedded default data directory (CONTRACT §4), relative to the working directory. */
export const DEFAULT_DATA_DIR = './sealog-data';
/** Default HTTP port (CONTRACT §4). */
export const DEFAULT_HTTP_PORT = 7070;
/** Default gRPC port (CONTRACT §4). */
export const DEFAULT_GRPC_PORT = 7071;
/** Default listen address: loopback only, so a first start exposes nothing to the network. */
export const DEFAULT_HOST = '127.0.0.1';

/** Validated server configuration. */
export interface ServeConfig {
  /** Absolute data directory. */
  readonly dataDir: string;
  /** HTTP port, 0..65535 (0 = any free port). */
  readonly port: number;
  /** gRPC port, 0..65535 (accepted; the gRPC server is not implemented yet). */
  readonly grpcPort: number;
  /** Listen address. */
  readonly host: string;
  /** `SEALOG_ADMIN_KEY`: becomes the admin key on first start. */
  readonly adminKey: string | undefined;
}

/** Raw inputs: commander options and the environment. */
export interface ServeInputs {
  readonly dataDir?: string | undefined;
  readonly port?: string | undefined;
  readonly grpcPort?: string | undefined;
  readonly host?: string | undefined;
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
  const dataDirRaw = inputs.dataDir ?? env.SEALOG_DATA_DIR ?? DEFAULT_DATA_DIR;
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
        : DEFAULT_HTTP_PORT;
  const grpcPort =
    inputs.grpcPort !== undefined
      ? parsePort(inputs.grpcPort, '--grpc-port')
      : env.SEALOG_GRPC_PORT !== undefined && env.SEALOG_GRPC_PORT !== ''
        ? parsePort(env.SEALOG_GRPC_PORT, 'SEALOG_GRPC_PORT')
        : DEFAULT_GRPC_PORT;
  const host = inputs.host ?? (env.SEALOG_HOST || DEFAULT_HOST);
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) {
    throw new ConfigError(`SEALOG_HOST: expected a host name or IP address, got ${JSON.stringify(host)}`);
  }
  const adminKey = env.SEALOG_ADMIN_KEY === '' ? undefined : env.SEALOG_ADMIN_KEY;
  if (adminKey !== undefined && (adminKey.length < MIN_ADMIN_KEY_CHARS || !ADMIN_KEY_RE.test(adminKey))) {
    throw new ConfigError(
      `SEALOG_ADMIN_KEY: expected at least ${MIN_ADMIN_KEY_CHARS} printable ASCII characters without spaces, got ${adminKey.length} characters`,
    );
  }
  return { dataDir: resolve(dataDirRaw), port, grpcPort, host, adminKey };
}
