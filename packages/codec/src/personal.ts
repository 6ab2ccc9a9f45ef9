/**
 * Splits a normalized event into the part stored in plaintext and the personal-data fields
 * (CONTRACT.md §1: actor.id, actor.name, actor.email, context.ip, context.user_agent,
 * changes[].old, changes[].new), and encodes the personal fields as one msgpack blob that the
 * caller seals under the data subject's key.
 *
 * It does not encrypt, hash or tokenize anything (crypto-envelope and the ledger do). `splitPersonal`
 * shares strings and JSON values with the event (no deep copies); `encodePersonal` returns bytes the
 * caller may keep; `decodePersonal` returns strings and JSON values decoded afresh.
 */
import { CodecError } from './errors';
import type {
  ActorType,
  EventCategory,
  EventResult,
  JsonValue,
  MetadataValue,
  NormalizedChange,
  NormalizedContext,
  NormalizedEvent,
  NormalizedResource,
} from './event';
import { FORMAT_VERSION } from './format-version';
import { hexByte, unpacker } from './msgpack';
import { MsgpackWriter } from './msgpack-writer';

/** The non-personal part of `context`, as stored in a record. */
export interface RecordContext {
  request_id: string | undefined;
  session_id: string | undefined;
  trace_id: string | undefined;
  component: string | undefined;
}

/** One change's personal values; `undefined` means that side was not sent (`null` is a value). */
export interface PersonalChange {
  old: JsonValue | undefined;
  new: JsonValue | undefined;
}

/**
 * The personal-data fields of one event, in a fixed shape. `changes` always exists and has one
 * entry per `change_fields` entry of the public part (empty when the event had no changes).
 */
export interface PersonalFields {
  actor_id: string;
  actor_name: string | undefined;
  actor_email: string | undefined;
  ip: string | undefined;
  user_agent: string | undefined;
  changes: PersonalChange[];
}

/** What of an event is stored in plaintext (field names as in `RecordBody`). */
export interface PublicEventPart {
  event_id: string | undefined;
  tenant_id: string;
  occurred_at: number;
  actor_type: ActorType;
  action: string;
  category: EventCategory | undefined;
  resource: NormalizedResource;
  result: EventResult;
  /** Present iff the event had a `context` (even one holding only personal fields). */
  context: RecordContext | undefined;
  /** `changes[].field` in order; present iff the event had `changes`. */
  change_fields: string[] | undefined;
  metadata: Record<string, MetadataValue> | undefined;
  retention_class: string;
}

/** Result of {@link splitPersonal}. */
export interface SplitEvent {
  publicPart: PublicEventPart;
  personal: PersonalFields;
}

/** Elements of the personal blob array (docs/FORMAT.md, "Personal blob"). */
const PERSONAL_ARRAY_LENGTH = 7;
const CHANGE_HAS_OLD = 1;
const CHANGE_HAS_NEW = 2;

/**
 * Separates the personal-data fields of a validated event from the rest.
 *
 * @param event - a `NormalizedEvent` (from `validateEvent`).
 * @returns the public part and the personal fields; neither shares a container object with
 *   `event`, both share its strings and `changes[].old/new` values.
 * @example
 * ```ts
 * const { publicPart, personal } = splitPersonal(event);
 * const sealed = seal(subjectKey, encodePersonal(personal)); // crypto-envelope
 * ```
 */
export function splitPersonal(event: NormalizedEvent): SplitEvent {
  const ctx = event.context;
  const changes = event.changes;
  let changeFields: string[] | undefined;
  let personalChanges: PersonalChange[];
  if (changes === undefined) {
    personalChanges = [];
  } else {
    changeFields = new Array(changes.length);
    personalChanges = new Array(changes.length);
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      changeFields[i] = c.field;
      personalChanges[i] = { old: c.old, new: c.new };
    }
  }
  return {
    publicPart: {
      event_id: event.event_id,
      tenant_id: event.tenant_id,
      occurred_at: event.occurred_at,
      actor_type: event.actor.type,
      action: event.action,
      category: event.category,
      resource: event.resource,
      result: event.result,
      context:
        ctx === undefined
          ? undefined
          : {
              request_id: ctx.request_id,
              session_id: ctx.session_id,
              trace_id: ctx.trace_id,
              component: ctx.component,
            },
      change_fields: changeFields,
      metadata: event.metadata,
      retention_class: event.retention_class,
    },
    personal: {
      actor_id: event.actor.id,
      actor_name: event.actor.name,
      actor_email: event.actor.email,
      ip: ctx?.ip,
      user_agent: ctx?.user_agent,
      changes: personalChanges,
    },
  };
}

/**
 * Inverse of {@link splitPersonal}: rebuilds the normalized event (for read-back and exports).
 *
 * @param publicPart - the stored public fields (`event_id` must be set or `undefined`).
 * @param personal - the decrypted personal fields, or `undefined` when the subject was erased:
 *   personal strings then read `erasedPlaceholder` and change values are `undefined`.
 * @param erasedPlaceholder - text shown for erased fields; default `"[erased]"` (CONTRACT.md §2).
 * @throws {CodecError} `INVALID_ARGUMENT` if `personal.changes` does not match `change_fields` in length.
 */
export function joinPersonal(
  publicPart: PublicEventPart,
  personal: PersonalFields | undefined,
  erasedPlaceholder = '[erased]',
): NormalizedEvent {
  const fields = publicPart.change_fields;
  const pc = personal?.changes;
  if (pc !== undefined && pc.length !== (fields === undefined ? 0 : fields.length)) {
    throw new CodecError(
      'INVALID_ARGUMENT',
      `joinPersonal: expected ${fields?.length ?? 0} personal change(s), got ${pc.length}`,
    );
  }
  let changes: NormalizedChange[] | undefined;
  if (fields !== undefined) {
    changes = new Array(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const p = pc?.[i];
      changes[i] = { field: fields[i]!, old: p?.old, new: p?.new };
    }
  }
  const ctx = publicPart.context;
  const erased = personal === undefined;
  const context: NormalizedContext | undefined =
    ctx === undefined
      ? undefined
      : {
          ip: erased ? undefined : personal.ip,
          user_agent: erased ? undefined : personal.user_agent,
          request_id: ctx.request_id,
          session_id: ctx.session_id,
          trace_id: ctx.trace_id,
          component: ctx.component,
        };
  return {
    event_id: publicPart.event_id,
    tenant_id: publicPart.tenant_id,
    occurred_at: publicPart.occurred_at,
    actor: {
      id: erased ? erasedPlaceholder : personal.actor_id,
      type: publicPart.actor_type,
      name: erased ? undefined : personal.actor_name,
      email: erased ? undefined : personal.actor_email,
    },
    action: publicPart.action,
    category: publicPart.category,
    resource: publicPart.resource,
    result: publicPart.result,
    context,
    changes,
    metadata: publicPart.metadata,
    retention_class: publicPart.retention_class,
  };
}

/**
 * Encodes personal fields as one msgpack array (docs/FORMAT.md, "Personal blob"):
 * `[version, actor_id, actor_name|nil, actor_email|nil, ip|nil, user_agent|nil, [[flags, old?, new?]…]]`
 * where `flags` bit 0 = old present, bit 1 = new present (so JSON `null` and absence differ).
 *
 * @returns bytes the caller may keep (a view into a slab never written again).
 * @example
 * ```ts
 * const blob = encodePersonal(splitPersonal(event).personal);
 * ```
 */
export function encodePersonal(personal: PersonalFields): Uint8Array {
  const changes = personal.changes;
  const w = personalWriter;
  w.begin(256);
  w.arrayHeader(7);
  w.num(FORMAT_VERSION);
  w.str(personal.actor_id);
  w.optStr(personal.actor_name);
  w.optStr(personal.actor_email);
  w.optStr(personal.ip);
  w.optStr(personal.user_agent);
  w.arrayHeader(changes.length);
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    const hasOld = c.old !== undefined;
    const hasNew = c.new !== undefined;
    w.arrayHeader(1 + (hasOld ? 1 : 0) + (hasNew ? 1 : 0));
    w.num((hasOld ? CHANGE_HAS_OLD : 0) | (hasNew ? CHANGE_HAS_NEW : 0));
    if (hasOld) w.value(c.old);
    if (hasNew) w.value(c.new);
  }
  return w.finish();
}

/**
 * Writes personal blobs (msgpack-writer.ts: the bytes `packer.pack` of the blob's array would
 * write — property-tested). Its own slab: plaintext personal data is not mixed into record bodies'.
 */
const personalWriter = new MsgpackWriter();

function bad(message: string, cause?: unknown): CodecError {
  return new CodecError('BAD_PERSONAL', `personal blob: ${message}`, cause === undefined ? {} : { cause });
}

function optString(v: unknown, field: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`expected ${field} to be a string or nil, got ${typeof v}`);
  return v;
}

/**
 * Decodes a blob produced by {@link encodePersonal} (after the caller has opened its envelope).
 *
 * @throws {CodecError} `UNSUPPORTED_VERSION` for another version, `BAD_PERSONAL` for anything that
 *   is not the documented shape.
 */
export function decodePersonal(bytes: Uint8Array): PersonalFields {
  if (bytes[0] !== 0x90 + PERSONAL_ARRAY_LENGTH) {
    throw bad(
      `expected fixarray(${PERSONAL_ARRAY_LENGTH}) ${hexByte(0x97)} at offset 0, got ${hexByte(bytes[0])}`,
    );
  }
  let a: unknown;
  try {
    a = unpacker.unpack(bytes);
  } catch (e) {
    throw bad('not valid msgpack', e);
  }
  const arr = a as unknown[];
  if (arr[0] !== FORMAT_VERSION) {
    throw new CodecError(
      'UNSUPPORTED_VERSION',
      `personal blob: expected version ${FORMAT_VERSION}, got ${String(arr[0])}`,
    );
  }
  const actorId = arr[1];
  if (typeof actorId !== 'string') throw bad(`expected actor_id to be a string, got ${typeof actorId}`);
  const rawChanges = arr[6];
  if (!Array.isArray(rawChanges)) throw bad(`expected changes to be an array, got ${typeof rawChanges}`);
  const changes: PersonalChange[] = new Array(rawChanges.length);
  for (let i = 0; i < rawChanges.length; i++) {
    const c = rawChanges[i] as unknown;
    if (!Array.isArray(c) || typeof c[0] !== 'number') throw bad(`expected changes[${i}] to be [flags, …]`);
    const flags = c[0];
    const hasOld = (flags & CHANGE_HAS_OLD) !== 0;
    const hasNew = (flags & CHANGE_HAS_NEW) !== 0;
    const expected = 1 + (hasOld ? 1 : 0) + (hasNew ? 1 : 0);
    if (flags > 3 || c.length !== expected) {
      throw bad(`expected changes[${i}] with flags ${flags} to have ${expected} element(s), got ${c.length}`);
    }
    changes[i] = {
      old: hasOld ? (c[1] as JsonValue) : undefined,
      new: hasNew ? (c[hasOld ? 2 : 1] as JsonValue) : undefined,
    };
  }
  return {
    actor_id: actorId,
    actor_name: optString(arr[2], 'actor_name'),
    actor_email: optString(arr[3], 'actor_email'),
    ip: optString(arr[4], 'ip'),
    user_agent: optString(arr[5], 'user_agent'),
    changes,
  };
}
