/**
 * Prints SQLite's query plan (EXPLAIN QUERY PLAN) of the index's main queries, as quoted in
 * docs/INDEX.md "Query plans". Uses an empty index in a temp directory: plans come from the schema
 * and the forced index choice (`INDEXED BY`), not from data statistics.
 *
 * Usage: node --conditions=@sealog/source --import tsx packages/index/bench/explain-plans.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSearchIndex, type SearchQuery } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'sealog-index-plans-'));
const index = openSearchIndex({ path: join(dir, 'search.db') });
const token = new Uint8Array(16);
const base = { tenantId: 't', limit: 50, order: 'desc' } as const;
const cases: [string, SearchQuery][] = [
  ['tenant + actor + time range, newest first', { ...base, subjectToken: token, startTime: 0, endTime: 1 }],
  ['same, next page (cursor)', { ...base, subjectToken: token, startTime: 0, endTime: 1, cursor: 'c' }],
  ['tenant + time range', { ...base, startTime: 0, endTime: 1 }],
  ['tenant + action + time range', { ...base, action: 'a', startTime: 0, endTime: 1 }],
  ['tenant + resource (type and id)', { ...base, resourceType: 'r', resourceId: 'i' }],
  [
    'tenant + actor + action + result (extra filters on the rows read)',
    { ...base, subjectToken: token, action: 'a', result: 'failure' },
  ],
  ['tenant + category, oldest first', { ...base, category: 'auth', order: 'asc' }],
];
for (const [name, q] of cases) {
  const [sql, ...plan] = index.explainSearch(q);
  console.log(`-- ${name}\n${sql}\n${plan.map((p) => `   ${p}`).join('\n')}\n`);
}
for (const cursor of [false, true]) {
  const [sql, ...plan] = index.explainHistory(cursor);
  console.log(
    `-- resource history${cursor ? ', next page' : ''}\n${sql}\n${plan.map((p) => `   ${p}`).join('\n')}\n`,
  );
}
index.close();
rmSync(dir, { recursive: true, force: true });
