/**
 * Types and limits of an audit event (CONTRACT.md §1): the event as a client submits it
 * (`AuditEvent`) and as the rest of sealog handles it after validation (`NormalizedEvent`).
 *
 * This file holds no logic. It does not validate (see `validate-event.ts`) and does not decide
 * what is stored (see `personal.ts`, `record.ts`).
 */

/** Who acted. */
export type ActorType = 'user' | 'service' | 'system';
/** Coarse kind of action, optional on the event. */
export type EventCategory = 'create' | 'read' | 'update' | 'delete' | 'auth' | 'admin' | 'other';
/** Outcome of the action; `success` when the client omits it. */
export type EventResult = 'success' | 'failure' | 'unknown';

/** A JSON value (what `changes[].old` / `changes[].new` may hold). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A metadata value: a flat scalar (no nesting, no null). */
export type MetadataValue = string | number | boolean;

/** `actor` as submitted. `id`, `name` and `email` are personal data. */
export interface EventActor {
  id: string;
  type: ActorType;
  name?: string;
  email?: string;
}

/** `resource` as submitted (not personal). */
export interface EventResource {
  type: string;
  id: string;
  name?: string;
}

/** `context` as submitted. `ip` and `user_agent` are personal data. */
export interface EventContext {
  ip?: string;
  user_agent?: string;
  request_id?: string;
  session_id?: string;
  trace_id?: string;
  component?: string;
}

/** One field-level change. `old` and `new` are personal data; `null` is a value, absence is not. */
export interface EventChange {
  field: string;
  old?: JsonValue;
  new?: JsonValue;
}

/** An event exactly as a client submits it (CONTRACT.md §1, JSON form). */
export interface AuditEvent {
  event_id?: string;
  tenant_id: string;
  /** RFC 3339 string or integer epoch milliseconds. */
  occurred_at: string | number;
  actor: EventActor;
  action: string;
  category?: EventCategory;
  resource: EventResource;
  result?: EventResult;
  context?: EventContext;
  changes?: EventChange[];
  metadata?: Record<string, MetadataValue>;
  retention_class?: string;
}

/** `actor` after validation: every key present (absent optionals are `undefined`). */
export interface NormalizedActor {
  id: string;
  type: ActorType;
  name: string | undefined;
  email: string | undefined;
}

/** `resource` after validation. */
export interface NormalizedResource {
  type: string;
  id: string;
  name: string | undefined;
}

/** `context` after validation: all six keys present. */
export interface NormalizedContext {
  ip: string | undefined;
  user_agent: string | undefined;
  request_id: string | undefined;
  session_id: string | undefined;
  trace_id: string | undefined;
  component: string | undefined;
}

/** A change after validation; `undefined` means the client did not send that side. */
export interface NormalizedChange {
  field: string;
  old: JsonValue | undefined;
  new: JsonValue | undefined;
}

/**
 * An event after validation. Every key is always present, in this order, so all normalized
 * events share one hidden class; absent optionals are `undefined`.
 * `occurred_at` is integer epoch milliseconds (0 ≤ n ≤ {@link MAX_EPOCH_MS}); `result` defaults
 * to `'success'` and `retention_class` to `'default'`.
 */
export interface NormalizedEvent {
  event_id: string | undefined;
  tenant_id: string;
  occurred_at: number;
  actor: NormalizedActor;
  action: string;
  category: EventCategory | undefined;
  resource: NormalizedResource;
  result: EventResult;
  context: NormalizedContext | undefined;
  changes: NormalizedChange[] | undefined;
  metadata: Record<string, MetadataValue> | undefined;
  retention_class: string;
}

/** Actor types in wire order (the index is the stored code, see docs/FORMAT.md). */
export const ACTOR_TYPES: readonly ActorType[] = ['user', 'service', 'system'];
/** Categories in wire order (the index is the stored code). */
export const EVENT_CATEGORIES: readonly EventCategory[] = [
  'create',
  'read',
  'update',
  'delete',
  'auth',
  'admin',
  'other',
];
/** Results in wire order (the index is the stored code). */
export const EVENT_RESULTS: readonly EventResult[] = ['success', 'failure', 'unknown'];

/** Retention class given to events that name none. */
export const DEFAULT_RETENTION_CLASS: string = 'default';
/** Result given to events that name none. */
export const DEFAULT_RESULT: EventResult = 'success';

/** Maximum size of one event: 64 KiB of compact JSON, in UTF-8 bytes (CONTRACT.md §1). */
export const MAX_EVENT_JSON_BYTES: number = 64 * 1024;
/** Latest `occurred_at` accepted: 9999-12-31T23:59:59.999Z, in epoch milliseconds. */
export const MAX_EPOCH_MS: number = 253_402_300_799_999;

/**
 * String limits, in Unicode code points (as JSON Schema counts `maxLength`). Identifiers have a
 * minimum of 1; free text may be empty.
 */
export const LIMITS: {
  readonly eventIdChars: 128;
  readonly tenantIdChars: 128;
  readonly actorIdChars: 256;
  readonly actorNameChars: 256;
  readonly actorEmailChars: 320;
  readonly actionChars: 128;
  readonly resourceTypeChars: 128;
  readonly resourceIdChars: 256;
  readonly resourceNameChars: 256;
  readonly ipChars: 64;
  readonly userAgentChars: 1024;
  readonly contextIdChars: 128;
  readonly changeFieldChars: 256;
  readonly maxChanges: 256;
  readonly maxJsonDepth: 16;
  readonly metadataKeys: 64;
  readonly metadataKeyChars: 128;
  readonly metadataStringChars: 4096;
  readonly retentionClassChars: 64;
  readonly rfc3339Chars: 64;
} = {
  eventIdChars: 128,
  tenantIdChars: 128,
  actorIdChars: 256,
  actorNameChars: 256,
  actorEmailChars: 320,
  actionChars: 128,
  resourceTypeChars: 128,
  resourceIdChars: 256,
  resourceNameChars: 256,
  ipChars: 64,
  userAgentChars: 1024,
  contextIdChars: 128,
  changeFieldChars: 256,
  maxChanges: 256,
  maxJsonDepth: 16,
  metadataKeys: 64,
  metadataKeyChars: 128,
  metadataStringChars: 4096,
  retentionClassChars: 64,
  rfc3339Chars: 64,
};
