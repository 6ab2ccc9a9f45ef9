/**
 * Validates and normalizes audit events (CONTRACT.md §1): a hand-compiled validator, chosen over
 * ajv and zod by measurement (see README, Benchmarks).
 *
 * It returns issues instead of throwing, collects every issue it finds (up to
 * {@link MAX_VALIDATION_ISSUES}) with a precise `path`, and builds the `NormalizedEvent` in the
 * same pass. It does not assign `event_id` or `received_at` (the server does) and does not know
 * which retention classes exist unless told (`retentionClasses`).
 *
 * Buffers and objects: the normalized event is a fresh object graph except for `changes[].old` /
 * `changes[].new`, which are the caller's JSON values by reference (deep copies cost more than the
 * validation itself); do not mutate them after validating.
 *
 * Event size (the 64 KiB limit) is the UTF-8 byte length of the event's compact JSON
 * serialization, i.e. `Buffer.byteLength(JSON.stringify(input))`. Computing that costs more than
 * validating, so the validator keeps an upper bound while it walks (6 bytes per UTF-16 unit of
 * every string, 25 per number, plus punctuation) and serializes only when the bound exceeds the
 * limit. A caller that already knows the size (an HTTP body holding one event) passes `byteLength`.
 */
import {
  type ActorType,
  DEFAULT_RESULT,
  DEFAULT_RETENTION_CLASS,
  type EventCategory,
  type EventResult,
  type JsonValue,
  LIMITS,
  MAX_EPOCH_MS,
  MAX_EVENT_JSON_BYTES,
  type MetadataValue,
  type NormalizedActor,
  type NormalizedChange,
  type NormalizedContext,
  type NormalizedEvent,
  type NormalizedResource,
} from './event';
import { parseRfc3339 } from './occurred-at';

/** Why a value was rejected. Stable strings, safe to branch on and to expose to clients. */
export type ValidationIssueCode =
  | 'type'
  | 'required'
  | 'unknown_field'
  | 'too_short'
  | 'too_long'
  | 'pattern'
  | 'enum'
  | 'too_many'
  | 'not_integer'
  | 'out_of_range'
  | 'invalid_date'
  | 'not_finite'
  | 'too_deep'
  | 'reserved_key'
  | 'unknown_retention_class'
  | 'too_large';

/** One reason an event was rejected. */
export interface ValidationIssue {
  /** Where: `""` for the event itself, else e.g. `actor.type`, `changes[2].field`, `metadata["a.b"]`. */
  path: string;
  code: ValidationIssueCode;
  /** Human-readable, quotes the path and got-vs-expected. */
  message: string;
}

/** A {@link ValidationIssue} of one event in a batch. */
export interface BatchValidationIssue extends ValidationIssue {
  /** Position of the event in the batch, 0-based. */
  index: number;
}

/** Result of {@link validateEvent}. */
export type ValidationResult =
  | { ok: true; event: NormalizedEvent }
  | { ok: false; errors: ValidationIssue[] };

/** Result of {@link validateBatch}. */
export type BatchValidationResult =
  | { ok: true; events: NormalizedEvent[] }
  | { ok: false; errors: BatchValidationIssue[] };

/** Options of {@link validateEvent}. */
export interface ValidateOptions {
  /**
   * Size of the event's JSON in bytes when the caller already knows it (e.g. the body length of a
   * single-event request); skips the validator's own size computation. Integer ≥ 0.
   */
  byteLength?: number;
  /** Configured retention classes; when given, `retention_class` (or its default) must be one. */
  retentionClasses?: ReadonlySet<string>;
}

/** Options of {@link validateBatch}. */
export interface ValidateBatchOptions {
  /** Per-event JSON sizes in bytes, same order as the inputs (see {@link ValidateOptions.byteLength}). */
  byteLengths?: readonly number[];
  /** Configured retention classes (see {@link ValidateOptions.retentionClasses}). */
  retentionClasses?: ReadonlySet<string>;
}

/** At most this many issues are reported per call; the rest are dropped (the input is still rejected). */
export const MAX_VALIDATION_ISSUES: number = 64;

const EVENT_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
const TENANT_ID_PATTERN = /^[A-Za-z0-9._-]+$/;
const RETENTION_CLASS_PATTERN = /^[A-Za-z0-9._-]+$/;
const IDENTIFIER_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Upper bound, in UTF-8 bytes, of the JSON for one member's key and punctuation:
 * the longest known key (15 chars) + 2 quotes + colon + comma.
 */
const JSON_MEMBER_BOUND = 19;
/** Upper bound of braces or brackets of one object or array. */
const JSON_CONTAINER_BOUND = 2;
/** JSON.stringify of a finite double is at most 25 chars (`-0.0000012345678901234567`). */
const JSON_NUMBER_BOUND = 25;
/** Worst case per UTF-16 unit: a control character or lone surrogate becomes `\uXXXX`. */
const JSON_BYTES_PER_UTF16_UNIT = 6;

const EVENT_KEYS: ReadonlySet<string> = new Set([
  'event_id',
  'tenant_id',
  'occurred_at',
  'actor',
  'action',
  'category',
  'resource',
  'result',
  'context',
  'changes',
  'metadata',
  'retention_class',
]);
const ACTOR_KEYS: ReadonlySet<string> = new Set(['id', 'type', 'name', 'email']);
const RESOURCE_KEYS: ReadonlySet<string> = new Set(['type', 'id', 'name']);
const CONTEXT_KEYS: ReadonlySet<string> = new Set([
  'ip',
  'user_agent',
  'request_id',
  'session_id',
  'trace_id',
  'component',
]);
const CHANGE_KEYS: ReadonlySet<string> = new Set(['field', 'old', 'new']);

/** Per-call state: the issues found so far and the running JSON size bound. */
class Check {
  issues: ValidationIssue[] | null = null;
  count = 0;
  bound = 0;

  add(path: string, code: ValidationIssueCode, message: string): void {
    this.count++;
    if (this.count > MAX_VALIDATION_ISSUES) return;
    if (this.issues === null) this.issues = [];
    this.issues.push({ path, code, message });
  }

  /** Validates a string's type, length (code points) and optional ASCII pattern. */
  str(v: unknown, path: string, min: number, max: number, pattern: RegExp | null): string | undefined {
    if (typeof v !== 'string') {
      this.add(path, 'type', `${label(path)}: expected a string, got ${describe(v)}`);
      return undefined;
    }
    const n = v.length;
    this.bound += JSON_BYTES_PER_UTF16_UNIT * n + 2;
    if (n < min) {
      this.add(path, 'too_short', `${label(path)}: expected at least ${min} character(s), got ${n}`);
      return undefined;
    }
    // UTF-16 length ≥ code points, so the exact count is needed only past the limit.
    if (n > max) {
      const cp = codePoints(v);
      if (cp > max) {
        this.add(path, 'too_long', `${label(path)}: expected at most ${max} characters, got ${cp}`);
        return undefined;
      }
    }
    if (pattern !== null && !pattern.test(v)) {
      this.add(
        path,
        'pattern',
        `${label(path)}: expected characters matching ${pattern.source}, got ${quote(v)}`,
      );
      return undefined;
    }
    return v;
  }

  /** Reports keys of `o` outside `known` when `o` has more keys than the `present` known ones. */
  keys(o: object, path: string, known: ReadonlySet<string>, present: number): void {
    let n = 0;
    for (const _ in o) n++;
    this.bound += JSON_CONTAINER_BOUND + JSON_MEMBER_BOUND * present;
    if (n === present) return;
    for (const k in o) {
      if (!known.has(k)) {
        const p = join(path, k);
        this.add(p, 'unknown_field', `${label(p)}: unknown field (expected one of ${[...known].join(', ')})`);
      }
    }
  }
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return String(v);
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
    if (proto !== null && proto !== Object.prototype) return proto.constructor?.name ?? 'object';
  }
  return typeof v;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function label(path: string): string {
  return path === '' ? 'event' : path;
}

function join(path: string, key: string): string {
  const k = IDENTIFIER_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return path === '' && k.charCodeAt(0) === 46 ? key : path + k;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function objectOrIssue(c: Check, v: unknown, path: string): Record<string, unknown> | undefined {
  if (isPlainObject(v)) return v;
  c.add(path, 'type', `${label(path)}: expected an object, got ${describe(v)}`);
  return undefined;
}

function required(c: Check, path: string): void {
  c.add(path, 'required', `${path}: required field is missing`);
}

function actorType(c: Check, v: unknown, path: string): ActorType | undefined {
  if (v === 'user' || v === 'service' || v === 'system') return v;
  c.add(path, 'enum', `${path}: expected one of user, service, system, got ${enumGot(v)}`);
  return undefined;
}

function category(c: Check, v: unknown, path: string): EventCategory | undefined {
  switch (v) {
    case 'create':
    case 'read':
    case 'update':
    case 'delete':
    case 'auth':
    case 'admin':
    case 'other':
      c.bound += 8;
      return v;
  }
  c.add(
    path,
    'enum',
    `${path}: expected one of create, read, update, delete, auth, admin, other, got ${enumGot(v)}`,
  );
  return undefined;
}

function result(c: Check, v: unknown, path: string): EventResult | undefined {
  if (v === 'success' || v === 'failure' || v === 'unknown') {
    c.bound += 9;
    return v;
  }
  c.add(path, 'enum', `${path}: expected one of success, failure, unknown, got ${enumGot(v)}`);
  return undefined;
}

function enumGot(v: unknown): string {
  return typeof v === 'string' ? quote(v) : describe(v);
}

function occurredAt(c: Check, v: unknown): number | undefined {
  const path = 'occurred_at';
  if (typeof v === 'number') {
    c.bound += JSON_NUMBER_BOUND;
    if (!Number.isInteger(v)) {
      c.add(path, 'not_integer', `${path}: expected integer epoch milliseconds, got ${v}`);
      return undefined;
    }
    if (v < 0 || v > MAX_EPOCH_MS) {
      c.add(path, 'out_of_range', `${path}: expected 0 ≤ ms ≤ ${MAX_EPOCH_MS}, got ${v}`);
      return undefined;
    }
    return v;
  }
  if (typeof v === 'string') {
    c.bound += JSON_BYTES_PER_UTF16_UNIT * v.length + 2;
    const ms = parseRfc3339(v);
    if (Number.isNaN(ms)) {
      c.add(path, 'invalid_date', `${path}: expected an RFC 3339 date-time, got ${quote(v)}`);
      return undefined;
    }
    if (ms < 0 || ms > MAX_EPOCH_MS) {
      c.add(
        path,
        'out_of_range',
        `${path}: expected 1970-01-01T00:00:00Z ≤ time ≤ 9999-12-31T23:59:59.999Z, got ${quote(v)}`,
      );
      return undefined;
    }
    return ms;
  }
  c.add(
    path,
    'type',
    `${path}: expected an RFC 3339 string or integer epoch milliseconds, got ${describe(v)}`,
  );
  return undefined;
}

function actor(c: Check, v: unknown): NormalizedActor | undefined {
  const o = objectOrIssue(c, v, 'actor');
  if (o === undefined) return undefined;
  let present = 0;
  let id: string | undefined;
  let type: ActorType | undefined;
  let name: string | undefined;
  let email: string | undefined;
  const rawId = o.id;
  if (rawId === undefined) required(c, 'actor.id');
  else {
    present++;
    id = c.str(rawId, 'actor.id', 1, LIMITS.actorIdChars, null);
  }
  const rawType = o.type;
  if (rawType === undefined) required(c, 'actor.type');
  else {
    present++;
    type = actorType(c, rawType, 'actor.type');
  }
  const rawName = o.name;
  if (rawName !== undefined) {
    present++;
    name = c.str(rawName, 'actor.name', 0, LIMITS.actorNameChars, null);
  }
  const rawEmail = o.email;
  if (rawEmail !== undefined) {
    present++;
    email = c.str(rawEmail, 'actor.email', 0, LIMITS.actorEmailChars, null);
  }
  c.keys(o, 'actor', ACTOR_KEYS, present);
  if (id === undefined || type === undefined) return undefined;
  return { id, type, name, email };
}

function resource(c: Check, v: unknown): NormalizedResource | undefined {
  const o = objectOrIssue(c, v, 'resource');
  if (o === undefined) return undefined;
  let present = 0;
  let type: string | undefined;
  let id: string | undefined;
  let name: string | undefined;
  const rawType = o.type;
  if (rawType === undefined) required(c, 'resource.type');
  else {
    present++;
    type = c.str(rawType, 'resource.type', 1, LIMITS.resourceTypeChars, null);
  }
  const rawId = o.id;
  if (rawId === undefined) required(c, 'resource.id');
  else {
    present++;
    id = c.str(rawId, 'resource.id', 1, LIMITS.resourceIdChars, null);
  }
  const rawName = o.name;
  if (rawName !== undefined) {
    present++;
    name = c.str(rawName, 'resource.name', 0, LIMITS.resourceNameChars, null);
  }
  c.keys(o, 'resource', RESOURCE_KEYS, present);
  if (type === undefined || id === undefined) return undefined;
  return { type, id, name };
}

function optionalStr(
  c: Check,
  o: Record<string, unknown>,
  key: string,
  path: string,
  min: number,
  max: number,
): string | undefined {
  const raw = o[key];
  if (raw === undefined) return undefined;
  return c.str(raw, path, min, max, null);
}

function context(c: Check, v: unknown): NormalizedContext | undefined {
  const o = objectOrIssue(c, v, 'context');
  if (o === undefined) return undefined;
  const before = c.count;
  const ip = optionalStr(c, o, 'ip', 'context.ip', 1, LIMITS.ipChars);
  const userAgent = optionalStr(c, o, 'user_agent', 'context.user_agent', 0, LIMITS.userAgentChars);
  const requestId = optionalStr(c, o, 'request_id', 'context.request_id', 1, LIMITS.contextIdChars);
  const sessionId = optionalStr(c, o, 'session_id', 'context.session_id', 1, LIMITS.contextIdChars);
  const traceId = optionalStr(c, o, 'trace_id', 'context.trace_id', 1, LIMITS.contextIdChars);
  const component = optionalStr(c, o, 'component', 'context.component', 1, LIMITS.contextIdChars);
  const present =
    (o.ip !== undefined ? 1 : 0) +
    (o.user_agent !== undefined ? 1 : 0) +
    (o.request_id !== undefined ? 1 : 0) +
    (o.session_id !== undefined ? 1 : 0) +
    (o.trace_id !== undefined ? 1 : 0) +
    (o.component !== undefined ? 1 : 0);
  c.keys(o, 'context', CONTEXT_KEYS, present);
  if (c.count !== before) return undefined;
  return {
    ip,
    user_agent: userAgent,
    request_id: requestId,
    session_id: sessionId,
    trace_id: traceId,
    component,
  };
}

/** A fault inside a JSON value; `suffix` is the path below the value, built only on failure. */
interface JsonFault {
  code: ValidationIssueCode;
  suffix: string;
  detail: string;
}

/** Walks a JSON value (depth-limited, so cycles terminate); `null` when it is valid. */
function jsonValue(c: Check, v: unknown, depth: number): JsonFault | null {
  switch (typeof v) {
    case 'string':
      c.bound += JSON_BYTES_PER_UTF16_UNIT * v.length + 2;
      return null;
    case 'number':
      c.bound += JSON_NUMBER_BOUND;
      return Number.isFinite(v) ? null : { code: 'not_finite', suffix: '', detail: `got ${describe(v)}` };
    case 'boolean':
      c.bound += 5;
      return null;
    case 'object':
      break;
    default:
      return { code: 'type', suffix: '', detail: `expected a JSON value, got ${describe(v)}` };
  }
  if (v === null) {
    c.bound += 4;
    return null;
  }
  if (depth >= LIMITS.maxJsonDepth) {
    return {
      code: 'too_deep',
      suffix: '',
      detail: `expected at most ${LIMITS.maxJsonDepth} levels of nesting`,
    };
  }
  if (Array.isArray(v)) {
    c.bound += JSON_CONTAINER_BOUND + v.length;
    for (let i = 0; i < v.length; i++) {
      const fault = jsonValue(c, v[i], depth + 1);
      if (fault !== null) {
        fault.suffix = `[${i}]${fault.suffix}`;
        return fault;
      }
    }
    return null;
  }
  if (!isPlainObject(v)) {
    return { code: 'type', suffix: '', detail: `expected a JSON value, got ${describe(v)}` };
  }
  c.bound += JSON_CONTAINER_BOUND;
  for (const k in v) {
    if (k === '__proto__') {
      return { code: 'reserved_key', suffix: '.__proto__', detail: 'the key "__proto__" is not allowed' };
    }
    c.bound += JSON_BYTES_PER_UTF16_UNIT * k.length + 4;
    const fault = jsonValue(c, v[k], depth + 1);
    if (fault !== null) {
      fault.suffix = (IDENTIFIER_KEY.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`) + fault.suffix;
      return fault;
    }
  }
  return null;
}

function changeSide(c: Check, raw: unknown, path: string): void {
  const fault = jsonValue(c, raw, 0);
  if (fault !== null) {
    const p = path + fault.suffix;
    c.add(p, fault.code, `${p}: ${fault.detail}`);
  }
}

function changes(c: Check, v: unknown): NormalizedChange[] | undefined {
  if (!Array.isArray(v)) {
    c.add('changes', 'type', `changes: expected an array, got ${describe(v)}`);
    return undefined;
  }
  if (v.length > LIMITS.maxChanges) {
    c.add('changes', 'too_many', `changes: expected at most ${LIMITS.maxChanges} items, got ${v.length}`);
    return undefined;
  }
  const before = c.count;
  const out: NormalizedChange[] = new Array(v.length);
  c.bound += JSON_CONTAINER_BOUND + v.length;
  for (let i = 0; i < v.length; i++) {
    const path = `changes[${i}]`;
    const o = objectOrIssue(c, v[i], path);
    if (o === undefined) continue;
    let present = 0;
    let field: string | undefined;
    const rawField = o.field;
    if (rawField === undefined) required(c, `${path}.field`);
    else {
      present++;
      field = c.str(rawField, `${path}.field`, 1, LIMITS.changeFieldChars, null);
    }
    const rawOld = o.old as JsonValue | undefined;
    if (rawOld !== undefined) {
      present++;
      changeSide(c, rawOld, `${path}.old`);
    }
    const rawNew = o.new as JsonValue | undefined;
    if (rawNew !== undefined) {
      present++;
      changeSide(c, rawNew, `${path}.new`);
    }
    c.keys(o, path, CHANGE_KEYS, present);
    if (field !== undefined) out[i] = { field, old: rawOld, new: rawNew };
  }
  return c.count === before ? out : undefined;
}

function metadata(c: Check, v: unknown): Record<string, MetadataValue> | undefined {
  const o = objectOrIssue(c, v, 'metadata');
  if (o === undefined) return undefined;
  let n = 0;
  for (const _ in o) n++;
  if (n > LIMITS.metadataKeys) {
    c.add('metadata', 'too_many', `metadata: expected at most ${LIMITS.metadataKeys} keys, got ${n}`);
    return undefined;
  }
  const before = c.count;
  const out: Record<string, MetadataValue> = {};
  c.bound += JSON_CONTAINER_BOUND;
  for (const k in o) {
    const path = join('metadata', k);
    c.bound += JSON_BYTES_PER_UTF16_UNIT * k.length + 4;
    if (k.length === 0) {
      c.add(path, 'too_short', `${path}: expected a key of at least 1 character, got ""`);
      continue;
    }
    if (k.length > LIMITS.metadataKeyChars && codePoints(k) > LIMITS.metadataKeyChars) {
      c.add(path, 'too_long', `${path}: expected a key of at most ${LIMITS.metadataKeyChars} characters`);
      continue;
    }
    // msgpack decoders (msgpackr included) rename or drop `__proto__`; refuse it so records round-trip.
    if (k === '__proto__') {
      c.add(path, 'reserved_key', `${path}: the key "__proto__" is not allowed`);
      continue;
    }
    const value = o[k];
    if (typeof value === 'string') {
      const s = c.str(value, path, 0, LIMITS.metadataStringChars, null);
      if (s !== undefined) out[k] = s;
    } else if (typeof value === 'number') {
      c.bound += JSON_NUMBER_BOUND;
      if (Number.isFinite(value)) out[k] = value;
      else c.add(path, 'not_finite', `${path}: expected a finite number, got ${describe(value)}`);
    } else if (typeof value === 'boolean') {
      c.bound += 5;
      out[k] = value;
    } else {
      c.add(path, 'type', `${path}: expected a string, number or boolean, got ${describe(value)}`);
    }
  }
  return c.count === before ? out : undefined;
}

function validateInto(
  c: Check,
  input: unknown,
  retentionClasses: ReadonlySet<string> | undefined,
): NormalizedEvent | undefined {
  const o = objectOrIssue(c, input, '');
  if (o === undefined) return undefined;
  let present = 0;

  const rawEventId = o.event_id;
  let eventId: string | undefined;
  if (rawEventId !== undefined) {
    present++;
    eventId = c.str(rawEventId, 'event_id', 1, LIMITS.eventIdChars, EVENT_ID_PATTERN);
  }
  const rawTenant = o.tenant_id;
  let tenantId: string | undefined;
  if (rawTenant === undefined) required(c, 'tenant_id');
  else {
    present++;
    tenantId = c.str(rawTenant, 'tenant_id', 1, LIMITS.tenantIdChars, TENANT_ID_PATTERN);
  }
  const rawOccurred = o.occurred_at;
  let occurred: number | undefined;
  if (rawOccurred === undefined) required(c, 'occurred_at');
  else {
    present++;
    occurred = occurredAt(c, rawOccurred);
  }
  const rawActor = o.actor;
  let act: NormalizedActor | undefined;
  if (rawActor === undefined) required(c, 'actor');
  else {
    present++;
    act = actor(c, rawActor);
  }
  const rawAction = o.action;
  let action: string | undefined;
  if (rawAction === undefined) required(c, 'action');
  else {
    present++;
    action = c.str(rawAction, 'action', 1, LIMITS.actionChars, null);
  }
  const rawCategory = o.category;
  let cat: EventCategory | undefined;
  if (rawCategory !== undefined) {
    present++;
    cat = category(c, rawCategory, 'category');
  }
  const rawResource = o.resource;
  let res: NormalizedResource | undefined;
  if (rawResource === undefined) required(c, 'resource');
  else {
    present++;
    res = resource(c, rawResource);
  }
  const rawResult = o.result;
  let outcome: EventResult | undefined = DEFAULT_RESULT;
  if (rawResult !== undefined) {
    present++;
    outcome = result(c, rawResult, 'result');
  }
  const rawContext = o.context;
  let ctx: NormalizedContext | undefined;
  if (rawContext !== undefined) {
    present++;
    ctx = context(c, rawContext);
  }
  const rawChanges = o.changes;
  let chg: NormalizedChange[] | undefined;
  if (rawChanges !== undefined) {
    present++;
    chg = changes(c, rawChanges);
  }
  const rawMetadata = o.metadata;
  let meta: Record<string, MetadataValue> | undefined;
  if (rawMetadata !== undefined) {
    present++;
    meta = metadata(c, rawMetadata);
  }
  const rawRetention = o.retention_class;
  let retention: string | undefined = DEFAULT_RETENTION_CLASS;
  if (rawRetention !== undefined) {
    present++;
    retention = c.str(
      rawRetention,
      'retention_class',
      1,
      LIMITS.retentionClassChars,
      RETENTION_CLASS_PATTERN,
    );
  }
  if (retention !== undefined && retentionClasses !== undefined && !retentionClasses.has(retention)) {
    c.add(
      'retention_class',
      'unknown_retention_class',
      `retention_class: expected a configured class (${[...retentionClasses].join(', ')}), got ${quote(retention)}`,
    );
  }
  c.keys(o, '', EVENT_KEYS, present);

  if (
    c.count !== 0 ||
    tenantId === undefined ||
    occurred === undefined ||
    act === undefined ||
    action === undefined ||
    res === undefined ||
    outcome === undefined ||
    retention === undefined
  ) {
    return undefined;
  }
  return {
    event_id: eventId,
    tenant_id: tenantId,
    occurred_at: occurred,
    actor: act,
    action,
    category: cat,
    resource: res,
    result: outcome,
    context: ctx,
    changes: chg,
    metadata: meta,
    retention_class: retention,
  };
}

function checkSize(c: Check, input: unknown, byteLength: number | undefined): void {
  let size: number;
  if (byteLength !== undefined) size = byteLength;
  else if (c.bound <= MAX_EVENT_JSON_BYTES) return;
  else size = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (size > MAX_EVENT_JSON_BYTES) {
    c.add('', 'too_large', `event: expected at most ${MAX_EVENT_JSON_BYTES} bytes of JSON, got ${size}`);
  }
}

/**
 * Validates one event against CONTRACT.md §1 and normalizes it.
 *
 * Rejects unknown fields at every level, wrong types, strings outside their limits (code points,
 * see `LIMITS`), `occurred_at` outside 1970-01-01…9999-12-31, more than 64 metadata keys, JSON
 * values nested deeper than 16 levels or holding non-finite numbers, and events over 64 KiB of JSON
 * (see the file comment for how size is measured). A property whose value is `undefined` is
 * treated as absent (JSON cannot carry one; JavaScript callers can).
 *
 * @param input - anything (typically `JSON.parse` output).
 * @param opts - see {@link ValidateOptions}.
 * @returns `{ ok: true, event }` or `{ ok: false, errors }` (1…64 issues). Never throws for bad input.
 * @example
 * ```ts
 * const r = validateEvent({ tenant_id: 't1', occurred_at: '2026-11-23T10:00:00Z',
 *   actor: { id: 'u1', type: 'user' }, action: 'role.upgrade', resource: { type: 'role', id: 'admin' } });
 * if (r.ok) r.event.occurred_at; // 1795428000000
 * else r.errors[0]?.path;        // e.g. "actor.type"
 * ```
 */
export function validateEvent(input: unknown, opts?: ValidateOptions): ValidationResult {
  const c = new Check();
  const event = validateInto(c, input, opts?.retentionClasses);
  if (event !== undefined) checkSize(c, input, opts?.byteLength);
  if (c.issues !== null || event === undefined) {
    return { ok: false, errors: c.issues ?? [] };
  }
  return { ok: true, event };
}

/**
 * Validates a batch as a whole (CONTRACT.md §2: one invalid event rejects the batch).
 *
 * @param inputs - the events, in request order.
 * @param opts - see {@link ValidateBatchOptions}.
 * @returns every normalized event, or the issues of all invalid events with their `index`
 *   (at most {@link MAX_VALIDATION_ISSUES} in total; validation stops once that many are found).
 * @example
 * ```ts
 * const r = validateBatch(body.events);
 * if (!r.ok) reply400(r.errors.map((e) => ({ index: e.index, path: e.path, message: e.message })));
 * ```
 */
export function validateBatch(
  inputs: readonly unknown[],
  opts?: ValidateBatchOptions,
): BatchValidationResult {
  const events: NormalizedEvent[] = new Array(inputs.length);
  let errors: BatchValidationIssue[] | null = null;
  const retentionClasses = opts?.retentionClasses;
  const byteLengths = opts?.byteLengths;
  for (let i = 0; i < inputs.length; i++) {
    const c = new Check();
    const input = inputs[i];
    const event = validateInto(c, input, retentionClasses);
    if (event !== undefined) checkSize(c, input, byteLengths?.[i]);
    if (c.issues === null && event !== undefined) {
      events[i] = event;
      continue;
    }
    if (errors === null) errors = [];
    const issues = c.issues ?? [];
    for (let j = 0; j < issues.length && errors.length < MAX_VALIDATION_ISSUES; j++) {
      const issue = issues[j]!;
      errors.push({ index: i, path: issue.path, code: issue.code, message: `[${i}] ${issue.message}` });
    }
    if (errors.length >= MAX_VALIDATION_ISSUES) break;
  }
  return errors === null ? { ok: true, events } : { ok: false, errors };
}
