import { join } from 'node:path';
import { validateBatch } from '@sealog/codec';
import { hashLeaf } from '@sealog/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntityHeads } from '../src/entity-heads';
import { createLedger, type Ledger, type RecordPreparer, readSnapshot } from '../src/index';
import type { LogWriter } from '../src/log-writer';
import { writeSnapshot } from '../src/state-snapshot';
import { auditEvent, tempDir } from './helpers';

/**
 * Entity links under pipelining: with small frames and concurrent appends, a record often links
 * to a record whose frame is still being finished (its hash is filled in by the finisher, on the
 * worker or in-thread). Every link must name the previous record of the same entity, with that
 * record's exact leaf hash, within a run and across a restart (which starts from a state snapshot
 * encoded while appends went on).
 */
async function checkLinks(ledger: Ledger, size: number): Promise<void> {
  const last = new Map<string, { leafIndex: number; hash: string }>();
  const log = ledger.log('default');
  let seen = 0;
  for await (const r of log.iterate(0, size)) {
    const key = `${r.record.tenant_id}\u0000${r.record.resource.type}\u0000${r.record.resource.id}`;
    const want = last.get(key);
    if (want === undefined) expect(r.record.prev, `leaf ${r.leafIndex}`).toBeNull();
    else {
      expect(r.record.prev?.leafIndex, `leaf ${r.leafIndex}`).toBe(want.leafIndex);
      expect(Buffer.from(r.record.prev!.leafHash).toString('hex'), `leaf ${r.leafIndex}`).toBe(want.hash);
    }
    last.set(key, { leafIndex: r.leafIndex, hash: Buffer.from(hashLeaf(r.leaf)).toString('hex') });
    seen++;
  }
  expect(seen).toBe(size);
}

describe('entity links while frames are in flight', () => {
  for (const prepareWorkers of [0, 1] as const) {
    it(`link every record to its entity's previous record (prepareWorkers ${prepareWorkers})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 12 }), {
            minLength: 2,
            maxLength: 10,
          }),
          fc.integer({ min: 1, max: 5 }),
          async (appends, batchMaxRecords) => {
            const dir = tempDir();
            const options = {
              dir,
              prepareWorkers,
              batchMaxRecords,
              batchMaxWaitMs: 0,
              // Snapshots (read on restart) taken all the time, in slices of 2 entries, so they
              // are encoded while later frames change the entity heads.
              checkpointIntervalMs: 1,
              snapshotIntervalMs: 0,
              snapshotSliceEntries: 2,
            };
            const event = (i: number, entity: number) =>
              auditEvent(i, { tenant_id: 'acme', resource: { type: 'doc', id: `d${entity}` } });
            let ledger = await createLedger(options);
            let n = 0;
            // Half the appends concurrently (frames pipeline), then a restart, then the rest.
            const half = Math.ceil(appends.length / 2);
            const first = appends.slice(0, half).map((ids) => ids.map((e) => event(n++, e)));
            await Promise.all(first.map((events) => ledger.append(events)));
            await ledger.close();
            ledger = await createLedger(options);
            const second = appends.slice(half).map((ids) => ids.map((e) => event(n++, e)));
            const results = await Promise.all(second.map((events) => ledger.append(events)));
            for (const r of results.flat()) expect(r.status).toBe('stored');
            await checkLinks(ledger, n);
            await ledger.close();
          },
        ),
        { numRuns: 6 },
      );
    }, 60_000);
  }

  it('writes no snapshot once a batch failed while being sequenced, so a restart keeps every chain', async () => {
    const dir = tempDir();
    const options = {
      dir,
      prepareWorkers: 0 as const,
      batchMaxWaitMs: 0,
      checkpointIntervalMs: 60_000,
      onNotice: () => {},
    };
    const event = (i: number, id: string) =>
      auditEvent(i, { tenant_id: 'acme', resource: { type: 'doc', id } });
    let ledger = await createLedger(options);
    const [a] = await ledger.append([event(0, 'A')]);
    await ledger.log('default').checkpoint(true);
    const before = readSnapshot(join(dir, 'logs', 'default'))!;
    // A batch whose second record cannot be assembled (not a record body): the first record has
    // already moved entity A's head, the second added entity N's, when the batch fails.
    const writer = (ledger as unknown as { writers: Map<string, LogWriter> }).writers.get('default')!;
    const preparer = (ledger as unknown as { preparer: RecordPreparer }).preparer;
    const v = validateBatch([event(3, 'A')]);
    if (!v.ok) throw new Error('invalid test event');
    await preparer.loadSubjects(v.events);
    const valid = preparer.prepare(v.events[0]!, 'a-2', 1_795_428_000_000);
    const broken = {
      ...valid,
      eventId: 'n-1',
      entityKey: 'acme\u0000doc\u0000N',
      body: new Uint8Array([1, 2, 3]),
    };
    const { durable } = await writer.enqueue([valid, broken], [undefined, undefined]);
    await expect(durable).rejects.toThrow();
    await ledger.log('default').checkpoint(true);
    expect(readSnapshot(join(dir, 'logs', 'default'))).toEqual(before);
    await ledger.close().catch(() => {});
    ledger = await createLedger(options);
    const [n, a2] = await ledger.append([event(1, 'N'), event(2, 'A')]);
    expect((await ledger.log('default').read(n!.leaf_index!)).record.prev).toBeNull();
    expect((await ledger.log('default').read(a2!.leaf_index!)).record.prev?.leafIndex).toBe(a!.leaf_index);
    await ledger.close();
  });

  it('ignores a snapshot whose heads name records past the end of the log, and rebuilds them', async () => {
    const dir = tempDir();
    const options = { dir, batchMaxWaitMs: 0, checkpointIntervalMs: 60_000, onNotice: () => {} };
    const event = (i: number, id: string) =>
      auditEvent(i, { tenant_id: 'acme', resource: { type: 'doc', id } });
    let ledger = await createLedger(options);
    const results = await ledger.append([event(0, 'A'), event(1, 'B'), event(2, 'A')]);
    await ledger.close();
    // As if the log's end had been lost after the snapshot (durability 'none' and a power loss).
    const logDir = join(dir, 'logs', 'default');
    const snap = readSnapshot(logDir)!;
    const leafIndexes = Float64Array.from(snap.heads.leafIndexes, (n) => n + 1000);
    await writeSnapshot(logDir, { ...snap, heads: { ...snap.heads, leafIndexes } });
    ledger = await createLedger(options);
    const [b2] = await ledger.append([event(3, 'B')]);
    expect((await ledger.log('default').read(b2!.leaf_index!)).record.prev?.leafIndex).toBe(
      results[1]!.leaf_index,
    );
    await ledger.close();
  });

  it('writes snapshots, copied while appends change the heads, from which a restart finds every head', async () => {
    const dir = tempDir();
    const ledger = await createLedger({
      dir,
      batchMaxRecords: 3,
      batchMaxWaitMs: 0,
      checkpointIntervalMs: 60_000,
      snapshotIntervalMs: 0,
      snapshotSliceEntries: 2,
    });
    const event = (i: number) =>
      auditEvent(i, { tenant_id: 'acme', resource: { type: 'doc', id: `d${(i * 7) % 1500}` } });
    const log = ledger.log('default');
    let n = 0;
    // Many heads, so that copying them in slices spans many event-loop turns.
    for (let k = 0; k < 3; k++) await ledger.append(Array.from({ length: 500 }, () => event(n++)));
    const appends: Promise<unknown>[] = [];
    const snapshots: ReturnType<typeof readSnapshot>[] = [];
    for (let round = 0; round < 12; round++) {
      for (let a = 0; a < 6; a++) appends.push(ledger.append(Array.from({ length: 5 }, () => event(n++))));
      // Taken once the round's first append is durable, while the rest are being sequenced and
      // made durable.
      await appends[appends.length - 6];
      let taken = false;
      const snapshot = log.checkpoint(true).finally(() => {
        taken = true;
      });
      // More frames sequenced (and so heads whose hashes are not known yet) all the while the
      // snapshot's slices are being copied.
      for (let a = 0; !taken && a < 400; a++) {
        appends.push(ledger.append(Array.from({ length: 2 }, () => event(n++))));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await snapshot;
      snapshots.push(readSnapshot(log.dir));
    }
    await Promise.all(appends);
    // Every record of the log: entity key and "leaf/hash".
    const records: [string, string][] = [];
    for await (const r of log.iterate(0, log.treeSize)) {
      const key = `${r.record.tenant_id}\u0000${r.record.resource.type}\u0000${r.record.resource.id}`;
      records.push([key, `${r.leafIndex}/${Buffer.from(hashLeaf(r.leaf)).toString('hex')}`]);
    }
    const finalHeads = new Map(records);
    let checked = 0;
    for (const snap of snapshots) {
      expect(snap).toBeDefined();
      const size = snap!.size;
      const heads = EntityHeads.fromColumns(snap!.heads, snap!.idempotency.salt);
      // What a restart from this snapshot does: its heads, then every record from `size` on.
      const restarted = new Map<string, string>();
      for (const key of finalHeads.keys()) {
        const h = heads.get(key);
        if (h === undefined) continue;
        const named = `${h.leafIndex}/${Buffer.from(h.leafHash).toString('hex')}`;
        // A head names a record of its entity, as new as the entity's head at `size` or newer.
        expect(records[h.leafIndex]).toEqual([key, named]);
        const atSize = records.slice(0, size).findLast(([k]) => k === key);
        if (atSize !== undefined) expect(h.leafIndex).toBeGreaterThanOrEqual(Number(atSize[1].split('/')[0]));
        restarted.set(key, named);
      }
      for (const [key, named] of records.slice(size)) restarted.set(key, named);
      expect(restarted).toEqual(finalHeads);
      if (size > 0) checked++;
    }
    expect(checked).toBeGreaterThan(3);
    await ledger.close();
  }, 60_000);
});
