/**
 * Record encoding: the stored form of an event, whose exact bytes are the Merkle leaf.
 *
 * Two phases, because encoding must run in parallel (producers, worker threads) while the entity
 * link is known only when the single sequencer orders records:
 * 1. `encodeRecordBody(body)` — the expensive msgpack encoding, anywhere, any time;
 * 2. `assembleRecord(prev, bodyBytes)` — in the sequencer: a ≤ 47-byte header plus a copy.
 *
 * Leaf layout (docs/FORMAT.md): one msgpack array `[version, prev, body]`, where `prev` is `nil` or
 * `[leafIndex, leafHash]` and `body` is a 16-element msgpack array with positions fixed by the
 * format version. A leaf decodes on its own with any msgpack decoder; nothing here ever re-encodes
 * a decoded record (stored bytes are hashed as they are).
 *
 * Not here: the leaf index (it is the record's position in the tree), hashing, and encryption of
 * personal data (the body carries the already-sealed blob as opaque bytes).
 *
 * Buffers: `encodeRecordBody` returns bytes the caller may keep; `assembleRecord` writes into `out`
 * when given (returns a view of it) or a fresh buffer; `decodeRecord` returns `subject_token`,
 * `sealed_personal` and `prev.leafHash` as views into the leaf bytes, valid as long as those bytes.
 */
import { CodecError } from './errors';
import type { ActorType, EventCategory, EventResult, MetadataValue, NormalizedResource } from './event';
import { ACTOR_TYPES, EVENT_CATEGORIES, EVENT_RESULTS } from './event';
import { FORMAT_VERSION } from './format-version';
import { hexByte, unpacker } from './msgpack';
import { MsgpackWriter } from './msgpack-writer';
import type { PublicEventPart, RecordContext } from './personal';

/** Link to the previous record of the same entity `(tenant, resource.type, resource.id)`. */
export interface EntityLink {
  /** Leaf index of that record, integer 0 ≤ n ≤ 2^53 − 1. */
  leafIndex: number;
  /** Its RFC 9162 leaf hash, exactly {@link LEAF_HASH_BYTES} bytes. */
  leafHash: Uint8Array;
}

/** Everything stored in a record except the version and the entity link. */
export interface RecordBody {
  event_id: string;
  tenant_id: string;
  /** Epoch milliseconds, integer 0 ≤ n ≤ 2^53 − 1. */
  occurred_at: number;
  /** Epoch milliseconds when the server accepted the event, integer 0 ≤ n ≤ 2^53 − 1. */
  received_at: number;
  actor_type: ActorType;
  /** Blind token of the actor id (opaque bytes computed by the caller, e.g. HMAC-SHA-256). */
  subject_token: Uint8Array;
  action: string;
  category: EventCategory | undefined;
  resource: NormalizedResource;
  result: EventResult;
  context: RecordContext | undefined;
  change_fields: string[] | undefined;
  metadata: Record<string, MetadataValue> | undefined;
  retention_class: string;
  /** Id of the data-subject key that sealed `sealed_personal`. */
  subject_key_id: string;
  /** The personal blob (`encodePersonal`) sealed by the caller; opaque bytes here. */
  sealed_personal: Uint8Array;
}

/** A decoded leaf: the body plus its format version and entity link. */
export interface StoredRecord extends RecordBody {
  version: number;
  prev: EntityLink | null;
}

/** Server-assigned and sealing fields that, with a {@link PublicEventPart}, make a {@link RecordBody}. */
export interface RecordServerFields {
  event_id: string;
  received_at: number;
  subject_token: Uint8Array;
  subject_key_id: string;
  sealed_personal: Uint8Array;
}

/** Bytes of an RFC 9162 SHA-256 leaf hash. */
export const LEAF_HASH_BYTES: number = 32;
/** Largest leaf accepted or produced: 1 MiB (a 64 KiB event plus worst-case msgpack growth and sealing). */
export const MAX_RECORD_BYTES: number = 1024 * 1024;
/** Elements of the body array in format version 1. */
export const RECORD_BODY_FIELDS: number = 16;

const MSGPACK_FIXARRAY_3 = 0x93;
const MSGPACK_FIXARRAY_2 = 0x92;
const MSGPACK_NIL = 0xc0;
const MSGPACK_BIN8 = 0xc4;
const MSGPACK_UINT8 = 0xcc;
const MSGPACK_UINT16 = 0xcd;
const MSGPACK_UINT32 = 0xce;
const MSGPACK_UINT64 = 0xcf;
const MSGPACK_ARRAY16 = 0xdc;
const MAX_FIXINT = 0x7f;
const TWO_POW_32 = 0x1_0000_0000;
/** 0x93 + version + nil. */
const HEADER_BYTES_NO_PREV = 3;
/** 0x92 + bin8 header (2) + hash; the leaf index adds 1–9 bytes. */
const PREV_FIXED_BYTES = 1 + 2 + 32;

/**
 * Builds a record body from the public part of an event and the server's fields, with every key
 * in body order (one hidden class for all bodies).
 */
export function makeRecordBody(publicPart: PublicEventPart, server: RecordServerFields): RecordBody {
  return {
    event_id: server.event_id,
    tenant_id: publicPart.tenant_id,
    occurred_at: publicPart.occurred_at,
    received_at: server.received_at,
    actor_type: publicPart.actor_type,
    subject_token: server.subject_token,
    action: publicPart.action,
    category: publicPart.category,
    resource: publicPart.resource,
    result: publicPart.result,
    context: publicPart.context,
    change_fields: publicPart.change_fields,
    metadata: publicPart.metadata,
    retention_class: publicPart.retention_class,
    subject_key_id: server.subject_key_id,
    sealed_personal: server.sealed_personal,
  };
}

function invalid(message: string): CodecError {
  return new CodecError('INVALID_ARGUMENT', message);
}

function enumCode<T>(table: readonly T[], value: T, field: string): number {
  const code = table.indexOf(value);
  if (code < 0)
    throw invalid(`encodeRecordBody: expected ${field} in ${table.join('|')}, got ${String(value)}`);
  return code;
}

function checkMillis(v: number, field: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw invalid(`encodeRecordBody: expected ${field} to be an integer 0 ≤ ms ≤ 2^53 − 1, got ${v}`);
  }
}

/**
 * Writes record bodies field by field (msgpack-writer.ts: the bytes `packer.pack` of the body's
 * 16-element array would write — property-tested — at about half the time).
 */
const bodyWriter = new MsgpackWriter();

function actorTypeCode(v: ActorType): number {
  switch (v) {
    case 'user':
      return 0;
    case 'service':
      return 1;
    case 'system':
      return 2;
  }
  return enumCode(ACTOR_TYPES, v, 'actor_type');
}

function resultCode(v: EventResult): number {
  switch (v) {
    case 'success':
      return 0;
    case 'failure':
      return 1;
    case 'unknown':
      return 2;
  }
  return enumCode(EVENT_RESULTS, v, 'result');
}

/**
 * Encodes a record body (phase 1 of 2) as a 16-element msgpack array.
 *
 * @param body - the body; strings are assumed validated (see `validateEvent`).
 * @returns the body bytes; the caller may keep them (the writer never rewrites them).
 * @throws {CodecError} `INVALID_ARGUMENT` for times that are not safe non-negative integers or
 *   enum values outside their tables; `LIMIT_EXCEEDED` above {@link MAX_RECORD_BYTES}.
 * @example
 * ```ts
 * const body = encodeRecordBody(makeRecordBody(publicPart, serverFields)); // in any worker
 * const leaf = assembleRecord(prevLink, body);                            // in the sequencer
 * ```
 */
export function encodeRecordBody(body: RecordBody): Uint8Array {
  checkMillis(body.occurred_at, 'occurred_at');
  checkMillis(body.received_at, 'received_at');
  const r = body.resource;
  const ctx = body.context;
  // Codes first: they may throw, and nothing is written then.
  const actorType = actorTypeCode(body.actor_type);
  const category =
    body.category === undefined ? undefined : enumCode(EVENT_CATEGORIES, body.category, 'category');
  const result = resultCode(body.result);
  const w = bodyWriter;
  w.begin(512 + body.sealed_personal.length);
  w.arrayHeader(RECORD_BODY_FIELDS);
  w.str(body.event_id);
  w.str(body.tenant_id);
  w.num(body.occurred_at);
  w.num(body.received_at);
  w.num(actorType);
  w.value(body.subject_token);
  w.str(body.action);
  w.value(category);
  w.arrayHeader(3);
  w.str(r.type);
  w.str(r.id);
  w.optStr(r.name);
  w.num(result);
  if (ctx === undefined) {
    w.nil();
  } else {
    w.arrayHeader(4);
    w.optStr(ctx.request_id);
    w.optStr(ctx.session_id);
    w.optStr(ctx.trace_id);
    w.optStr(ctx.component);
  }
  w.value(body.change_fields);
  w.value(body.metadata);
  w.str(body.retention_class);
  w.str(body.subject_key_id);
  w.value(body.sealed_personal);
  const bytes = w.finish();
  if (bytes.length > MAX_RECORD_BYTES - HEADER_BYTES_NO_PREV - PREV_FIXED_BYTES - 9) {
    throw new CodecError(
      'LIMIT_EXCEEDED',
      `encodeRecordBody: expected at most ${MAX_RECORD_BYTES} bytes per record, got a ${bytes.length}-byte body`,
    );
  }
  return bytes;
}

function uintBytes(n: number): number {
  if (n <= MAX_FIXINT) return 1;
  if (n <= 0xff) return 2;
  if (n <= 0xffff) return 3;
  if (n < TWO_POW_32) return 5;
  return 9;
}

/**
 * Length in bytes of the leaf that {@link assembleRecord} produces.
 *
 * @param prev - the entity link or `null`.
 * @param bodyLength - length of the encoded body in bytes.
 */
export function assembledRecordLength(prev: EntityLink | null, bodyLength: number): number {
  return prev === null
    ? HEADER_BYTES_NO_PREV + bodyLength
    : HEADER_BYTES_NO_PREV - 1 + PREV_FIXED_BYTES + uintBytes(prev.leafIndex) + bodyLength;
}

/**
 * Most bytes {@link assembleRecord} can produce for a body of `bodyLength` bytes, whatever the
 * link (for sizing a buffer before the links are known).
 */
export function maxAssembledRecordLength(bodyLength: number): number {
  return HEADER_BYTES_NO_PREV - 1 + PREV_FIXED_BYTES + 9 + bodyLength;
}

/**
 * Assembles the final leaf bytes (phase 2 of 2): `0x93 ‖ version ‖ prev ‖ body`.
 *
 * @param prev - the entity link (`leafIndex` a safe integer ≥ 0, `leafHash` 32 bytes) or `null`.
 * @param body - bytes from {@link encodeRecordBody}.
 * @param out - optional destination; the leaf is written at `offset` and a view returned.
 * @param offset - byte offset in `out`, default 0.
 * @returns the leaf: a view of `out`, or a fresh buffer when `out` is omitted.
 * @throws {CodecError} `INVALID_ARGUMENT` for a bad link or bytes that are not a v1 body;
 *   `BUFFER_TOO_SMALL` when `out` cannot hold the leaf; `LIMIT_EXCEEDED` above {@link MAX_RECORD_BYTES}.
 * @example
 * ```ts
 * const leaf = assembleRecord({ leafIndex: 41, leafHash }, bodyBytes);
 * ```
 */
export function assembleRecord(
  prev: EntityLink | null,
  body: Uint8Array,
  out?: Uint8Array,
  offset = 0,
): Uint8Array {
  if (out === undefined) {
    const dst = Buffer.allocUnsafe(checkedRecordLength(prev, body));
    writeRecord(prev, body, dst, 0);
    return dst;
  }
  const len = assembleRecordInto(prev, body, out, offset);
  return out.subarray(offset, offset + len);
}

/**
 * Like {@link assembleRecord} into `out` at `offset`, returning the leaf's length instead of a
 * view of it (the sequencer's hot path: no object per record).
 *
 * @throws {CodecError} as {@link assembleRecord}; `BUFFER_TOO_SMALL` when `out` has no room at
 *   `offset` (nothing is written then).
 */
export function assembleRecordInto(
  prev: EntityLink | null,
  body: Uint8Array,
  out: Uint8Array,
  offset: number,
): number {
  const len = checkedRecordLength(prev, body);
  if (!Number.isInteger(offset) || offset < 0 || out.length - offset < len) {
    throw new CodecError(
      'BUFFER_TOO_SMALL',
      `assembleRecord: expected ${len} bytes free at offset ${offset}, got ${out.length - offset}`,
    );
  }
  writeRecord(prev, body, out, offset);
  return len;
}

/** The assembled length of a checked link and body (see {@link assembleRecord}'s errors). */
function checkedRecordLength(prev: EntityLink | null, body: Uint8Array): number {
  // Cheap guard against passing something else as a body: a v1 body always starts with array16(16).
  if (body[0] !== MSGPACK_ARRAY16 || body[1] !== 0 || body[2] !== RECORD_BODY_FIELDS) {
    throw invalid(
      `assembleRecord: expected body to start with array16(${RECORD_BODY_FIELDS}) 0xdc0010, got ${hexByte(body[0])}`,
    );
  }
  if (prev !== null) {
    if (!Number.isSafeInteger(prev.leafIndex) || prev.leafIndex < 0) {
      throw invalid(
        `assembleRecord: expected prev.leafIndex to be an integer 0 ≤ n ≤ 2^53 − 1, got ${prev.leafIndex}`,
      );
    }
    if (prev.leafHash.length !== LEAF_HASH_BYTES) {
      throw invalid(
        `assembleRecord: expected prev.leafHash of ${LEAF_HASH_BYTES} bytes, got ${prev.leafHash.length}`,
      );
    }
  }
  const len = assembledRecordLength(prev, body.length);
  if (len > MAX_RECORD_BYTES) {
    throw new CodecError(
      'LIMIT_EXCEEDED',
      `assembleRecord: expected at most ${MAX_RECORD_BYTES} bytes, got ${len}`,
    );
  }
  return len;
}

/** Writes `0x93 ‖ version ‖ prev ‖ body` at `offset` (checked by the caller). */
function writeRecord(prev: EntityLink | null, body: Uint8Array, dst: Uint8Array, offset: number): void {
  let p = offset;
  dst[p++] = MSGPACK_FIXARRAY_3;
  dst[p++] = FORMAT_VERSION;
  if (prev === null) {
    dst[p++] = MSGPACK_NIL;
  } else {
    dst[p++] = MSGPACK_FIXARRAY_2;
    p = writeUint(dst, p, prev.leafIndex);
    dst[p++] = MSGPACK_BIN8;
    dst[p++] = LEAF_HASH_BYTES;
    dst.set(prev.leafHash, p);
    p += LEAF_HASH_BYTES;
  }
  dst.set(body, p);
}

/** Writes `n` as the shortest msgpack unsigned integer. */
function writeUint(dst: Uint8Array, p: number, n: number): number {
  if (n <= MAX_FIXINT) {
    dst[p++] = n;
  } else if (n <= 0xff) {
    dst[p++] = MSGPACK_UINT8;
    dst[p++] = n;
  } else if (n <= 0xffff) {
    dst[p++] = MSGPACK_UINT16;
    dst[p++] = n >>> 8;
    dst[p++] = n & 0xff;
  } else if (n < TWO_POW_32) {
    dst[p++] = MSGPACK_UINT32;
    dst[p++] = n >>> 24;
    dst[p++] = (n >>> 16) & 0xff;
    dst[p++] = (n >>> 8) & 0xff;
    dst[p++] = n & 0xff;
  } else {
    const hi = Math.floor(n / TWO_POW_32);
    const lo = n >>> 0;
    dst[p++] = MSGPACK_UINT64;
    dst[p++] = hi >>> 24;
    dst[p++] = (hi >>> 16) & 0xff;
    dst[p++] = (hi >>> 8) & 0xff;
    dst[p++] = hi & 0xff;
    dst[p++] = lo >>> 24;
    dst[p++] = (lo >>> 16) & 0xff;
    dst[p++] = (lo >>> 8) & 0xff;
    dst[p++] = lo & 0xff;
  }
  return p;
}

function bad(message: string, offset?: number, cause?: unknown): CodecError {
  const options: { offset?: number; cause?: unknown } = {};
  if (offset !== undefined) options.offset = offset;
  if (cause !== undefined) options.cause = cause;
  return new CodecError('BAD_RECORD', `record: ${message}`, options);
}

/** Reads the shortest-form msgpack uint at `p`; returns [value, next offset]. */
function readLeafIndex(b: Uint8Array, p: number): [number, number] {
  const t = b[p];
  if (t === undefined) throw bad('truncated in prev.leafIndex', p);
  let n: number;
  let next: number;
  if (t <= MAX_FIXINT) {
    n = t;
    next = p + 1;
  } else if (t === MSGPACK_UINT8) {
    n = b[p + 1] ?? -1;
    next = p + 2;
  } else if (t === MSGPACK_UINT16) {
    n = ((b[p + 1] ?? 0) << 8) | (b[p + 2] ?? 0);
    next = p + 3;
  } else if (t === MSGPACK_UINT32) {
    n = (((b[p + 1] ?? 0) << 24) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 8) | (b[p + 4] ?? 0)) >>> 0;
    next = p + 5;
  } else if (t === MSGPACK_UINT64) {
    const hi =
      (((b[p + 1] ?? 0) << 24) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 8) | (b[p + 4] ?? 0)) >>> 0;
    const lo =
      (((b[p + 5] ?? 0) << 24) | ((b[p + 6] ?? 0) << 16) | ((b[p + 7] ?? 0) << 8) | (b[p + 8] ?? 0)) >>> 0;
    n = hi * TWO_POW_32 + lo;
    next = p + 9;
    if (!Number.isSafeInteger(n)) throw bad(`expected prev.leafIndex ≤ 2^53 − 1, got ${hi}·2^32 + ${lo}`, p);
  } else {
    throw bad(`expected prev.leafIndex as a msgpack uint, got type byte ${hexByte(t)}`, p);
  }
  if (next > b.length) throw bad('truncated in prev.leafIndex', p);
  // Exactly one encoding per leaf index: a non-shortest form is rejected, not normalized.
  if (next - p !== uintBytes(n)) throw bad(`expected the shortest msgpack uint for prev.leafIndex ${n}`, p);
  return [n, next];
}

function field(name: string, expected: string, got: unknown): CodecError {
  const g =
    got === null ? 'nil' : Array.isArray(got) ? 'array' : got instanceof Uint8Array ? 'bin' : typeof got;
  return bad(`expected ${name} to be ${expected}, got ${g}`);
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string') throw field(name, 'a string', v);
  return v;
}

function optStr(v: unknown, name: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'string') throw field(name, 'a string or nil', v);
  return v;
}

function millis(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw field(name, 'an integer ≥ 0', v);
  return v;
}

function bin(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw field(name, 'bin', v);
  return v;
}

function code<T>(table: readonly T[], v: unknown, name: string): T {
  const t = typeof v === 'number' ? table[v] : undefined;
  if (t === undefined) throw field(name, `a code 0…${table.length - 1}`, v);
  return t;
}

function metadataOf(v: unknown): Record<string, MetadataValue> | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array)
    throw field('metadata', 'a map or nil', v);
  const m = v as Record<string, unknown>;
  for (const k in m) {
    const value = m[k];
    const t = typeof value;
    if (t !== 'string' && t !== 'number' && t !== 'boolean')
      throw field(`metadata[${JSON.stringify(k)}]`, 'a scalar', value);
  }
  return m as Record<string, MetadataValue>;
}

/**
 * Decodes leaf bytes into a stored record without re-encoding anything.
 *
 * @param bytes - exactly one leaf (as produced by {@link assembleRecord}).
 * @returns the record; its `Uint8Array` fields are views into `bytes`.
 * @throws {CodecError} `UNSUPPORTED_VERSION` for another format version; `BAD_RECORD` (with
 *   `offset` where known) for anything else that is not a well-formed v1 leaf, trailing bytes included.
 * @example
 * ```ts
 * const rec = decodeRecord(leaf);
 * rec.prev?.leafIndex; // previous record of the same entity, or undefined for the first one
 * ```
 */
export function decodeRecord(bytes: Uint8Array): StoredRecord {
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new CodecError(
      'LIMIT_EXCEEDED',
      `record: expected at most ${MAX_RECORD_BYTES} bytes, got ${bytes.length}`,
    );
  }
  if (bytes[0] !== MSGPACK_FIXARRAY_3) {
    throw bad(`expected fixarray(3) ${hexByte(MSGPACK_FIXARRAY_3)} at offset 0, got ${hexByte(bytes[0])}`, 0);
  }
  const version = bytes[1];
  if (version !== FORMAT_VERSION) {
    throw new CodecError(
      'UNSUPPORTED_VERSION',
      `record: expected version ${FORMAT_VERSION}, got ${hexByte(version)}`,
      {
        offset: 1,
      },
    );
  }
  let p = 2;
  let prev: EntityLink | null = null;
  const t = bytes[p];
  if (t === MSGPACK_NIL) {
    p++;
  } else if (t === MSGPACK_FIXARRAY_2) {
    const [leafIndex, next] = readLeafIndex(bytes, p + 1);
    p = next;
    if (bytes[p] !== MSGPACK_BIN8 || bytes[p + 1] !== LEAF_HASH_BYTES) {
      throw bad(
        `expected prev.leafHash as bin8(32) 0xc420, got ${hexByte(bytes[p])}${hexByte(bytes[p + 1]).slice(2)}`,
        p,
      );
    }
    p += 2;
    if (p + LEAF_HASH_BYTES > bytes.length) throw bad('truncated in prev.leafHash', p);
    prev = { leafIndex, leafHash: bytes.subarray(p, p + LEAF_HASH_BYTES) };
    p += LEAF_HASH_BYTES;
  } else {
    throw bad(`expected prev as nil 0xc0 or fixarray(2) 0x92 at offset 2, got ${hexByte(t)}`, 2);
  }
  if (bytes[p] !== MSGPACK_ARRAY16 || bytes[p + 1] !== 0 || bytes[p + 2] !== RECORD_BODY_FIELDS) {
    throw bad(
      `expected body as array16(${RECORD_BODY_FIELDS}) 0xdc0010 at offset ${p}, got ${hexByte(bytes[p])}`,
      p,
    );
  }
  let a: unknown[];
  try {
    // msgpackr rejects trailing bytes after the value ("end of buffer not reached").
    a = unpacker.unpack(bytes, { start: p }) as unknown[];
  } catch (e) {
    throw bad(`body is not valid msgpack (${(e as Error).message.slice(0, 80)})`, p, e);
  }
  const res = a[8];
  if (!Array.isArray(res) || res.length !== 3) throw field('resource', 'a 3-element array', res);
  const ctx = a[10];
  let context: RecordContext | undefined;
  if (ctx !== null && ctx !== undefined) {
    if (!Array.isArray(ctx) || ctx.length !== 4) throw field('context', 'a 4-element array or nil', ctx);
    context = {
      request_id: optStr(ctx[0], 'context.request_id'),
      session_id: optStr(ctx[1], 'context.session_id'),
      trace_id: optStr(ctx[2], 'context.trace_id'),
      component: optStr(ctx[3], 'context.component'),
    };
  }
  const cf = a[11];
  let changeFields: string[] | undefined;
  if (cf !== null && cf !== undefined) {
    if (!Array.isArray(cf)) throw field('change_fields', 'an array or nil', cf);
    for (let i = 0; i < cf.length; i++) str(cf[i], `change_fields[${i}]`);
    changeFields = cf as string[];
  }
  const cat = a[7];
  return {
    version,
    prev,
    event_id: str(a[0], 'event_id'),
    tenant_id: str(a[1], 'tenant_id'),
    occurred_at: millis(a[2], 'occurred_at'),
    received_at: millis(a[3], 'received_at'),
    actor_type: code(ACTOR_TYPES, a[4], 'actor_type'),
    subject_token: bin(a[5], 'subject_token'),
    action: str(a[6], 'action'),
    category: cat === null || cat === undefined ? undefined : code(EVENT_CATEGORIES, cat, 'category'),
    resource: {
      type: str(res[0], 'resource.type'),
      id: str(res[1], 'resource.id'),
      name: optStr(res[2], 'resource.name'),
    },
    result: code(EVENT_RESULTS, a[9], 'result'),
    context,
    change_fields: changeFields,
    metadata: metadataOf(a[12]),
    retention_class: str(a[13], 'retention_class'),
    subject_key_id: str(a[14], 'subject_key_id'),
    sealed_personal: bin(a[15], 'sealed_personal'),
  };
}
