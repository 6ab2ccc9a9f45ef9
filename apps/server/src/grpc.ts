/**
 * The gRPC ingest API (CONTRACT §3): `sealog.v1.AuditLogService` on @grpc/grpc-js, with
 * `proto/sealog/v1/audit.proto` loaded at runtime. Handlers only translate between protobuf and
 * `@sealog/ledger`: each request becomes CONTRACT §1 JSON events (`grpc-events.ts`) that go
 * through the same `ledger.append` as the JSON API, so validation, idempotency and durability are
 * identical; errors map to gRPC status codes with trailers (`grpc-status.ts`, docs/GRPC.md).
 *
 * Not here: TLS by default (pass `credentials`, or terminate TLS in front, as for HTTP), reads,
 * streaming RPCs, reflection. Logging: nothing per request; only internal failures reach
 * `onNotice`, as code and error message (ledger messages never hold event contents) — never
 * bodies, keys or personal data.
 */
import { fileURLToPath } from 'node:url';
import {
  Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { load, type Options as ProtoLoaderOptions } from '@grpc/proto-loader';
import { MAX_VALIDATION_ISSUES, validateBatch } from '@sealog/codec';
import type { AppendResult, Ledger } from '@sealog/ledger';
import { reservedIssues } from './access-log';
import type { ApiKeyStore, Principal } from './api-keys';
import { MAX_BATCH_EVENTS, RETRY_AFTER_UNAVAILABLE_S, type ServerState } from './app';
import { ConfigError } from './errors';
import {
  type GrpcIssue,
  type RecordEventMessage,
  type RecordEventResponseMessage,
  type RecordEventsMessage,
  toContractEvents,
  toGrpcIssues,
  toResponseMessage,
} from './grpc-events';
import {
  ERROR_CODE_TRAILER,
  GrpcCallError,
  invalidEvents,
  toGrpcCallError,
  toStatusResponse,
} from './grpc-status';

/**
 * Absolute path of `audit.proto`. Resolved from this module's URL: `src/grpc.ts` (tsx, tests) and
 * the bundled `dist/cli.js` both sit one level below the package root that holds `proto/`.
 */
/** Proto field of each CONTRACT path a reserved-value issue can name. */
const GRPC_PATH_OF_RESERVED: Record<string, string> = {
  action: 'action',
  'resource.type': 'resource_type',
  'actor.id': 'actor_id',
};

export const PROTO_PATH: string = fileURLToPath(new URL('../proto/sealog/v1/audit.proto', import.meta.url));
/** Fully qualified service name. */
export const SERVICE_NAME = 'sealog.v1.AuditLogService';
/** Largest request (and response) message in bytes: 16 MiB, as the JSON API's body limit. */
export const MAX_GRPC_MESSAGE_BYTES: number = 16 * 1024 * 1024;
/** A call must deliver its whole request within this many ms of starting (slow senders). */
export const GRPC_RECEIVE_TIMEOUT_MS = 30_000;
/** `close()` waits this long for in-flight calls before cutting connections. */
export const GRPC_SHUTDOWN_GRACE_MS = 10_000;
/** Concurrent calls per HTTP/2 connection. */
export const GRPC_MAX_CONCURRENT_STREAMS = 100;
/** Server keepalive ping interval in ms: finds dead peers that hold a connection open. */
export const GRPC_KEEPALIVE_TIME_MS = 60_000;
/** A keepalive ping unanswered for this many ms closes the connection. */
export const GRPC_KEEPALIVE_TIMEOUT_MS = 20_000;
/** A connection without calls for this many ms is closed (clients reconnect transparently). */
export const GRPC_MAX_CONNECTION_IDLE_MS = 300_000;
/** Connections are asked to go away (GOAWAY) after this many ms, so none is pinned forever. */
export const GRPC_MAX_CONNECTION_AGE_MS = 1_800_000;
/** After GOAWAY for age, running calls get this many ms to finish. */
export const GRPC_MAX_CONNECTION_AGE_GRACE_MS = 60_000;

/**
 * How the server decodes messages: field names as in the .proto, int64 as decimal strings (no
 * precision loss before range checks), unset fields absent (proto3: "" and 0 mean unset anyway).
 */
export const PROTO_LOADER_OPTIONS: ProtoLoaderOptions = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: false,
};

/** The RPCs of the service. */
export type GrpcMethod = 'RecordEvent' | 'RecordEvents';

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  readonly ledger: Ledger;
  readonly keys: ApiKeyStore;
  /** Shared with the HTTP API: calls are refused with UNAVAILABLE unless `phase` is `ready`. */
  readonly state: ServerState;
  /** Interface to bind: a host name or IP literal (`127.0.0.1`, `0.0.0.0`, `::`). */
  readonly host: string;
  /** TCP port 0..65535; 0 picks a free one (see the returned `port`). */
  readonly port: number;
  /** Transport security; default plaintext h2c, like the HTTP API. */
  readonly credentials?: ServerCredentials;
  /** Called once per answered call: method, gRPC status name (`OK`, `INVALID_ARGUMENT` …), ms. */
  readonly onRequest?: (rpc: GrpcMethod, code: string, ms: number) => void;
  /** Called with the results of every successful ingest call (metrics: events by status). */
  readonly onIngest?: (results: readonly AppendResult[]) => void;
  /**
   * Called when an authenticated ingest call of `events` events is rejected, with the same
   * UPPER_SNAKE codes as the JSON API (`INVALID_EVENT`, `BACKPRESSURE`, `FORBIDDEN` …).
   */
  readonly onRejected?: (code: string, events: number) => void;
  /** Internal failures (status INTERNAL), one line without request data; default: stderr. */
  readonly onNotice?: (message: string) => void;
  /** Override of {@link GRPC_RECEIVE_TIMEOUT_MS} (tests), ms > 0. */
  readonly receiveTimeoutMs?: number;
  /** Override of {@link GRPC_SHUTDOWN_GRACE_MS}, ms ≥ 0. */
  readonly shutdownGraceMs?: number;
}

/** A listening gRPC server. */
export interface RunningGrpcServer {
  /** The bound port (the chosen one when `port` was 0). */
  readonly port: number;
  /**
   * Stops accepting calls, lets in-flight calls finish (durable waits included) for up to the
   * shutdown grace, then cuts the remaining connections. Idempotent. Call it before closing the
   * ledger, so every acknowledged event is on disk.
   */
  close(): Promise<void>;
}

const BEARER = /^Bearer ([\x21-\x7e]+)$/;

/**
 * Loads the .proto, binds `host:port` and serves `sealog.v1.AuditLogService`.
 *
 * @throws {ConfigError} when the address cannot be bound (in use, not permitted, unknown host).
 * @example
 * const grpc = await startGrpcServer({ ledger, keys, state, host: '127.0.0.1', port: 7071 });
 * // … on shutdown, after state.phase = 'draining':
 * await grpc.close();
 * await ledger.close();
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { ledger, keys, state } = options;
  const notice = options.onNotice ?? ((m: string) => process.stderr.write(`sealog: ${m}\n`));
  const definition = await load(PROTO_PATH, PROTO_LOADER_OPTIONS);
  const service = definition[SERVICE_NAME] as ServiceDefinition | undefined;
  if (service === undefined) throw new Error(`logic error: ${PROTO_PATH} defines no ${SERVICE_NAME}`);

  const server = new Server({
    'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.max_concurrent_streams': GRPC_MAX_CONCURRENT_STREAMS,
    'grpc.keepalive_time_ms': GRPC_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE_TIMEOUT_MS,
    'grpc.max_connection_idle_ms': GRPC_MAX_CONNECTION_IDLE_MS,
    'grpc.max_connection_age_ms': GRPC_MAX_CONNECTION_AGE_MS,
    'grpc.max_connection_age_grace_ms': GRPC_MAX_CONNECTION_AGE_GRACE_MS,
    // Nothing serves channelz here; skip its per-call bookkeeping.
    'grpc.enable_channelz': 0,
    interceptors: [receiveTimeout(options.receiveTimeoutMs ?? GRPC_RECEIVE_TIMEOUT_MS)],
  });
  let stopping = false;

  /** Throws unless the server takes writes and the call carries a key with the `ingest` role. */
  function admit(metadata: Metadata): Principal {
    if (stopping || state.phase !== 'ready') {
      throw new GrpcCallError(
        status.UNAVAILABLE,
        'UNAVAILABLE',
        `server is ${stopping ? 'draining' : state.phase}`,
        {
          retryAfter: RETRY_AFTER_UNAVAILABLE_S,
        },
      );
    }
    const values = metadata.get('authorization');
    const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
    const match = header === undefined ? null : BEARER.exec(header);
    if (match === null) {
      throw new GrpcCallError(
        status.UNAUTHENTICATED,
        'UNAUTHENTICATED',
        'missing or malformed metadata authorization: Bearer <api key>',
      );
    }
    const principal = keys.authenticate(match[1]!);
    if (principal === undefined) {
      throw new GrpcCallError(status.UNAUTHENTICATED, 'UNAUTHENTICATED', 'unknown API key');
    }
    if (!principal.roles.has('ingest')) {
      throw new GrpcCallError(status.PERMISSION_DENIED, 'FORBIDDEN', 'this key lacks the "ingest" role');
    }
    return principal;
  }

  /**
   * One ingest call, all or nothing: scope check, translation, then `ledger.append`.
   * @returns one response per message, in order.
   */
  async function ingest(
    principal: Principal,
    messages: readonly RecordEventMessage[],
    wait: 'durable' | 'accepted',
    batch: boolean,
  ): Promise<RecordEventResponseMessage[]> {
    let occurredFromString: readonly boolean[] = [];
    try {
      if (principal.tenantId !== '*') {
        const outside: GrpcIssue[] = [];
        for (let i = 0; i < messages.length; i++) {
          const tenant = messages[i]!.tenant_id;
          // An empty tenant is absent: validation reports it (INVALID_ARGUMENT), as over HTTP.
          if (tenant !== undefined && tenant !== '' && tenant !== principal.tenantId) {
            outside.push({
              index: i,
              path: 'tenant_id',
              event_path: 'tenant_id',
              code: 'forbidden_tenant',
              message: 'tenant outside the key scope',
            });
          }
        }
        if (outside.length > 0) {
          throw new GrpcCallError(
            status.PERMISSION_DENIED,
            'FORBIDDEN',
            `this key only reaches tenant ${principal.tenantId}; nothing stored`,
            { details: outside },
          );
        }
      }
      const converted = toContractEvents(messages);
      occurredFromString = converted.occurredFromString;
      if (converted.issues.length > 0) {
        // Report everything at once, as the JSON API does: what failed translation plus what
        // validation finds in the rest (the failed fields were left out of the events).
        const checked = validateBatch(converted.events, { retentionClasses: ledger.retentionClasses });
        const all = checked.ok
          ? converted.issues
          : [...converted.issues, ...toGrpcIssues(checked.errors, occurredFromString)];
        all.sort((a, b) => a.index - b.index);
        throw invalidEvents('INVALID_EVENT', all.slice(0, MAX_VALIDATION_ISSUES), batch);
      }
      const reserved = reservedIssues(converted.events);
      if (reserved.length > 0) {
        throw invalidEvents(
          'INVALID_EVENT',
          reserved.map((r) => ({
            index: r.index,
            path: GRPC_PATH_OF_RESERVED[r.path] ?? r.path,
            event_path: r.path,
            code: 'reserved',
            message: r.message,
          })),
          batch,
        );
      }
      const results = await ledger.append(converted.events, {
        wait,
        onFull: 'reject',
        producer: principal.keyId,
      });
      options.onIngest?.(results);
      const out: RecordEventResponseMessage[] = new Array(results.length);
      for (let i = 0; i < results.length; i++) out[i] = toResponseMessage(results[i]!);
      return out;
    } catch (error) {
      const e = toGrpcCallError(error, batch, occurredFromString);
      options.onRejected?.(e.code, messages.length);
      throw e;
    }
  }

  /** Runs a handler body, answers its value or its error, and reports the call. Never rejects. */
  async function answer<T>(
    rpc: GrpcMethod,
    callback: sendUnaryData<T>,
    body: () => Promise<T>,
  ): Promise<void> {
    const started = performance.now();
    let value: T;
    try {
      value = await body();
    } catch (error) {
      const e = toGrpcCallError(error, rpc === 'RecordEvents');
      if (e.status === status.INTERNAL) {
        const cause = e.cause instanceof Error ? `${e.cause.name}: ${e.cause.message}` : e.message;
        notice(`gRPC ${rpc} failed: ${e.code} (${cause})`);
      }
      callback(toStatusResponse(e));
      options.onRequest?.(rpc, status[e.status], performance.now() - started);
      return;
    }
    callback(null, value);
    options.onRequest?.(rpc, 'OK', performance.now() - started);
  }

  const implementation: UntypedServiceImplementation = {
    RecordEvent(
      call: ServerUnaryCall<RecordEventMessage, RecordEventResponseMessage>,
      callback: sendUnaryData<RecordEventResponseMessage>,
    ): void {
      void answer('RecordEvent', callback, async () => {
        const principal = admit(call.metadata);
        const [result] = await ingest(principal, [call.request], 'durable', false);
        return result!;
      });
    },
    RecordEvents(
      call: ServerUnaryCall<RecordEventsMessage, { results: RecordEventResponseMessage[] }>,
      callback: sendUnaryData<{ results: RecordEventResponseMessage[] }>,
    ): void {
      void answer('RecordEvents', callback, async () => {
        const principal = admit(call.metadata);
        const events = call.request.events ?? [];
        if (events.length === 0 || events.length > MAX_BATCH_EVENTS) {
          const message = `events: expected 1..${MAX_BATCH_EVENTS} events, got ${events.length}`;
          options.onRejected?.(events.length === 0 ? 'INVALID_REQUEST' : 'TOO_MANY_EVENTS', events.length);
          throw new GrpcCallError(
            status.INVALID_ARGUMENT,
            events.length === 0 ? 'INVALID_REQUEST' : 'TOO_MANY_EVENTS',
            message,
          );
        }
        const wait = call.request.wait_accepted === true ? 'accepted' : 'durable';
        return { results: await ingest(principal, events, wait, true) };
      });
    },
  };
  server.addService(service, implementation);

  // An IPv6 literal needs brackets in a gRPC target (`[::1]:7071`).
  const host =
    options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const address = `${host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, options.credentials ?? ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound);
      else
        reject(new ConfigError(`cannot listen for gRPC on ${address}: ${error.message}`, { cause: error }));
    });
  }).catch((error: unknown) => {
    server.forceShutdown();
    throw error;
  });

  const grace = options.shutdownGraceMs ?? GRPC_SHUTDOWN_GRACE_MS;
  let closing: Promise<void> | undefined;
  return {
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        stopping = true;
        // Graceful first: no new connections or calls, running calls finish; whatever is still
        // running after the grace is cut (its clients see UNAVAILABLE or CANCELLED).
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, grace);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}

/**
 * Ends calls whose request has not fully arrived (message and half-close) within `ms` of their
 * start with DEADLINE_EXCEEDED, and never runs their handler: a client that trickles bytes or never
 * finishes its request cannot hold a call slot (and its memory) open.
 */
function receiveTimeout(ms: number): ServerInterceptor {
  return (_method, call) => {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const stop = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        timer = setTimeout(() => {
          timedOut = true;
          const trailers = new Metadata();
          trailers.set(ERROR_CODE_TRAILER, 'RECEIVE_TIMEOUT');
          call.sendStatus({
            code: status.DEADLINE_EXCEEDED,
            details: `request not received within ${ms} ms`,
            metadata: trailers,
          });
        }, ms);
        timer.unref();
        next({
          onReceiveMessage(message, nextMessage) {
            if (!timedOut) nextMessage(message);
          },
          onReceiveHalfClose(nextHalfClose) {
            stop();
            // After a timeout the call is answered already: its handler must not run (and store).
            if (!timedOut) nextHalfClose();
          },
          onCancel() {
            stop();
          },
        });
      },
      sendStatus(statusObject, next) {
        stop();
        if (!timedOut) next(statusObject);
      },
    });
  };
}
