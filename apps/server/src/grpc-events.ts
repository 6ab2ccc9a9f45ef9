/**
 * Translation between the gRPC messages of `proto/sealog/v1/audit.proto` and the CONTRACT §1 JSON
 * event the ledger validates: `RecordEventRequest` → event object, ledger issue paths
 * (`actor.type`) → proto field paths (`actor_type`), `AppendResult` → `RecordEventResponse`.
 *
 * Deliberately not here: validation of the event itself (the ledger does it, exactly as for HTTP);
 * this file only rejects what cannot be translated at all (JSON texts that do not parse, a missing
 * or doubly given `occurred_at`). Returned objects share strings with the message.
 */
import type { AppendResult } from '@sealog/ledger';

/** `Change` as decoded by proto-loader (`keepCase`, no defaults): unset fields are absent. */
export interface ChangeMessage {
  readonly field?: string;
  readonly old_json?: string;
  readonly new_json?: string;
}

/**
 * `RecordEventRequest` as decoded by proto-loader (`keepCase`, `longs: String`, no defaults):
 * unset fields are absent, `occurred_at_timestamp` is a decimal string.
 */
export interface RecordEventMessage {
  readonly tenant_id?: string;
  readonly actor_id?: string;
  readonly actor_type?: string;
  readonly action?: string;
  readonly resource_id?: string;
  readonly resource_type?: string;
  readonly client_ip?: string;
  readonly user_agent?: string;
  readonly metadata_json?: string;
  /** int64 epoch milliseconds; a decimal string (`longs: String`), or a number from other loaders. */
  readonly occurred_at_timestamp?: string | number;
  readonly event_id?: string;
  readonly actor_name?: string;
  readonly actor_email?: string;
  readonly category?: string;
  readonly result?: string;
  readonly resource_name?: string;
  readonly request_id?: string;
  readonly session_id?: string;
  readonly trace_id?: string;
  readonly component?: string;
  readonly retention_class?: string;
  readonly changes?: readonly ChangeMessage[];
  readonly occurred_at?: string;
}

/** `RecordEventsRequest` as decoded by proto-loader. */
export interface RecordEventsMessage {
  readonly events?: readonly RecordEventMessage[];
  readonly wait_accepted?: boolean;
}

/** `RecordEventResponse` as the server encodes it. */
export interface RecordEventResponseMessage {
  event_id: string;
  verification_hash: string;
  status: boolean;
  leaf_index: number;
  log_id: string;
  integrity: string;
  result_status: string;
}

/** One problem with one event of a request, in proto terms. */
export interface GrpcIssue {
  /** Position of the event in the request (always 0 for `RecordEvent`). */
  readonly index: number;
  /** Proto field path, e.g. `actor_type`, `changes[2].old_json`, `metadata_json.plan`; `""` = the event. */
  readonly path: string;
  /** The same place as a CONTRACT §1 event path (`actor.type`), as the JSON API reports it. */
  readonly event_path: string;
  /** Machine-readable reason: the ledger's validation codes plus `invalid_json` and `conflict`. */
  readonly code: string;
  /** Human-readable reason, got-vs-expected, without the path. */
  readonly message: string;
}

/** What {@link toContractEvents} produced. */
export interface ConvertedEvents {
  /** CONTRACT §1 events, one per message, in order (even when some have issues). */
  readonly events: Record<string, unknown>[];
  /** Problems that make an event untranslatable; empty when every event translated. */
  readonly issues: GrpcIssue[];
  /** Per event: `occurred_at` came from the RFC 3339 field (for naming issue paths). */
  readonly occurredFromString: boolean[];
}

/** proto3 cannot tell an empty string from an unset one: both mean "absent". */
function present(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** ASCII-only lower-casing, so no Unicode case mapping can turn another string into an enum value. */
function asciiLower(v: string | undefined): string | undefined {
  const s = present(v);
  return s === undefined ? undefined : s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Parses a JSON text field; reports the path without echoing the (possibly personal) input. */
function parseJsonField(
  text: string,
  index: number,
  path: string,
  eventPath: string,
  issues: GrpcIssue[],
): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    issues.push({
      index,
      path,
      event_path: eventPath,
      code: 'invalid_json',
      message: 'expected JSON text, got text that does not parse as JSON',
    });
    return { ok: false };
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * Translates request messages into CONTRACT §1 events. Empty strings are left out (absent);
 * `actor_type`, `category` and `result` are lower-cased (ASCII), so `USER` = `user`.
 * `metadata_json` must be a JSON object and `changes[].old_json`/`new_json` JSON texts; at most
 * one of `occurred_at_timestamp` (≠ 0) and `occurred_at` may be set. A field that fails here is
 * left out of its event, so validating the events afterwards reports only the other problems.
 *
 * @returns the events and the issues of this translation step (validation finds the rest).
 */
export function toContractEvents(messages: readonly RecordEventMessage[]): ConvertedEvents {
  const events: Record<string, unknown>[] = new Array(messages.length);
  const issues: GrpcIssue[] = [];
  const occurredFromString: boolean[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const e: Record<string, unknown> = {};
    const eventId = present(m.event_id);
    if (eventId !== undefined) e.event_id = eventId;
    const tenant = present(m.tenant_id);
    if (tenant !== undefined) e.tenant_id = tenant;

    const ms = m.occurred_at_timestamp === undefined ? 0 : Number(m.occurred_at_timestamp);
    const rfc3339 = present(m.occurred_at);
    occurredFromString[i] = rfc3339 !== undefined && ms === 0;
    if (ms !== 0 && rfc3339 !== undefined) {
      issues.push({
        index: i,
        path: 'occurred_at',
        event_path: 'occurred_at',
        code: 'conflict',
        message: 'set occurred_at_timestamp (epoch ms) or occurred_at (RFC 3339), not both',
      });
      // Keep one so that validation does not also call the field missing.
      e.occurred_at = ms;
    } else if (ms !== 0 || rfc3339 !== undefined) {
      e.occurred_at = rfc3339 ?? ms;
    }
    // Neither set: left absent; validation reports it as required (see `OCCURRED_REQUIRED`).

    const actor: Record<string, unknown> = {};
    const actorId = present(m.actor_id);
    if (actorId !== undefined) actor.id = actorId;
    const actorType = asciiLower(m.actor_type);
    if (actorType !== undefined) actor.type = actorType;
    const actorName = present(m.actor_name);
    if (actorName !== undefined) actor.name = actorName;
    const actorEmail = present(m.actor_email);
    if (actorEmail !== undefined) actor.email = actorEmail;
    e.actor = actor;

    const action = present(m.action);
    if (action !== undefined) e.action = action;
    const category = asciiLower(m.category);
    if (category !== undefined) e.category = category;

    const resource: Record<string, unknown> = {};
    const resourceType = present(m.resource_type);
    if (resourceType !== undefined) resource.type = resourceType;
    const resourceId = present(m.resource_id);
    if (resourceId !== undefined) resource.id = resourceId;
    const resourceName = present(m.resource_name);
    if (resourceName !== undefined) resource.name = resourceName;
    e.resource = resource;

    const result = asciiLower(m.result);
    if (result !== undefined) e.result = result;

    const context: Record<string, unknown> = {};
    let contextFields = 0;
    for (const [from, to] of CONTEXT_FIELDS) {
      const v = present(m[from]);
      if (v !== undefined) {
        context[to] = v;
        contextFields++;
      }
    }
    if (contextFields > 0) e.context = context;

    const changes = m.changes;
    if (changes !== undefined && changes.length > 0) {
      const out: Record<string, unknown>[] = new Array(changes.length);
      for (let j = 0; j < changes.length; j++) {
        const c = changes[j]!;
        const change: Record<string, unknown> = {};
        const field = present(c.field);
        if (field !== undefined) change.field = field;
        const oldText = present(c.old_json);
        if (oldText !== undefined) {
          const parsed = parseJsonField(oldText, i, `changes[${j}].old_json`, `changes[${j}].old`, issues);
          if (parsed.ok) change.old = parsed.value;
        }
        const newText = present(c.new_json);
        if (newText !== undefined) {
          const parsed = parseJsonField(newText, i, `changes[${j}].new_json`, `changes[${j}].new`, issues);
          if (parsed.ok) change.new = parsed.value;
        }
        out[j] = change;
      }
      e.changes = out;
    }

    const metadataText = present(m.metadata_json);
    if (metadataText !== undefined) {
      const parsed = parseJsonField(metadataText, i, 'metadata_json', 'metadata', issues);
      if (parsed.ok) {
        const v = parsed.value;
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
          e.metadata = v;
        } else {
          issues.push({
            index: i,
            path: 'metadata_json',
            event_path: 'metadata',
            code: 'type',
            message: `expected a JSON object of string, number and boolean values, got ${kindOf(v)}`,
          });
        }
      }
    }

    const retention = present(m.retention_class);
    if (retention !== undefined) e.retention_class = retention;
    events[i] = e;
  }
  return { events, issues, occurredFromString };
}

/** proto field → `context` key (CONTRACT §1). */
const CONTEXT_FIELDS: readonly (readonly [
  'client_ip' | 'user_agent' | 'request_id' | 'session_id' | 'trace_id' | 'component',
  string,
])[] = [
  ['client_ip', 'ip'],
  ['user_agent', 'user_agent'],
  ['request_id', 'request_id'],
  ['session_id', 'session_id'],
  ['trace_id', 'trace_id'],
  ['component', 'component'],
];

/** CONTRACT §1 path → proto field, for the paths whose names differ. */
const PROTO_FIELD_OF: ReadonlyMap<string, string> = new Map([
  ['actor.id', 'actor_id'],
  ['actor.type', 'actor_type'],
  ['actor.name', 'actor_name'],
  ['actor.email', 'actor_email'],
  ['resource.id', 'resource_id'],
  ['resource.type', 'resource_type'],
  ['resource.name', 'resource_name'],
  ['context.ip', 'client_ip'],
  ['context.user_agent', 'user_agent'],
  ['context.request_id', 'request_id'],
  ['context.session_id', 'session_id'],
  ['context.trace_id', 'trace_id'],
  ['context.component', 'component'],
]);

const CHANGE_SIDE = /^(changes\[\d+\])\.(old|new)(.*)$/;

/**
 * The proto field path of a CONTRACT §1 event path as the ledger reports it: `actor.type` →
 * `actor_type`, `metadata.plan` → `metadata_json.plan`, `changes[1].old` → `changes[1].old_json`,
 * `occurred_at` → whichever of the two occurred fields the client set. Other paths are the same
 * in both (`tenant_id`, `changes[0].field`, `""` for the event as a whole).
 */
export function protoPathOf(eventPath: string, occurredFromString: boolean): string {
  const direct = PROTO_FIELD_OF.get(eventPath);
  if (direct !== undefined) return direct;
  if (eventPath === 'occurred_at') return occurredFromString ? 'occurred_at' : 'occurred_at_timestamp';
  if (eventPath === 'metadata' || eventPath.startsWith('metadata.') || eventPath.startsWith('metadata[')) {
    return `metadata_json${eventPath.slice('metadata'.length)}`;
  }
  const side = CHANGE_SIDE.exec(eventPath);
  if (side !== null) return `${side[1]}.${side[2]}_json${side[3]}`;
  return eventPath;
}

/** Message for a missing `occurred_at`: the validator's wording does not name the proto fields. */
export const OCCURRED_REQUIRED: string =
  'required: set occurred_at_timestamp (epoch ms > 0; 0 means unset in proto3) or occurred_at (RFC 3339)';

/**
 * Validation issues (of `validateBatch` or a ledger `INVALID_EVENT`) in proto terms: paths mapped
 * to proto fields, the messages' own `[index] path: ` prefix removed since the location is
 * reported separately.
 */
export function toGrpcIssues(
  issues: readonly { index: number; path: string; code: string; message: string }[],
  occurredFromString: readonly boolean[],
): GrpcIssue[] {
  return issues.map((issue) => {
    let message = issue.message;
    const position = `[${issue.index}] `;
    if (message.startsWith(position)) message = message.slice(position.length);
    const prefix = `${issue.path === '' ? 'event' : issue.path}: `;
    if (message.startsWith(prefix)) message = message.slice(prefix.length);
    if (issue.path === 'occurred_at' && issue.code === 'required') message = OCCURRED_REQUIRED;
    return {
      index: issue.index,
      path: protoPathOf(issue.path, occurredFromString[issue.index] ?? false),
      event_path: issue.path,
      code: issue.code,
      message,
    };
  });
}

/** Maps one ledger result to its response message (`status` is true once durable). */
export function toResponseMessage(r: AppendResult): RecordEventResponseMessage {
  return {
    event_id: r.event_id,
    verification_hash: r.leaf_hash ?? '',
    status: r.status !== 'accepted',
    leaf_index: r.leaf_index ?? 0,
    log_id: r.log_id,
    integrity: r.integrity ?? '',
    result_status: r.status,
  };
}
