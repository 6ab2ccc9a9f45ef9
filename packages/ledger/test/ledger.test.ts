import {
  appendFileSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { decodePersonal } from '@sealog/codec';
import { openCheckpoint, parseIntegrity } from '@sealog/crypto-envelope';
import { FileTileStore, hashLeaf, TiledTree, verifyConsistency, verifyInclusion } from '@sealog/merkle';
import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createLedger, LedgerError, personalAad, readSnapshot } from '../src/index';
import { allFiles, auditEvent, tempDir } from './helpers';

const FAST = { batchMaxWaitMs: 1, checkpointIntervalMs: 60_000 };

describe('ledger', () => {
  it('stores a batch durably with contiguous leaf indexes, leaf hashes and integrity strings', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST });
    const results = await ledger.append(Array.from({ length: 50 }, (_, i) => auditEvent(i)));
    expect(results.map((r) => r.leaf_index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const r of results) {
      expect(r.status).toBe('stored');
      expect(r.log_id).toBe('default');
      const read = await ledger.read('default', r.leaf_index!);
      expect(Buffer.from(hashLeaf(read.leaf)).toString('hex')).toBe(r.leaf_hash);
      expect(read.record.event_id).toBe(r.event_id);
      const integrity = parseIntegrity(r.integrity!);
      expect(integrity).toMatchObject({ keySetId: 'default', hashHex: r.leaf_hash });
    }
    const more = await ledger.append([auditEvent(50)]);
    expect(more[0]!.leaf_index).toBe(50);
    // Iteration by range decrypts each frame once and yields the same records in leaf order.
    const ranged: number[] = [];
    for await (const r of ledger.log('default').iterate(10, 45)) {
      expect(r.record.event_id).toBe(results[r.leafIndex]!.event_id);
      ranged.push(r.leafIndex);
    }
    expect(ranged).toEqual(Array.from({ length: 35 }, (_, i) => 10 + i));
    await ledger.close();
  });

  it.each([0, 1] as const)(
    'never writes personal data in plaintext, and reads it back with the subject key (prepareWorkers %i)',
    async (prepareWorkers) => {
      const dir = tempDir();
      const ledger = await createLedger({ dir, ...FAST, prepareWorkers });
      const event = auditEvent(3, {
        actor: { id: 'alice-7731', type: 'user', name: 'Alice Wonderland', email: 'alice.w@example.org' },
        context: { ip: '203.0.113.77', user_agent: 'SecretAgent/9.9' },
        changes: [{ field: 'salary', old: 'CHF 123456', new: 'CHF 654321' }],
      });
      const [r] = await ledger.append([event]);
      await ledger.close();
      const needles = [
        'alice-7731',
        'Alice Wonderland',
        'alice.w@example.org',
        '203.0.113.77',
        'SecretAgent',
        'CHF 123456',
        'CHF 654321',
      ];
      for (const file of allFiles(dir)) {
        const bytes = readFileSync(file);
        for (const needle of needles) expect(bytes.includes(needle), `${needle} in ${file}`).toBe(false);
      }
      const again = await createLedger({ dir, ...FAST, prepareWorkers });
      const read = await again.read('default', r!.leaf_index!);
      expect(read.record.actor_type).toBe('user');
      const key = await again.keyMaterial.subjects.get(
        again.keyMaterial.subjectStoreId(read.record.tenant_id, 'alice-7731'),
      );
      expect(key).toBeDefined();
      const { createFieldSealer } = await import('@sealog/crypto-envelope');
      const personal = decodePersonal(
        createFieldSealer(key!).open(
          read.record.sealed_personal,
          personalAad(read.record.tenant_id, read.record.event_id),
        ),
      );
      expect(personal).toMatchObject({
        actor_id: 'alice-7731',
        actor_email: 'alice.w@example.org',
        ip: '203.0.113.77',
      });
      expect(personal.changes[0]).toEqual({ old: 'CHF 123456', new: 'CHF 654321' });
      await again.close();
    },
  );

  it('rejects an invalid batch as a whole with index and path, storing nothing', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST });
    await ledger.append([auditEvent(0)]);
    const bad = [
      auditEvent(1),
      auditEvent(2, { actor: { id: 'x', type: 'robot' } }),
      auditEvent(3, { extra: 1 }),
    ];
    const error = await ledger.append(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('INVALID_EVENT');
    expect((error as LedgerError).issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 1, path: 'actor.type' }),
        expect.objectContaining({ index: 2, path: 'extra' }),
      ]),
    );
    await ledger.checkpoint();
    expect(ledger.log('default').treeSize).toBe(1);
    const next = await ledger.append([auditEvent(4)]);
    expect(next[0]!.leaf_index).toBe(1);
    await ledger.close();
  });

  it('links each record to the previous record of the same entity, across restarts', async () => {
    const dir = tempDir();
    let ledger = await createLedger({ dir, ...FAST });
    const doc = (i: number, id: string) =>
      auditEvent(i, { tenant_id: 'acme', resource: { type: 'document', id } });
    const a = await ledger.append([doc(0, 'A'), doc(1, 'B'), doc(2, 'A')]);
    await ledger.close();
    ledger = await createLedger({ dir, ...FAST });
    const b = await ledger.append([doc(3, 'A'), doc(4, 'C')]);
    const r2 = await ledger.read('default', a[2]!.leaf_index!);
    expect(r2.record.prev?.leafIndex).toBe(a[0]!.leaf_index);
    expect(Buffer.from(r2.record.prev!.leafHash).toString('hex')).toBe(a[0]!.leaf_hash);
    const r3 = await ledger.read('default', b[0]!.leaf_index!);
    expect(r3.record.prev?.leafIndex).toBe(a[2]!.leaf_index);
    expect(Buffer.from(r3.record.prev!.leafHash).toString('hex')).toBe(a[2]!.leaf_hash);
    expect((await ledger.read('default', b[1]!.leaf_index!)).record.prev).toBeNull();
    await ledger.close();
  });

  it('answers a retry of an id it assigned as a duplicate, while in flight (wait accepted) and once durable', async () => {
    for (const prepareWorkers of [0, 1] as const) {
      const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers });
      // `accepted` returns the assigned id before the record is durable: a retry with it at once
      // must find the one in flight, not store a second copy.
      const [accepted] = await ledger.append([auditEvent(1)], { wait: 'accepted' });
      expect(accepted!.status).toBe('accepted');
      const [retry] = await ledger.append([{ ...auditEvent(1), event_id: accepted!.event_id }]);
      expect(retry).toMatchObject({ status: 'duplicate', event_id: accepted!.event_id });
      // With the default wait the id is known once durable: a retry then finds it in the window.
      const [stored] = await ledger.append([auditEvent(2)]);
      const [again] = await ledger.append([{ ...auditEvent(2), event_id: stored!.event_id }]);
      expect(again).toMatchObject({ status: 'duplicate', leaf_index: stored!.leaf_index });
      expect(retry!.leaf_index).toBe(stored!.leaf_index! - 1);
      await ledger.close();
    }
  });

  it('answers a repeated client event_id with the original result, also after restart', async () => {
    const dir = tempDir();
    let ledger = await createLedger({ dir, ...FAST });
    const e = auditEvent(0, { event_id: 'client-42' });
    const [first] = await ledger.append([e]);
    const [again, inBatch] = await ledger.append([e, { ...auditEvent(9), event_id: 'client-43' }]);
    expect(again).toMatchObject({
      status: 'duplicate',
      leaf_index: first!.leaf_index,
      leaf_hash: first!.leaf_hash,
    });
    expect(inBatch!.status).toBe('stored');
    // Same id, other tenant: not a duplicate.
    const [other] = await ledger.append([{ ...e, tenant_id: 'someone-else' }]);
    expect(other!.status).toBe('stored');
    // Same id twice in one batch.
    const twice = await ledger.append([
      auditEvent(5, { tenant_id: 'acme', event_id: 'twice' }),
      auditEvent(6, { tenant_id: 'acme', event_id: 'twice' }),
    ]);
    expect(twice.map((r) => r.status)).toEqual(['stored', 'duplicate']);
    expect(twice[1]!.leaf_index).toBe(twice[0]!.leaf_index);
    // An id the ledger assigned is a key too: a client retrying with it gets the original.
    const [assigned] = await ledger.append([auditEvent(7)]);
    await ledger.close();
    ledger = await createLedger({ dir, ...FAST });
    const [afterRestart] = await ledger.append([e]);
    expect(afterRestart).toMatchObject({ status: 'duplicate', leaf_index: first!.leaf_index });
    const [retried] = await ledger.append([{ ...auditEvent(7), event_id: assigned!.event_id }]);
    expect(retried).toMatchObject({ status: 'duplicate', leaf_index: assigned!.leaf_index });
    await ledger.close();
    // Keys fingerprinted in the worker are found by the in-thread path (same salt, same hash),
    // and the other way round.
    ledger = await createLedger({ dir, ...FAST, prepareWorkers: 0 });
    expect((await ledger.append([e]))[0]!.status).toBe('duplicate');
    const [inThread] = await ledger.append([{ ...auditEvent(8), event_id: 'in-thread-1' }]);
    await ledger.close();
    ledger = await createLedger({ dir, ...FAST });
    const [fromWorker] = await ledger.append([{ ...auditEvent(8), event_id: 'in-thread-1' }]);
    expect(fromWorker).toMatchObject({ status: 'duplicate', leaf_index: inThread!.leaf_index });
    await ledger.close();
  });

  it('keeps its idempotency window across restarts in window files, and upgrades a version-3 snapshot', async () => {
    const dir = tempDir();
    const logDir = join(dir, 'logs', 'default');
    const leafOf = new Map<string, number>();
    // Keys in the order they joined the window (repeats do not join).
    const order: string[] = [];
    for (let round = 0; round < 4; round++) {
      const ledger = await createLedger({ dir, ...FAST, idempotencyWindow: 200 });
      if (round > 0) {
        // The newest 200 keys of the earlier rounds are remembered, the one before them is not.
        const n = order.length;
        const outside = n > 200 ? order[n - 201]! : `never-seen-${round}`;
        const [newest, oldestHeld, forgotten] = await ledger.append([
          auditEvent(1, { tenant_id: 'acme', event_id: order[n - 1]! }),
          auditEvent(2, { tenant_id: 'acme', event_id: order[Math.max(0, n - 200)]! }),
          auditEvent(3, { tenant_id: 'acme', event_id: outside }),
        ]);
        expect(newest).toMatchObject({ status: 'duplicate', leaf_index: leafOf.get(order[n - 1]!) });
        expect(oldestHeld).toMatchObject({
          status: 'duplicate',
          leaf_index: leafOf.get(order[Math.max(0, n - 200)]!),
        });
        expect(forgotten!.status).toBe('stored');
        leafOf.set(outside, forgotten!.leaf_index!);
        order.push(outside);
      }
      const ids = Array.from({ length: 150 }, (_, i) => `r${round}-${i}`);
      const results = await ledger.append(
        ids.map((id, i) => auditEvent(i, { tenant_id: 'acme', event_id: id })),
      );
      for (const r of results) leafOf.set(r.event_id, r.leaf_index!);
      order.push(...ids);
      await ledger.close();
      const snapshot = unpack(readFileSync(join(logDir, 'state.snapshot'))) as [
        number,
        number,
        unknown,
        unknown[],
      ];
      expect(snapshot[0]).toBe(5);
      const [, first, end] = snapshot[3] as [Uint8Array, number, number, number];
      expect([first, end]).toEqual([Math.max(0, order.length - 200), order.length]);
      expect(readdirSync(logDir).filter((n) => n.startsWith('window-'))).toEqual(['window-0000000000.bin']);
    }
    // A version-3 snapshot (the window inside it, no window files, entity heads as key text) is
    // read, and replaced by the current version.
    let ledger = await createLedger({ dir, ...FAST, idempotencyWindow: 200 });
    const heads = new Map<string, { leafIndex: number; leafHash: Uint8Array }>();
    const log = ledger.log('default');
    for await (const r of log.iterate(0, log.treeSize)) {
      const key = `${r.record.tenant_id}\u0000${r.record.resource.type}\u0000${r.record.resource.id}`;
      heads.set(key, { leafIndex: r.leafIndex, leafHash: hashLeaf(r.leaf) });
    }
    await ledger.close();
    const current = readSnapshot(logDir)!;
    const c = current.idempotency;
    const tuples = [...heads];
    const v3 = pack([
      3,
      current.size,
      [
        new Uint8Array(Uint32Array.from(tuples.map(([k]) => k.length)).buffer),
        [[1, Buffer.from(tuples.map(([k]) => k).join(''), 'latin1')]],
        new Uint8Array(Float64Array.from(tuples.map(([, h]) => h.leafIndex)).buffer),
        Buffer.concat(tuples.map(([, h]) => h.leafHash)),
      ],
      [
        c.salt,
        c.fingerprints,
        new Uint8Array(c.leafIndexes.buffer, c.leafIndexes.byteOffset, c.leafIndexes.byteLength),
        c.hashes,
      ],
    ]);
    writeFileSync(join(logDir, 'state.snapshot'), v3);
    rmSync(join(logDir, 'window-0000000000.bin'));
    ledger = await createLedger({ dir, ...FAST, idempotencyWindow: 200 });
    const [again] = await ledger.append([auditEvent(1, { tenant_id: 'acme', event_id: 'r3-149' })]);
    expect(again).toMatchObject({ status: 'duplicate', leaf_index: leafOf.get('r3-149') });
    // The next record of an entity links to its head as the version-3 snapshot had it.
    const [key, head] = tuples[0]!;
    const [, type, id] = key.split('\u0000');
    const [linked] = await ledger.append([
      auditEvent(2, { tenant_id: 'acme', resource: { type: type!, id: id! } }),
    ]);
    const record = (await ledger.read('default', linked!.leaf_index!)).record;
    expect(record.prev?.leafIndex).toBe(head.leafIndex);
    expect(Buffer.from(record.prev!.leafHash)).toEqual(Buffer.from(head.leafHash));
    await ledger.close();
    expect((unpack(readFileSync(join(logDir, 'state.snapshot'))) as number[])[0]).toBe(5);
    expect(readSnapshot(logDir)!.idempotency.salt).toEqual(c.salt);
  });

  it('refuses an idempotency window that is not an integer in 1…2^27, before touching the data dir', async () => {
    const dir = tempDir();
    for (const idempotencyWindow of [0, -1, 1.5, 2 ** 27 + 1, Number.NaN]) {
      await expect(createLedger({ dir, ...FAST, idempotencyWindow })).rejects.toMatchObject({
        code: 'BAD_ARGUMENT',
        message: expect.stringMatching(/^idempotencyWindow must be an integer/),
      });
    }
    expect(readdirSync(dir)).toEqual([]);
    // A window of one key still answers the newest repeat.
    const ledger = await createLedger({ dir, ...FAST, idempotencyWindow: 1 });
    const [a] = await ledger.append([auditEvent(1, { event_id: 'one' })]);
    await ledger.append([auditEvent(2, { event_id: 'two' })]);
    expect((await ledger.append([auditEvent(2, { event_id: 'two' })]))[0]!.status).toBe('duplicate');
    const [again] = await ledger.append([auditEvent(1, { event_id: 'one' })]);
    expect(again!.status).toBe('stored');
    expect(again!.leaf_index).not.toBe(a!.leaf_index);
    await ledger.close();
  });

  it('stores one copy when the same client event_id arrives in two concurrent appends', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST, batchMaxWaitMs: 20 });
    const e = auditEvent(1, { event_id: 'race-1' });
    const [[a], [b]] = await Promise.all([ledger.append([e]), ledger.append([e])]);
    expect([a!.status, b!.status].sort()).toEqual(['duplicate', 'stored']);
    expect(a!.leaf_index).toBe(b!.leaf_index);
    await ledger.checkpoint();
    expect(ledger.log('default').treeSize).toBe(1);
    await ledger.close();
  });

  it('signs checkpoints while appends keep arriving, each backed by every tile of its size on disk', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST });
    const log = ledger.log('default');
    await ledger.append([auditEvent(0)]);
    let appending = true;
    let n = 1;
    const load = (async () => {
      while (appending) await ledger.append(Array.from({ length: 7 }, () => auditEvent(n++)));
    })();
    const sizes: number[] = [];
    try {
      for (let round = 0; round < 12; round++) {
        await new Promise((r) => setTimeout(r, 15));
        await log.checkpoint();
        const cp = openCheckpoint(log.latestCheckpoint()!, [log.verifierKey]).checkpoint;
        sizes.push(cp.size);
        // What a restart does first: open the tree from the tiles alone at the signed size. Partial
        // tiles are written only at checkpoints, so this fails if a checkpoint outran its tiles.
        const tree = await TiledTree.open(new FileTileStore(join(dir, 'logs', 'default', 'tiles')), cp.size);
        expect(Buffer.from(tree.root())).toEqual(Buffer.from(cp.rootHash));
      }
    } finally {
      appending = false;
      await load;
    }
    // Checkpoints completed under load and covered records appended meanwhile.
    expect(sizes[sizes.length - 1]).toBeGreaterThan(sizes[0]!);
    expect(log.treeSize).toBe(n);
    await ledger.close();
  });

  it('signs checkpoints whose inclusion and consistency proofs verify with @sealog/merkle', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST });
    const log = ledger.log('default');
    const first = await ledger.append(Array.from({ length: 37 }, (_, i) => auditEvent(i)));
    await ledger.checkpoint();
    const cp1 = openCheckpoint(log.latestCheckpoint()!, [log.verifierKey]).checkpoint;
    expect(cp1.size).toBe(37);
    expect(cp1.origin).toBe('sealog/default');
    await ledger.append(Array.from({ length: 300 }, (_, i) => auditEvent(100 + i)));
    await ledger.checkpoint();
    const cp2 = openCheckpoint(log.latestCheckpoint()!, [log.verifierKey]).checkpoint;
    expect(cp2.size).toBe(337);
    for (const r of [first[0]!, first[17]!, first[36]!]) {
      const proof = await log.inclusionProof(r.leaf_index!, cp2.size);
      const leafHash = Buffer.from(r.leaf_hash!, 'hex');
      expect(verifyInclusion(leafHash, r.leaf_index!, cp2.size, proof, cp2.rootHash)).toBe(true);
      expect(verifyInclusion(leafHash, r.leaf_index!, cp2.size, proof, cp1.rootHash)).toBe(false);
    }
    const consistency = await log.consistencyProof(cp1.size, cp2.size);
    expect(verifyConsistency(cp1.size, cp2.size, consistency, cp1.rootHash, cp2.rootHash)).toBe(true);
    await ledger.close();
  });

  it('refuses to start when the durable log no longer matches the last signed checkpoint', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST });
    await ledger.append(Array.from({ length: 20 }, (_, i) => auditEvent(i)));
    await ledger.append(Array.from({ length: 20 }, (_, i) => auditEvent(20 + i)));
    await ledger.close(); // signs a checkpoint over all 40
    // Cut the last frame (as a rollback would): the checkpoint now covers leaves the segments lack.
    const seg = join(dir, 'logs', 'default', '0000000001.seg');
    const size = statSync(seg).size;
    truncateSync(seg, size - 10);
    await expect(createLedger({ dir, ...FAST })).rejects.toMatchObject({ code: 'CHECKPOINT_MISMATCH' });
  });

  it('cuts a torn last entry of data-keys.bin and checkpoints.log on open and keeps going', async () => {
    const dir = tempDir();
    let ledger = await createLedger({ dir, ...FAST });
    await ledger.append(Array.from({ length: 10 }, (_, i) => auditEvent(i)));
    await ledger.close();
    const logDir = join(dir, 'logs', 'default');
    const keysSize = statSync(join(logDir, 'data-keys.bin')).size;
    const checkpointsSize = statSync(join(logDir, 'checkpoints.log')).size;
    appendFileSync(join(logDir, 'data-keys.bin'), Buffer.from([0, 0, 0, 90, 1, 2, 3]));
    appendFileSync(join(logDir, 'checkpoints.log'), 'checkpoint 400\nsealog/default\n12');
    ledger = await createLedger({ dir, ...FAST });
    // The torn bytes are gone; reopening appended exactly one fresh data key (entries are equal-sized).
    expect(statSync(join(logDir, 'checkpoints.log')).size).toBe(checkpointsSize);
    expect(statSync(join(logDir, 'data-keys.bin')).size).toBe(2 * keysSize);
    const [r] = await ledger.append([auditEvent(10)]);
    expect(r!.leaf_index).toBe(10);
    expect((await ledger.read('default', 3)).record.tenant_id).toBe('tenant-3');
    await ledger.close();
  });

  it('routes retention classes to their own logs, each with its own tree and signing key', async () => {
    const dir = tempDir();
    const ledger = await createLedger({
      dir,
      ...FAST,
      logs: [{ id: 'default' }, { id: 'long', retentionClasses: ['long', 'legal-hold'] }],
    });
    const results = await ledger.append([
      auditEvent(0),
      auditEvent(1, { retention_class: 'long' }),
      auditEvent(2, { retention_class: 'legal-hold' }),
    ]);
    expect(results.map((r) => [r.log_id, r.leaf_index])).toEqual([
      ['default', 0],
      ['long', 0],
      ['long', 1],
    ]);
    expect(ledger.log('default').verifierKey).not.toBe(ledger.log('long').verifierKey);
    const error = await ledger.append([auditEvent(3, { retention_class: 'nope' })]).catch((e: unknown) => e);
    expect((error as LedgerError).issues[0]).toMatchObject({ index: 0, path: 'retention_class' });
    // A client event id is the idempotency key within the tenant, whatever log it is routed to.
    const [first] = await ledger.append([auditEvent(4, { event_id: 'once', retention_class: 'long' })]);
    const [again] = await ledger.append([auditEvent(4, { event_id: 'once' })]);
    expect(again).toMatchObject({ status: 'duplicate', log_id: 'long', leaf_index: first!.leaf_index });
    expect(ledger.log('default').treeSize).toBe(1);
    // Each log salts its own window: repeats are found through the routed log (either of its
    // classes) and through the other one, before and after restarts with and without the worker.
    const [inDefault] = await ledger.append([auditEvent(5, { event_id: 'twice-d' })]);
    await ledger.close();
    const logs = [{ id: 'default' }, { id: 'long', retentionClasses: ['long', 'legal-hold'] }];
    for (const prepareWorkers of [0, 1] as const) {
      const reopened = await createLedger({ dir, ...FAST, logs, prepareWorkers });
      const repeats = await reopened.append([
        auditEvent(4, { event_id: 'once', retention_class: 'legal-hold' }),
        auditEvent(4, { event_id: 'once', retention_class: 'long' }),
        auditEvent(5, { event_id: 'twice-d', retention_class: 'long' }),
        auditEvent(5, { event_id: 'twice-d' }),
        auditEvent(6, { event_id: `new-${prepareWorkers}`, retention_class: 'long' }),
      ]);
      expect(repeats.map((r) => [r.status, r.log_id])).toEqual([
        ['duplicate', 'long'],
        ['duplicate', 'long'],
        ['duplicate', 'default'],
        ['duplicate', 'default'],
        ['stored', 'long'],
      ]);
      expect(repeats[0]!.leaf_index).toBe(first!.leaf_index);
      expect(repeats[3]!.leaf_index).toBe(inDefault!.leaf_index);
      await reopened.close();
    }
  });

  it('finds the repeats of an append split across logs by the fingerprints the worker made', async () => {
    const dir = tempDir();
    const logs = [{ id: 'default' }, { id: 'long', retentionClasses: ['long'] }];
    const classes = ['long', 'default', 'long', 'default', 'default', 'long', 'default'];
    const batch = classes.map((rc, i) => auditEvent(i, { event_id: `split-${i}`, retention_class: rc }));
    let ledger = await createLedger({ dir, ...FAST, logs });
    const first = await ledger.append(batch);
    expect(first.map((r) => r.status)).toEqual(classes.map(() => 'stored'));
    await ledger.close();
    // After a restart only the window knows them (by the fingerprints stored with each record).
    ledger = await createLedger({ dir, ...FAST, logs });
    const again = await ledger.append([...batch].reverse());
    expect(again.map((r) => [r.status, r.log_id, r.leaf_index])).toEqual(
      [...first].reverse().map((r) => ['duplicate', r.log_id, r.leaf_index]),
    );
    await ledger.close();
  });

  it('reuses the prepare worker answer buffers once their records are durable, and every record stays exact', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST });
    const worker = (ledger as unknown as { worker: { spareBuffers: ArrayBuffer[] } }).worker;
    // Requests of ~64 KiB and more are recycled; sizes vary so that a smaller request reuses a
    // larger buffer holding the previous request's bytes.
    const sizes = [300, 120, 260, 90, 300, 150];
    const appended: { id: string; leaf: number }[] = [];
    let next = 0;
    let reused = 0;
    for (const size of sizes) {
      const before = worker.spareBuffers.length;
      const batch = Array.from({ length: size }, () => auditEvent(next++));
      const results = await ledger.append(batch);
      if (before > 0 && worker.spareBuffers.length <= before) reused++;
      for (const r of results) appended.push({ id: r.event_id, leaf: r.leaf_index! });
    }
    expect(reused).toBeGreaterThan(0);
    const records = await ledger.readMany(
      'default',
      appended.map((a) => a.leaf),
    );
    for (let i = 0; i < appended.length; i++) {
      expect(records[i]!.record.event_id).toBe(appended[i]!.id);
      expect(Buffer.from(hashLeaf(records[i]!.leaf))).toEqual(Buffer.from(records[i]!.leafHash));
    }
    // The sealed personal fields open (their bytes and AAD came through recycled buffers too).
    const personal = await ledger.openPersonal(records[records.length - 1]!.record);
    expect(personal).not.toBe('[erased]');
    await ledger.close();
  });

  it('answers BACKPRESSURE instead of waiting when asked to, and a rejected batch stores nothing', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST, queueMaxRecords: 4, batchMaxWaitMs: 20 });
    const calls = Array.from({ length: 50 }, (_, c) =>
      ledger.append(
        Array.from({ length: 4 }, (_, i) => auditEvent(c * 4 + i)),
        { onFull: 'reject' },
      ),
    );
    const outcomes = await Promise.allSettled(calls);
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    const stored = outcomes.filter((o) => o.status === 'fulfilled');
    expect(rejected.length).toBeGreaterThan(0);
    for (const o of rejected) expect((o.reason as LedgerError).code).toBe('BACKPRESSURE');
    await ledger.checkpoint();
    expect(ledger.log('default').treeSize).toBe(stored.length * 4);
    await ledger.close();
  });
});
