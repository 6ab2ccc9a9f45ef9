import { join } from 'node:path';
import type { StoredRecord } from '@sealog/codec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createIndexer,
  type Erasure,
  type IndexSource,
  openSearchIndex,
  reindex,
  type SearchIndex,
  type SourceRecord,
} from '../src/index';
import { allPages, keys, tempDir, token } from './helpers';

const LOGS = ['default', 'long'] as const;
const TENANTS = ['acme', 'globex'] as const;
/** Subjects 0..2 in each tenant (the same token in both tenants: tenants must not mix). */
const SUBJECTS = [0, 1, 2] as const;
/** Token of the service actor that records erasures (never erased itself). */
const SERVICE = 9;

/** One step of a history: an event, an erasure record, an erasure called directly, or a catch-up. */
const stepSpec = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      log: fc.constantFrom(...LOGS),
      tenant: fc.constantFrom(...TENANTS),
      subject: fc.constantFrom(...SUBJECTS),
      // Wall time moves forward 0..4 ms per step; a receive time may lag it by up to 3 ms, so logs
      // see receive times out of order (their append clock is the running maximum).
      advance: fc.integer({ min: 0, max: 4 }),
      lag: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('erase' as const),
      log: fc.constantFrom(...LOGS),
      tenant: fc.constantFrom(...TENANTS),
      subject: fc.constantFrom(...SUBJECTS),
      advance: fc.integer({ min: 0, max: 4 }),
      lag: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('eraseNow' as const),
      tenant: fc.constantFrom(...TENANTS),
      subject: fc.constantFrom(...SUBJECTS),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('index' as const) }) },
);
type Step = typeof stepSpec extends fc.Arbitrary<infer T> ? T : never;

interface ModelRecord {
  readonly tenant: string;
  readonly subject: number;
  readonly receivedAt: number;
  /** Subject erased by this record (its actor is the service), else undefined. */
  readonly erases: number | undefined;
}

/** The logs as plain arrays, served through the indexer's source interface. */
class FakeLedger implements IndexSource {
  readonly records = new Map<string, ModelRecord[]>(LOGS.map((l) => [l, []]));

  append(logId: string, r: ModelRecord): void {
    this.records.get(logId)!.push(r);
  }

  logs() {
    return LOGS.map((logId) => {
      const list = this.records.get(logId)!;
      return {
        logId,
        treeSize: list.length,
        async *iterate(from: number, to: number): AsyncIterable<SourceRecord> {
          for (let i = from; i < to; i++)
            yield { logId, leafIndex: i, record: storedRecord(logId, i, list[i]!) };
        },
      };
    });
  }
}

function storedRecord(logId: string, leafIndex: number, r: ModelRecord): StoredRecord {
  return {
    tenant_id: r.tenant,
    event_id: `${logId}-${leafIndex}`,
    occurred_at: leafIndex,
    received_at: r.receivedAt,
    subject_token: token(r.erases === undefined ? r.subject : SERVICE),
    subject_key_id: '00000000',
    actor_type: r.erases === undefined ? 'user' : 'service',
    action: r.erases === undefined ? 'doc.read' : 'subject.erase',
    category: 'read',
    resource: { type: 'doc', id: 'd1' },
    result: 'success',
    metadata: r.erases === undefined ? {} : { erases: r.erases },
  } as unknown as StoredRecord;
}

function erasureOf(record: StoredRecord): Erasure | undefined {
  const erases = record.metadata?.erases;
  return typeof erases === 'number' ? { tenantId: record.tenant_id, subjectToken: token(erases) } : undefined;
}

/**
 * The documented rule, computed naively: a log's append clock is the running maximum of receive
 * times; an erasure's horizon is its record's append clock (or the time given to a direct call);
 * a subject's record carries its token when its append clock is above every horizon of the
 * subject's erasures. Returns `log/leaf` keys, sorted.
 */
function modelSearch(
  ledger: FakeLedger,
  direct: readonly { tenant: string; subject: number; time: number }[],
  tenant: string,
  subject: number,
): string[] {
  const clocks = new Map<string, number[]>();
  let horizon = Number.NEGATIVE_INFINITY;
  for (const [logId, list] of ledger.records) {
    let clock = 0;
    const c: number[] = [];
    for (const r of list) {
      clock = Math.max(clock, r.receivedAt);
      c.push(clock);
      if (r.tenant === tenant && r.erases === subject) horizon = Math.max(horizon, clock);
    }
    clocks.set(logId, c);
  }
  for (const d of direct)
    if (d.tenant === tenant && d.subject === subject) horizon = Math.max(horizon, d.time);
  const out: string[] = [];
  for (const [logId, list] of ledger.records) {
    list.forEach((r, i) => {
      if (
        r.tenant === tenant &&
        r.erases === undefined &&
        r.subject === subject &&
        clocks.get(logId)![i]! > horizon
      )
        out.push(`${logId}/${i}`);
    });
  }
  return out.sort();
}

function indexSearch(index: SearchIndex, tenant: string, subject: number): string[] {
  return keys(
    allPages(index, { tenantId: tenant, subjectToken: token(subject), limit: 3, order: 'asc' }),
  ).sort();
}

function expectSameAsModel(
  index: SearchIndex,
  ledger: FakeLedger,
  direct: readonly { tenant: string; subject: number; time: number }[],
): void {
  for (const tenant of TENANTS) {
    for (const subject of SUBJECTS) {
      expect(indexSearch(index, tenant, subject), `${tenant} subject ${subject}`).toEqual(
        modelSearch(ledger, direct, tenant, subject),
      );
    }
  }
}

describe('erasure (property)', () => {
  it('finds by actor exactly the records after every erasure of the subject: live, rebuilt in place, rebuilt from scratch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepSpec, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        async (steps: Step[], chunkRows: number) => {
          const dir = tempDir();
          const ledger = new FakeLedger();
          const index = openSearchIndex({ path: join(dir, 'live.db') });
          const indexer = createIndexer({ ledger, index, chunkRows, erasureOf });
          const direct: { tenant: string; subject: number; time: number }[] = [];
          let wall = 1000;
          try {
            for (const step of steps) {
              if (step.kind === 'index') {
                await indexer.catchUp();
                expectSameAsModel(index, ledger, direct);
              } else if (step.kind === 'eraseNow') {
                // The server's path: the horizon is "now", whatever the index has caught up with.
                direct.push({ tenant: step.tenant, subject: step.subject, time: wall });
                index.eraseSubject(step.tenant, token(step.subject), { time: wall });
              } else {
                wall += step.advance;
                ledger.append(step.log, {
                  tenant: step.tenant,
                  subject: step.subject,
                  receivedAt: wall - step.lag,
                  erases: step.kind === 'erase' ? step.subject : undefined,
                });
              }
            }
            await indexer.catchUp();
            expectSameAsModel(index, ledger, direct);
            // Rebuilt in place (the file remembers every erasure): the same result.
            await indexer.reindex();
            expectSameAsModel(index, ledger, direct);
            await indexer.reindex({ bulkLoad: true });
            expectSameAsModel(index, ledger, direct);
            // Rebuilt into a new file: only the erasures recorded in the logs replay.
            const fresh = openSearchIndex({ path: join(dir, 'fresh.db') });
            try {
              await reindex(ledger, fresh, { erasureOf, chunkRows: 1 + (chunkRows % 3) });
              expectSameAsModel(fresh, ledger, []);
            } finally {
              fresh.close();
            }
          } finally {
            await indexer.stop();
            index.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
