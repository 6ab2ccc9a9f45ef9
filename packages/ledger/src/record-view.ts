/**
 * The API view of a stored record (CONTRACT §2 "Record"): public fields, server positions, the
 * integrity string, and the personal fields opened with the data subject's key — or `"[erased]"`
 * when that key was shredded. Also the reader that finds a record's subject key without any
 * plaintext: the key store names subjects by `(tenant, blind token)`, both stored in the record.
 *
 * Not here: search (the index finds positions), HTTP, bundles (`export-bundle.ts` renders the
 * verifiable public part only). Every returned object is fresh and the caller's.
 */
import { decodePersonal, type PersonalFields, type StoredRecord } from '@sealog/codec';
import { CryptoEnvelopeError, createFieldSealer, type FieldSealer } from '@sealog/crypto-envelope';
import { LedgerError } from './errors';
import { type LedgerKeys, subjectStoreIdOfToken } from './ledger-keys';
import type { ReadRecord } from './log-writer';
import { personalAad } from './record-prep';

/** What personal fields read as once their subject key is shredded (CONTRACT §2). */
export const ERASED = '[erased]';
/** Field sealers of recently read subjects kept in memory. */
const READER_CACHE_ENTRIES = 10_000;

/** A record's personal fields: opened, or erased (the subject key that sealed them is gone). */
export type PersonalView = PersonalFields | typeof ERASED;

/** Opens the personal fields of stored records with their subjects' keys (cached per subject). */
export class PersonalReader {
  private readonly keys: LedgerKeys;
  /** Store id → sealer and key tag (hex) of the subject's current key. */
  private readonly cache = new Map<string, { sealer: FieldSealer; keyId: string }>();

  constructor(keys: LedgerKeys) {
    this.keys = keys;
  }

  /**
   * The personal fields of `record`, or {@link ERASED} when its subject key no longer exists (or a
   * newer key of the same subject exists: the subject was erased and seen again).
   * @throws {LedgerError} `CORRUPT` when the sealed blob does not open under the right key.
   */
  async open(record: StoredRecord): Promise<PersonalView> {
    const storeId = subjectStoreIdOfToken(record.tenant_id, record.subject_token);
    let entry = this.cache.get(storeId);
    // Only present keys are cached, and a cached key with another tag is looked up again: after an
    // erasure the subject may have been seen again and have a new key.
    if (entry === undefined || entry.keyId !== record.subject_key_id) {
      const key = await this.keys.subjects.get(storeId);
      if (key === undefined) {
        this.cache.delete(storeId);
        return ERASED;
      }
      entry = { sealer: createFieldSealer(key), keyId: Buffer.from(key.keyTag).toString('hex') };
      if (this.cache.size >= READER_CACHE_ENTRIES) {
        this.cache.delete(this.cache.keys().next().value as string);
      }
      this.cache.set(storeId, entry);
    }
    if (entry.keyId !== record.subject_key_id) return ERASED;
    try {
      return decodePersonal(
        entry.sealer.open(record.sealed_personal, personalAad(record.tenant_id, record.event_id)),
      );
    } catch (error) {
      if (error instanceof CryptoEnvelopeError && error.code === 'KEY_MISMATCH') return ERASED;
      throw new LedgerError(
        'CORRUPT',
        `record ${record.event_id}: personal fields do not open: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Forgets the cached key of a subject (after erasure). */
  forget(tenantId: string, subjectToken: Uint8Array): void {
    this.cache.delete(subjectStoreIdOfToken(tenantId, subjectToken));
  }
}

/** Options of {@link renderRecordView}. */
export interface RecordViewOptions {
  /** The record's `integrity` string (`LogWriter.integrityOf`). */
  readonly integrity: string;
  /** Opened personal fields, {@link ERASED}, or `undefined` to leave them out (no `read` role). */
  readonly personal: PersonalView | undefined;
}

/**
 * Renders a record as CONTRACT §2 "Record": times as RFC 3339 with milliseconds, `block_index` =
 * the frame's batch number, `block_hash` = its chain hash, `verification_hash` = the leaf hash.
 * Without `personal`, personal fields are left out (`actor.id` reads {@link ERASED} if erased).
 */
export function renderRecordView(r: ReadRecord, options: RecordViewOptions): Record<string, unknown> {
  const rec = r.record;
  const p = options.personal;
  const erased = p === ERASED;
  const opened = p === undefined || p === ERASED ? undefined : p;
  const actor: Record<string, unknown> = {
    id: erased ? ERASED : (opened?.actor_id ?? null),
    type: rec.actor_type,
  };
  if (erased) {
    actor.name = ERASED;
    actor.email = ERASED;
  } else if (opened !== undefined) {
    if (opened.actor_name !== undefined) actor.name = opened.actor_name;
    if (opened.actor_email !== undefined) actor.email = opened.actor_email;
  }
  const out: Record<string, unknown> = {
    event_id: rec.event_id,
    tenant_id: rec.tenant_id,
    occurred_at: new Date(rec.occurred_at).toISOString(),
    received_at: new Date(rec.received_at).toISOString(),
    actor,
    action: rec.action,
  };
  if (rec.category !== undefined) out.category = rec.category;
  const resource: Record<string, unknown> = { type: rec.resource.type, id: rec.resource.id };
  if (rec.resource.name !== undefined) resource.name = rec.resource.name;
  out.resource = resource;
  out.result = rec.result;
  const context: Record<string, unknown> = {};
  const c = rec.context;
  if (erased) {
    // `context` exists iff the event had one; whether it held ip/user_agent is sealed, so both read erased.
    if (c !== undefined) {
      context.ip = ERASED;
      context.user_agent = ERASED;
    }
  } else if (opened !== undefined) {
    if (opened.ip !== undefined) context.ip = opened.ip;
    if (opened.user_agent !== undefined) context.user_agent = opened.user_agent;
  }
  if (c !== undefined) {
    if (c.request_id !== undefined) context.request_id = c.request_id;
    if (c.session_id !== undefined) context.session_id = c.session_id;
    if (c.trace_id !== undefined) context.trace_id = c.trace_id;
    if (c.component !== undefined) context.component = c.component;
  }
  if (c !== undefined || Object.keys(context).length > 0) out.context = context;
  if (rec.change_fields !== undefined) {
    out.changes = rec.change_fields.map((field, i) => {
      const change: Record<string, unknown> = { field };
      if (erased) {
        change.old = ERASED;
        change.new = ERASED;
      } else if (opened !== undefined) {
        const pc = opened.changes[i];
        if (pc?.old !== undefined) change.old = pc.old;
        if (pc?.new !== undefined) change.new = pc.new;
      }
      return change;
    });
  }
  if (rec.metadata !== undefined) out.metadata = rec.metadata;
  out.retention_class = rec.retention_class;
  out.log_id = r.logId;
  out.leaf_index = r.leafIndex;
  out.block_index = r.batchIndex;
  out.block_hash = r.blockHash;
  out.verification_hash = Buffer.from(r.leafHash).toString('hex');
  out.integrity = options.integrity;
  out.prev_entity_leaf_index = rec.prev === null ? null : rec.prev.leafIndex;
  return out;
}
