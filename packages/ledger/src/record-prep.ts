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

/** Additional data binding a sealed personal blob to its record. */
export function personalAad(tenantId: string, eventId: string): Uint8Array {
  return Buffer.from(`sealog/personal/v1\u0000${tenantId}\u0000${eventId}`, 'utf8');
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
 * Where the parts of a prepare answer's buffer start for `n` events (prepare-worker.ts,
 * `PrepareAnswer`): `n + 1` u32 body offsets at 0, the key fingerprints (when `fingerprinted`) at
 * `fingerprintsAt`, the bodies at `bodiesAt`. Written by the worker, read by the main thread.
 */
export function preparedLayout(
  n: number,
  fingerprinted: boolean,
): { fingerprintsAt: number; bodiesAt: number } {
  const fingerprintsAt = 4 * (n + 1);
  return { fingerprintsAt, bodiesAt: fingerprintsAt + (fingerprinted ? FINGERPRINT_BYTES * n : 0) };
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

/**
 * Encodes one event as record body bytes with its personal fields sealed under `sealing`. Shared
 * by the in-thread path and the prepare worker, so both produce the same bytes (up to the random
 * nonce of the sealed blob). The returned bytes belong to the caller.
 */
export function encodeSealedBody(
  event: NormalizedEvent,
  eventId: string,
  receivedAt: number,
  sealing: SubjectSealing,
): Uint8Array {
  const { publicPart, personal } = splitPersonal(event);
  const sealed = sealing.sealer.seal(encodePersonal(personal), personalAad(event.tenant_id, eventId));
  return encodeRecordBody(
    makeRecordBody(publicPart, {
      event_id: eventId,
      received_at: receivedAt,
      subject_token: sealing.token,
      subject_key_id: sealing.keyId,
      sealed_personal: sealed,
    }),
  );
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
