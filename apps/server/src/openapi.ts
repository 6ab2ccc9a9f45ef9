/**
 * `GET /openapi.json`: an OpenAPI 3.1 document generated from the fastify routes as they are
 * registered — path and query parameters from `schema.params` / `schema.querystring` (the same
 * schemas fastify validates with), success bodies from `schema.response` (the schemas fastify
 * serializes with), plus each route's `config.doc` (summary, role, request body, errors).
 *
 * The event body schema is `EVENT_JSON_SCHEMA` of `@sealog/codec` (JSON Schema 2020-12, which
 * OpenAPI 3.1 uses); its `$defs` move to `components.schemas` so every `$ref` resolves from the
 * document root. Every route must carry `config.doc`: an undocumented route is a logic error.
 */
import { EVENT_JSON_SCHEMA, type JsonSchema } from '@sealog/codec';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Role } from './api-keys';

/** Documentation of one route beyond its JSON schemas. */
export interface RouteDoc {
  readonly summary: string;
  readonly tag: 'ingest' | 'read' | 'erase' | 'logs' | 'admin' | 'operations';
  /** Role the API key needs; absent for the unauthenticated probes. */
  readonly role?: Role;
  readonly requestBody?: { readonly description: string; readonly schema: JsonSchema };
  /** Non-JSON success bodies (e.g. `text/plain`), keyed by status code. */
  readonly textResponses?: Readonly<Record<number, { description: string; contentType: string }>>;
  /** Error statuses the route answers (CONTRACT error shape). */
  readonly errors: readonly number[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** OpenAPI documentation of the route (see `openapi.ts`). */
    doc?: RouteDoc;
  }
}

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid request (nothing stored)',
  401: 'Missing or unknown API key',
  403: 'Role missing or tenant outside the key scope (nothing stored)',
  404: 'Unknown log or resource',
  413: 'Body over 16 MiB or more than 10,000 events',
  415: 'Content-Type is not application/json',
  429: 'Ingest queue full; retry after `Retry-After` seconds (nothing stored)',
  503: 'Starting, draining or ledger unavailable; retry after `Retry-After` seconds',
};

/** `{"error": {"code", "message", "details"}}` (CONTRACT §2). */
export const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: {
          type: 'array',
          items: {
            type: 'object',
            required: ['message'],
            properties: {
              index: { type: 'integer', minimum: 0 },
              path: { type: 'string' },
              code: { type: 'string' },
              message: { type: 'string' },
            },
          },
        },
      },
    },
  },
};

/** `$ref` to the event schema, for route documentation. */
export const EVENT_REF: JsonSchema = { $ref: '#/components/schemas/Event' };

/**
 * Records every route registered on `app` after this call and returns a function that builds the
 * OpenAPI document from them (call it once the app is ready; the result is cached).
 * @example
 * const openapi = collectOpenApi(app, '0.1.0');
 * app.get('/openapi.json', async () => openapi());
 */
export function collectOpenApi(app: FastifyInstance, version: string): () => JsonSchema {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  let built: JsonSchema | undefined;
  return () => {
    built ??= buildDocument(routes, version);
    return built;
  };
}

function buildDocument(routes: readonly RouteOptions[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter(
      (m) => m !== 'HEAD', // fastify's automatic HEAD twins of GET routes
    );
    if (methods.length === 0) continue;
    const doc = route.config?.doc;
    if (doc === undefined) throw new Error(`logic error: route ${route.url} has no config.doc`);
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[path] ??= {};
    for (const method of methods) paths[path][method.toLowerCase()] = operation(route, doc);
  }
  const {
    $defs,
    $schema: _s,
    $id: _i,
    ...event
  } = EVENT_JSON_SCHEMA as JsonSchema & {
    $defs?: Record<string, JsonSchema>;
  };
  const schemas: Record<string, unknown> = { Event: rewriteRefs(event), Error: ERROR_SCHEMA };
  for (const [name, schema] of Object.entries($defs ?? {})) schemas[defName(name)] = rewriteRefs(schema);
  return {
    openapi: '3.1.0',
    info: {
      title: 'sealog',
      version,
      description: 'Tamper-evident, encrypted audit log (CONTRACT §2).',
    },
    paths,
    components: {
      schemas,
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'sealog API key' } },
      headers: {
        'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
      },
    },
  };
}

function operation(route: RouteOptions, doc: RouteDoc): Record<string, unknown> {
  const schema = (route.schema ?? {}) as {
    params?: JsonSchema;
    querystring?: JsonSchema;
    response?: Record<string, JsonSchema>;
  };
  const parameters = [...parametersOf(schema.params, 'path'), ...parametersOf(schema.querystring, 'query')];
  const responses: Record<string, unknown> = {};
  for (const [status, body] of Object.entries(schema.response ?? {})) {
    responses[status] = {
      description: (body as { description?: string }).description ?? 'OK',
      content: { 'application/json': { schema: body } },
    };
  }
  for (const [status, text] of Object.entries(doc.textResponses ?? {})) {
    responses[status] = {
      description: text.description,
      content: { [text.contentType]: { schema: { type: 'string' } } },
    };
  }
  for (const status of doc.errors) {
    const retry = status === 429 || status === 503;
    responses[String(status)] = {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      ...(retry ? { headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } } } : {}),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    operationId: `${String(route.method).toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? '').toUpperCase())}`,
    summary: doc.summary,
    tags: [doc.tag],
    security: doc.role === undefined ? [] : [{ apiKey: [] }],
    ...(doc.role === undefined ? {} : { 'x-sealog-role': doc.role }),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(doc.requestBody === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            description: doc.requestBody.description,
            content: { 'application/json': { schema: doc.requestBody.schema } },
          },
        }),
    responses,
  };
}

function parametersOf(schema: JsonSchema | undefined, where: 'path' | 'query'): unknown[] {
  if (schema === undefined) return [];
  const { properties = {}, required = [] } = schema as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.includes(name),
    schema: s,
  }));
}

/** `jsonValue` → `JsonValue` (component names are PascalCase). */
function defName(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Deep copy with `#/$defs/x` refs pointing at `#/components/schemas/X`. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
        ? `#/components/schemas/${defName(v.slice('#/$defs/'.length))}`
        : rewriteRefs(v);
  }
  return out;
}
