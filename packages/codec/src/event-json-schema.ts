/**
 * The JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of an event as a client submits it.
 *
 * It is documentation and an interoperability aid (the HTTP server publishes it in OpenAPI); the
 * server validates with the hand-compiled `validateEvent`, and a property test keeps the two in
 * agreement. JSON Schema cannot express three rules the validator also enforces: the 64 KiB size
 * limit, the 16-level nesting limit of `changes[].old/new`, and that `occurred_at` strings lie
 * between 1970 and 9999 after their offset is applied (the schema checks syntax and, through
 * `format: date-time`, calendar validity). `retention_class` is checked against configured classes
 * only at run time.
 */
import { LIMITS, MAX_EPOCH_MS } from './event';

/** A JSON Schema document (plain JSON data). */
export type JsonSchema = { readonly [keyword: string]: unknown };

const str = (minLength: number, maxLength: number, pattern?: string): JsonSchema =>
  pattern === undefined
    ? { type: 'string', minLength, maxLength }
    : { type: 'string', minLength, maxLength, pattern };

/** RFC 3339 `date-time` syntax as `parseRfc3339` accepts it. */
export const RFC3339_PATTERN: string =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$';

/**
 * JSON Schema of an `AuditEvent` (CONTRACT.md §1). Frozen; serialize it with `JSON.stringify`.
 *
 * @example
 * ```ts
 * import Ajv2020 from 'ajv/dist/2020';
 * const check = new Ajv2020().addFormat('date-time', true).compile(EVENT_JSON_SCHEMA);
 * ```
 */
export const EVENT_JSON_SCHEMA: JsonSchema = deepFreeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://sealog.dev/schemas/event.json',
  title: 'sealog audit event',
  description: 'One audit event as submitted (CONTRACT.md §1). At most 64 KiB of compact JSON (UTF-8).',
  type: 'object',
  additionalProperties: false,
  required: ['tenant_id', 'occurred_at', 'actor', 'action', 'resource'],
  properties: {
    event_id: str(1, LIMITS.eventIdChars, '^[A-Za-z0-9._:-]+$'),
    tenant_id: str(1, LIMITS.tenantIdChars, '^[A-Za-z0-9._-]+$'),
    occurred_at: {
      oneOf: [
        { type: 'string', maxLength: LIMITS.rfc3339Chars, pattern: RFC3339_PATTERN, format: 'date-time' },
        { type: 'integer', minimum: 0, maximum: MAX_EPOCH_MS },
      ],
    },
    actor: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'type'],
      properties: {
        id: str(1, LIMITS.actorIdChars),
        type: { enum: ['user', 'service', 'system'] },
        name: str(0, LIMITS.actorNameChars),
        email: str(0, LIMITS.actorEmailChars),
      },
    },
    action: str(1, LIMITS.actionChars),
    category: { enum: ['create', 'read', 'update', 'delete', 'auth', 'admin', 'other'] },
    resource: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'id'],
      properties: {
        type: str(1, LIMITS.resourceTypeChars),
        id: str(1, LIMITS.resourceIdChars),
        name: str(0, LIMITS.resourceNameChars),
      },
    },
    result: { enum: ['success', 'failure', 'unknown'] },
    context: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ip: str(1, LIMITS.ipChars),
        user_agent: str(0, LIMITS.userAgentChars),
        request_id: str(1, LIMITS.contextIdChars),
        session_id: str(1, LIMITS.contextIdChars),
        trace_id: str(1, LIMITS.contextIdChars),
        component: str(1, LIMITS.contextIdChars),
      },
    },
    changes: {
      type: 'array',
      maxItems: LIMITS.maxChanges,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['field'],
        properties: {
          field: str(1, LIMITS.changeFieldChars),
          old: { $ref: '#/$defs/jsonValue' },
          new: { $ref: '#/$defs/jsonValue' },
        },
      },
    },
    metadata: {
      type: 'object',
      maxProperties: LIMITS.metadataKeys,
      propertyNames: { minLength: 1, maxLength: LIMITS.metadataKeyChars, not: { const: '__proto__' } },
      additionalProperties: {
        anyOf: [
          { type: 'string', maxLength: LIMITS.metadataStringChars },
          { type: 'number' },
          { type: 'boolean' },
        ],
      },
    },
    retention_class: str(1, LIMITS.retentionClassChars, '^[A-Za-z0-9._-]+$'),
  },
  $defs: {
    jsonValue: {
      description: 'Any JSON value; objects may not use the key "__proto__"; at most 16 levels deep.',
      anyOf: [
        { type: 'string' },
        { type: 'number' },
        { type: 'boolean' },
        { type: 'null' },
        { type: 'array', items: { $ref: '#/$defs/jsonValue' } },
        {
          type: 'object',
          propertyNames: { not: { const: '__proto__' } },
          additionalProperties: { $ref: '#/$defs/jsonValue' },
        },
      ],
    },
  },
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
