import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IndexRow, openSearchIndex, type SearchHit, type SearchQuery } from '../src/index';
import { keys, ModelIndex, tempDir, token } from './helpers';

/** A row without its position (assigned in leaf order per log when inserted). */
const rowSpec = fc.record({
  log: fc.constantFrom('default', 'long'),
  tenant: fc.constantFrom('acme', 'globex'),
  token: fc.integer({ min: 0, max: 2 }),
  action: fc.constantFrom('a.one', 'a.two', 'a.three'),
  category: fc.option(fc.constantFrom('auth', 'admin'), { nil: undefined }),
  resourceType: fc.constantFrom('doc', 'role'),
  resourceId: fc.constantFrom('r1', 'r2', 'r3'),
  result: fc.constantFrom('success', 'failure'),
  // A small time domain: many rows share a millisecond, so ties are the common case.
  occurredAt: fc.integer({ min: 0, max: 20 }),
  receivedAt: fc.integer({ min: 0, max: 60 }),
});
type RowSpec = typeof rowSpec extends fc.Arbitrary<infer T> ? T : never;

/** `arb` in about one query of four, otherwise absent (most queries then match several rows). */
function sometimes<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });
}

const querySpec = fc.record({
  tenantId: fc.constantFrom('acme', 'globex'),
  subjectToken: sometimes(fc.integer({ min: 0, max: 2 })),
  action: sometimes(fc.constantFrom('a.one', 'a.two', 'a.four')),
  category: sometimes(fc.constantFrom('auth', 'admin')),
  resourceType: sometimes(fc.constantFrom('doc', 'role')),
  resourceId: sometimes(fc.constantFrom('r1', 'r2')),
  result: sometimes(fc.constantFrom('success', 'failure')),
  startTime: sometimes(fc.integer({ min: 0, max: 21 })),
  endTime: sometimes(fc.integer({ min: 0, max: 21 })),
  limit: fc.integer({ min: 1, max: 7 }),
  order: fc.constantFrom('asc', 'desc') as fc.Arbitrary<'asc' | 'desc'>,
});

/** Turns specs into rows, continuing each log's leaf numbering. */
function materialize(specs: readonly RowSpec[], next: Map<string, number>): IndexRow[] {
  return specs.map((s, i) => {
    const leafIndex = next.get(s.log) ?? 0;
    next.set(s.log, leafIndex + 1);
    return {
      logId: s.log,
      leafIndex,
      tenantId: s.tenant,
      eventId: `e-${s.log}-${leafIndex}-${i}`,
      occurredAt: s.occurredAt,
      receivedAt: s.receivedAt,
      subjectToken: token(s.token),
      actorType: 'user',
      action: s.action,
      category: s.category,
      resourceType: s.resourceType,
      resourceId: s.resourceId,
      result: s.result,
    };
  });
}

describe('paging (property)', () => {
  it('walks every matching row exactly once, in order, while rows are inserted between pages', () => {
    const dir = tempDir();
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(rowSpec, { minLength: 0, maxLength: 60 }),
        fc.array(rowSpec, { minLength: 0, maxLength: 30 }),
        querySpec,
        // A tiny scan budget makes pages of filters the index cannot narrow end early.
        fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
        (initialSpecs, laterSpecs, qs, maxScanRows) => {
          if (qs.startTime !== undefined && qs.endTime !== undefined && qs.startTime > qs.endTime) return;
          const index = openSearchIndex({
            path: join(dir, `p${run++}.db`),
            ...(maxScanRows === undefined ? {} : { maxScanRows }),
          });
          try {
            const model = new ModelIndex();
            const next = new Map<string, number>();
            const initial = materialize(initialSpecs, next);
            const later = materialize(laterSpecs, next);
            index.insert(initial, new Map());
            model.insert(initial);
            const { subjectToken, ...rest } = qs;
            const query: Omit<SearchQuery, 'cursor'> = {
              ...rest,
              ...(subjectToken === undefined ? {} : { subjectToken: token(subjectToken) }),
            };
            const before = model.search(query);
            // Walk the pages; after each, insert the next few later rows (in both).
            const seen: SearchHit[] = [];
            let cursor: string | undefined;
            let pending = later;
            for (let pages = 0; ; pages++) {
              expect(pages).toBeLessThan(200);
              const page = index.search({ ...query, cursor });
              expect(page.hits.length).toBeLessThanOrEqual(query.limit);
              seen.push(...page.hits);
              if (page.nextCursor === null) break;
              // Only a spent scan budget ends a page early.
              if (maxScanRows === undefined) expect(page.hits).toHaveLength(query.limit);
              cursor = page.nextCursor;
              const piece = pending.slice(0, 3);
              pending = pending.slice(3);
              index.insert(piece, new Map());
              model.insert(piece);
            }
            const after = model.search(query);
            const seenKeys = keys(seen);
            // No duplicates; every row that existed when paging began is there; nothing else but
            // matching rows inserted meanwhile; and the sequence is in the final model's order.
            expect(new Set(seenKeys).size).toBe(seenKeys.length);
            const afterKeys = keys(after);
            const seenSet = new Set(seenKeys);
            for (const k of keys(before)) expect(seenSet.has(k), k).toBe(true);
            expect(afterKeys.filter((k) => seenSet.has(k))).toEqual(seenKeys);
            // With no inserts in flight, a fresh walk equals the model exactly.
            const again: SearchHit[] = [];
            cursor = undefined;
            do {
              const page = index.search({ ...query, cursor });
              again.push(...page.hits);
              cursor = page.nextCursor ?? undefined;
            } while (cursor !== undefined);
            expect(again).toEqual(after);
          } finally {
            index.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('walks a resource history in append order (per-log leaf order), page by page', () => {
    const dir = tempDir();
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(rowSpec, { minLength: 0, maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('asc', 'desc') as fc.Arbitrary<'asc' | 'desc'>,
        (specs, limit, order) => {
          const index = openSearchIndex({ path: join(dir, `h${run++}.db`) });
          try {
            const rows = materialize(specs, new Map());
            // Insert in a few calls, as the indexer does (chunks in leaf order).
            for (let i = 0; i < rows.length; i += 7) index.insert(rows.slice(i, i + 7), new Map());
            // Model: append clock = running max of receivedAt per log; order (clock, log code, leaf).
            const codes = new Map<string, number>();
            const clocks = new Map<string, number>();
            const modelRows = rows.map((r) => {
              if (!codes.has(r.logId)) codes.set(r.logId, codes.size);
              const clock = Math.max(clocks.get(r.logId) ?? 0, r.receivedAt);
              clocks.set(r.logId, clock);
              return { r, clock, code: codes.get(r.logId)! };
            });
            for (const tenantId of ['acme', 'globex']) {
              for (const resourceType of ['doc', 'role']) {
                const sign = order === 'asc' ? 1 : -1;
                const expected = modelRows
                  .filter(
                    (m) =>
                      m.r.tenantId === tenantId &&
                      m.r.resourceType === resourceType &&
                      m.r.resourceId === 'r1',
                  )
                  .sort(
                    (a, b) => sign * (a.clock - b.clock || a.code - b.code || a.r.leafIndex - b.r.leafIndex),
                  )
                  .map((m) => `${m.r.logId}/${m.r.leafIndex}`);
                const seen: SearchHit[] = [];
                let cursor: string | undefined;
                do {
                  const page = index.history({
                    tenantId,
                    resourceType,
                    resourceId: 'r1',
                    limit,
                    order,
                    cursor,
                  });
                  seen.push(...page.hits);
                  cursor = page.nextCursor ?? undefined;
                } while (cursor !== undefined);
                expect(keys(seen)).toEqual(expected);
                // Within each log, history order is leaf order.
                for (const logId of ['default', 'long']) {
                  const leaves = seen.filter((h) => h.logId === logId).map((h) => h.leafIndex);
                  const sorted = [...leaves].sort((a, b) => sign * (a - b));
                  expect(leaves).toEqual(sorted);
                }
              }
            }
          } finally {
            index.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
