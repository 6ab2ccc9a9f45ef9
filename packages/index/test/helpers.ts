/**
 * Test helpers: temp directories, index rows with defaults, a naive in-memory model of the index
 * (filter + sort) to compare against, page walking, and realistic audit events for a real ledger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { IndexRow, SearchHit, SearchIndex, SearchPage, SearchQuery, SortOrder } from '../src/index';

const dirs: string[] = [];

/** A fresh temp directory removed after the test. */
export function tempDir(prefix = 'sealog-index-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A deterministic 16-byte token for subject number `n`. */
export function token(n: number): Uint8Array {
  const t = new Uint8Array(16);
  t.fill(0xa0);
  t[0] = n & 0xff;
  t[1] = (n >>> 8) & 0xff;
  return t;
}

/** An index row with defaults for everything not given. */
export function row(overrides: Partial<IndexRow> & Pick<IndexRow, 'leafIndex'>): IndexRow {
  return {
    logId: 'default',
    tenantId: 'acme',
    eventId: `evt-${overrides.logId ?? 'default'}-${overrides.leafIndex}`,
    occurredAt: 1_000_000 + overrides.leafIndex * 1000,
    receivedAt: 2_000_000 + overrides.leafIndex * 1000,
    subjectToken: token(0),
    actorType: 'user',
    action: 'user.login',
    category: 'auth',
    resourceType: 'document',
    resourceId: 'doc-1',
    result: 'success',
    ...overrides,
  };
}

/** Every page of a search, following cursors; fails on a loop (more pages than rows allow). */
export function allPages(
  index: SearchIndex,
  query: Omit<SearchQuery, 'cursor'>,
  between?: (page: SearchPage) => void,
): SearchHit[] {
  const hits: SearchHit[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = index.search({ ...query, cursor });
    hits.push(...page.hits);
    if (page.nextCursor === null) return hits;
    between?.(page);
    cursor = page.nextCursor;
  }
  throw new Error('too many pages');
}

/** Every page of a resource history. */
export function allHistory(
  index: SearchIndex,
  query: { tenantId: string; resourceType: string; resourceId: string; limit: number; order?: SortOrder },
): SearchHit[] {
  const hits: SearchHit[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = index.history({ ...query, cursor });
    hits.push(...page.hits);
    if (page.nextCursor === null) return hits;
    cursor = page.nextCursor;
  }
}

/**
 * The naive model: rows kept in a list, log codes in order of first insertion (as the index
 * numbers logs), filtered and sorted by `(occurredAt, logCode, leafIndex)`.
 */
export class ModelIndex {
  readonly rows: Map<string, IndexRow> = new Map();
  readonly logCodes: Map<string, number> = new Map();
  readonly erased: Set<string> = new Set();

  insert(rows: readonly IndexRow[]): void {
    for (const r of rows) {
      if (!this.logCodes.has(r.logId)) this.logCodes.set(r.logId, this.logCodes.size);
      const key = `${r.logId}/${r.leafIndex}`;
      if (!this.rows.has(key)) this.rows.set(key, r);
    }
  }

  search(q: Omit<SearchQuery, 'cursor' | 'limit'>): SearchHit[] {
    const hex = q.subjectToken === undefined ? undefined : Buffer.from(q.subjectToken).toString('hex');
    const out = [...this.rows.values()].filter(
      (r) =>
        r.tenantId === q.tenantId &&
        (hex === undefined ||
          (Buffer.from(r.subjectToken).toString('hex') === hex &&
            !this.erased.has(`${r.tenantId}/${hex}`))) &&
        (q.action === undefined || r.action === q.action) &&
        (q.category === undefined || r.category === q.category) &&
        (q.resourceType === undefined || r.resourceType === q.resourceType) &&
        (q.resourceId === undefined || r.resourceId === q.resourceId) &&
        (q.result === undefined || r.result === q.result) &&
        (q.startTime === undefined || r.occurredAt >= q.startTime) &&
        (q.endTime === undefined || r.occurredAt < q.endTime),
    );
    const sign = q.order === 'desc' ? -1 : 1;
    out.sort(
      (a, b) =>
        sign *
        (a.occurredAt - b.occurredAt ||
          this.logCodes.get(a.logId)! - this.logCodes.get(b.logId)! ||
          a.leafIndex - b.leafIndex),
    );
    return out.map((r) => ({ logId: r.logId, leafIndex: r.leafIndex, occurredAt: r.occurredAt }));
  }
}

/** Positions of hits as `log/leaf` strings (compact comparisons). */
export function keys(hits: readonly SearchHit[]): string[] {
  return hits.map((h) => `${h.logId}/${h.leafIndex}`);
}

/** A realistic audit event (CONTRACT §1) with personal data that must never reach the index. */
export function auditEvent(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const actor = `user-${i % 11}`;
  return {
    tenant_id: `tenant-${i % 3}`,
    occurred_at: 1_795_428_000_000 + i * 1000,
    actor: { id: actor, type: 'user', name: `Person ${i % 11}`, email: `${actor}@example.com` },
    action: i % 4 === 0 ? 'document.update' : 'user.login',
    category: i % 4 === 0 ? 'update' : 'auth',
    resource: { type: 'document', id: `doc-${i % 5}` },
    result: i % 10 === 9 ? 'failure' : 'success',
    context: {
      ip: `198.51.100.${i % 250}`,
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      request_id: `req-${i}`,
    },
    changes: i % 4 === 0 ? [{ field: 'title', old: `Title ${i - 1}`, new: `Title ${i}` }] : undefined,
    ...overrides,
  };
}
