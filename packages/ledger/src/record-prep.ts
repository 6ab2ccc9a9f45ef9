/**
 * Turns a validated event into record body bytes (phase 1 of two-phase encoding, codec README):
 * server fields, the personal fields sealed under the data subject's key, the subject's blind
 * token. Nothing personal leaves this function in plaintext.
 *
 * Not here: ordering, leaf indexes, entity links (the log writer's sequencer assigns those).
 */
import {
  encodePersonal,
  encodeRecordBody,
  makeRecordBody,
  type NormalizedEvent,
  splitPersonal,
} from '@sealog/codec';
import {
  type BlindIndexKey,
  blindToken,
  createFieldSealer,
  type FieldSealer,
  MAX_FIELD_PLAINTEXT_BYTES,
  SEALED_FIELD_OVERHEAD_BYTES,
  type SubjectKey,
} from '@sealog/crypto-envelope';
import { LedgerError } from './errors';
import { FINGERPRINT_BYTES } from './key-fingerprint';
import { type LedgerKeys, SUBJECT_TOKEN_FIELD } from './ledger-keys';

/** Field sealers kept per subject before the oldest is dropped (they are cheap to recreate). */
export const SEALER_CACHE_ENTRIES = 50_000;

/**
 * The data subject of an event, `(tenant_id, actor.id)`, as an in-memory cache key. Never written
 * anywhere: the key store names subjects by blind token (`LedgerKeys.subjectStoreId`).
 */
export function subjectIdOf(tenantId: string, actorId: string): string {
  // Tenant ids cannot contain ':' (CONTRACT §1), so this is unambiguous.
  return `${tenantId}:${actorId}`;
}

/** Entity key of the per-entity chain: `(tenant, resource.type, resource.id)`. */
export function entityKeyOf(tenantId: string, resourceType: string, resourceId: string): string {
  return `${tenantId}\u0000${resourceType}\u0000${resourceId}`;
}

/** What every personal blob's additional data starts with (see {@link personalAad}). */
const AAD_PREFIX = Buffer.from('sealog/personal/v1\u0000', 'utf8');
/** Bytes of a personal AAD before its idempotency key (see {@link personalAad}). */
export const PERSONAL_AAD_PREFIX_BYTES: number = AAD_PREFIX.length;

/**
 * Additional data binding a sealed personal blob to its record: `sealog/personal/v1 "\0"`, then
 * the idempotency key `tenant_id "\0" event_id` (key-fingerprint.ts).
 */
export function personalAad(tenantId: string, eventId: string): Uint8Array {
  const out = Buffer.allocUnsafe(personalAadLength(tenantId, eventId));
  writePersonalAad(out, 0, tenantId, eventId);
  return out;
}

/** Bytes of {@link personalAad}`(tenantId, eventId)`. */
export function personalAadLength(tenantId: string, eventId: string): number {
  return AAD_PREFIX.length + Buffer.byteLength(tenantId, 'utf8') + 1 + Buffer.byteLength(eventId, 'utf8');
}

/** Writes {@link personalAad}`(tenantId, eventId)` into `out` at `at`; returns where it ends. */
export function writePersonalAad(out: Buffer, at: number, tenantId: string, eventId: string): number {
  out.set(AAD_PREFIX, at);
  let end = at + AAD_PREFIX.length;
  end += out.write(tenantId, end, 'utf8');
  out[end++] = 0;
  return end + out.write(eventId, end, 'utf8');
}

/** A record body ready for sequencing. */
export interface PreparedRecord {
  readonly eventId: string;
  readonly tenantId: string;
  readonly entityKey: string;
  readonly occurredAt: number;
  readonly body: Uint8Array;
  /**
   * When prepared in the worker: the fingerprint of `tenant_id "\0" event_id` under the salt of
   * its log's idempotency window, at words `keyFingerprintAt …` of this array (shared by the
   * records of one append). Otherwise the writer computes it.
   */
  readonly keyFingerprints?: Uint32Array;
  readonly keyFingerprintAt?: number;
}

/**
 * The records of one `LogWriter.enqueue` call, column by column. A record waits in the queue and
 * in its frame until durable (~0.1 s when saturated), and every scavenge copies what waits: as
 * columns, a call's records are a handful of objects instead of five or so per record
 * (`PreparedRecord`, its boxed `occurredAt`, its body view, its queue entry…).
 */
export interface PreparedRecords {
  readonly count: number;
  readonly eventIds: readonly string[];
  /** Record i's entity key (`entityKeyOf`); may be empty when `entityFingerprints` is given. */
  readonly entityKeys: readonly string[];
  /**
   * Record i's entity-key fingerprint under its log's salt (`LogWriter.fingerprintEntities`) at
   * words `4i … 4i + 3`, made when the call was staged: then the key strings are garbage before
   * the records wait in the queue. Otherwise the writer fingerprints `entityKeys`.
   */
  readonly entityFingerprints?: Uint32Array;
  readonly occurredAt: Float64Array;
  /** Record i's body is `bytes[bodyAt[2i] … bodyAt[2i + 1])`. */
  readonly bytes: Uint8Array;
  readonly bodyAt: Uint32Array;
  /**
   * When prepared in the worker: record i's idempotency-key fingerprint (see
   * {@link PreparedRecord.keyFingerprints}) at words `4i … 4i + 3`. Otherwise the writer computes it.
   */
  readonly keyFingerprints?: Uint32Array;
}

/** Words of one key fingerprint. */
const FINGERPRINT_WORDS = FINGERPRINT_BYTES / 4;

/**
 * Records as columns (bodies copied into one buffer).
 * @throws {LedgerError} `BAD_ARGUMENT` when some records carry key fingerprints and others not.
 */
export function preparedColumns(records: readonly PreparedRecord[]): PreparedRecords {
  const n = records.length;
  let bytes = 0;
  let fingerprinted = 0;
  for (const r of records) {
    bytes += r.body.length;
    if (r.keyFingerprints !== undefined) fingerprinted++;
  }
  if (fingerprinted !== 0 && fingerprinted !== n) {
    throw new LedgerError('BAD_ARGUMENT', 'either every record carries a key fingerprint or none');
  }
  const eventIds: string[] = new Array(n);
  const entityKeys: string[] = new Array(n);
  const occurredAt = new Float64Array(n);
  const out = new Uint8Array(bytes);
  const bodyAt = new Uint32Array(2 * n);
  const fingerprints = fingerprinted === 0 ? undefined : new Uint32Array(FINGERPRINT_WORDS * n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    eventIds[i] = r.eventId;
    entityKeys[i] = r.entityKey;
    occurredAt[i] = r.occurredAt;
    out.set(r.body, at);
    bodyAt[2 * i] = at;
    at += r.body.length;
    bodyAt[2 * i + 1] = at;
    if (fingerprints !== undefined) {
      const from = r.keyFingerprintAt!;
      fingerprints.set(r.keyFingerprints!.subarray(from, from + FINGERPRINT_WORDS), FINGERPRINT_WORDS * i);
    }
  }
  return fingerprints === undefined
    ? { count: n, eventIds, entityKeys, occurredAt, bytes: out, bodyAt }
    : { count: n, eventIds, entityKeys, occurredAt, bytes: out, bodyAt, keyFingerprints: fingerprints };
}

/**
 * Words per event in a prepare request (prepare-worker.ts, `PrepareRequest`): the subject's slot in
 * the worker, the personal blob's length, its AAD's length, the index of its retention class.
 */
export const PREPARE_META_WORDS = 4;

/**
 * Where the parts of a prepare request's buffer (which comes back as the answer) start for `n`
 * events: `n + 1` u32 body offsets (relative to the bodies) at 0; the key fingerprints (when
 * `fingerprinted`, written by the worker) at `fingerprintsAt`; {@link PREPARE_META_WORDS} words
 * per event at `metaAt`; the record bodies at `bodiesAt`, then the personal plaintexts (wiped by
 * the worker once sealed) and the personal AADs, back to back. Written by worker-preparer.ts and
 * prepare-worker.ts, read by both.
 */
export function preparedLayout(
  n: number,
  fingerprinted: boolean,
): { fingerprintsAt: number; metaAt: number; bodiesAt: number } {
  const fingerprintsAt = 4 * (n + 1);
  const metaAt = fingerprintsAt + (fingerprinted ? FINGERPRINT_BYTES * n : 0);
  return { fingerprintsAt, metaAt, bodiesAt: metaAt + 4 * PREPARE_META_WORDS * n };
}

/** What sealing needs per subject: its field sealer, key id and blind token (deterministic). */
export interface SubjectSealing {
  readonly sealer: FieldSealer;
  /** Hex of the subject key's 4-byte tag. */
  readonly keyId: string;
  /** 16-byte blind token of the actor id under the tenant's blind-index key. */
  readonly token: Uint8Array;
}

/** Builds the sealing state of one subject (one HMAC for the token; no key import). */
export function createSubjectSealing(
  key: SubjectKey,
  blindKey: BlindIndexKey,
  actorId: string,
): SubjectSealing {
  return {
    sealer: createFieldSealer(key),
    keyId: Buffer.from(key.keyTag).toString('hex'),
    token: blindToken(blindKey, SUBJECT_TOKEN_FIELD, actorId),
  };
}

/** Zeros standing in for sealed blobs in {@link encodeUnsealedBody} (msgpackr copies them). */
const SEALED_PLACEHOLDER = new Uint8Array(MAX_FIELD_PLAINTEXT_BYTES + SEALED_FIELD_OVERHEAD_BYTES);

/**
 * Encodes one event as record body bytes whose last `personal.length + 33` bytes are zeros: the
 * place of its sealed personal blob (`sealed_personal` is the body's last element, so the encoding
 * around it does not depend on the blob's bytes). {@link sealBodyInPlace} fills it in, here or in
 * another thread. Both returned buffers belong to the caller; `personal` is plaintext personal data:
 * wipe it once sealed.
 */
export function encodeUnsealedBody(
  event: NormalizedEvent,
  eventId: string,
  receivedAt: number,
  token: Uint8Array,
  keyId: string,
): { body: Uint8Array; personal: Uint8Array } {
  const { publicPart, personal: fields } = splitPersonal(event);
  const personal = encodePersonal(fields);
  const sealedLength = personal.length + SEALED_FIELD_OVERHEAD_BYTES;
  const placeholder =
    sealedLength <= SEALED_PLACEHOLDER.length
      ? SEALED_PLACEHOLDER.subarray(0, sealedLength)
      : new Uint8Array(sealedLength);
  const body = encodeRecordBody(
    makeRecordBody(publicPart, {
      event_id: eventId,
      received_at: receivedAt,
      subject_token: token,
      subject_key_id: keyId,
      sealed_personal: placeholder,
    }),
  );
  return { body, personal };
}

/**
 * Seals `personal` under `sealer` into the place {@link encodeUnsealedBody} left at the end of
 * `out[bodyStart … bodyEnd)`, bound to `aad` ({@link personalAad} of the record).
 */
export function sealBodyInPlace(
  sealer: FieldSealer,
  personal: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
  bodyEnd: number,
): void {
  sealer.sealInto(personal, aad, out, bodyEnd - personal.length - SEALED_FIELD_OVERHEAD_BYTES);
}

/**
 * Encodes one event as record body bytes with its personal fields sealed under `sealing` (the
 * in-thread path; the worker path splits the same two steps across threads, so both produce the
 * same bytes up to the random nonce of the sealed blob). The returned bytes belong to the caller.
 */
export function encodeSealedBody(
  event: NormalizedEvent,
  eventId: string,
  receivedAt: number,
  sealing: SubjectSealing,
): Uint8Array {
  const { body, personal } = encodeUnsealedBody(event, eventId, receivedAt, sealing.token, sealing.keyId);
  sealBodyInPlace(sealing.sealer, personal, personalAad(event.tenant_id, eventId), body, body.length);
  personal.fill(0);
  return body;
}

/** Prepares records; caches one field sealer per recent subject. */
export class RecordPreparer {
  private readonly keys: LedgerKeys;
  /** Per recent subject: its field sealer, key id and blind token (deterministic, so cached). */
  private readonly sealers = new Map<string, SubjectSealing>();

  constructor(keys: LedgerKeys) {
    this.keys = keys;
  }

  /**
   * Makes sure the subject keys of `events` are loaded (created on first use), concurrently, so
   * that {@link prepare} runs synchronously afterwards.
   */
  async loadSubjects(events: readonly NormalizedEvent[]): Promise<void> {
    const missing = new Map<string, string>();
    for (const event of events) {
      const subjectId = subjectIdOf(event.tenant_id, event.actor.id);
      if (!this.sealers.has(subjectId) && !missing.has(subjectId)) {
        missing.set(subjectId, this.keys.subjectStoreId(event.tenant_id, event.actor.id));
      }
    }
    if (missing.size === 0) return;
    // One call: the journaled store writes every new key of the batch with one fdatasync.
    const keys = await this.keys.subjects.getOrCreateMany([...missing.values()]);
    for (const event of events) {
      const subjectId = subjectIdOf(event.tenant_id, event.actor.id);
      const storeId = missing.get(subjectId);
      const key = storeId === undefined ? undefined : keys.get(storeId);
      if (key === undefined || this.sealers.has(subjectId)) continue;
      if (this.sealers.size >= SEALER_CACHE_ENTRIES) {
        const oldest = this.sealers.keys().next().value as string;
        this.sealers.delete(oldest);
      }
      this.sealers.set(
        subjectId,
        createSubjectSealing(key, this.keys.blindKey(event.tenant_id), event.actor.id),
      );
    }
  }

  /**
   * Encodes one event as a record body with its personal fields sealed.
   * @throws {LedgerError} `KEY_MISSING` when {@link loadSubjects} did not load its subject.
   */
  prepare(event: NormalizedEvent, eventId: string, receivedAt: number): PreparedRecord {
    const tenantId = event.tenant_id;
    const entry = this.sealers.get(subjectIdOf(tenantId, event.actor.id));
    if (entry === undefined) {
      throw new LedgerError(
        'KEY_MISSING',
        `logic error: subject key of ${tenantId} not loaded before prepare`,
      );
    }
    return {
      eventId,
      tenantId,
      entityKey: entityKeyOf(tenantId, event.resource.type, event.resource.id),
      occurredAt: event.occurred_at,
      body: encodeSealedBody(event, eventId, receivedAt, entry),
    };
  }

  /** Forgets the cached sealer of a subject (after erasure). */
  forget(subjectId: string): void {
    this.sealers.delete(subjectId);
  }
}
