/**
 * Audit of the audit log (PCI DSS 10.2.1.3): every search, read, history, export and erasure is
 * itself recorded as an event in the tenant it touched — who (the API key), what (action and
 * filter), how many records. Fail closed: if the access cannot be recorded (queue full, ledger
 * closed), the request fails too.
 *
 * Privacy: the filter is stored as metadata without personal data — an actor id appears only as
 * its blind token, an erased subject only as its blind token.
 */
import type { StoredRecord } from '@sealog/codec';
import type { Erasure } from '@sealog/index';
import type { Ledger } from '@sealog/ledger';
import type { Principal } from './api-keys';

/** Actor id of accesses made with an API key: `api-key:<key_id>`. */
export function apiKeyActor(principal: Principal): string {
  return `api-key:${principal.keyId}`;
}

/** Action prefix reserved for the server's own events (clients get 400 for it). */
export const RESERVED_ACTION_PREFIX = 'sealog.';
/** Actor id prefixes reserved for the server's access events: never client events, never erased. */
export const RESERVED_ACTOR_PREFIXES: readonly string[] = ['api-key:', 'cli:'];

/** True when `actorId` names an API key or CLI user in access events. */
export function isReservedActor(actorId: string): boolean {
  return RESERVED_ACTOR_PREFIXES.some((p) => actorId.startsWith(p));
}

/**
 * Problems of client events that would impersonate the server's access events: a `sealog.*`
 * action, the `sealog.audit_log` resource type, or an `api-key:`/`cli:` actor id. Such events are
 * refused (400, nothing stored), so an access event in a log was written by the server.
 */
export function reservedIssues(
  events: readonly unknown[],
): { index: number; path: string; message: string }[] {
  const out: { index: number; path: string; message: string }[] = [];
  events.forEach((e, index) => {
    const ev = e as { action?: unknown; resource?: { type?: unknown }; actor?: { id?: unknown } } | null;
    if (typeof ev?.action === 'string' && ev.action.startsWith(RESERVED_ACTION_PREFIX)) {
      out.push({
        index,
        path: 'action',
        message: `actions starting with "${RESERVED_ACTION_PREFIX}" are reserved for the server`,
      });
    }
    if (ev?.resource?.type === ACCESS_RESOURCE_TYPE) {
      out.push({
        index,
        path: 'resource.type',
        message: `resource type "${ACCESS_RESOURCE_TYPE}" is reserved for the server`,
      });
    }
    if (typeof ev?.actor?.id === 'string' && isReservedActor(ev.actor.id)) {
      out.push({
        index,
        path: 'actor.id',
        message: `actor ids starting with ${RESERVED_ACTOR_PREFIXES.map((p) => `"${p}"`).join(' or ')} are reserved for the server`,
      });
    }
  });
  return out;
}

/** `resource.type` of access events. */
export const ACCESS_RESOURCE_TYPE = 'sealog.audit_log';

/** Actions recorded for accesses. */
export type AccessAction =
  | 'sealog.audit_logs.search'
  | 'sealog.event.read'
  | 'sealog.history.read'
  | 'sealog.export'
  | 'sealog.subject.erase'
  | 'sealog.api_key.create'
  | 'sealog.api_key.revoke';

/** Tenant that records admin actions on keys scoped to every tenant (`*`). */
export const SYSTEM_TENANT = 'sealog.system';

/** Records accesses as events of the tenant accessed. */
export class AccessLog {
  private readonly ledger: Ledger;
  private readonly now: () => number;

  constructor(ledger: Ledger, now: () => number = Date.now) {
    this.ledger = ledger;
    this.now = now;
  }

  /**
   * Appends one access event by `actorId` (`api-key:<key_id>`, or `cli:<user>` for the CLI); resolves with its event id once accepted (or durable for erasure).
   * @throws {LedgerError} `BACKPRESSURE` (→ 429), `CLOSED`/`FAILED` (→ 503): the access then fails.
   */
  async record(
    actorId: string,
    tenantId: string,
    action: AccessAction,
    metadata: Record<string, string | number | boolean>,
    wait: 'accepted' | 'durable' = 'accepted',
  ): Promise<string> {
    const [result] = await this.ledger.append(
      [
        {
          tenant_id: tenantId,
          occurred_at: this.now(),
          actor: { id: actorId, type: 'service' },
          action,
          category:
            action === ERASE_ACTION ? 'delete' : action.startsWith('sealog.api_key.') ? 'admin' : 'read',
          resource: { type: ACCESS_RESOURCE_TYPE, id: tenantId },
          result: 'success',
          context: { component: 'sealog-server' },
          // Also outside the sealed personal fields: `actor.id` is personal (sealed, erasable),
          // this copy keeps who accessed readable for the life of the record.
          metadata: { ...metadata, 'sealog.actor': actorId },
        },
      ],
      { wait, onFull: 'reject', producer: 'access-log' },
    );
    return result!.event_id;
  }
}

/** Action of the access event recorded (durably) before a subject erasure. */
export const ERASE_ACTION = 'sealog.subject.erase';

/**
 * The erasure a stored record announces, for the search indexer: an access event
 * `sealog.subject.erase` (only the server writes `sealog.*` actions: clients get 400) carries the
 * subject's blind token as `subject_token` (hex). Indexing the record erases the token in the
 * index, so an erasure interrupted after the key shred still reaches the index.
 */
export function erasureOf(record: StoredRecord): Erasure | undefined {
  if (record.action !== ERASE_ACTION || record.resource.type !== ACCESS_RESOURCE_TYPE) return undefined;
  const hex = record.metadata?.subject_token;
  if (typeof hex !== 'string' || !/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return { tenantId: record.tenant_id, subjectToken: Buffer.from(hex, 'hex') };
}
