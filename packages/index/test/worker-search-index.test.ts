import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredRecord } from '@sealog/codec';
import { createLedger, type Ledger, subjectStoreIdOfToken } from '@sealog/ledger';
import { describe, expect, it, vi } from 'vitest';
import {
  createIndexer,
  IndexError,
  type IsErased,
  openSearchIndex,
  openWorkerSearchIndex,
  reindex,
  type WorkerSearchIndex,
} from '../src/index';
import { allPages, auditEvent, row, tempDir, token } from './helpers';

const FAST = {
  batchMaxWaitMs: 1,
  checkpointIntervalMs: 60_000,
  prepareWorkers: 0 as const,
  onNotice: () => {},
};

async function openLedger(dir: string): Promise<Ledger> {
  return createLedger({ dir: join(dir, 'data'), ...FAST });
}

function indexPath(dir: string): string {
  return join(dir, 'data', 'index', 'search.db');
}

function actorToken(ledger: Ledger, tenantId: string, actorId: string): Uint8Array {
  return ledger.keyMaterial.blindKey(tenantId).token('actor.id', actorId);
}

/** Leaf indexes of every row of the index (all three test tenants), sorted. */
function leaves(index: WorkerSearchIndex): number[] {
  return ['tenant-0', 'tenant-1', 'tenant-2']
    .flatMap((tenantId) => allPages(index as never, { tenantId, limit: 1000, order: 'asc' }))
    .map((h) => h.leafIndex)
    .sort((a, b) => a - b);
}

/** The ledger-backed erasure check the server wires into the indexer. */
function erasedInLedger(ledger: Ledger): IsErased {
  return async (tenantId, subjectToken, subjectKeyId) => {
    const key = await ledger.keyMaterial.subjects.get(subjectStoreIdOfToken(tenantId, subjectToken));
    return key === undefined || Buffer.from(key.keyTag).toString('hex') !== subjectKeyId;
  };
}

describe('WorkerSearchIndex', () => {
  it('indexes through the writer thread: rows are searchable after catchUp, and follow appends', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const index = await openWorkerSearchIndex({ path: indexPath(dir) });
    await ledger.append(Array.from({ length: 500 }, (_, i) => auditEvent(i)));
    const indexer = createIndexer({ ledger, index, chunkRows: 64, pollIntervalMs: 5, maxChunksInFlight: 3 });
    await indexer.catchUp();
    expect(index.stats().rows).toBe(500);
    expect(indexer.lag().records).toBe(0);
    const tok = actorToken(ledger, 'tenant-1', 'user-4');
    const hits = allPages(index as never, {
      tenantId: 'tenant-1',
      subjectToken: tok,
      limit: 7,
      order: 'asc',
    });
    const expected = Array.from({ length: 500 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 11 === 4);
    expect(hits.map((h) => h.leafIndex)).toEqual(expected);
    indexer.start();
    const more = await ledger.append(Array.from({ length: 100 }, (_, i) => auditEvent(500 + i)));
    await vi.waitFor(() => expect(index.watermark('default')).toBe(600), { timeout: 5000, interval: 10 });
    expect(index.findEvent('tenant-2', more[99]!.event_id)).toMatchObject({ leafIndex: 599 });
    expect(leaves(index)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    await indexer.reindex({ bulkLoad: true });
    expect(index.bulkLoading).toBe(false);
    expect(leaves(index)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    await indexer.stop();
    await index.close();
    await ledger.close();
  });

  it('keeps rows and watermark together across a writer crash; a restart resumes without duplicates or gaps', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    await ledger.append(Array.from({ length: 3000 }, (_, i) => auditEvent(i)));
    let index = await openWorkerSearchIndex({ path: indexPath(dir) });
    const crash = vi.fn();
    const insert = index.insert.bind(index);
    let chunks = 0;
    // Kill the writer while chunks are queued behind the one it runs.
    vi.spyOn(index, 'insert').mockImplementation((rows, watermarks) => {
      const done = insert(rows, watermarks);
      if (++chunks === 4) void index.crashWriter().then(crash);
      return done;
    });
    const indexer = createIndexer({ ledger, index, chunkRows: 100, maxChunksInFlight: 8 });
    await expect(indexer.catchUp()).rejects.toMatchObject({ code: 'FAILED' });
    await vi.waitFor(() => expect(crash).toHaveBeenCalled());
    await expect(index.insert([row({ leafIndex: 0 })], new Map())).rejects.toBeInstanceOf(IndexError);
    await index.close();

    index = await openWorkerSearchIndex({ path: indexPath(dir) });
    const watermark = index.watermark('default');
    expect(watermark).toBeLessThan(3000);
    expect(watermark % 100).toBe(0);
    expect(index.stats().rows).toBe(watermark);
    expect(leaves(index)).toEqual(Array.from({ length: watermark }, (_, i) => i));
    await createIndexer({ ledger, index, chunkRows: 100 }).catchUp();
    expect(index.stats().rows).toBe(3000);
    expect(leaves(index)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    await index.close();
    await ledger.close();
  });

  it('starts a new writer thread after one died, and the indexer catches up without reopening', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    await ledger.append(Array.from({ length: 500 }, (_, i) => auditEvent(i)));
    const index = await openWorkerSearchIndex({ path: indexPath(dir) });
    const errors: unknown[] = [];
    const indexer = createIndexer({
      ledger,
      index,
      chunkRows: 100,
      pollIntervalMs: 20,
      onError: (e) => errors.push(e),
    });
    try {
      await indexer.catchUp();
      expect(index.stats().rows).toBe(500);
      await index.crashWriter();
      await ledger.append(Array.from({ length: 300 }, (_, i) => auditEvent(500 + i)));
      // Within the restart delay writes fail; the background loop retries until a new thread runs.
      indexer.start();
      await vi.waitFor(() => expect(index.stats().rows).toBe(800), { timeout: 15_000, interval: 100 });
      expect(index.writerRestarts).toBe(1);
      expect(errors.length).toBeGreaterThan(0);
      expect(leaves(index)).toEqual(Array.from({ length: 800 }, (_, i) => i));
      // The new thread serves erasures too.
      const t = actorToken(ledger, 'tenant-0', 'user-0');
      await index.eraseSubject('tenant-0', t);
      expect(index.search({ tenantId: 'tenant-0', subjectToken: t, limit: 10, order: 'desc' }).hits).toEqual(
        [],
      );
    } finally {
      await indexer.stop();
      await index.close();
      await ledger.close();
    }
  });

  it('orders an erasure between the inserts around it: later rows it covers never carry the erased token', async () => {
    const dir = tempDir();
    const index = await openWorkerSearchIndex({ path: join(dir, 'search.db') });
    const x = token(7);
    const query = { tenantId: 'acme', subjectToken: x, limit: 100, order: 'asc' } as const;
    const before = index.insert(
      Array.from({ length: 50 }, (_, i) => row({ leafIndex: i, subjectToken: x })),
      new Map([['default', 50]]),
    );
    const erase = index.eraseSubject('acme', x);
    const after = index.insert(
      Array.from({ length: 50 }, (_, i) => row({ leafIndex: 50 + i, subjectToken: x })),
      new Map([['default', 100]]),
    );
    expect(await erase).toBe(50);
    // Visible as soon as the erasure resolved (the later insert may still be running).
    expect(index.search(query).hits).toEqual([]);
    await before;
    await after;
    expect(index.search(query).hits).toEqual([]);
    expect(index.stats().rows).toBe(100);
    expect(index.search({ tenantId: 'acme', limit: 1000, order: 'asc' }).hits).toHaveLength(100);
    await index.close();
  });

  it('drains on close: writes called before close commit, later calls are refused with CLOSED', async () => {
    const dir = tempDir();
    const path = join(dir, 'search.db');
    const index = await openWorkerSearchIndex({ path });
    const writes = Array.from({ length: 10 }, (_, c) =>
      index.insert(
        Array.from({ length: 100 }, (_, i) => row({ leafIndex: c * 100 + i })),
        new Map([['default', (c + 1) * 100]]),
      ),
    );
    const closed = index.close();
    await Promise.all(writes);
    await closed;
    expect(() => index.search({ tenantId: 'acme', limit: 1, order: 'asc' })).toThrow(/closed/);
    await expect(index.insert([], new Map())).rejects.toMatchObject({ code: 'CLOSED' });
    const reopened = openSearchIndex({ path });
    expect(reopened.watermark('default')).toBe(1000);
    expect(reopened.stats().rows).toBe(1000);
    reopened.close();
  });

  it('answers queries from a read-only connection that refuses writes', async () => {
    const dir = tempDir();
    const path = join(dir, 'search.db');
    const index = await openWorkerSearchIndex({ path });
    const reader = openSearchIndex({ path, readOnly: true });
    expect(() => reader.insert([row({ leafIndex: 0 })], new Map())).toThrow(/read-only/);
    expect(() => reader.eraseSubject('acme', token(1))).toThrow(/read-only/);
    await index.insert([row({ leafIndex: 0 }), row({ leafIndex: 1, logId: 'other' })], new Map());
    reader.refresh();
    expect(reader.stats().rows).toBe(2);
    expect(
      index.explainSearch({ tenantId: 'acme', subjectToken: token(0), limit: 5, order: 'desc' }).join('\n'),
    ).toMatch(/COVERING INDEX entries_subject/);
    reader.close();
    await index.close();
  });

  it('keeps erased subjects unsearchable in an index rebuilt from scratch, through isErased', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    await ledger.append(Array.from({ length: 120 }, (_, i) => auditEvent(i)));
    const path = indexPath(dir);
    let index = await openWorkerSearchIndex({ path });
    const isErased = erasedInLedger(ledger);
    await createIndexer({ ledger, index, isErased }).catchUp();
    const erasedToken = actorToken(ledger, 'tenant-1', 'user-4');
    const keptToken = actorToken(ledger, 'tenant-1', 'user-5');
    const query = { tenantId: 'tenant-1', limit: 100, order: 'asc' } as const;
    const kept = index.search({ ...query, subjectToken: keptToken }).hits;
    expect(index.search({ ...query, subjectToken: erasedToken }).hits.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(0);
    await ledger.eraseSubject('tenant-1', 'user-4');
    await index.close();

    // The index file is lost: a fresh one knows no erasures.
    rmSync(join(dir, 'data', 'index'), { recursive: true, force: true });
    index = await openWorkerSearchIndex({ path });
    const lookups = vi.fn(isErased);
    await reindex(ledger, index, { isErased: lookups });
    expect(index.stats().rows).toBe(120);
    expect(index.search({ ...query, subjectToken: erasedToken }).hits).toEqual([]);
    expect(index.search({ ...query, subjectToken: keptToken }).hits).toEqual(kept);
    // One lookup per (tenant, subject, key), not per record: 3 tenants × 11 actors at most.
    expect(lookups.mock.calls.length).toBeLessThanOrEqual(33);
    // The records stay findable by every other filter.
    expect(allPages(index as never, query)).toHaveLength(40);
    await index.close();

    // Without the hook the rebuilt index would find the erased subject again (the gap it closes).
    rmSync(join(dir, 'data', 'index'), { recursive: true, force: true });
    const inline = openSearchIndex({ path });
    await reindex(ledger, inline);
    expect(inline.search({ ...query, subjectToken: erasedToken }).hits.length).toBeGreaterThan(0);
    inline.close();
    await ledger.close();
  });

  it('finds a subject erased and seen again by its new records only: live, rebuilt in place and from scratch', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const path = indexPath(dir);
    let index = await openWorkerSearchIndex({ path });
    const isErased = erasedInLedger(ledger);
    // Announcements as the server writes them (`sealog.subject.erase` access events, here by action).
    const erasureOf = (r: StoredRecord) =>
      r.action === 'erase.announce'
        ? { tenantId: r.tenant_id, subjectToken: actorToken(ledger, r.tenant_id, String(r.metadata?.who)) }
        : undefined;
    const indexer = createIndexer({ ledger, index, isErased, erasureOf, chunkRows: 16 });
    const erased = actorToken(ledger, 'tenant-1', 'user-4');
    const query = { tenantId: 'tenant-1', subjectToken: erased, limit: 1000, order: 'asc' } as const;
    const bySubject = (i: WorkerSearchIndex) => allPages(i as never, query).map((h) => h.leafIndex);
    try {
      await ledger.append(Array.from({ length: 120 }, (_, i) => auditEvent(i)));
      await indexer.catchUp();
      const old = bySubject(index);
      expect(old.length).toBeGreaterThan(0);
      // The server's erase route: record the erasure durably, shred the key, erase in the index.
      await ledger.append(
        [auditEvent(1000, { tenant_id: 'tenant-1', action: 'erase.announce', metadata: { who: 'user-4' } })],
        { wait: 'durable' },
      );
      await ledger.eraseSubject('tenant-1', 'user-4');
      await index.eraseSubject('tenant-1', erased, { time: Date.now() });
      expect(bySubject(index)).toEqual([]);
      // Seen again: a new subject key, the same blind token.
      const again = await ledger.append(
        Array.from({ length: 3 }, (_, i) => auditEvent(4 + 33 * (10 + i))), // tenant-1, user-4
      );
      const fresh = again.map((r) => r.leaf_index!);
      await indexer.catchUp();
      expect(bySubject(index)).toEqual(fresh);
      expect(index.wasErased('tenant-1', erased)).toBe(true);
      for (const bulkLoad of [false, true]) {
        await indexer.reindex({ bulkLoad });
        expect(bySubject(index)).toEqual(fresh);
      }
      // The index file is lost: the announcement and the key store decide again.
      await indexer.stop();
      await index.close();
      rmSync(join(dir, 'data', 'index'), { recursive: true, force: true });
      index = await openWorkerSearchIndex({ path });
      await reindex(ledger, index, { isErased, erasureOf });
      expect(bySubject(index)).toEqual(fresh);
      expect(index.stats().rows).toBe(124);
    } finally {
      await indexer.stop();
      await index.close();
      await ledger.close();
    }
  });
});
