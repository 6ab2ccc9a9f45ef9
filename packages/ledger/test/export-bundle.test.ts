import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecord } from '@sealog/codec';
import { blindToken, openCheckpoint, openNote } from '@sealog/crypto-envelope';
import { hashLeaf, rootFromLeafHashes, verifyConsistency, verifyInclusion } from '@sealog/merkle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleFilter, createLedger, exportBundle, type Ledger, LedgerError } from '../src/index';
import { auditEvent } from './events';

const EVENTS = 400;
const BASE_MS = 1_795_428_000_000;
let dir: string;
let ledger: Ledger;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealog-bundle-'));
  ledger = await createLedger({
    dir,
    batchMaxWaitMs: 1,
    batchMaxRecords: 64,
    checkpointIntervalMs: 3_600_000,
    durability: { mode: 'none' },
    onNotice: () => {},
  });
  for (let r = 0; r < 4; r++) {
    const events = [];
    for (let k = 0; k < EVENTS / 4; k++) events.push(auditEvent(r * (EVENTS / 4) + k));
    await ledger.append(events);
  }
}, 60_000);
afterAll(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Bundle {
  header: Record<string, unknown> & {
    filter: Record<string, unknown>;
    tree_size: number;
    checkpoint: string;
  };
  records: (Record<string, unknown> & { leaf: string; leaf_index: number; inclusion: string[] })[];
  trailer: Record<string, unknown>;
  text: string;
}

async function bundle(
  filter: BundleFilter,
  options: Parameters<typeof exportBundle>[3] = {},
): Promise<Bundle> {
  const chunks: string[] = [];
  await exportBundle(
    ledger,
    filter,
    async (chunk) => {
      // An async sink: every line waits for the previous one (backpressure path).
      await Promise.resolve();
      chunks.push(chunk);
    },
    options,
  );
  for (const c of chunks) expect(c.endsWith('\n') && c.indexOf('\n') === c.length - 1).toBe(true);
  const lines = chunks.map((c) => JSON.parse(c));
  return {
    header: lines[0],
    records: lines.slice(1, -1),
    trailer: lines[lines.length - 1],
    text: chunks.join(''),
  };
}

function decoded(b: Bundle): ReturnType<typeof decodeRecord>[] {
  return b.records.map((r) => decodeRecord(new Uint8Array(Buffer.from(r.leaf, 'base64'))));
}

/** Expected leaf indexes of events matching `pred` (events are appended in order: event i is leaf i). */
function expectedLeaves(pred: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < EVENTS; i++) if (pred(i)) out.push(i);
  return out;
}

describe('exportBundle', () => {
  it('writes a header, one proven record per match and a signed trailer', async () => {
    const b = await bundle({ tenantId: 'tenant-3' });
    const log = ledger.log('default');
    expect(b.header).toMatchObject({
      type: 'sealog-bundle',
      version: 1,
      log_id: 'default',
      origin: 'sealog/default',
      public_key: log.verifierKey,
      tree_size: EVENTS,
      personal: false,
    });
    expect(b.header.producer).toMatch(/^@sealog\/ledger \d+\.\d+\.\d+/);
    const checkpoint = openCheckpoint(b.header.checkpoint, [log.verifierKey]).checkpoint;
    expect(checkpoint.size).toBe(EVENTS);
    expect(b.header.root_hash).toBe(Buffer.from(checkpoint.rootHash).toString('hex'));
    expect(b.records.map((r) => r.leaf_index)).toEqual(expectedLeaves((i) => i % 7 === 3));
    for (const [n, r] of b.records.entries()) {
      const leaf = new Uint8Array(Buffer.from(r.leaf, 'base64'));
      const leafHash = hashLeaf(leaf);
      expect(r.n).toBe(n);
      expect(r.leaf_hash).toBe(Buffer.from(leafHash).toString('hex'));
      const proof = r.inclusion.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
      expect(verifyInclusion(leafHash, r.leaf_index, checkpoint.size, proof, checkpoint.rootHash)).toBe(true);
      expect(r.personal).toBeUndefined();
    }
    expect(b.trailer.count).toBe(b.records.length);
    const before = b.text.slice(0, b.text.lastIndexOf('\n', b.text.length - 2) + 1);
    const sha256 = createHash('sha256').update(before).digest('hex');
    expect(b.trailer.sha256).toBe(sha256);
    expect(openNote(b.trailer.signature as string, [log.verifierKey]).text).toBe(
      `sealog-bundle/v1\norigin sealog/default\ntree_size ${EVENTS}\ncount ${b.records.length}\nsha256 ${sha256}\n`,
    );
  });

  it('renders the public fields of the record for humans, and no personal data by default', async () => {
    const b = await bundle({ tenantId: 'tenant-0', resourceId: 'doc-0' });
    const r = b.records[1]!;
    const d = decoded(b)[1]!;
    expect(r.record).toMatchObject({
      event_id: d.event_id,
      tenant_id: 'tenant-0',
      occurred_at: new Date(d.occurred_at).toISOString(),
      actor_type: 'user',
      resource: { type: 'document', id: 'doc-0', name: null },
      prev: { leaf_index: b.records[0]!.leaf_index, leaf_hash: b.records[0]!.leaf_hash },
    });
    for (const needle of ['user-', '@example.com', '198.51.100.', 'Person ', 'Title ']) {
      expect(b.text.includes(needle), needle).toBe(false);
    }
  });

  it('never includes another tenant’s records', async () => {
    for (const tenant of ['tenant-0', 'tenant-5']) {
      const b = await bundle({ tenantId: tenant });
      expect(b.records.length).toBeGreaterThan(0);
      for (const d of decoded(b)) expect(d.tenant_id).toBe(tenant);
    }
    const none = await bundle({ tenantId: 'no-such-tenant' });
    expect(none.records).toEqual([]);
    expect(none.trailer.count).toBe(0);
  });

  it('stops scanning when its signal aborts (the consumer went away), without a trailer', async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    // A filter that matches nothing: only the signal can end the scan early.
    const run = exportBundle(ledger, { tenantId: 'no-such-tenant' }, (l) => void lines.push(l), {
      signal: abort.signal,
    });
    abort.abort(new Error('gone'));
    await expect(run).rejects.toThrow('gone');
    expect(lines.some((l) => l.includes('"type":"trailer"'))).toBe(false);
  });

  it('filters by time range (start inclusive, end exclusive)', async () => {
    const startTime = BASE_MS + 70 * 1000;
    const endTime = BASE_MS + 210 * 1000;
    const b = await bundle({ tenantId: 'tenant-0', startTime, endTime });
    expect(b.records.map((r) => r.leaf_index)).toEqual(
      expectedLeaves((i) => i % 7 === 0 && i >= 70 && i < 210),
    );
    expect(b.header.filter).toMatchObject({
      start_time: new Date(startTime).toISOString(),
      end_time: new Date(endTime).toISOString(),
    });
  });

  it('filters by actor through the blind token, without writing the actor id', async () => {
    const b = await bundle({ tenantId: 'tenant-2', actorId: 'user-9' });
    const leaves = expectedLeaves((i) => i % 7 === 2 && i % 101 === 9);
    expect(leaves.length).toBeGreaterThan(0);
    expect(b.records.map((r) => r.leaf_index)).toEqual(leaves);
    const token = Buffer.from(
      blindToken(ledger.keyMaterial.blindKey('tenant-2'), 'actor.id', 'user-9'),
    ).toString('hex');
    expect(b.header.filter.actor_token).toBe(token);
    expect(b.text.includes('user-9')).toBe(false);
  });

  it('filters by resource and action, and by leaf range', async () => {
    const b = await bundle({ tenantId: 'tenant-1', resourceType: 'document', resourceId: 'doc-4' });
    expect(b.records.map((r) => r.leaf_index)).toEqual(expectedLeaves((i) => i % 7 === 1 && i % 13 === 4));
    const a = await bundle({ tenantId: 'tenant-1', action: 'document.update', from: 100, to: 300 });
    expect(a.records.map((r) => r.leaf_index)).toEqual(
      expectedLeaves((i) => i % 7 === 1 && i % 3 === 0 && i >= 100 && i < 300),
    );
    expect(a.header.filter).toMatchObject({ from_leaf: 100, to_leaf: 300 });
  });

  it('adds decrypted personal fields only when asked, for one data subject', async () => {
    const b = await bundle({ tenantId: 'tenant-2', actorId: 'user-9' }, { includePersonal: true });
    expect(b.header.personal).toBe(true);
    const first = b.records[0]!;
    const i = first.leaf_index;
    expect(first.personal).toEqual({
      actor_id: 'user-9',
      actor_name: `Person ${i % 101}`,
      actor_email: 'user-9@example.com',
      ip: `198.51.100.${i % 250}`,
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      changes: i % 3 === 0 ? [{ field: 'title', old: `Title ${i - 1}`, new: `Title ${i}` }] : [],
    });
    await expect(bundle({ tenantId: 'tenant-2' }, { includePersonal: true })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
  });

  it('covers records appended since the last checkpoint by signing a new one first', async () => {
    const before = ledger.log('default').latestCheckpoint();
    await ledger.append([auditEvent(EVENTS, { tenant_id: 'late-tenant' })]);
    const b = await bundle({ tenantId: 'late-tenant' });
    expect(b.records.map((r) => r.leaf_index)).toEqual([EVENTS]);
    expect(b.header.tree_size).toBe(EVENTS + 1);
    expect(b.header.checkpoint).not.toBe(before);
  });

  it('reads only the candidate leaves it is given, with the same records as a full scan', async () => {
    const filter: BundleFilter = { tenantId: 'tenant-3', resourceType: 'document' };
    const full = await bundle(filter);
    const matches = full.records.map((r) => r.leaf_index);
    expect(matches.length).toBeGreaterThan(3);
    // A superset (every 5th leaf plus the matches), ascending: same lines, far fewer reads.
    const superset = [...new Set([...matches, ...expectedLeaves((i) => i % 5 === 0)])].sort((a, b) => a - b);
    let asked: [number, number] | undefined;
    const narrowed = await bundle(filter, {
      candidates: async (from, to) => {
        asked = [from, to];
        return superset;
      },
    });
    expect(asked).toEqual([0, full.header.tree_size]);
    expect(narrowed.records).toEqual(full.records);
    expect(narrowed.trailer.count).toBe(full.trailer.count);
    // `undefined`: scan everything.
    expect((await bundle(filter, { candidates: async () => undefined })).records).toEqual(full.records);
    // Unsorted, repeated or out-of-range candidates are refused.
    for (const bad of [[5, 3], [3, 3], [-1], [10_000]]) {
      await expect(bundle(filter, { candidates: async () => bad })).rejects.toMatchObject({
        code: 'BAD_ARGUMENT',
      });
    }
  });

  it('adds consistency proofs from the sizes asked for to the header, covered by the trailer', async () => {
    const plain = await bundle({ tenantId: 'tenant-2', resourceId: 'doc-1' });
    expect(plain.header).not.toHaveProperty('consistency');
    const b = await bundle(
      { tenantId: 'tenant-2', resourceId: 'doc-1' },
      { consistencyFrom: [200, 7, 200, 1] },
    );
    const size = b.header.tree_size;
    const consistency = b.header.consistency as { from_size: number; from_root: string; proof: string[] }[];
    expect(consistency.map((c) => c.from_size)).toEqual([1, 7, 200]);
    expect(Object.keys(b.header).at(-1)).toBe('consistency');
    // The roots and proofs recomputed from the leaves themselves, not from the ledger's tree.
    const leafHashes: Uint8Array[] = [];
    for await (const r of ledger.log('default').iterate(0, size)) leafHashes.push(r.leafHash);
    const root = openCheckpoint(b.header.checkpoint, [ledger.log('default').noteVerifier]).checkpoint
      .rootHash;
    for (const c of consistency) {
      const fromRoot = rootFromLeafHashes(leafHashes.slice(0, c.from_size));
      expect(c.from_root).toBe(Buffer.from(fromRoot).toString('hex'));
      const proof = c.proof.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
      expect(verifyConsistency(c.from_size, size, proof, fromRoot, root)).toBe(true);
    }
    // Same size: an empty proof.
    const same = await bundle({ tenantId: 'tenant-2' }, { consistencyFrom: [size] });
    expect(same.header.consistency).toEqual([
      { from_size: size, from_root: same.header.root_hash, proof: [] },
    ]);
    const sha = createHash('sha256')
      .update(b.text.slice(0, b.text.lastIndexOf('{"type":"trailer"')))
      .digest('hex');
    expect(b.trailer.sha256).toBe(sha);
  });

  it('refuses consistency sizes outside [1, checkpoint size], fractional ones, and too many', async () => {
    const size = ledger.log('default').treeSize;
    let wrote = 0;
    const sink = (): void => {
      wrote += 1;
    };
    for (const bad of [[0], [size + 1], [1.5], [-3], Array.from({ length: 65 }, (_, i) => i + 1)]) {
      await expect(
        exportBundle(ledger, { tenantId: 'tenant-1' }, sink, { consistencyFrom: bad }),
      ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/consistencyFrom/) });
    }
    expect(wrote).toBe(0);
  });

  it('rejects bad filters and unknown or ambiguous logs', async () => {
    const sink = (): void => {};
    await expect(exportBundle(ledger, { tenantId: '' }, sink)).rejects.toBeInstanceOf(LedgerError);
    await expect(exportBundle(ledger, { tenantId: 'a', startTime: -1 }, sink)).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
    await expect(exportBundle(ledger, { tenantId: 'a', logId: 'nope' }, sink)).rejects.toMatchObject({
      code: 'UNKNOWN_LOG',
    });
    const two = mkdtempSync(join(tmpdir(), 'sealog-bundle-'));
    const l2 = await createLedger({
      dir: two,
      logs: [{ id: 'default' }, { id: 'audit' }],
      durability: { mode: 'none' },
      onNotice: () => {},
    });
    try {
      await expect(exportBundle(l2, { tenantId: 'a' }, sink)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
      await expect(exportBundle(l2, { tenantId: 'a', logId: 'audit' }, sink)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    } finally {
      await l2.close();
      rmSync(two, { recursive: true, force: true });
    }
  });
});
