/**
 * What the index stores about one record: its position `(logId, leafIndex)`, times, the blind
 * token of its data subject and the non-personal fields searches filter on — and how a stored
 * record becomes one. Plaintext personal fields (actor id, name, email, IP, user agent, change
 * values) never reach this shape: the ledger sealed them before the record was written, and the
 * index reads only the record's public part.
 *
 * Buffers: {@link indexRowOf} returns `subjectToken` as the record's own view (into the leaf bytes);
 * the index copies it when it binds the row, so the row is only read, never kept by the index.
 */
import type { StoredRecord } from '@sealog/codec';

/** Length of a subject blind token in bytes (HMAC-SHA-256 truncated, as the ledger computes it). */
export const SUBJECT_TOKEN_BYTES = 16;

/** One record as the index sees it. */
export interface IndexRow {
  /** Log holding the record, 1..64 chars `[A-Za-z0-9._-]`. */
  readonly logId: string;
  /** Leaf index in that log, integer 0 ≤ n < 2^40. */
  readonly leafIndex: number;
  /** Tenant id, 1..128 chars. */
  readonly tenantId: string;
  /** Event id (the idempotency key within the tenant), 1..128 chars. */
  readonly eventId: string;
  /** Client-reported time, epoch milliseconds, integer ≥ 0. */
  readonly occurredAt: number;
  /** Server acceptance time, epoch milliseconds, integer ≥ 0 (orders resource histories). */
  readonly receivedAt: number;
  /** Blind token of the actor id, exactly {@link SUBJECT_TOKEN_BYTES} bytes. */
  readonly subjectToken: Uint8Array;
  /**
   * `true` when the record's subject key is known to be erased (the indexer's `isErased` said so):
   * the row is stored without its token, so no actor search finds it. Absent or `false`: stored
   * with it, unless an erasure the index remembers covers the row (see `SearchIndex.eraseSubject`).
   */
  readonly subjectErased?: boolean;
  /** `user` | `service` | `system`. */
  readonly actorType: string;
  /** Action, e.g. `role.upgrade`. */
  readonly action: string;
  /** Category, or `undefined` when the event had none. */
  readonly category: string | undefined;
  /** Resource type. */
  readonly resourceType: string;
  /** Resource id. */
  readonly resourceId: string;
  /** `success` | `failure` | `unknown`. */
  readonly result: string;
}

/**
 * The index row of a stored record at `(logId, leafIndex)`.
 * @example
 * ```ts
 * for await (const r of log.iterate(from, to)) rows.push(indexRowOf(r.logId, r.leafIndex, r.record));
 * ```
 */
export function indexRowOf(logId: string, leafIndex: number, record: StoredRecord): IndexRow {
  return {
    logId,
    leafIndex,
    tenantId: record.tenant_id,
    eventId: record.event_id,
    occurredAt: record.occurred_at,
    receivedAt: record.received_at,
    subjectToken: record.subject_token,
    actorType: record.actor_type,
    action: record.action,
    category: record.category,
    resourceType: record.resource.type,
    resourceId: record.resource.id,
    result: record.result,
  };
}
