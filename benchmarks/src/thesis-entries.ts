/**
 * The ~4 KiB entries of the thesis benchmark, generated once into a pool that producers cycle
 * through (generation is not part of what is timed, for the ledger or for the baseline).
 *
 * Payloads:
 * - `mixed`: 2 KiB of random bytes then 2 KiB of repeated English text (half incompressible);
 * - `thesis`: the thesis generator's text, the words "the" and "data" drawn 2:1 at random,
 *   space-separated (very compressible).
 *
 * Each payload is wrapped once in a minimal v1 record body (`sealed_personal` carries the payload
 * as opaque bytes; the other 15 fields are short constants, ~70 bytes), because the log writer
 * only accepts record bodies. Input bytes are counted as payload bytes only.
 *
 * Not here: validation, personal-data sealing, blind tokens (the audit benchmark covers those).
 * Buffers: pool entries are shared by every submission of the same slot and never written to.
 */
import { randomFillSync } from 'node:crypto';
import { encodeRecordBody, type RecordBody } from '@sealog/codec';
import { type PreparedRecord, type PreparedRecords, preparedColumns } from '@sealog/ledger';

/** Payload kinds of the thesis benchmark. */
export type ThesisPayload = 'mixed' | 'thesis';
/** Payload kinds, for argument parsing. */
export const THESIS_PAYLOADS: readonly ThesisPayload[] = ['mixed', 'thesis'];
/** Payload bytes per entry (the thesis' "~4 KiB"). */
export const ENTRY_BYTES = 4096;
/** Distinct entries generated; producers cycle through them (16 MiB of payload). */
export const DEFAULT_POOL_ENTRIES = 4096;
/** Distinct entity keys the entries are spread over (so entity links are exercised). */
const ENTITIES = 64;

const TEXT =
  'The quick brown fox jumps over the lazy dog while the audit log keeps every record it was given. ';

/** One payload of `bytes` bytes (deterministic apart from the random half of `mixed`). */
export function makePayload(kind: ThesisPayload, bytes: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  if (kind === 'mixed') {
    const half = bytes >>> 1;
    randomFillSync(out, 0, half);
    for (let i = half, j = seed % TEXT.length; i < bytes; i++, j = j + 1 === TEXT.length ? 0 : j + 1) {
      out[i] = TEXT.charCodeAt(j);
    }
    return out;
  }
  // "the" twice as likely as "data", as the thesis generator drew them.
  let s = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  while (i < bytes) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const word = s % 3 === 2 ? 'data ' : 'the ';
    for (let k = 0; k < word.length && i < bytes; k++) out[i++] = word.charCodeAt(k);
  }
  return out;
}

/** A pool of entries: raw payloads (for the baseline) and the same payloads as record bodies. */
export interface EntryPool {
  readonly kind: ThesisPayload;
  /** Payload bytes per entry. */
  readonly entryBytes: number;
  readonly payloads: readonly Buffer[];
  /** The same payloads as records, in columns (one buffer for all bodies). */
  readonly records: PreparedRecords;
}

/** Generates `size` entries of `entryBytes` bytes. */
export function createEntryPool(
  kind: ThesisPayload,
  size: number = DEFAULT_POOL_ENTRIES,
  entryBytes: number = ENTRY_BYTES,
): EntryPool {
  const payloads: Buffer[] = new Array(size);
  const records: PreparedRecord[] = new Array(size);
  const token = new Uint8Array(16);
  const occurredAt = Date.UTC(2026, 10, 23);
  for (let k = 0; k < size; k++) {
    const payload = makePayload(kind, entryBytes, k);
    const eventId = `entry-${k}`;
    const entity = `e${k % ENTITIES}`;
    const body: RecordBody = {
      event_id: eventId,
      tenant_id: 'bench',
      occurred_at: occurredAt,
      received_at: occurredAt,
      actor_type: 'system',
      subject_token: token,
      action: 'bench.entry',
      category: undefined,
      resource: { type: 'entry', id: entity, name: undefined },
      result: 'success',
      context: undefined,
      change_fields: undefined,
      metadata: undefined,
      retention_class: 'default',
      subject_key_id: '',
      sealed_personal: payload,
    };
    payloads[k] = payload;
    records[k] = {
      eventId,
      tenantId: 'bench',
      entityKey: `bench\u0000entry\u0000${entity}`,
      occurredAt,
      body: encodeRecordBody(body),
    };
  }
  return { kind, entryBytes, payloads, records: preparedColumns(records) };
}
