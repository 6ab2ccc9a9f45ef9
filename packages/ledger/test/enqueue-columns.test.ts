import { validateBatch } from '@sealog/codec';
import { describe, expect, it } from 'vitest';
import {
  createLedger,
  type LedgerError,
  type PreparedRecord,
  type PreparedRecords,
  preparedColumns,
  RecordPreparer,
} from '../src/index';
import { auditEvent, tempDir } from './helpers';

const FAST = {
  batchMaxWaitMs: 1,
  checkpointIntervalMs: 60_000,
  prepareWorkers: 0,
  onNotice: () => {},
} as const;

/** `n` records prepared in-thread for `ledger`'s keys, with event ids `id-0…`. */
async function prepare(keys: ConstructorParameters<typeof RecordPreparer>[0], n: number, from = 0) {
  const v = validateBatch(Array.from({ length: n }, (_, i) => auditEvent(from + i)));
  if (!v.ok) throw new Error('invalid test events');
  const preparer = new RecordPreparer(keys);
  await preparer.loadSubjects(v.events);
  return v.events.map((e, i) => preparer.prepare(e, `id-${from + i}`, 1_795_428_000_000));
}

describe('LogWriter.enqueue with columns', () => {
  it('stores records whose bodies lie anywhere in one shared buffer, in call order', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST });
    const records = await prepare(ledger.keyMaterial, 3);
    // Bodies out of order, with junk between them.
    const junk = new Uint8Array([0xde, 0xad]);
    const parts = [junk, records[2]!.body, junk, records[0]!.body, records[1]!.body, junk];
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    const starts: number[] = [];
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      starts.push(at);
      at += p.length;
    }
    const span = (k: number) => [starts[k]!, starts[k]! + parts[k]!.length];
    const columns: PreparedRecords = {
      count: 3,
      eventIds: records.map((r) => r.eventId),
      entityKeys: records.map((r) => r.entityKey),
      occurredAt: Float64Array.from(records, (r) => r.occurredAt),
      bytes,
      bodyAt: Uint32Array.from([...span(3), ...span(4), ...span(1)]),
    };
    const log = ledger.log('default');
    const { durable } = await log.enqueue(columns, []);
    const results = await durable;
    expect(results.map((r) => [r.event_id, r.leaf_index, r.status])).toEqual([
      ['id-0', 0, 'stored'],
      ['id-1', 1, 'stored'],
      ['id-2', 2, 'stored'],
    ]);
    for (const r of results) {
      const read = await ledger.read('default', r.leaf_index!);
      expect(read.record.event_id).toBe(r.event_id);
      expect(read.leafHash).toEqual(Buffer.from(r.leaf_hash!, 'hex'));
    }
    // The same records as objects are copied into columns: equal leaves.
    const again = await prepare(ledger.keyMaterial, 3, 3);
    const objects = await (
      await log.enqueue(
        again,
        again.map(() => undefined),
      )
    ).durable;
    expect(objects.map((r) => r.leaf_index)).toEqual([3, 4, 5]);
    expect((await ledger.read('default', 4)).record.event_id).toBe('id-4');
    await ledger.close();
  });

  it('rejects columns that do not describe their records and queues nothing', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST });
    const records = await prepare(ledger.keyMaterial, 2);
    const good = preparedColumns(records);
    const log = ledger.log('default');
    const bad: [string, PreparedRecords, (string | undefined)[]][] = [
      ['idempotency keys', good, ['k']],
      ['outside bytes', { ...good, bodyAt: Uint32Array.from([0, 10, 10, good.bytes.length + 1]) }, []],
      ['outside bytes', { ...good, bodyAt: Uint32Array.from([5, 4, 5, 6]) }, []],
      ['body positions', { ...good, bodyAt: good.bodyAt.subarray(0, 3) }, []],
      ['event ids', { ...good, eventIds: ['only-one'] }, []],
      ['key fingerprints', { ...good, keyFingerprints: new Uint32Array(7) }, []],
    ];
    for (const [why, columns, keys] of bad) {
      const error = (await log.enqueue(columns, keys).catch((e: unknown) => e)) as LedgerError;
      expect(error.code).toBe('BAD_ARGUMENT');
      expect(error.message).toContain(why);
    }
    // Nothing was queued: the next good call gets the first leaves.
    const results = await (await log.enqueue(good, [])).durable;
    expect(results.map((r) => r.leaf_index)).toEqual([0, 1]);
    expect(log.treeSize).toBe(2);
    await ledger.close();
  });

  it('links records fingerprinted when staged and records fingerprinted by the writer alike', async () => {
    // With the worker (default): `append` fingerprints entity keys when it stages the call; a
    // record enqueued as an object carries its key and the writer fingerprints it.
    const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers: 1 });
    const doc = (i: number) => auditEvent(i, { tenant_id: 'acme', resource: { type: 'doc', id: 'X' } });
    const [a] = await ledger.append([doc(0)]);
    const v = validateBatch([doc(1)]);
    if (!v.ok) throw new Error('invalid test event');
    const preparer = new RecordPreparer(ledger.keyMaterial);
    await preparer.loadSubjects(v.events);
    const [b] = await (
      await ledger.log('default').enqueue([preparer.prepare(v.events[0]!, 'by-key', 1_795_428_000_000)], [])
    ).durable;
    const [c] = await ledger.append([doc(2)]);
    const prevOf = async (leaf: number) => (await ledger.read('default', leaf)).record.prev;
    expect(await prevOf(b!.leaf_index!)).toEqual({
      leafIndex: a!.leaf_index,
      leafHash: (await ledger.read('default', a!.leaf_index!)).leafHash,
    });
    expect(await prevOf(c!.leaf_index!)).toEqual({
      leafIndex: b!.leaf_index,
      leafHash: (await ledger.read('default', b!.leaf_index!)).leafHash,
    });
    await ledger.close();
  });

  it('copies key fingerprints into columns, and refuses records that mix them', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST });
    const [a, b] = await prepare(ledger.keyMaterial, 2);
    const words = Uint32Array.from({ length: 12 }, (_, i) => i + 1);
    const withFp = (r: PreparedRecord, at: number): PreparedRecord => ({
      ...r,
      keyFingerprints: words,
      keyFingerprintAt: at,
    });
    const columns = preparedColumns([withFp(a!, 8), withFp(b!, 0)]);
    expect([...columns.keyFingerprints!]).toEqual([9, 10, 11, 12, 1, 2, 3, 4]);
    expect(columns.eventIds).toEqual(['id-0', 'id-1']);
    expect(Buffer.from(columns.bytes.subarray(columns.bodyAt[2]!, columns.bodyAt[3]!))).toEqual(
      Buffer.from(b!.body),
    );
    expect(() => preparedColumns([withFp(a!, 0), b!])).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
    await ledger.close();
  });
});
