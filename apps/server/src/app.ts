/**
 * The HTTP API (CONTRACT §2) on fastify: routes, auth, and the one error handler that turns every
 * failure into `{"error": {"code", "message", "details"}}`. Handlers only translate between HTTP
 * and `@sealog/ledger`; validation of events, storage and proofs live in the packages.
 *
 * `/metrics` (Prometheus, `metrics.ts`) and `/openapi.json` (generated from the route schemas and
 * each route's `config.doc`, `openapi.ts`) need no key and reveal no audit data.
 * Read routes (search, event + proof, history, export, erasure) are in `read-routes.ts`.
 * Logging: fastify's pino request log (method, url, status, time) only — never bodies, never the
 * `Authorization` header (redacted in case a serializer ever adds headers).
 */

import { type AppendResult, type Ledger, LedgerError } from '@sealog/ledger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { AccessLog, apiKeyActor, reservedIssues, SYSTEM_TENANT } from './access-log';
import { type ApiKeyStore, isRole, isTenantScope, type Principal, type Role } from './api-keys';
import { type ErrorDetail, HttpError } from './errors';
import { badParam } from './filters';
import { ServerMetrics } from './metrics';
import { collectOpenApi, EVENT_REF } from './openapi';
import { registerReadRoutes } from './read-routes';
import type { ReadIndex } from './search';

/** Request body limit in bytes (CONTRACT §2: 16 MiB → 413). */
export const MAX_BODY_BYTES: number = 16 * 1024 * 1024;
/** Events per request (CONTRACT §2). */
export const MAX_BATCH_EVENTS = 10_000;
/** `Retry-After` seconds when the ingest queue is full. */
export const RETRY_AFTER_FULL_S = 1;
/** `Retry-After` seconds while starting, draining or closed. */
export const RETRY_AFTER_UNAVAILABLE_S = 5;

/** Lifecycle phase, shared with `serve.ts`: `/readyz` and ingest answer 503 unless `ready`. */
export interface ServerState {
  phase: 'starting' | 'ready' | 'draining';
}

/** Options of {@link createApp}. */
export interface AppOptions {
  readonly ledger: Ledger;
  readonly keys: ApiKeyStore;
  readonly state: ServerState;
  /** The search index (read routes). */
  readonly index: ReadIndex;
  /** Durable records not yet in the index (the `sealog_index_lag_records` gauge). */
  readonly indexLag?: () => number;
  /** `false` silences the request log (tests); default: pino at `info` on stdout. */
  readonly logger?: boolean;
  /** Where the request log goes (tests capture it); default stdout. */
  readonly logStream?: NodeJS.WritableStream;
  /** Version shown in `/openapi.json`; default `0.0.0`. */
  readonly version?: string;
  /** `false` leaves out prom-client's process metrics; default: included. */
  readonly processMetrics?: boolean;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Builds the fastify instance (not listening yet).
 * @example
 * const app = createApp({ ledger, keys, state: { phase: 'ready' } });
 * await app.listen({ port: 7070, host: '127.0.0.1' });
 */
export function createApp(options: AppOptions): FastifyInstance {
  const { ledger, keys, state } = options;
  const logger: Exclude<FastifyServerOptions['logger'], boolean | undefined> & {
    stream?: NodeJS.WritableStream;
  } = {
    level: 'info',
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
    serializers: {
      // Method and a URL without personal data: query strings (`actor_id=…`) are cut and the
      // actor id in erasure paths is replaced.
      req: (req: { method: string; url: string }) => ({ method: req.method, url: loggableUrl(req.url) }),
    },
    ...(options.logStream === undefined ? {} : { stream: options.logStream }),
  };
  const app = Fastify({
    logger: options.logger === false ? false : logger,
    bodyLimit: MAX_BODY_BYTES,
    // Draining is answered by our own hook with the CONTRACT error shape and Retry-After.
    return503OnClosing: false,
    // Slow clients cannot pin a connection: whole request within 30 s, headers within 10 s.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
  });
  const principals = new WeakMap<FastifyRequest, Principal>();
  const access = new AccessLog(ledger);
  const metrics = new ServerMetrics(ledger, {
    defaultMetrics: options.processMetrics !== false,
    ...(options.indexLag === undefined ? {} : { indexLag: options.indexLag }),
    ...('writerRestarts' in options.index
      ? { indexWriterRestarts: () => (options.index as { writerRestarts: number }).writerRestarts }
      : {}),
  });
  // Before any route: the document is built from every route registered after this call.
  const openapi = collectOpenApi(app, options.version ?? '0.0.0');

  function requireRole(role: Role) {
    return async (request: FastifyRequest): Promise<void> => {
      const header = request.headers.authorization;
      const match = header === undefined ? null : /^Bearer ([\x21-\x7e]+)$/.exec(header);
      if (match === null) {
        throw new HttpError(401, 'UNAUTHENTICATED', 'missing or malformed Authorization: Bearer <api key>');
      }
      const principal = keys.authenticate(match[1]!);
      if (principal === undefined) throw new HttpError(401, 'UNAUTHENTICATED', 'unknown API key');
      if (!principal.roles.has(role)) {
        throw new HttpError(403, 'FORBIDDEN', `this key lacks the ${JSON.stringify(role)} role`);
      }
      principals.set(request, principal);
    };
  }
  const principalOf = (request: FastifyRequest): Principal => {
    const p = principals.get(request);
    if (p === undefined) throw new Error('logic error: route without an auth hook');
    return p;
  };

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the concrete URL: log ids and query strings stay out of labels.
    metrics.recordRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime,
    );
  });

  app.addHook('onRequest', async (request, reply) => {
    if (state.phase !== 'ready' && !request.url.startsWith('/healthz')) {
      void reply.header('connection', 'close');
      throw new HttpError(503, 'UNAVAILABLE', `server is ${state.phase}`, {
        retryAfter: RETRY_AFTER_UNAVAILABLE_S,
      });
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const e = toHttpError(error);
    if (e.status >= 500 && e.code !== 'UNAVAILABLE') {
      // Message and code only: a ledger message never holds event contents, but a stack might.
      request.log.error({ code: e.code, reason: (error as Error).message }, 'request failed');
    }
    return sendError(reply, e);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  const statusSchema = (value: string) =>
    ({
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', const: value } },
    }) as const;
  app.get(
    '/healthz',
    {
      schema: { response: { 200: statusSchema('ok') } },
      config: { doc: { summary: 'Liveness: the process is up', tag: 'operations', errors: [] } },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: { response: { 200: statusSchema('ready') } },
      config: { doc: { summary: 'Readiness: accepting writes', tag: 'operations', errors: [503] } },
    },
    async () => ({ status: 'ready' }),
  );
  app.get(
    '/metrics',
    {
      config: {
        doc: {
          summary: 'Prometheus metrics (no audit data)',
          tag: 'operations',
          textResponses: { 200: { description: 'Prometheus text format 0.0.4', contentType: 'text/plain' } },
          errors: [503],
        },
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
  app.get(
    '/openapi.json',
    {
      schema: {
        response: {
          200: { type: 'object', description: 'OpenAPI 3.1 document', additionalProperties: true },
        },
      },
      config: { doc: { summary: 'This OpenAPI document', tag: 'operations', errors: [503] } },
    },
    async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(openapi())),
  );

  const logIdParams = {
    type: 'object',
    required: ['log_id'],
    properties: { log_id: { type: 'string', minLength: 1 } },
  } as const;
  const resultSchema = {
    type: 'object',
    required: ['event_id', 'status', 'log_id'],
    properties: {
      event_id: { type: 'string' },
      status: { type: 'string', enum: ['stored', 'duplicate', 'accepted'] },
      log_id: { type: 'string' },
      leaf_index: { type: 'integer', minimum: 0 },
      verification_hash: { type: 'string', description: 'RFC 9162 leaf hash of the stored leaf, hex' },
      integrity: { type: 'string' },
    },
  } as const;
  const resultsSchema = {
    type: 'object',
    required: ['results'],
    properties: { results: { type: 'array', items: resultSchema } },
  } as const;
  const proofSchema = (a: string, b: string) =>
    ({
      type: 'object',
      required: [a, b, 'proof'],
      properties: {
        [a]: { type: 'integer' },
        [b]: { type: 'integer' },
        proof: { type: 'array', items: { type: 'string', description: 'hash, hex' } },
      },
    }) as const;

  app.post<{ Querystring: { wait?: 'durable' | 'accepted' } }>(
    '/api/v1/events',
    {
      onRequest: requireRole('ingest'),
      schema: {
        querystring: {
          type: 'object',
          properties: { wait: { type: 'string', enum: ['durable', 'accepted'] } },
        },
        response: {
          200: { ...resultsSchema, description: "Stored durably (fsync'd), results in input order" },
          202: { ...resultsSchema, description: 'Accepted into the queue (wait=accepted)' },
        },
      },
      config: {
        doc: {
          summary: 'Record one event or a batch (all or nothing)',
          tag: 'ingest',
          role: 'ingest',
          // Documentation only: the ledger validates (CONTRACT error details), not fastify.
          requestBody: {
            description: `One event, or {"events": [...]} with 1..${MAX_BATCH_EVENTS} events; body ≤ 16 MiB`,
            schema: {
              oneOf: [
                EVENT_REF,
                {
                  type: 'object',
                  required: ['events'],
                  additionalProperties: false,
                  properties: {
                    events: { type: 'array', minItems: 1, maxItems: MAX_BATCH_EVENTS, items: EVENT_REF },
                  },
                },
              ],
            },
          },
          errors: [400, 401, 403, 413, 415, 429, 503],
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const events = eventsOf(request.body);
      try {
        return await ingest(request, reply, principal, events);
      } catch (error) {
        metrics.recordRejected(toHttpError(error).code, events.length);
        throw error;
      }
    },
  );

  async function ingest(
    request: FastifyRequest<{ Querystring: { wait?: 'durable' | 'accepted' } }>,
    reply: FastifyReply,
    principal: Principal,
    events: unknown[],
  ): Promise<FastifyReply> {
    if (principal.tenantId !== '*') {
      const details: ErrorDetail[] = [];
      for (let i = 0; i < events.length; i++) {
        const tenant = (events[i] as { tenant_id?: unknown } | null)?.tenant_id;
        if (typeof tenant === 'string' && tenant !== principal.tenantId) {
          details.push({
            index: i,
            path: 'tenant_id',
            code: 'forbidden_tenant',
            message: 'tenant outside the key scope',
          });
        }
      }
      if (details.length > 0) {
        throw new HttpError(
          403,
          'FORBIDDEN',
          `this key only reaches tenant ${principal.tenantId}; nothing stored`,
          {
            details,
          },
        );
      }
    }
    const reserved = reservedIssues(events);
    if (reserved.length > 0) {
      throw new HttpError(
        400,
        'INVALID_EVENT',
        `${reserved.length} reserved field value(s); nothing stored`,
        {
          details: reserved.map((r) => ({ ...r, code: 'reserved' })),
        },
      );
    }
    const wait = request.query.wait ?? 'durable';
    const results = await ledger.append(events, { wait, onFull: 'reject', producer: principal.keyId });
    metrics.recordIngest(results);
    // Serialized here, not by the route's response schema: one string built in one pass instead of
    // an object per result plus the schema serializer (~4 µs per event of the server's main thread
    // in a bench:http profile, batches of 1,000). Same bytes as the schema would produce.
    return reply
      .code(wait === 'accepted' ? 202 : 200)
      .type(JSON_CONTENT_TYPE)
      .send(resultsJson(results));
  }

  app.get(
    '/api/v1/logs',
    {
      onRequest: requireRole('read'),
      schema: {
        response: {
          200: {
            type: 'array',
            description: 'Every log with its durable tree size and checkpoint public key',
            items: {
              type: 'object',
              required: ['log_id', 'origin', 'tree_size', 'public_key'],
              properties: {
                log_id: { type: 'string' },
                origin: { type: 'string' },
                tree_size: { type: 'integer', minimum: 0 },
                public_key: { type: 'string', description: 'C2SP signed-note verifier key' },
              },
            },
          },
        },
      },
      config: { doc: { summary: 'List the logs', tag: 'logs', role: 'read', errors: [401, 403, 503] } },
    },
    async () =>
      ledger.logs().map((log) => ({
        log_id: log.logId,
        origin: log.origin,
        tree_size: log.treeSize,
        public_key: log.verifierKey,
      })),
  );

  app.get<{ Params: { log_id: string } }>(
    '/api/v1/logs/:log_id/checkpoint',
    {
      onRequest: requireRole('read'),
      schema: { params: logIdParams },
      config: {
        doc: {
          summary: 'Latest signed checkpoint (C2SP signed note)',
          tag: 'logs',
          role: 'read',
          textResponses: { 200: { description: 'Signed checkpoint', contentType: 'text/plain' } },
          errors: [401, 403, 404, 503],
        },
      },
    },
    async (request, reply) => {
      const note = ledger.log(request.params.log_id).latestCheckpoint();
      if (note === undefined) throw new HttpError(404, 'NOT_FOUND', 'no checkpoint signed yet');
      return reply.type('text/plain; charset=utf-8').send(note);
    },
  );

  const sizeSchema = { type: 'integer', minimum: 0, maximum: MAX_SAFE } as const;
  app.get<{ Params: { log_id: string }; Querystring: { leaf_index: number; tree_size: number } }>(
    '/api/v1/logs/:log_id/proofs/inclusion',
    {
      onRequest: requireRole('read'),
      schema: {
        querystring: {
          type: 'object',
          required: ['leaf_index', 'tree_size'],
          properties: { leaf_index: sizeSchema, tree_size: sizeSchema },
        },
        params: logIdParams,
        response: {
          200: { ...proofSchema('leaf_index', 'tree_size'), description: 'RFC 9162 §2.1.3 inclusion proof' },
        },
      },
      config: {
        doc: {
          summary: 'Inclusion proof of a leaf',
          tag: 'logs',
          role: 'read',
          errors: [400, 401, 403, 404, 503],
        },
      },
    },
    async (request) => {
      const log = ledger.log(request.params.log_id);
      const { leaf_index, tree_size } = request.query;
      if (tree_size > log.treeSize) {
        throw badParam('tree_size', `${tree_size} exceeds the log's size ${log.treeSize}`, 'out_of_range');
      }
      if (leaf_index >= tree_size) {
        throw badParam('leaf_index', `${leaf_index} must be < tree_size ${tree_size}`, 'out_of_range');
      }
      const proof = await log.inclusionProof(leaf_index, tree_size);
      return { leaf_index, tree_size, proof: proof.map(toHex) };
    },
  );

  app.get<{ Params: { log_id: string }; Querystring: { first: number; second: number } }>(
    '/api/v1/logs/:log_id/proofs/consistency',
    {
      onRequest: requireRole('read'),
      schema: {
        querystring: {
          type: 'object',
          required: ['first', 'second'],
          properties: { first: { ...sizeSchema, minimum: 1 }, second: { ...sizeSchema, minimum: 1 } },
        },
        params: logIdParams,
        response: {
          200: { ...proofSchema('first', 'second'), description: 'RFC 9162 §2.1.4 consistency proof' },
        },
      },
      config: {
        doc: {
          summary: 'Consistency proof between two tree sizes',
          tag: 'logs',
          role: 'read',
          errors: [400, 401, 403, 404, 503],
        },
      },
    },
    async (request) => {
      const log = ledger.log(request.params.log_id);
      const { first, second } = request.query;
      if (second > log.treeSize) {
        throw badParam('second', `${second} exceeds the log's size ${log.treeSize}`, 'out_of_range');
      }
      if (first > second) throw badParam('first', `${first} must be ≤ second ${second}`, 'out_of_range');
      const proof = await log.consistencyProof(first, second);
      return { first, second, proof: proof.map(toHex) };
    },
  );

  const apiKeyBody = {
    type: 'object',
    required: ['tenant_id', 'roles'],
    additionalProperties: false,
    properties: {
      tenant_id: { type: 'string', description: '"*" or 1..128 chars [A-Za-z0-9._-]' },
      roles: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', enum: ['ingest', 'read', 'export', 'erase', 'admin'] },
      },
    },
  } as const;
  app.post(
    '/api/v1/admin/api-keys',
    {
      onRequest: requireRole('admin'),
      schema: {
        response: {
          200: {
            type: 'object',
            description: 'The new key (shown once; only its hash is stored)',
            required: ['key', 'key_id'],
            properties: { key: { type: 'string' }, key_id: { type: 'string' } },
          },
        },
      },
      config: {
        doc: {
          summary: 'Create an API key',
          tag: 'admin',
          role: 'admin',
          // Documentation only: the handler validates, answering CONTRACT error details.
          requestBody: { description: 'Tenant scope and roles of the new key', schema: apiKeyBody },
          errors: [400, 401, 403, 415, 503],
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body as { tenant_id?: unknown; roles?: unknown } | null;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new HttpError(400, 'INVALID_REQUEST', 'expected {"tenant_id": string|"*", "roles": [...]}');
      }
      const details: ErrorDetail[] = [];
      for (const field of Object.keys(body)) {
        if (field !== 'tenant_id' && field !== 'roles') {
          details.push({
            path: field,
            code: 'unknown_field',
            message: `unknown field ${JSON.stringify(field)}`,
          });
        }
      }
      if (!isTenantScope(body.tenant_id)) {
        details.push({
          path: 'tenant_id',
          code: 'invalid',
          message: 'expected "*" or 1..128 chars [A-Za-z0-9._-]',
        });
      }
      if (!Array.isArray(body.roles) || body.roles.length === 0) {
        details.push({ path: 'roles', code: 'invalid', message: 'expected a non-empty array of roles' });
      } else {
        body.roles.forEach((role, i) => {
          if (!isRole(role)) {
            details.push({
              path: `roles.${i}`,
              code: 'invalid',
              message: `expected ingest, read, export, erase or admin, got ${JSON.stringify(role)}`,
            });
          }
        });
      }
      if (details.length > 0)
        throw new HttpError(400, 'INVALID_REQUEST', 'invalid API key request', { details });
      const tenant = body.tenant_id as string;
      if (principal.tenantId !== '*' && tenant !== principal.tenantId) {
        throw new HttpError(403, 'FORBIDDEN', `this key only reaches tenant ${principal.tenantId}`);
      }
      const created = await keys.create(tenant, body.roles as Role[]);
      try {
        // Credential changes are audited (PCI DSS 10.2.1.5), durably; a key whose creation cannot
        // be recorded is revoked again and the request fails.
        await access.record(
          apiKeyActor(principal),
          tenant === '*' ? SYSTEM_TENANT : tenant,
          'sealog.api_key.create',
          { key_id: created.key_id, tenant_scope: tenant, roles: (body.roles as Role[]).join(',') },
          'durable',
        );
      } catch (error) {
        await keys.revoke(created.key_id);
        throw error;
      }
      return reply.code(200).send(created);
    },
  );

  const keyInfo = {
    type: 'object',
    required: ['key_id', 'tenant_id', 'roles', 'created_at'],
    properties: {
      key_id: { type: 'string' },
      tenant_id: { type: 'string' },
      roles: { type: 'array', items: { type: 'string' } },
      created_at: { type: 'string' },
    },
  } as const;
  app.get(
    '/api/v1/admin/api-keys',
    {
      onRequest: requireRole('admin'),
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['keys'],
            description: 'Keys this admin key reaches (ids, scopes, roles; never secrets or hashes)',
            properties: { keys: { type: 'array', items: keyInfo } },
          },
        },
      },
      config: { doc: { summary: 'List API keys', tag: 'admin', role: 'admin', errors: [401, 403, 503] } },
    },
    async (request) => {
      const principal = principalOf(request);
      const all = keys.list();
      return {
        keys: principal.tenantId === '*' ? all : all.filter((k) => k.tenant_id === principal.tenantId),
      };
    },
  );
  app.delete<{ Params: { key_id: string } }>(
    '/api/v1/admin/api-keys/:key_id',
    {
      onRequest: requireRole('admin'),
      schema: {
        params: {
          type: 'object',
          required: ['key_id'],
          properties: { key_id: { type: 'string', pattern: '^key_[0-9a-f]{16}$' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['revoked'],
            description: 'The key no longer authenticates',
            properties: { revoked: { type: 'string' } },
          },
        },
      },
      config: {
        doc: { summary: 'Revoke an API key', tag: 'admin', role: 'admin', errors: [400, 401, 403, 404, 503] },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const keyId = request.params.key_id;
      const target = keys.list().find((k) => k.key_id === keyId);
      if (target === undefined || (principal.tenantId !== '*' && target.tenant_id !== principal.tenantId)) {
        throw new HttpError(404, 'NOT_FOUND', `no API key ${keyId}`);
      }
      if (keyId === principal.keyId) {
        throw new HttpError(409, 'CONFLICT', 'a key cannot revoke itself (use another admin key)');
      }
      // Recorded durably first: a revocation that cannot be recorded does not happen.
      await access.record(
        apiKeyActor(principal),
        target.tenant_id === '*' ? SYSTEM_TENANT : target.tenant_id,
        'sealog.api_key.revoke',
        { key_id: keyId, tenant_scope: target.tenant_id },
        'durable',
      );
      await keys.revoke(keyId);
      return { revoked: keyId };
    },
  );

  registerReadRoutes(app, {
    ledger,
    index: options.index,
    access,
    requireRole,
    principalOf,
  });

  return app;
}

/**
 * A request URL as it may be logged: the path without its query string (filters can hold actor
 * ids), with the actor id of `/subjects/{actor_id}/…` replaced.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : `${url.slice(0, q)}?[redacted]`;
  return path.replace(/\/subjects\/[^/?]*/, '/subjects/[redacted]');
}

/** The events of a request body: one event, or `{"events": [...]}` (nothing else at the top). */
function eventsOf(body: unknown): unknown[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'INVALID_REQUEST', 'expected a JSON object: one event or {"events": [...]}');
  }
  if (!Object.hasOwn(body, 'events')) return [body];
  const extra = Object.keys(body).filter((k) => k !== 'events');
  if (extra.length > 0) {
    throw new HttpError(400, 'INVALID_REQUEST', 'a batch holds only "events"', {
      details: extra.map((k) => ({
        path: k,
        code: 'unknown_field',
        message: `unknown field ${JSON.stringify(k)}`,
      })),
    });
  }
  const events = (body as { events: unknown }).events;
  if (!Array.isArray(events) || events.length === 0) {
    throw new HttpError(400, 'INVALID_REQUEST', '"events" must be a non-empty array', {
      details: [{ path: 'events', code: 'invalid', message: 'expected a non-empty array' }],
    });
  }
  if (events.length > MAX_BATCH_EVENTS) {
    throw new HttpError(
      413,
      'TOO_MANY_EVENTS',
      `at most ${MAX_BATCH_EVENTS} events per request, got ${events.length}`,
    );
  }
  return events;
}

/** Content type of JSON answers (what fastify sets for serialized objects). */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Printable ASCII without `"` and `\\`: such strings need no escaping in JSON. */
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `value` as a JSON string literal; the common case (ids, hex, log ids) without JSON.stringify. */
function jsonString(value: string): string {
  return PLAIN_JSON_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * The ingest answer `{"results": [...]}` as JSON text, fields in the order of the route's response
 * schema (`event_id`, `status`, `log_id`, then `leaf_index`, `verification_hash`, `integrity` when
 * present, i.e. not for `accepted`).
 */
export function resultsJson(results: readonly AppendResult[]): string {
  let out = '{"results":[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (i > 0) out += ',';
    out += `{"event_id":${jsonString(r.event_id)},"status":"${r.status}","log_id":${jsonString(r.log_id)}`;
    if (r.leaf_index !== undefined) out += `,"leaf_index":${r.leaf_index}`;
    if (r.leaf_hash !== undefined) out += `,"verification_hash":${jsonString(r.leaf_hash)}`;
    if (r.integrity !== undefined) out += `,"integrity":${jsonString(r.integrity)}`;
    out += '}';
  }
  return `${out}]}`;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Maps any thrown value to the HTTP error it answers. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof LedgerError) {
    switch (error.code) {
      case 'INVALID_EVENT':
        return new HttpError(400, 'INVALID_EVENT', error.message, { details: error.issues });
      case 'UNKNOWN_RETENTION_CLASS':
      case 'BAD_ARGUMENT':
        return new HttpError(400, error.code, error.message);
      case 'UNKNOWN_LOG':
      case 'NOT_FOUND':
        return new HttpError(404, error.code, error.message);
      case 'BACKPRESSURE':
        return new HttpError(429, 'BACKPRESSURE', error.message, { retryAfter: RETRY_AFTER_FULL_S });
      case 'CLOSED':
      case 'FAILED':
        return new HttpError(503, 'UNAVAILABLE', error.message, { retryAfter: RETRY_AFTER_UNAVAILABLE_S });
      default:
        return new HttpError(500, 'INTERNAL', `ledger error ${error.code}`, { cause: error });
    }
  }
  const fe = error as Partial<FastifyError>;
  if (Array.isArray(fe.validation)) {
    return new HttpError(400, 'INVALID_REQUEST', fe.message ?? 'invalid request', {
      details: fe.validation.map((v) => ({
        path:
          (v.params as { missingProperty?: string }).missingProperty ??
          v.instancePath.replace(/^\//, '').replaceAll('/', '.'),
        code: v.keyword,
        message: v.message ?? 'invalid',
      })),
    });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${MAX_BODY_BYTES} bytes`);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'MALFORMED_JSON', `request body is not valid JSON: ${fe.message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json');
  }
  if (error instanceof SyntaxError) {
    return new HttpError(400, 'MALFORMED_JSON', `request body is not valid JSON: ${error.message}`);
  }
  const status = fe.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'INVALID_REQUEST', fe.message ?? 'invalid request');
  }
  return new HttpError(500, 'INTERNAL', 'internal error', { cause: error });
}

function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
  return reply.code(e.status).send({ error: { code: e.code, message: e.message, details: e.details } });
}
