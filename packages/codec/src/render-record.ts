/**
 * The human-readable rendering of a record's public fields, shared by every producer and checker
 * of exports (docs/FORMAT.md, "Export bundles", the `record` field of a record line): every key
 * present in a fixed order, nil as `null`, times as RFC 3339 UTC with milliseconds, bytes as
 * lowercase hex. `sealed_personal` is never rendered (opaque ciphertext).
 *
 * Returns a fresh plain object; it shares only strings and `metadata`/`change_fields` with `r`.
 */
import type { StoredRecord } from './record';

/**
 * Renders the public fields of a decoded record.
 * @example
 * ```ts
 * JSON.stringify(renderPublicRecord(decodeRecord(leaf)));
 * ```
 */
export function renderPublicRecord(r: StoredRecord): Record<string, unknown> {
  const c = r.context;
  return {
    event_id: r.event_id,
    tenant_id: r.tenant_id,
    occurred_at: new Date(r.occurred_at).toISOString(),
    received_at: new Date(r.received_at).toISOString(),
    actor_type: r.actor_type,
    subject_token: hex(r.subject_token),
    action: r.action,
    category: r.category ?? null,
    resource: { type: r.resource.type, id: r.resource.id, name: r.resource.name ?? null },
    result: r.result,
    context:
      c === undefined
        ? null
        : {
            request_id: c.request_id ?? null,
            session_id: c.session_id ?? null,
            trace_id: c.trace_id ?? null,
            component: c.component ?? null,
          },
    change_fields: r.change_fields ?? null,
    metadata: r.metadata ?? null,
    retention_class: r.retention_class,
    subject_key_id: r.subject_key_id,
    prev: r.prev === null ? null : { leaf_index: r.prev.leafIndex, leaf_hash: hex(r.prev.leafHash) },
  };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}
