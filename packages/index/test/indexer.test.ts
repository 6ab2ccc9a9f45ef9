import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredRecord } from '@sealog/codec';
import { createLedger, type Ledger } from '@sealog/ledger';
import { describe, expect, it, vi } from 'vitest';
import {
  createIndexer,
  IndexError,
  type IndexRow,
  type IndexSource,
  openSearchIndex,
  reindex,
  type SearchIndex,
  type SearchQuery,
} from '../src/index';
import { allHistory, allPages, auditEvent, keys, tempDir } from './helpers';

/** Field name under which the ledger blind-indexes actor ids (record-prep.ts `SUBJECT_TOKEN_FIELD`). */
const ACTOR_FIELD = 'actor.id';
const FAST = {
  batchMaxWaitMs: 1,
  checkpointIntervalMs: 60_000,
  prepareWorkers: 0 as const,
  onNotice: () => {},
};

async function openLedger(dir: string, twoLogs = false): Promise<Ledger> {
  return createLedger({
    dir: join(dir, 'data'),
    ...FAST,
    ...(twoLogs ? { logs: [{ id: 'default' }, { id: 'long', retentionClasses: ['long'] }] } : {}),
  });
}

function openIndex(dir: string): SearchIndex {
  return openSearchIndex({ path: join(dir, 'data', 'index', 'search.db') });
}

function actorToken(ledger: Ledger, tenantId: string, actorId: string): Uint8Array {
  return ledger.keyMaterial.blindKey(tenantId).token(ACTOR_FIELD, actorId);
}

/** Results of a fixed set of queries (to compare an index before and after a rebuild). */
function snapshot(index: SearchIndex, ledger: Ledger): unknown {
  const queries: Omit<SearchQuery, 'cursor'>[] = [
    { tenantId: 'tenant-0', limit: 7, order: 'desc' },
    { tenantId: 'tenant-1', subjectToken: actorToken(ledger, 'tenant-1', 'user-4'), limit: 3, order: 'asc' },
    { tenantId: 'tenant-2', action: 'document.update', limit: 5, order: 'desc' },
    { tenantId: 'tenant-0', result: 'failure', category: 'auth', limit: 50, order: 'asc' },
    {
      tenantId: 'tenant-1',
      startTime: 1_795_428_050_000,
      endTime: 1_795_428_150_000,
      limit: 4,
      order: 'asc',
    },
  ];
  return {
    searches: queries.map((q) => allPages(index, q)),
    history: allHistory(index, {
      tenantId: 'tenant-2',
      resourceType: 'document',
      resourceId: 'doc-3',
      limit: 4,
    }),
    stats: index.stats().rows,
  };
}

/** Erasure hook of the tests: records of action `erase.announce` name the subject in metadata. */
function announcedErasures(ledger: Ledger) {
  return (r: StoredRecord) =>
    r.action === 'erase.announce'
      ? { tenantId: r.tenant_id, subjectToken: actorToken(ledger, r.tenant_id, String(r.metadata?.who)) }
      : undefined;
}

describe('Indexer', () => {
  it('catches up with a ledger, follows new appends, and every hit points at the matching record', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const index = openIndex(dir);
    await ledger.append(Array.from({ length: 300 }, (_, i) => auditEvent(i)));
    const errors: unknown[] = [];
    const indexer = createIndexer({
      ledger,
      index,
      pollIntervalMs: 5,
      chunkRows: 64,
      onError: (e) => errors.push(e),
    });
    expect(indexer.lag().records).toBe(300);
    await indexer.catchUp();
    expect(indexer.lag()).toEqual({
      records: 0,
      perLog: [{ logId: 'default', treeSize: 300, indexed: 300 }],
      failures: 0,
    });
    expect(index.stats().rows).toBe(300);

    // Following: appends made after start() show up without another catchUp().
    indexer.start();
    const more = await ledger.append(Array.from({ length: 200 }, (_, i) => auditEvent(300 + i)));
    await vi.waitFor(() => expect(index.watermark('default')).toBe(500), { timeout: 5000, interval: 10 });
    expect(index.findEvent('tenant-1', more[199]!.event_id)).toMatchObject({
      logId: 'default',
      leafIndex: 499,
    });

    // Actor search through the ledger's blind token; each hit reads back as a matching record.
    const token = actorToken(ledger, 'tenant-1', 'user-4');
    const hits = allPages(index, { tenantId: 'tenant-1', subjectToken: token, limit: 5, order: 'desc' });
    const expected = Array.from({ length: 500 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 11 === 4);
    expect(hits.map((h) => h.leafIndex)).toEqual(expected.reverse());
    for (const hit of hits) {
      const read = await ledger.read(hit.logId, hit.leafIndex);
      expect(read.record.tenant_id).toBe('tenant-1');
      expect(Buffer.from(read.record.subject_token).equals(Buffer.from(token))).toBe(true);
      expect(read.record.occurred_at).toBe(hit.occurredAt);
    }
    const byAction = allPages(index, {
      tenantId: 'tenant-0',
      action: 'document.update',
      limit: 50,
      order: 'asc',
    });
    for (const hit of byAction)
      expect((await ledger.read('default', hit.leafIndex)).record.action).toBe('document.update');
    expect(byAction).toHaveLength(
      Array.from({ length: 500 }, (_, i) => i).filter((i) => i % 3 === 0 && i % 4 === 0).length,
    );

    await indexer.stop();
    await expect(indexer.catchUp()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(() => indexer.start()).toThrow(IndexError);
    expect(errors).toEqual([]);
    index.close();
    await ledger.close();
  });

  it('inserts at most chunkRows rows per transaction and yields between chunks', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const index = openIndex(dir);
    await ledger.append(Array.from({ length: 250 }, (_, i) => auditEvent(i)));
    const sizes: number[] = [];
    const insert = index.insert.bind(index);
    vi.spyOn(index, 'insert').mockImplementation((rows, watermarks) => {
      sizes.push(rows.length);
      insert(rows, watermarks);
    });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await createIndexer({ ledger, index, chunkRows: 40 }).catchUp();
    clearInterval(ticker);
    expect(sizes).toEqual([40, 40, 40, 40, 40, 40, 10]);
    expect(turns).toBeGreaterThan(0);
    index.close();
    await ledger.close();
  });

  it('continues after a restart of the index without duplicates or gaps', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    let index = openIndex(dir);
    await ledger.append(Array.from({ length: 120 }, (_, i) => auditEvent(i)));
    await createIndexer({ ledger, index, chunkRows: 50 }).catchUp();
    index.close();
    await ledger.append(Array.from({ length: 80 }, (_, i) => auditEvent(120 + i)));
    index = openIndex(dir);
    expect(index.watermark('default')).toBe(120);
    await createIndexer({ ledger, index, chunkRows: 50 }).catchUp();
    expect(index.stats().rows).toBe(200);
    const all = allPages(index, { tenantId: 'tenant-0', limit: 17, order: 'asc' })
      .concat(allPages(index, { tenantId: 'tenant-1', limit: 17, order: 'asc' }))
      .concat(allPages(index, { tenantId: 'tenant-2', limit: 17, order: 'asc' }));
    expect(all.map((h) => h.leafIndex).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    index.close();
    await ledger.close();
  });

  it('rebuilds the same index with reindex, keeps erasures, and finds an erased subject’s later records', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir, true);
    const index = openIndex(dir);
    await ledger.append(
      Array.from({ length: 240 }, (_, i) => auditEvent(i, i % 4 === 1 ? { retention_class: 'long' } : {})),
    );
    const indexer = createIndexer({ ledger, index, chunkRows: 33 });
    await indexer.catchUp();
    expect(indexer.lag().perLog.map((l) => [l.logId, l.indexed])).toEqual([
      ['default', 180],
      ['long', 60],
    ]);
    const before = snapshot(index, ledger);
    await indexer.reindex();
    expect(snapshot(index, ledger)).toEqual(before);
    await indexer.reindex({ bulkLoad: true });
    expect(index.bulkLoading).toBe(false);
    expect(snapshot(index, ledger)).toEqual(before);
    await reindex(ledger, index, { chunkRows: 1000 });
    expect(snapshot(index, ledger)).toEqual(before);

    // Erase user-4 of tenant-1: gone from actor searches, present in every other search.
    const token = actorToken(ledger, 'tenant-1', 'user-4');
    const query = { tenantId: 'tenant-1', subjectToken: token, limit: 100, order: 'asc' } as const;
    const found = index.search(query).hits;
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((h) => h.logId === 'long')).toBe(true);
    expect(index.eraseSubject('tenant-1', token)).toBe(found.length);
    expect(index.search(query).hits).toEqual([]);
    const everyone = keys(allPages(index, { tenantId: 'tenant-1', limit: 1000, order: 'asc' }));
    for (const k of keys(found)) expect(everyone).toContain(k);
    await reindex(ledger, index);
    expect(index.search(query).hits).toEqual([]);
    expect(index.stats().rows).toBe(240);
    // The subject seen again after the erasure: its new record is found by actor, the old ones not.
    const [again] = await ledger.append([auditEvent(4 + 33 * 10)]); // tenant-1, user-4 again
    await indexer.catchUp();
    expect(index.stats().rows).toBe(241);
    expect(keys(index.search(query).hits)).toEqual([`default/${again!.leaf_index}`]);
    await reindex(ledger, index);
    expect(keys(index.search(query).hits)).toEqual([`default/${again!.leaf_index}`]);
    await indexer.stop();
    index.close();
    await ledger.close();
  });

  it('applies erasures announced by records to the rows before them: live, in a bulk load and in a fresh file', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const index = openIndex(dir);
    const erasureOf = announcedErasures(ledger);
    await ledger.append(Array.from({ length: 66 }, (_, i) => auditEvent(i)));
    const token = actorToken(ledger, 'tenant-1', 'user-4');
    const query = { tenantId: 'tenant-1', subjectToken: token, limit: 100, order: 'asc' } as const;
    // The key stays (no ledger erasure): only the announcement can remove the token.
    await ledger.append([
      auditEvent(1000, { tenant_id: 'tenant-1', action: 'erase.announce', metadata: { who: 'user-4' } }),
    ]);
    // tenant-1, user-4, after the announcement: the erasure does not cover it.
    const [after] = await ledger.append([auditEvent(4 + 33 * 3)]);
    const afterOnly = [`default/${after!.leaf_index}`];
    const other = { ...query, subjectToken: actorToken(ledger, 'tenant-1', 'user-1') };
    const indexer = createIndexer({ ledger, index, chunkRows: 10, erasureOf });
    await indexer.catchUp();
    expect(keys(index.search(query).hits)).toEqual(afterOnly);
    expect(index.wasErased('tenant-1', token)).toBe(true);
    const othersBefore = index.search(other).hits;
    expect(othersBefore.length).toBeGreaterThan(0);
    for (const bulkLoad of [false, true]) {
      await indexer.reindex({ bulkLoad });
      expect(keys(index.search(query).hits)).toEqual(afterOnly);
      expect(index.search(other).hits).toEqual(othersBefore);
      expect(index.stats().rows).toBe(68);
    }
    // A fresh file (no remembered erasures) with the hook: the announcement is replayed.
    const fresh = openSearchIndex({ path: join(dir, 'fresh.db') });
    await reindex(ledger, fresh, { erasureOf });
    expect(keys(fresh.search(query).hits)).toEqual(afterOnly);
    expect(fresh.search(other).hits).toEqual(othersBefore);
    expect(fresh.erasedUntil('tenant-1', token)).toBe(index.erasedUntil('tenant-1', token));
    // Without it, the token stays (the subject's key was never shredded).
    const plain = openSearchIndex({ path: join(dir, 'plain.db') });
    await reindex(ledger, plain, {});
    expect(plain.search(query).hits.length).toBeGreaterThan(0);
    fresh.close();
    plain.close();
    await indexer.stop();
    index.close();
    await ledger.close();
  });

  it('commits an announcing record only together with its erasure: a failure in between loses neither', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const index = openIndex(dir);
    const erasureOf = announcedErasures(ledger);
    await ledger.append(Array.from({ length: 40 }, (_, i) => auditEvent(i)));
    await ledger.append([
      auditEvent(1000, { tenant_id: 'tenant-1', action: 'erase.announce', metadata: { who: 'user-4' } }),
    ]);
    const [later] = await ledger.append([auditEvent(4 + 33 * 3)]); // tenant-1, user-4 again
    const token = actorToken(ledger, 'tenant-1', 'user-4');
    // The transaction carrying the erasure fails once (as a crash would end it: nothing commits).
    const insert = index.insert.bind(index);
    let failures = 1;
    const flaky = new Proxy(index, {
      get(target, key, receiver) {
        if (key !== 'insert') return Reflect.get(target, key, receiver);
        return (...args: Parameters<SearchIndex['insert']>) => {
          if ((args[2]?.length ?? 0) > 0 && failures-- > 0) throw new IndexError('FAILED', 'disk full');
          return insert(...args);
        };
      },
    });
    const indexer = createIndexer({ ledger, index: flaky, chunkRows: 7, erasureOf });
    await expect(indexer.catchUp()).rejects.toThrow('disk full');
    // Stopped before the announcing record (leaf 40): neither it nor its erasure is in.
    expect(index.watermark('default')).toBeLessThanOrEqual(40);
    expect(index.wasErased('tenant-1', token)).toBe(false);
    await indexer.catchUp();
    expect(index.watermark('default')).toBe(42);
    const query = { tenantId: 'tenant-1', subjectToken: token, limit: 100, order: 'asc' } as const;
    expect(keys(index.search(query).hits)).toEqual([`default/${later!.leaf_index}`]);
    await indexer.stop();
    index.close();
    await ledger.close();
  });

  it('orders a resource history across two logs by append time, leaf order within each log', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir, true);
    const index = openIndex(dir);
    const order: string[] = [];
    for (let i = 0; i < 12; i++) {
      const [r] = await ledger.append([
        auditEvent(i * 5, {
          tenant_id: 'tenant-0',
          resource: { type: 'invoice', id: 'inv-1' },
          ...(i % 3 === 0 ? { retention_class: 'long' } : {}),
        }),
      ]);
      order.push(`${r!.log_id}/${r!.leaf_index}`);
    }
    await createIndexer({ ledger, index }).catchUp();
    const history = allHistory(index, {
      tenantId: 'tenant-0',
      resourceType: 'invoice',
      resourceId: 'inv-1',
      limit: 5,
    });
    expect(keys(history)).toEqual(order);
    index.close();
    await ledger.close();
  });

  it('reports failures to onError, keeps running, and retries until the index catches up', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const index = openIndex(dir);
    await ledger.append(Array.from({ length: 50 }, (_, i) => auditEvent(i)));
    let failuresLeft = 2;
    // A source whose reads fail twice (e.g. a segment briefly unreadable), then work.
    const flaky: IndexSource = {
      logs: () =>
        ledger.logs().map((log) => ({
          logId: log.logId,
          get treeSize() {
            return log.treeSize;
          },
          iterate: (from: number, to: number) => {
            if (failuresLeft > 0) {
              failuresLeft--;
              throw new Error('disk hiccup');
            }
            return log.iterate(from, to);
          },
        })),
    };
    const errors: unknown[] = [];
    const indexer = createIndexer({
      ledger: flaky,
      index,
      pollIntervalMs: 1,
      maxRetryMs: 20,
      onError: (e) => errors.push(e),
    });
    indexer.start();
    await vi.waitFor(() => expect(index.watermark('default')).toBe(50), { timeout: 5000, interval: 5 });
    expect(errors.map((e) => (e as Error).message)).toEqual(['disk hiccup', 'disk hiccup']);
    await vi.waitFor(() => expect(indexer.lag().failures).toBe(0));
    await indexer.stop();
    // An index closed under a running indexer: errors are reported, the process keeps going.
    const indexer2 = createIndexer({
      ledger,
      index,
      pollIntervalMs: 1,
      maxRetryMs: 5,
      onError: (e) => errors.push(e),
    });
    await ledger.append([auditEvent(50)]);
    index.close();
    indexer2.start();
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(4));
    expect(errors.slice(2).every((e) => e instanceof IndexError && e.code === 'CLOSED')).toBe(true);
    await indexer2.stop();
    await ledger.close();
  });

  it('refuses a chunk read before a concurrent reset instead of skipping rows', () => {
    const dir = tempDir();
    const index = openIndex(dir);
    const row = (leafIndex: number): IndexRow => ({
      logId: 'default',
      leafIndex,
      tenantId: 't',
      eventId: `e${leafIndex}`,
      occurredAt: leafIndex,
      receivedAt: leafIndex,
      subjectToken: new Uint8Array(16),
      actorType: 'user',
      action: 'a',
      category: undefined,
      resourceType: 'r',
      resourceId: 'r1',
      result: 'success',
    });
    index.insert([row(0), row(1)], new Map([['default', 2]]));
    index.reset();
    expect(() => index.insert([row(2), row(3)], new Map([['default', 4]]))).toThrow(/leaf 0 is not indexed/);
    expect(index.stats().rows).toBe(0);
    index.close();
  });

  it('stores no plaintext personal data: actor ids, names, emails, IPs, user agents, change values', async () => {
    const dir = tempDir();
    const ledger = await openLedger(dir);
    const index = openIndex(dir);
    const secrets = {
      id: 'alice-7731-secret',
      name: 'Alice Wonderland',
      email: 'alice.w@example.org',
      ip: '203.0.113.77',
      ua: 'SecretAgent/9.9',
      old: 'CHF 123456',
      new: 'CHF 654321',
    };
    await ledger.append(
      Array.from({ length: 20 }, (_, i) =>
        auditEvent(i, {
          actor: { id: secrets.id, type: 'user', name: secrets.name, email: secrets.email },
          context: { ip: secrets.ip, user_agent: secrets.ua },
          changes: [{ field: 'salary', old: secrets.old, new: secrets.new }],
        }),
      ),
    );
    await createIndexer({ ledger, index }).catchUp();
    const token = actorToken(ledger, 'tenant-0', secrets.id);
    expect(
      index.search({ tenantId: 'tenant-0', subjectToken: token, limit: 100, order: 'asc' }).hits,
    ).toHaveLength(7);
    // Scan while open (WAL holds the recent pages) and again after close (checkpointed into the file).
    const scan = () => {
      const files = readdirSync(join(dir, 'data', 'index')).map((f) => join(dir, 'data', 'index', f));
      expect(files.length).toBeGreaterThan(0);
      // Sanity: the scan does find what the index does store.
      expect(files.some((f) => readFileSync(f).includes(Buffer.from('tenant-0')))).toBe(true);
      for (const file of files) {
        const bytes = readFileSync(file);
        for (const secret of Object.values(secrets)) {
          expect(bytes.includes(Buffer.from(secret, 'utf8')), `${secret} in ${file}`).toBe(false);
          expect(bytes.includes(Buffer.from(secret, 'utf16le')), `${secret} (UTF-16) in ${file}`).toBe(false);
        }
      }
    };
    scan();
    index.close();
    scan();
    await ledger.close();
  });
});
