import { readFileSync } from 'node:fs';
import { openCheckpoint } from '@sealog/crypto-envelope';
import { hashLeaf, verifyInclusion } from '@sealog/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLedger, ERASED } from '../src/index';
import { allFiles, tempDir } from './helpers';

const FAST = { batchMaxWaitMs: 1, checkpointIntervalMs: 60_000 };

function personalEvent(actorId: string, n: number): Record<string, unknown> {
  return {
    event_id: `ev-${actorId}-${n}`,
    tenant_id: 'acme',
    occurred_at: 1_790_000_000_000 + n,
    actor: { id: actorId, type: 'user', name: `Name of ${actorId}`, email: `${actorId}@example.com` },
    action: 'profile.update',
    category: 'update',
    resource: { type: 'profile', id: `p-${actorId}`, name: 'Profile' },
    context: { ip: '203.0.113.7', user_agent: 'curl/8.0', request_id: `req-${n}` },
    changes: [{ field: 'email', old: `old-${actorId}@example.com`, new: `${actorId}@example.com` }],
    metadata: { plan: 'pro', seats: 3 },
  };
}

describe.each([0, 1] as const)('record views and erasure (prepareWorkers=%i)', (prepareWorkers) => {
  it('renders the CONTRACT record with personal fields opened, or without them', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers });
    try {
      const [r] = await ledger.append([personalEvent('alice', 1)]);
      const read = await ledger.read('default', r!.leaf_index!);
      const full = await ledger.view(read, { personal: true });
      expect(full).toEqual({
        event_id: 'ev-alice-1',
        tenant_id: 'acme',
        occurred_at: new Date(1_790_000_000_001).toISOString(),
        received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        actor: { id: 'alice', type: 'user', name: 'Name of alice', email: 'alice@example.com' },
        action: 'profile.update',
        category: 'update',
        resource: { type: 'profile', id: 'p-alice', name: 'Profile' },
        result: 'success',
        context: { ip: '203.0.113.7', user_agent: 'curl/8.0', request_id: 'req-1' },
        changes: [{ field: 'email', old: 'old-alice@example.com', new: 'alice@example.com' }],
        metadata: { plan: 'pro', seats: 3 },
        retention_class: 'default',
        log_id: 'default',
        leaf_index: r!.leaf_index,
        block_index: read.batchIndex,
        block_hash: read.blockHash,
        verification_hash: r!.leaf_hash,
        integrity: r!.integrity,
        prev_entity_leaf_index: null,
      });
      const bare = await ledger.view(read, { personal: false });
      expect(bare.actor).toEqual({ id: null, type: 'user' });
      expect(bare.context).toEqual({ request_id: 'req-1' });
      expect(bare.changes).toEqual([{ field: 'email' }]);
    } finally {
      await ledger.close();
    }
  });

  it('erases one subject: its records read [erased], proofs stay valid, others and later events are untouched', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST, prepareWorkers });
    const before = await ledger.append([
      personalEvent('alice', 1),
      personalEvent('bob', 2),
      personalEvent('alice', 3),
    ]);
    const erased = await ledger.eraseSubject('acme', 'alice');
    expect(erased.existed).toBe(true);
    expect((await ledger.eraseSubject('acme', 'nobody')).existed).toBe(false);
    for (const i of [0, 2]) {
      const view = await ledger.view(await ledger.read('default', before[i]!.leaf_index!), {
        personal: true,
      });
      expect(view.actor).toEqual({ id: ERASED, type: 'user', name: ERASED, email: ERASED });
      expect(view.context).toEqual({ ip: ERASED, user_agent: ERASED, request_id: `req-${i + 1}` });
      expect(view.changes).toEqual([{ field: 'email', old: ERASED, new: ERASED }]);
      expect(view.verification_hash).toBe(before[i]!.leaf_hash);
    }
    const bob = await ledger.view(await ledger.read('default', before[1]!.leaf_index!), { personal: true });
    expect((bob.actor as { id: string }).id).toBe('bob');
    // The same subject seen again gets a new key: new records readable, old ones stay erased.
    const [later] = await ledger.append([personalEvent('alice', 4)]);
    const laterView = await ledger.view(await ledger.read('default', later!.leaf_index!), { personal: true });
    expect((laterView.actor as { id: string }).id).toBe('alice');
    await ledger.checkpoint();
    const log = ledger.log('default');
    const cp = openCheckpoint(log.latestCheckpoint()!, [log.noteVerifier]).checkpoint;
    const read0 = await ledger.read('default', 0);
    const proof = await log.inclusionProof(0, cp.size);
    expect(verifyInclusion(read0.leafHash, 0, cp.size, proof, cp.rootHash)).toBe(true);
    await ledger.close();

    // After a restart the erased records still read erased; nothing of alice's old key survives.
    const again = await createLedger({ dir, ...FAST, prepareWorkers });
    try {
      const view = await again.view(await again.read('default', 0), { personal: true });
      expect((view.actor as { id: string }).id).toBe(ERASED);
      const newer = await again.view(await again.read('default', later!.leaf_index!), { personal: true });
      expect((newer.actor as { id: string }).id).toBe('alice');
    } finally {
      await again.close();
    }
    for (const file of allFiles(dir)) {
      const bytes = readFileSync(file);
      for (const needle of ['alice@example.com', '203.0.113.7', 'Name of alice']) {
        expect(bytes.includes(needle), `${needle} in ${file}`).toBe(false);
      }
    }
  });

  it('never fails to render a record sealed while its subject was being erased', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers });
    try {
      const pending = ledger.append(
        Array.from({ length: 200 }, (_, i) => personalEvent('carol', i)),
        { wait: 'durable' },
      );
      await ledger.eraseSubject('acme', 'carol');
      const results = await pending;
      // Each record sealed before the shred reads erased; one sealed after it (new key) opens.
      for (const r of results) {
        const view = await ledger.view(await ledger.read('default', r.leaf_index!), { personal: true });
        const id = (view.actor as { id: string }).id;
        expect([ERASED, 'carol']).toContain(id);
      }
    } finally {
      await ledger.close();
    }
  });
});

describe('readMany', () => {
  it('returns the records asked for in the order asked, equal to single reads, across frames', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers: 0 });
    try {
      // Three appends → at least three frames.
      for (let b = 0; b < 3; b++) {
        await ledger.append(Array.from({ length: 20 }, (_, i) => personalEvent(`u${i % 3}`, b * 20 + i)));
      }
      const ask = [59, 0, 21, 21, 40, 1, 19, 20];
      const many = await ledger.readMany('default', ask);
      expect(many.map((r) => r.leafIndex)).toEqual(ask);
      for (const r of many) {
        const one = await ledger.read('default', r.leafIndex);
        expect(Buffer.from(r.leaf)).toEqual(Buffer.from(one.leaf));
        expect(r.blockHash).toBe(one.blockHash);
        expect(r.batchIndex).toBe(one.batchIndex);
      }
      await expect(ledger.readMany('default', [0, 60])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await ledger.close();
    }
  });
  it('iterates the tail from memory exactly as from the segments, even when frames drop mid-way', async () => {
    const dir = tempDir();
    // Room for ~3 frames of 7 records: most of the log is read from the segments.
    const options = { ...FAST, batchMaxRecords: 7, readCacheBytes: 0, prepareWorkers: 0 } as const;
    let ledger = await createLedger({ dir, ...options, recentFramesBytes: 3 * 7 * 700 });
    const snapshot = async (from: number, to: number, onEach?: () => Promise<void>) => {
      const out: string[] = [];
      for await (const r of ledger.logs()[0]!.iterate(from, to)) {
        out.push(
          [
            r.leafIndex,
            Buffer.from(r.leaf).toString('hex'),
            Buffer.from(r.leafHash).toString('hex'),
            r.batchIndex,
            r.blockHash,
            r.record.event_id,
          ].join(' '),
        );
        r.leaf.fill(0); // the caller's to scribble on
        await onEach?.();
      }
      return out;
    };
    try {
      for (let b = 0; b < 8; b++) {
        await ledger.append(Array.from({ length: 7 }, (_, i) => personalEvent(`u${i % 3}`, b * 7 + i)));
      }
      const whileWriting = await snapshot(0, 56);
      const tailTwice = [await snapshot(40, 56), await snapshot(40, 56)];
      // Appending while a slow reader is inside the kept frames drops them under its feet.
      let n = 100;
      const slow = await snapshot(35, 56, async () => {
        await ledger.append(Array.from({ length: 7 }, () => personalEvent('u9', n++)));
      });
      await ledger.close();
      ledger = await createLedger({ dir, ...options });
      const fromSegments = await snapshot(0, 56);
      expect(whileWriting).toEqual(fromSegments);
      expect(tailTwice[0]).toEqual(fromSegments.slice(40));
      expect(tailTwice[1]).toEqual(fromSegments.slice(40));
      expect(slow).toEqual(fromSegments.slice(35));
    } finally {
      await ledger.close();
    }
  });

  it('serves any mix of cached and uncached reads exactly as a full scan decodes them', async () => {
    // A cache of ~5 records forces evictions between (and within) calls.
    const ledger = await createLedger({
      dir: tempDir(),
      ...FAST,
      batchMaxRecords: 7,
      readCacheBytes: 5 * 1200,
      prepareWorkers: 0,
    });
    try {
      for (let b = 0; b < 6; b++) {
        await ledger.append(Array.from({ length: 10 }, (_, i) => personalEvent(`u${i % 4}`, b * 10 + i)));
      }
      const truth = new Map<number, { leaf: Buffer; blockHash: string; batchIndex: number }>();
      for await (const r of ledger.logs()[0]!.iterate()) {
        truth.set(r.leafIndex, {
          leaf: Buffer.from(r.leaf),
          blockHash: r.blockHash,
          batchIndex: r.batchIndex,
        });
      }
      expect(truth.size).toBe(60);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(59), { maxLength: 40 }), async (ask) => {
          const many = await ledger.readMany('default', ask);
          expect(many.map((r) => r.leafIndex)).toEqual(ask);
          for (const r of many) {
            const t = truth.get(r.leafIndex)!;
            expect(Buffer.from(r.leaf)).toEqual(t.leaf);
            expect(Buffer.from(r.leafHash)).toEqual(Buffer.from(hashLeaf(t.leaf)));
            expect(r.blockHash).toBe(t.blockHash);
            expect(r.batchIndex).toBe(t.batchIndex);
            expect(r.record.event_id).toBe(`ev-u${(r.leafIndex % 10) % 4}-${r.leafIndex}`);
            // Callers own what they get: scribbling on it must not reach the next read.
            r.leaf.fill(0);
            r.leafHash.fill(0);
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      await ledger.close();
    }
  });
});
