import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { encodeCursor, IndexError, type IndexRow, openSearchIndex, type SearchQuery } from '../src/index';
import { allHistory, allPages, keys, ModelIndex, row, tempDir, token } from './helpers';

function expectIndexError(fn: () => unknown, code: IndexError['code']): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(IndexError);
  expect((thrown as IndexError).code).toBe(code);
}

/** 120 rows over two tenants and two logs with every field varying (and repeated times). */
function mixedRows(): IndexRow[] {
  const rows: IndexRow[] = [];
  const leaves = { default: 0, long: 0 };
  for (let i = 0; i < 120; i++) {
    const logId = i % 5 === 0 ? 'long' : 'default';
    rows.push(
      row({
        logId,
        leafIndex: leaves[logId]++,
        tenantId: i % 4 === 0 ? 'globex' : 'acme',
        eventId: `evt-${i}`,
        occurredAt: 10_000 + Math.floor(i / 3) * 100, // three rows share each time
        receivedAt: 20_000 + i,
        subjectToken: token(i % 6),
        actorType: i % 7 === 0 ? 'service' : 'user',
        action: ['user.login', 'document.update', 'role.upgrade'][i % 3]!,
        category: i % 11 === 0 ? undefined : ['auth', 'update', 'admin'][i % 3]!,
        resourceType: i % 2 === 0 ? 'document' : 'role',
        resourceId: `r-${i % 4}`,
        result: i % 9 === 0 ? 'failure' : 'success',
      }),
    );
  }
  return rows;
}

function fill(rows: readonly IndexRow[]) {
  const index = openSearchIndex({ path: join(tempDir(), 'index', 'search.db') });
  index.insert(rows, new Map());
  const model = new ModelIndex();
  model.insert(rows);
  return { index, model };
}

describe('SearchIndex', () => {
  it('finds exactly the rows matching every filter, alone and combined, in both orders', () => {
    const { index, model } = fill(mixedRows());
    const filters: Omit<SearchQuery, 'limit' | 'order' | 'tenantId'>[] = [
      {},
      { subjectToken: token(2) },
      { action: 'role.upgrade' },
      { category: 'admin' },
      { resourceType: 'role' },
      { resourceId: 'r-1' },
      { resourceType: 'document', resourceId: 'r-2' },
      { result: 'failure' },
      { startTime: 11_000 },
      { endTime: 11_000 },
      { subjectToken: token(1), action: 'document.update', result: 'success' },
      {
        action: 'user.login',
        resourceType: 'document',
        resourceId: 'r-0',
        startTime: 10_500,
        endTime: 13_000,
      },
      { subjectToken: token(3), category: 'admin', resourceType: 'role', resourceId: 'r-1' },
      { action: 'no.such.action' },
    ];
    for (const tenantId of ['acme', 'globex', 'initech']) {
      for (const f of filters) {
        for (const order of ['asc', 'desc'] as const) {
          const q = { ...f, tenantId, order };
          const expected = model.search(q);
          expect(allPages(index, { ...q, limit: 7 }), JSON.stringify(q)).toEqual(expected);
          expect(index.search({ ...q, limit: 1000 }).hits).toEqual(expected);
        }
      }
    }
    index.close();
  });

  it('bounds the entries a page examines for filters its index cannot narrow, and resumes the scan', () => {
    const rows: IndexRow[] = [];
    for (let i = 0; i < 100; i++) {
      rows.push(
        row({
          logId: 'default',
          leafIndex: i,
          tenantId: 'acme',
          eventId: `e-${i}`,
          occurredAt: 1000 + i,
          receivedAt: 1000 + i,
          subjectToken: token(i % 3),
          actorType: 'user',
          action: 'user.login',
          category: 'auth',
          resourceType: 'document',
          resourceId: `r-${i}`,
          // One rare value, at the oldest row: a newest-first search must scan everything to find it.
          result: i === 0 ? 'failure' : 'success',
        }),
      );
    }
    const index = openSearchIndex({ path: join(tempDir(), 'search.db'), maxScanRows: 10 });
    try {
      index.insert(rows, new Map());
      const query = { tenantId: 'acme', result: 'failure', limit: 5, order: 'desc' as const };
      const first = index.search(query);
      expect(first.hits).toEqual([]);
      expect(first.nextCursor).not.toBeNull();
      let cursor = first.nextCursor;
      const found = [];
      let pages = 1;
      while (cursor !== null) {
        const page = index.search({ ...query, cursor });
        found.push(...page.hits);
        cursor = page.nextCursor;
        pages++;
      }
      expect(found.map((h) => h.leafIndex)).toEqual([0]);
      // 100 entries, 10 per page; the 10th page ends exactly at the budget, so an 11th finds the end.
      expect(pages).toBe(11);
      // Filters the index narrows are not budgeted: a token search fills its page at once.
      const byToken = index.search({ tenantId: 'acme', subjectToken: token(1), limit: 20, order: 'desc' });
      expect(byToken.hits).toHaveLength(20);
    } finally {
      index.close();
    }
  });

  it('treats startTime as inclusive and endTime as exclusive', () => {
    const rows = [100, 200, 200, 300].map((t, i) => row({ leafIndex: i, occurredAt: t }));
    const { index } = fill(rows);
    const times = (q: Partial<SearchQuery>) =>
      index.search({ tenantId: 'acme', limit: 10, order: 'asc', ...q }).hits.map((h) => h.occurredAt);
    expect(times({ startTime: 200, endTime: 300 })).toEqual([200, 200]);
    expect(times({ startTime: 200 })).toEqual([200, 200, 300]);
    expect(times({ endTime: 200 })).toEqual([100]);
    expect(times({ startTime: 200, endTime: 200 })).toEqual([]);
    expect(times({ startTime: 100, endTime: 301 })).toEqual([100, 200, 200, 300]);
    expectIndexError(() => times({ startTime: 301, endTime: 300 }), 'BAD_ARGUMENT');
    index.close();
  });

  it('orders by occurredAt then position, newest first for desc, and pages without gaps or repeats', () => {
    const rows = [5, 3, 5, 1, 5, 3].map((t, i) => row({ leafIndex: i, occurredAt: t }));
    const { index } = fill(rows);
    const desc = allPages(index, { tenantId: 'acme', limit: 2, order: 'desc' });
    expect(desc.map((h) => [h.occurredAt, h.leafIndex])).toEqual([
      [5, 4],
      [5, 2],
      [5, 0],
      [3, 5],
      [3, 1],
      [1, 3],
    ]);
    const asc = allPages(index, { tenantId: 'acme', limit: 4, order: 'asc' });
    expect(asc).toEqual([...desc].reverse());
    // The last page carries no cursor, even when it is exactly full.
    expect(index.search({ tenantId: 'acme', limit: 6, order: 'asc' }).nextCursor).toBeNull();
    index.close();
  });

  it('never returns another tenant’s rows, even for the same token, resource or event id', () => {
    const rows = [
      row({ leafIndex: 0, tenantId: 'acme', eventId: 'e-1' }),
      row({ leafIndex: 1, tenantId: 'globex', eventId: 'e-1' }),
      row({ leafIndex: 2, tenantId: 'globex', eventId: 'e-2' }),
    ];
    const { index } = fill(rows);
    const acme = index.search({ tenantId: 'acme', subjectToken: token(0), limit: 10, order: 'asc' });
    expect(keys(acme.hits)).toEqual(['default/0']);
    expect(
      keys(
        allHistory(index, { tenantId: 'globex', resourceType: 'document', resourceId: 'doc-1', limit: 1 }),
      ),
    ).toEqual(['default/1', 'default/2']);
    expect(index.findEvent('acme', 'e-1')?.leafIndex).toBe(0);
    expect(index.findEvent('globex', 'e-1')?.leafIndex).toBe(1);
    expect(index.findEvent('acme', 'e-2')).toBeUndefined();
    expect(index.findEvent('initech', 'e-1')).toBeUndefined();
    // A cursor of one tenant's query moves the start in another tenant's query, never its rows.
    const page = index.search({ tenantId: 'globex', limit: 1, order: 'asc' });
    const other = index.search({ tenantId: 'acme', limit: 10, order: 'asc', cursor: page.nextCursor! });
    expect(other.hits.every((h) => h.leafIndex === 0)).toBe(true);
    index.close();
  });

  it('rejects malformed cursors and cursors of another order or query kind with BAD_CURSOR', () => {
    const { index } = fill([0, 1, 2].map((i) => row({ leafIndex: i })));
    const q = { tenantId: 'acme', limit: 1 } as const;
    const desc = index.search({ ...q, order: 'desc' }).nextCursor!;
    const history = index.history({ ...q, resourceType: 'document', resourceId: 'doc-1' }).nextCursor!;
    expect(index.search({ ...q, order: 'desc', cursor: desc }).hits).toHaveLength(1);
    for (const cursor of [
      'x',
      '!!!',
      '',
      'a'.repeat(600),
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
      `${desc}x`,
      encodeCursor('search', 'desc', { time: 1, logId: 'unknown-log', leafIndex: 0 }),
      Buffer.from('["c1","search","desc",-1,"default",0]').toString('base64url'),
      Buffer.from('["c1","search","desc",1,"default",1099511627776]').toString('base64url'),
    ]) {
      expectIndexError(() => index.search({ ...q, order: 'desc', cursor }), 'BAD_CURSOR');
    }
    expectIndexError(() => index.search({ ...q, order: 'asc', cursor: desc }), 'BAD_CURSOR');
    expectIndexError(() => index.search({ ...q, order: 'desc', cursor: history }), 'BAD_CURSOR');
    expectIndexError(
      () => index.history({ ...q, resourceType: 'document', resourceId: 'doc-1', cursor: desc }),
      'BAD_CURSOR',
    );
    index.close();
  });

  it('rejects bad arguments with BAD_ARGUMENT', () => {
    const { index } = fill([row({ leafIndex: 0 })]);
    const q: SearchQuery = { tenantId: 'acme', limit: 10, order: 'desc' };
    for (const bad of [
      { limit: 0 },
      { limit: 1001 },
      { limit: 1.5 },
      { order: 'up' as 'asc' },
      { tenantId: '' },
      { subjectToken: new Uint8Array(15) },
      { startTime: 1.5 },
      { action: '' },
    ]) {
      expectIndexError(() => index.search({ ...q, ...bad }), 'BAD_ARGUMENT');
    }
    expectIndexError(
      () => index.history({ tenantId: 'acme', resourceType: '', resourceId: 'x', limit: 1 }),
      'BAD_ARGUMENT',
    );
    expectIndexError(() => index.insert([row({ leafIndex: -1 })], new Map()), 'BAD_ARGUMENT');
    expectIndexError(() => index.insert([row({ leafIndex: 2 ** 40 })], new Map()), 'BAD_ARGUMENT');
    expectIndexError(
      () => index.insert([row({ leafIndex: 1, logId: 'bad/log' })], new Map()),
      'BAD_ARGUMENT',
    );
    expectIndexError(
      () => index.insert([row({ leafIndex: 1, subjectToken: new Uint8Array(32) })], new Map()),
      'BAD_ARGUMENT',
    );
    expectIndexError(() => index.insert([], new Map([['default', -1]])), 'BAD_ARGUMENT');
    expectIndexError(() => index.eraseSubject('acme', new Uint8Array(3)), 'BAD_ARGUMENT');
    index.close();
  });

  it('commits rows and watermarks together: a refused watermark stores none of the rows', () => {
    const dir = tempDir();
    const path = join(dir, 'search.db');
    let index = openSearchIndex({ path });
    expect(index.watermark('default')).toBe(0);
    index.insert(
      [0, 1, 2].map((i) => row({ leafIndex: i })),
      new Map([['default', 3]]),
    );
    expect(index.watermark('default')).toBe(3);
    // Moving past leaf 3 without it would skip it forever: the whole call is rolled back.
    expectIndexError(() => index.insert([row({ leafIndex: 4 })], new Map([['default', 5]])), 'BAD_ARGUMENT');
    expectIndexError(() => index.insert([row({ leafIndex: 3 })], new Map([['default', 2]])), 'BAD_ARGUMENT');
    expect(index.stats().rows).toBe(3);
    expect(index.findEvent('acme', 'evt-default-4')).toBeUndefined();
    expect(index.findEvent('acme', 'evt-default-3')).toBeUndefined();
    index.close();
    // Reopened: the watermark continues and re-inserting indexed rows adds nothing.
    index = openSearchIndex({ path });
    expect(index.watermark('default')).toBe(3);
    index.insert(
      [1, 2, 3, 4].map((i) => row({ leafIndex: i })),
      new Map([['default', 5]]),
    );
    expect(index.watermark('default')).toBe(5);
    expect(index.stats().rows).toBe(5);
    expect(keys(allPages(index, { tenantId: 'acme', limit: 2, order: 'asc' }))).toEqual(
      [0, 1, 2, 3, 4].map((i) => `default/${i}`),
    );
    index.close();
  });

  it('orders a resource history by append order per log, merged across logs by server time', () => {
    // Log "default" receives leaf 1 with an earlier receivedAt than leaf 0 (appends may reach the
    // sequencer out of receive order); history must still follow leaf order within the log.
    const rows = [
      row({ logId: 'default', leafIndex: 0, receivedAt: 1000, occurredAt: 5 }),
      row({ logId: 'default', leafIndex: 1, receivedAt: 990, occurredAt: 4 }),
      row({ logId: 'long', leafIndex: 0, receivedAt: 995, occurredAt: 3 }),
      row({ logId: 'long', leafIndex: 1, receivedAt: 1500, occurredAt: 2 }),
      row({ logId: 'default', leafIndex: 2, receivedAt: 1200, occurredAt: 1 }),
    ];
    const { index } = fill(rows);
    const q = { tenantId: 'acme', resourceType: 'document', resourceId: 'doc-1' };
    const expected = ['long/0', 'default/0', 'default/1', 'default/2', 'long/1'];
    expect(keys(index.history({ ...q, limit: 10 }).hits)).toEqual(expected);
    expect(keys(allHistory(index, { ...q, limit: 2 }))).toEqual(expected);
    expect(keys(allHistory(index, { ...q, limit: 3, order: 'desc' }))).toEqual([...expected].reverse());
    expect(index.history({ ...q, resourceId: 'doc-2', limit: 10 }).hits).toEqual([]);
    index.close();
  });

  it('finds an event by id; the first appended wins when an id repeats', () => {
    const { index } = fill([
      row({ leafIndex: 0, eventId: 'a' }),
      row({ leafIndex: 1, eventId: 'b', occurredAt: 77 }),
      row({ logId: 'long', leafIndex: 0, eventId: 'b', receivedAt: 10_000_000 }),
    ]);
    expect(index.findEvent('acme', 'b')).toEqual({ logId: 'default', leafIndex: 1, occurredAt: 77 });
    expect(index.findEvent('acme', 'c')).toBeUndefined();
    // UUIDs are stored compactly, every other id as text: none of these forms may collide.
    const ids = [
      '0192f0c4-7e4b-7a1c-9d3e-5f6a7b8c9d0e',
      '0192F0C4-7E4B-7A1C-9D3E-5F6A7B8C9D0E',
      '0123',
      '123',
      '1e3',
    ];
    index.insert(
      ids.map((eventId, i) => row({ logId: 'ids', leafIndex: i, eventId })),
      new Map(),
    );
    ids.forEach((id, i) => {
      expect(index.findEvent('acme', id), id).toMatchObject({ logId: 'ids', leafIndex: i });
    });
    expect(index.findEvent('acme', '0192f0c47e4b7a1c9d3e5f6a7b8c9d0e')).toBeUndefined();
    expect(index.findEvent('acme', '1000')).toBeUndefined();
    index.close();
  });

  it('erases a subject: its token is cleared now, after reopening, and for rows inserted later', () => {
    const dir = tempDir();
    const path = join(dir, 'search.db');
    let index = openSearchIndex({ path });
    const rows = [0, 1, 2, 3].map((i) => row({ leafIndex: i, subjectToken: token(i % 2) }));
    index.insert(rows, new Map([['default', 4]]));
    const bySubject = (n: number) =>
      index.search({ tenantId: 'acme', subjectToken: token(n), limit: 10, order: 'asc' }).hits.length;
    expect(bySubject(1)).toBe(2);
    expect(index.wasErased('acme', token(1))).toBe(false);
    expect(index.eraseSubject('acme', token(1))).toBe(2);
    expect(index.eraseSubject('acme', token(1))).toBe(0);
    expect(index.wasErased('acme', token(1))).toBe(true);
    expect(index.wasErased('acme', token(0))).toBe(false);
    expect(index.wasErased('globex', token(1))).toBe(false);
    expect(bySubject(1)).toBe(0);
    expect(bySubject(0)).toBe(2);
    // The records stay findable by everything else.
    expect(index.search({ tenantId: 'acme', limit: 10, order: 'asc' }).hits).toHaveLength(4);
    // Erasing in another tenant does not touch this one; erasing an unknown tenant is remembered too.
    expect(index.eraseSubject('globex', token(0))).toBe(0);
    expect(bySubject(0)).toBe(2);
    index.close();
    index = openSearchIndex({ path });
    index.insert([row({ leafIndex: 4, subjectToken: token(1) })], new Map([['default', 5]]));
    expect(bySubject(1)).toBe(0);
    index.reset();
    index.insert(rows, new Map([['default', 4]]));
    expect(bySubject(1)).toBe(0);
    expect(bySubject(0)).toBe(2);
    index.insert([row({ leafIndex: 0, tenantId: 'globex', logId: 'other' })], new Map());
    expect(
      index.search({ tenantId: 'globex', subjectToken: token(0), limit: 10, order: 'asc' }).hits,
    ).toEqual([]);
    index.close();
  });

  it('erases a subject up to a horizon: later rows keep their token, in every log, also after reset and reopening', () => {
    const dir = tempDir();
    const path = join(dir, 'search.db');
    let index = openSearchIndex({ path });
    const x = token(3);
    // Two logs; receive times 100, 200, … (log `default`) and 150, 250, … (log `long`).
    const first = [0, 1, 2].flatMap((i) => [
      row({ leafIndex: i, subjectToken: x, receivedAt: 100 + 100 * i }),
      row({ logId: 'long', leafIndex: i, subjectToken: x, receivedAt: 150 + 100 * i }),
    ]);
    index.insert(first, new Map());
    const bySubject = () =>
      keys(allPages(index, { tenantId: 'acme', subjectToken: x, limit: 2, order: 'asc' })).sort();
    expect(index.erasedUntil('acme', x)).toBeUndefined();
    // Announced by default/1 (append clock 200): default/0..1 and long/0 (150) are covered.
    expect(index.eraseSubject('acme', x, { logId: 'default', leafIndex: 1 })).toBe(3);
    expect(index.erasedUntil('acme', x)).toBe(200);
    expect(index.wasErased('acme', x)).toBe(true);
    expect(bySubject()).toEqual(['default/2', 'long/1', 'long/2']);
    // Rows inserted later: covered ones (clock ≤ 200) lose the token, the others keep it.
    index.insert(
      [
        row({ logId: 'other', leafIndex: 0, subjectToken: x, receivedAt: 190 }),
        row({ logId: 'other', leafIndex: 1, subjectToken: x, receivedAt: 210 }),
      ],
      new Map(),
    );
    expect(bySubject()).toEqual(['default/2', 'long/1', 'long/2', 'other/1']);
    // A narrower horizon changes nothing; a wider one covers more.
    expect(index.eraseSubject('acme', x, { time: 120 })).toBe(0);
    expect(index.erasedUntil('acme', x)).toBe(200);
    expect(index.eraseSubject('acme', x, { time: 250 })).toBe(2);
    expect(index.erasedUntil('acme', x)).toBe(250);
    expect(bySubject()).toEqual(['default/2', 'long/2']);
    // Every record stays findable by everything else.
    expect(index.search({ tenantId: 'acme', limit: 100, order: 'asc' }).hits).toHaveLength(8);
    // The horizon is remembered across reopening and reset: a rebuild gives the same rows.
    index.close();
    index = openSearchIndex({ path });
    expect(index.erasedUntil('acme', x)).toBe(250);
    index.reset({ bulkLoad: true });
    index.insert(first, new Map());
    index.finishBulkLoad();
    expect(bySubject()).toEqual(['default/2', 'long/2']);
    // A horizon must name an indexed record, or a time.
    expectIndexError(() => index.eraseSubject('acme', x, { logId: 'default', leafIndex: 9 }), 'BAD_ARGUMENT');
    expectIndexError(() => index.eraseSubject('acme', x, { logId: 'nowhere', leafIndex: 0 }), 'BAD_ARGUMENT');
    expectIndexError(() => index.eraseSubject('acme', x, { time: -1 }), 'BAD_ARGUMENT');
    expectIndexError(
      () =>
        index.insert([], new Map(), [{ tenantId: 'acme', subjectToken: x, logId: 'default', leafIndex: 7 }]),
      'BAD_ARGUMENT',
    );
    expect(index.erasedUntil('acme', x)).toBe(250);
    index.close();
  });

  it('applies an erasure announced in an insert in the same transaction as the rows', () => {
    const { index } = fill([]);
    const x = token(4);
    const rows = [0, 1, 2, 3].map((i) => row({ leafIndex: i, subjectToken: x, receivedAt: 100 * (i + 1) }));
    // Refused as a whole (the erasure names a record the index does not hold): nothing stays.
    expectIndexError(
      () =>
        index.insert(rows.slice(0, 2), new Map([['default', 2]]), [
          { tenantId: 'acme', subjectToken: x, logId: 'default', leafIndex: 1 },
          { tenantId: 'acme', subjectToken: token(5), logId: 'default', leafIndex: 5 },
        ]),
      'BAD_ARGUMENT',
    );
    expect(index.wasErased('acme', x)).toBe(false);
    expect(index.stats().rows).toBe(0);
    expect(index.watermark('default')).toBe(0);
    index.insert(rows.slice(0, 2), new Map([['default', 2]]), [
      { tenantId: 'acme', subjectToken: x, logId: 'default', leafIndex: 1 },
    ]);
    expect(index.erasedUntil('acme', x)).toBe(200);
    index.insert(rows.slice(2), new Map([['default', 4]]));
    expect(keys(index.search({ tenantId: 'acme', subjectToken: x, limit: 10, order: 'asc' }).hits)).toEqual([
      'default/2',
      'default/3',
    ]);
    index.close();
  });

  it('upgrades a version-1 file in place: its erasures cover the rows indexed before the upgrade', () => {
    const dir = tempDir();
    const path = join(dir, 'search.db');
    let index = openSearchIndex({ path });
    index.insert(
      [0, 1].map((i) => row({ leafIndex: i, subjectToken: token(1), receivedAt: 1000 + i })),
      new Map(),
    );
    index.close();
    // What a version-1 file looked like: `erased` without horizons, the subject's rows without token.
    const db = new BetterSqlite3(path);
    db.exec(`DROP TABLE erased;
      CREATE TABLE erased (tenant INTEGER NOT NULL, token BLOB NOT NULL, PRIMARY KEY (tenant, token)) WITHOUT ROWID;
      UPDATE entries SET token = NULL;`);
    const tenant = db.prepare("SELECT id FROM names WHERE name = 'acme'").pluck().get() as number;
    db.prepare('INSERT INTO erased (tenant, token) VALUES (?, ?)').run(tenant, token(1));
    db.pragma('user_version = 1');
    db.close();
    index = openSearchIndex({ path });
    expect(index.erasedUntil('acme', token(1))).toBe(1001);
    index.insert([row({ leafIndex: 2, subjectToken: token(1), receivedAt: 1002 })], new Map());
    expect(
      keys(index.search({ tenantId: 'acme', subjectToken: token(1), limit: 10, order: 'asc' }).hits),
    ).toEqual(['default/2']);
    index.close();
    expect(new BetterSqlite3(path).pragma('user_version', { simple: true })).toBe(2);
  });

  it('reset empties rows and watermarks but keeps cursors meaningful', () => {
    const { index } = fill([0, 1, 2].map((i) => row({ leafIndex: i })));
    index.insert([], new Map([['default', 3]]));
    const page = index.search({ tenantId: 'acme', limit: 1, order: 'asc' });
    index.reset();
    expect(index.stats().rows).toBe(0);
    expect(index.watermark('default')).toBe(0);
    expect(index.search({ tenantId: 'acme', limit: 10, order: 'asc' }).hits).toEqual([]);
    index.insert(
      [0, 1, 2].map((i) => row({ leafIndex: i })),
      new Map([['default', 3]]),
    );
    expect(
      keys(index.search({ tenantId: 'acme', limit: 10, order: 'asc', cursor: page.nextCursor! }).hits),
    ).toEqual(['default/1', 'default/2']);
    index.close();
  });

  it('bulk-loads without secondary indexes, builds them at the end, and heals an interrupted bulk load', () => {
    const dir = tempDir();
    const path = join(dir, 'search.db');
    let index = openSearchIndex({ path });
    const rows = mixedRows();
    index.insert(rows, new Map());
    const query = { tenantId: 'acme', subjectToken: token(1), limit: 5, order: 'desc' } as const;
    const before = allPages(index, query);
    index.reset({ bulkLoad: true });
    expect(index.bulkLoading).toBe(true);
    expectIndexError(() => index.search(query), 'REBUILDING');
    expectIndexError(
      () => index.history({ tenantId: 'acme', resourceType: 'role', resourceId: 'r-1', limit: 1 }),
      'REBUILDING',
    );
    index.insert(rows.slice(0, 60), new Map());
    expect(index.findEvent('acme', 'evt-1')).toMatchObject({ leafIndex: 0 });
    // No token index to scan during a bulk load: its end clears what the erasure covers.
    expect(index.eraseSubject('acme', token(5))).toBe(0);
    index.insert(rows.slice(60), new Map());
    index.finishBulkLoad();
    expect(index.bulkLoading).toBe(false);
    expect(allPages(index, query)).toEqual(before);
    expect(index.search({ ...query, subjectToken: token(5) }).hits).toEqual([]);
    // Killed during a bulk load: the next open builds the indexes and clears what erasures
    // recorded meanwhile cover.
    index.reset({ bulkLoad: true });
    index.insert(rows, new Map());
    expect(index.eraseSubject('acme', token(3))).toBe(0);
    index.close();
    index = openSearchIndex({ path });
    expect(index.bulkLoading).toBe(false);
    expect(allPages(index, query)).toEqual(before);
    expect(index.search({ ...query, subjectToken: token(3) }).hits).toEqual([]);
    expect(index.search({ ...query, subjectToken: token(5) }).hits).toEqual([]);
    index.close();
  });

  it('reports rows and bytes, and refuses calls after close', () => {
    const { index } = fill([0, 1].map((i) => row({ leafIndex: i })));
    const stats = index.stats();
    expect(stats.rows).toBe(2);
    expect(stats.bytes).toBeGreaterThan(4096);
    index.close();
    index.close();
    expectIndexError(() => index.search({ tenantId: 'acme', limit: 1, order: 'asc' }), 'CLOSED');
    expectIndexError(() => index.insert([], new Map()), 'CLOSED');
  });

  it('refuses files of another application or schema version', () => {
    const dir = tempDir();
    const foreign = join(dir, 'foreign.db');
    const db = new BetterSqlite3(foreign);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expectIndexError(() => openSearchIndex({ path: foreign }), 'INCOMPATIBLE');
    const old = join(dir, 'old.db');
    openSearchIndex({ path: old }).close();
    const db2 = new BetterSqlite3(old);
    db2.pragma('user_version = 99');
    db2.close();
    expectIndexError(() => openSearchIndex({ path: old }), 'INCOMPATIBLE');
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(8192, 7));
    expectIndexError(() => openSearchIndex({ path: garbage }), 'FAILED');
  });

  it('answers every query shape from an index, in index order (no table scan, no sort)', () => {
    const { index } = fill([row({ leafIndex: 0 })]);
    const fields = ['subjectToken', 'action', 'category', 'resourceType', 'resourceId', 'result'] as const;
    for (let mask = 0; mask < 1 << (fields.length + 3); mask++) {
      const q: Record<string, unknown> = { tenantId: 'acme', limit: 5, order: mask & 256 ? 'desc' : 'asc' };
      fields.forEach((f, i) => {
        if (mask & (1 << i)) q[f] = f === 'subjectToken' ? token(0) : 'x';
      });
      if (mask & 64) q.startTime = 1;
      if (mask & 128) q.cursor = 'c';
      const plan = index
        .explainSearch(q as unknown as SearchQuery)
        .slice(1)
        .join('\n');
      // Filters the index does not narrow are checked on a bounded, ordered sub-scan of the same
      // index (the scan budget): a co-routine read in order, never the table, never a sort.
      expect(plan, plan).toMatch(
        /^(CO-ROUTINE \(subquery-1\)\n)?SEARCH entries USING (COVERING )?INDEX entries_\w+ \(tenant=\?[^\n]*(\nSCAN \(subquery-1\))?$/,
      );
      expect(plan).not.toMatch(/TEMP B-TREE|SCAN entries/);
    }
    for (const cursor of [false, true]) {
      const plan = index.explainHistory(cursor).slice(1).join('\n');
      expect(plan).toMatch(/^SEARCH entries USING COVERING INDEX entries_history/);
      expect(plan).not.toMatch(/TEMP B-TREE|SCAN/);
    }
    index.close();
  });
});
