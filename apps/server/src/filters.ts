/**
 * The search filter of `audit-logs` and `export` (CONTRACT §2): parsed from the query string with
 * errors that name the parameter. Unknown parameters are refused (400) rather than ignored: a
 * misspelt filter must never silently widen a search to every record.
 *
 * Not here: the actor id → blind token step (the ledger's key material) and the index query.
 */
import { HttpError } from './errors';

/** Largest page (CONTRACT §2). */
export const MAX_LIMIT = 1000;
/** Default page (CONTRACT §2). */
export const DEFAULT_LIMIT = 50;

/** A parsed filter; times are epoch ms, start inclusive, end exclusive. */
export interface RecordFilter {
  readonly actorId?: string;
  readonly action?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly result?: string;
  readonly category?: string;
  readonly startTime?: number;
  readonly endTime?: number;
}

/** Filter parameters shared by search and export. */
export const FILTER_PARAMS: readonly string[] = [
  'actor_id',
  'action',
  'resource_type',
  'resource_id',
  'result',
  'category',
  'start_time',
  'end_time',
];

/** JSON schema properties of the filter parameters (documentation and type checks). */
export const FILTER_SCHEMA_PROPERTIES = {
  actor_id: {
    type: 'string',
    minLength: 1,
    maxLength: 1024,
    description: 'Actor id (matched by blind token)',
  },
  action: { type: 'string', minLength: 1, maxLength: 128 },
  resource_type: { type: 'string', minLength: 1, maxLength: 256 },
  resource_id: { type: 'string', minLength: 1, maxLength: 1024 },
  result: { type: 'string', enum: ['success', 'failure', 'unknown'] },
  category: { type: 'string', enum: ['create', 'read', 'update', 'delete', 'auth', 'admin', 'other'] },
  start_time: { type: 'string', description: 'Inclusive; epoch seconds or RFC 3339' },
  end_time: { type: 'string', description: 'Exclusive; epoch seconds or RFC 3339' },
} as const;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const EPOCH_SECONDS = /^\d{1,11}(\.\d{1,3})?$/;

/**
 * Parses a time parameter: epoch seconds (up to 3 decimals) or RFC 3339.
 * @throws {HttpError} 400 naming `param`.
 */
export function parseTime(value: string, param: string): number {
  if (EPOCH_SECONDS.test(value)) return Math.round(Number(value) * 1000);
  if (RFC3339.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  throw badParam(param, `expected epoch seconds or an RFC 3339 time, got ${JSON.stringify(value)}`);
}

/** A 400 naming one query parameter (`code` is the detail's machine-readable reason). */
export function badParam(param: string, message: string, code = 'invalid'): HttpError {
  return new HttpError(400, 'INVALID_REQUEST', `${param}: ${message}`, {
    details: [{ path: param, code, message }],
  });
}

/**
 * Refuses parameters outside `allowed` (fastify would otherwise drop them silently).
 * @throws {HttpError} 400 listing every unknown parameter.
 */
export function checkKnownParams(query: unknown, allowed: ReadonlySet<string>): void {
  if (query === null || typeof query !== 'object') return;
  const unknown = Object.keys(query).filter((k) => !allowed.has(k));
  if (unknown.length === 0) return;
  throw new HttpError(400, 'INVALID_REQUEST', `unknown query parameter(s): ${unknown.join(', ')}`, {
    details: unknown.map((k) => ({
      path: k,
      code: 'unknown_parameter',
      message: `unknown query parameter ${JSON.stringify(k)}`,
    })),
  });
}

/**
 * The filter of a (schema-checked) query.
 * @throws {HttpError} 400 for bad times or an empty range.
 */
export function parseFilter(q: Readonly<Record<string, string | undefined>>): RecordFilter {
  const f: {
    -readonly [K in keyof RecordFilter]: RecordFilter[K];
  } = {};
  if (q.actor_id !== undefined) f.actorId = q.actor_id;
  if (q.action !== undefined) f.action = q.action;
  if (q.resource_type !== undefined) f.resourceType = q.resource_type;
  if (q.resource_id !== undefined) f.resourceId = q.resource_id;
  if (q.result !== undefined) f.result = q.result;
  if (q.category !== undefined) f.category = q.category;
  if (q.start_time !== undefined) f.startTime = parseTime(q.start_time, 'start_time');
  if (q.end_time !== undefined) f.endTime = parseTime(q.end_time, 'end_time');
  if (f.startTime !== undefined && f.endTime !== undefined && f.endTime < f.startTime) {
    throw badParam('end_time', 'must not be before start_time');
  }
  return f;
}

/** The filter as audit-event metadata: no personal data (an actor id is given by blind token). */
export function filterMetadata(f: RecordFilter, actorToken: Uint8Array | undefined): Record<string, string> {
  const m: Record<string, string> = {};
  if (actorToken !== undefined) m['filter.actor_token'] = Buffer.from(actorToken).toString('hex');
  if (f.action !== undefined) m['filter.action'] = f.action;
  if (f.resourceType !== undefined) m['filter.resource_type'] = f.resourceType;
  if (f.resourceId !== undefined) m['filter.resource_id'] = f.resourceId;
  if (f.result !== undefined) m['filter.result'] = f.result;
  if (f.category !== undefined) m['filter.category'] = f.category;
  if (f.startTime !== undefined) m['filter.start_time'] = new Date(f.startTime).toISOString();
  if (f.endTime !== undefined) m['filter.end_time'] = new Date(f.endTime).toISOString();
  return m;
}
