import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint } from '@sealog/crypto-envelope';
import { indexRowOf } from '@sealog/index';
import { verifyInclusion } from '@sealog/merkle';
import { verifyBundle } from '@sealog/verifier';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveServeConfig } from '../src/config';
import { type RunningServer, startServer } from '../src/serve';
import { call } from './helpers';

const ADMIN = 'test-admin-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'sealog-read-'));
let server: RunningServer;
let base: string;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const HOUR = 3_600_000;

/** 60 events of tenant acme: actors alice-9f3k…, 4 resources, 1 hour apart. */
function acmeEvent(i: number): Record<string, unknown> {
  const actor = ['alice-9f3k', 'bob-7q2m', 'carol-5x8n'][i % 3]!;
  return {
    event_id: `acme-${i}`,
    tenant_id: 'acme',
    occurred_at: new Date(T0 + i * HOUR).toISOString(),
    actor: { id: actor, type: 'user', email: `${actor}@corp.example` },
    action: i % 4 === 0 ? 'document.delete' : 'document.read',
    category: i % 4 === 0 ? 'delete' : 'read',
    result: i % 5 === 0 ? 'failure' : 'success',
    resource: { type: 'document', id: `doc-${i % 4}`, name: i === 7 ? '=HYPERLINK("http://x")' : 'Report' },
    context: { ip: '198.51.100.23', request_id: `req-${i}` },
  };
}
const ACME = Array.from({ length: 60 }, (_, i) => acmeEvent(i));

async function key(tenant: string, roles: string[]): Promise<string> {
  const r = await call(base, 'POST', '/api/v1/admin/api-keys', {
    key: ADMIN,
    body: { tenant_id: tenant, roles },
  });
  expect(r.status).toBe(200);
  return r.json.key;
}

const ids = (records: Array<{ event_id: string }>): string[] => records.map((r) => r.event_id);
const expectIds = (pred: (e: Record<string, unknown>, i: number) => boolean): string[] =>
  ACME.map((e, i) => [e, i] as const)
    .filter(([e, i]) => pred(e, i))
    .map(([e]) => e.event_id as string);

/** Every page of a search, following next_cursor. */
async function allPages(path: string, k: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await call(
      base,
      'GET',
      cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`,
      {
        key: k,
      },
    );
    expect(r.status, r.text).toBe(200);
    out.push(...ids(r.json.records));
    cursor = r.json.next_cursor;
    if (cursor === null) return out;
  }
  throw new Error('paging did not end');
}

beforeAll(async () => {
  server = await startServer(
    resolveServeConfig({ dataDir: dir, port: '0', grpcPort: '0' }, { SEALOG_ADMIN_KEY: ADMIN }),
    {
      logger: false,
      onNotice: () => {},
      processMetrics: false,
    },
  );
  base = server.url;
  const a = await call(base, 'POST', '/api/v1/events', { key: ADMIN, body: { events: ACME } });
  expect(a.status).toBe(200);
  const g = await call(base, 'POST', '/api/v1/events', {
    key: ADMIN,
    body: {
      events: Array.from({ length: 5 }, (_, i) => ({
        ...acmeEvent(i),
        event_id: `globex-${i}`,
        tenant_id: 'globex',
      })),
    },
  });
  expect(g.status).toBe(200);
  await server.indexer.catchUp();
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /api/v1/tenants/{tenant}/audit-logs', () => {
  it('filters by actor (blind token), action, category, result, resource and time; newest first by default', async () => {
    const r = await call(base, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=alice-9f3k&limit=1000', {
      key: ADMIN,
    });
    expect(r.status).toBe(200);
    expect(r.json.tenant_id).toBe('acme');
    expect(ids(r.json.records)).toEqual(expectIds((_, i) => i % 3 === 0).reverse());
    const rec = r.json.records[0];
    expect(rec.actor).toEqual({ id: 'alice-9f3k', type: 'user', email: 'alice-9f3k@corp.example' });
    expect(rec.context).toMatchObject({ ip: '198.51.100.23' });
    expect(rec).toMatchObject({ log_id: 'default', retention_class: 'default' });
    for (const f of ['leaf_index', 'block_index']) expect(Number.isInteger(rec[f])).toBe(true);
    for (const f of ['block_hash', 'verification_hash']) expect(rec[f]).toMatch(/^[0-9a-f]{64}$/);

    const q = async (query: string): Promise<string[]> => {
      const res = await call(base, 'GET', `/api/v1/tenants/acme/audit-logs?limit=1000&${query}`, {
        key: ADMIN,
      });
      expect(res.status, res.text).toBe(200);
      return ids(res.json.records);
    };
    expect(await q('action=document.delete&order=asc')).toEqual(expectIds((_, i) => i % 4 === 0));
    expect(await q('category=delete&result=failure&order=asc')).toEqual(expectIds((_, i) => i % 20 === 0));
    expect(await q('resource_type=document&resource_id=doc-1&order=asc')).toEqual(
      expectIds((_, i) => i % 4 === 1),
    );
    // Start inclusive, end exclusive; RFC 3339 and epoch seconds mean the same instant.
    const start = new Date(T0 + 10 * HOUR).toISOString();
    const endSeconds = (T0 + 20 * HOUR) / 1000;
    const window = expectIds((_, i) => i >= 10 && i < 20);
    expect(await q(`start_time=${start}&end_time=${endSeconds}&order=asc`)).toEqual(window);
    expect(
      await q(
        `start_time=${(T0 + 10 * HOUR) / 1000}&end_time=${new Date(T0 + 20 * HOUR).toISOString()}&order=asc`,
      ),
    ).toEqual(window);
  });

  it('pages with next_cursor: every record exactly once, in order, also while new records arrive', async () => {
    const all = await allPages(
      '/api/v1/tenants/acme/audit-logs?limit=7&order=asc&action=document.read',
      ADMIN,
    );
    expect(all).toEqual(expectIds((e) => e.action === 'document.read'));
    const desc = await allPages('/api/v1/tenants/acme/audit-logs?limit=9&resource_id=doc-2', ADMIN);
    expect(desc).toEqual(expectIds((_, i) => i % 4 === 2).reverse());
  });

  it('answers precise 400s for bad parameters and changes nothing', async () => {
    const bad = async (query: string, path: string): Promise<void> => {
      const r = await call(base, 'GET', `/api/v1/tenants/acme/audit-logs?${query}`, { key: ADMIN });
      expect(r.status, query).toBe(400);
      expect(r.json.error.code).toBe('INVALID_REQUEST');
      expect(r.json.error.details.map((d: { path: string }) => d.path)).toContain(path);
    };
    await bad('actor=alice', 'actor');
    await bad('limit=0', 'limit');
    await bad('limit=1001', 'limit');
    await bad('cursor=not-a-cursor', 'cursor');
    await bad('start_time=yesterday', 'start_time');
    await bad('start_time=2026-11-02T00:00:00Z&end_time=2026-11-01T00:00:00Z', 'end_time');
    await bad('result=maybe', 'result');
  });

  it('keeps tenants apart: a key of one tenant gets 403 on another, and searches never cross', async () => {
    const globex = await key('globex', ['read', 'export', 'erase']);
    for (const [method, path] of [
      ['GET', '/api/v1/tenants/acme/audit-logs'],
      ['GET', '/api/v1/tenants/acme/events/acme-1'],
      ['GET', '/api/v1/tenants/acme/resources/document/doc-1/history'],
      ['GET', '/api/v1/tenants/acme/export?format=ndjson'],
      ['POST', '/api/v1/tenants/acme/subjects/alice-9f3k/erase'],
    ] as const) {
      const r = await call(base, method, path, { key: globex });
      expect(r.status, path).toBe(403);
      expect(r.json.error.code).toBe('FORBIDDEN');
    }
    const own = await call(base, 'GET', '/api/v1/tenants/globex/audit-logs?limit=1000&action=document.read', {
      key: globex,
    });
    expect(own.status).toBe(200);
    expect(own.json.records.length).toBeGreaterThan(0);
    for (const rec of own.json.records) expect(rec.tenant_id).toBe('globex');
    const ingestOnly = await key('acme', ['ingest']);
    expect((await call(base, 'GET', '/api/v1/tenants/acme/audit-logs', { key: ingestOnly })).status).toBe(
      403,
    );
    expect((await call(base, 'GET', '/api/v1/tenants/acme/audit-logs')).status).toBe(401);
  });
});

describe('GET /api/v1/tenants/{tenant}/events/{event_id}', () => {
  it('returns the record with an inclusion proof that verifies against the signed checkpoint', async () => {
    const r = await call(base, 'GET', '/api/v1/tenants/acme/events/acme-11', { key: ADMIN });
    expect(r.status, r.text).toBe(200);
    expect(r.json.record.event_id).toBe('acme-11');
    const p = r.json.proof;
    expect(p.leaf_hash).toBe(r.json.record.verification_hash);
    const logs = (await call(base, 'GET', '/api/v1/logs', { key: ADMIN })).json;
    const cp = openCheckpoint(p.checkpoint, [logs[0].public_key]).checkpoint;
    expect(cp.size).toBe(p.tree_size);
    const proof = p.inclusion.map((h: string) => new Uint8Array(Buffer.from(h, 'hex')));
    expect(
      verifyInclusion(Buffer.from(p.leaf_hash, 'hex'), p.leaf_index, p.tree_size, proof, cp.rootHash),
    ).toBe(true);
    expect((await call(base, 'GET', '/api/v1/tenants/acme/events/nope', { key: ADMIN })).status).toBe(404);
    // Another tenant's event id is not found through this tenant.
    expect((await call(base, 'GET', '/api/v1/tenants/acme/events/globex-1', { key: ADMIN })).status).toBe(
      404,
    );
  });
});

describe('GET …/resources/{type}/{id}/history', () => {
  it('lists one entity oldest first with its chain verified, across pages', async () => {
    const first = await call(base, 'GET', '/api/v1/tenants/acme/resources/document/doc-3/history?limit=4', {
      key: ADMIN,
    });
    expect(first.status, first.text).toBe(200);
    expect(ids(first.json.records)).toEqual(expectIds((_, i) => i % 4 === 3).slice(0, 4));
    expect(first.json.chain).toEqual({ verified: true, length: 4, broken_at: null });
    expect(first.json.records[0].prev_entity_leaf_index).toBeNull();
    expect(first.json.records[1].prev_entity_leaf_index).toBe(first.json.records[0].leaf_index);
    const second = await call(
      base,
      'GET',
      `/api/v1/tenants/acme/resources/document/doc-3/history?limit=4&cursor=${encodeURIComponent(first.json.next_cursor)}`,
      { key: ADMIN },
    );
    expect(ids(second.json.records)).toEqual(expectIds((_, i) => i % 4 === 3).slice(4, 8));
    // The first record of page 2 links to the last of page 1: checked by reading that leaf.
    expect(second.json.chain).toEqual({ verified: true, length: 4, broken_at: null });
  });
});

describe('GET /api/v1/tenants/{tenant}/export', () => {
  it('streams ndjson and csv of the filter (formula cells neutralised) and records the export', async () => {
    const nd = await call(base, 'GET', '/api/v1/tenants/acme/export?format=ndjson&resource_id=doc-3', {
      key: ADMIN,
    });
    expect(nd.status).toBe(200);
    expect(nd.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = nd.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(ids(lines)).toEqual(expectIds((_, i) => i % 4 === 3));
    expect(lines[0].actor.email).toMatch(/@corp\.example$/);

    const csv = await call(base, 'GET', '/api/v1/tenants/acme/export?format=csv&resource_id=doc-3', {
      key: ADMIN,
    });
    expect(csv.status).toBe(200);
    const rows = csv.text.trimEnd().split('\n');
    expect(rows[0]!.startsWith('event_id,tenant_id,occurred_at')).toBe(true);
    expect(rows).toHaveLength(1 + lines.length);
    expect(csv.text).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(csv.text).not.toMatch(/,=HYPERLINK/);

    // An export-only key gets records without personal fields.
    const exporter = await key('acme', ['export']);
    const bare = await call(base, 'GET', '/api/v1/tenants/acme/export?resource_id=doc-3', { key: exporter });
    expect(bare.status).toBe(200);
    expect(JSON.parse(bare.text.split('\n')[0]!).actor).toEqual({ id: null, type: 'user' });
    expect(bare.text).not.toContain('@corp.example');
  });

  it('streams a verifiable bundle that sealog verify accepts offline, and detects an edit', async () => {
    const r = await call(base, 'GET', '/api/v1/tenants/acme/export?format=bundle&actor_id=bob-7q2m', {
      key: ADMIN,
    });
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    const file = join(dir, 'bob.bundle.jsonl');
    writeFileSync(file, r.text);
    const logs = (await call(base, 'GET', '/api/v1/logs', { key: ADMIN })).json;
    const report = await verifyBundle(file, { publicKeys: [logs[0].public_key] });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    const records = r.text.split('\n').filter((l) => l.includes('"type":"record"'));
    expect(records).toHaveLength(ACME.filter((_, i) => i % 3 === 1).length);
    writeFileSync(file, r.text.replace('"document.read"', '"document.write"'));
    expect((await verifyBundle(file, { publicKeys: [logs[0].public_key] })).ok).toBe(false);
  });

  it('adds consistency proofs from consistency_from sizes, proving a checkpoint the auditor kept', async () => {
    const [log] = (await call(base, 'GET', '/api/v1/logs', { key: ADMIN })).json;
    // A checkpoint as an auditor keeps it: the one an event's proof carries (signed on demand).
    const kept = (await call(base, 'GET', '/api/v1/tenants/acme/events/acme-0', { key: ADMIN })).json.proof
      .checkpoint as string;
    const keptSize = Number(kept.split('\n')[1]);
    // The export's own access record grows the log first: the bundle's tree is larger than kept.
    const r = await call(
      base,
      'GET',
      `/api/v1/tenants/acme/export?format=bundle&resource_id=doc-2&consistency_from=${keptSize}&consistency_from=1,${keptSize}`,
      { key: ADMIN },
    );
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    const header = JSON.parse(r.text.slice(0, r.text.indexOf('\n')));
    expect(header.tree_size).toBeGreaterThan(keptSize);
    expect(header.consistency.map((c: { from_size: number }) => c.from_size)).toEqual([1, keptSize]);
    const file = join(dir, 'doc-2.bundle.jsonl');
    writeFileSync(file, r.text);
    const report = await verifyBundle(file, {
      publicKeys: [log.public_key],
      checkpoints: [{ note: kept, file: 'kept.checkpoint' }],
    });
    expect(report.findings).toEqual([]);
    expect(report.summary.bundle).toMatchObject({
      consistencyProofs: 2,
      auditorProven: 1,
      auditorUnproven: 0,
    });
    // Without the parameter the same kept checkpoint is not proven by this bundle (no record fixes it).
    const plain = await call(base, 'GET', '/api/v1/tenants/acme/export?format=bundle&resource_id=doc-2', {
      key: ADMIN,
    });
    expect(plain.text).not.toContain('"consistency"');
    writeFileSync(file, plain.text);
    const unproven = await verifyBundle(file, {
      publicKeys: [log.public_key],
      checkpoints: [{ note: kept, file: 'kept.checkpoint' }],
    });
    expect(unproven.summary.bundle).toMatchObject({ auditorUnproven: 1 });
    // The export is audited with the sizes asked for (the "started" event is durable).
    await server.indexer.catchUp();
    const trail = await call(base, 'GET', '/api/v1/tenants/acme/audit-logs?action=sealog.export&limit=1000', {
      key: ADMIN,
    });
    expect(
      trail.json.records.filter(
        (x: { metadata?: Record<string, unknown> }) => x.metadata?.consistency_from === `1,${keptSize}`,
      ).length,
    ).toBeGreaterThan(0);
  });

  it('answers 400 with the error shape for bad consistency_from values, before streaming', async () => {
    const size = (await call(base, 'GET', '/api/v1/logs', { key: ADMIN })).json[0].tree_size as number;
    for (const [query, reason] of [
      ['format=bundle&consistency_from=0', /integers ≥ 1/],
      ['format=bundle&consistency_from=abc', /pattern|consistency_from/],
      ['format=bundle&consistency_from=1,,2', /pattern|consistency_from/],
      ['format=bundle&consistency_from=-5', /pattern|consistency_from/],
      [`format=bundle&consistency_from=${size + 1000}`, /larger than log .* tree of \d+ leaves/],
      ['format=ndjson&consistency_from=1', /only with format=bundle/],
      ['consistency_from=1', /only with format=bundle/],
    ] as const) {
      const r = await call(base, 'GET', `/api/v1/tenants/acme/export?${query}`, { key: ADMIN });
      expect(r.status, query).toBe(400);
      expect(r.json.error.code, query).toBe('INVALID_REQUEST');
      expect(r.json.error.message, query).toMatch(reason);
      expect(r.json.error.details[0].path, query).toMatch(/consistency_from/);
    }
    const many = Array.from({ length: 65 }, (_, i) => i + 1).join(',');
    const r = await call(base, 'GET', `/api/v1/tenants/acme/export?format=bundle&consistency_from=${many}`, {
      key: ADMIN,
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/at most 64 tree sizes/);
  });

  it('answers 400 for an unknown format or parameter before streaming', async () => {
    expect((await call(base, 'GET', '/api/v1/tenants/acme/export?format=xml', { key: ADMIN })).status).toBe(
      400,
    );
    expect((await call(base, 'GET', '/api/v1/tenants/acme/export?limit=5', { key: ADMIN })).status).toBe(400);
  });
});

describe('audit of reads and erasure', () => {
  it('refuses client events that impersonate the server access trail, storing nothing', async () => {
    const before = (await call(base, 'GET', '/api/v1/logs', { key: ADMIN })).json[0].tree_size;
    for (const [patch, path] of [
      [{ action: 'sealog.export' }, 'action'],
      [{ resource: { type: 'sealog.audit_log', id: 'acme' } }, 'resource.type'],
      [{ actor: { id: 'api-key:key_0123456789abcdef', type: 'service' } }, 'actor.id'],
    ] as const) {
      const r = await call(base, 'POST', '/api/v1/events', {
        key: ADMIN,
        body: { ...acmeEvent(1), event_id: 'forged', ...patch },
      });
      expect(r.status, path).toBe(400);
      expect(r.json.error.details[0]).toMatchObject({ index: 0, path, code: 'reserved' });
    }
    expect((await call(base, 'GET', '/api/v1/logs', { key: ADMIN })).json[0].tree_size).toBe(before);
  });

  it("records API key creation and revocation durably in the key's tenant (or sealog.system for *)", async () => {
    const created = await call(base, 'POST', '/api/v1/admin/api-keys', {
      key: ADMIN,
      body: { tenant_id: 'acme', roles: ['read'] },
    });
    const revoked = await call(base, 'DELETE', `/api/v1/admin/api-keys/${created.json.key_id}`, {
      key: ADMIN,
    });
    expect(revoked.status).toBe(200);
    const all = await call(base, 'POST', '/api/v1/admin/api-keys', {
      key: ADMIN,
      body: { tenant_id: '*', roles: ['read'] },
    });
    await server.indexer.catchUp();
    const acme = await call(base, 'GET', '/api/v1/tenants/acme/audit-logs?category=admin&limit=1000', {
      key: ADMIN,
    });
    const mine = acme.json.records.filter(
      (r: { metadata?: Record<string, unknown> }) => r.metadata?.key_id === created.json.key_id,
    );
    expect(mine.map((r: { action: string }) => r.action).sort()).toEqual([
      'sealog.api_key.create',
      'sealog.api_key.revoke',
    ]);
    expect(JSON.stringify(mine)).not.toContain(created.json.key);
    const system = await call(
      base,
      'GET',
      '/api/v1/tenants/sealog.system/audit-logs?action=sealog.api_key.create',
      {
        key: ADMIN,
      },
    );
    expect(system.json.records.map((r: { metadata: { key_id: string } }) => r.metadata.key_id)).toContain(
      all.json.key_id,
    );
  });

  it('lets only keys with read filter an export by actor', async () => {
    const exporter = await key('acme', ['export']);
    const r = await call(base, 'GET', '/api/v1/tenants/acme/export?format=bundle&actor_id=bob-7q2m', {
      key: exporter,
    });
    expect(r.status).toBe(403);
  });

  it('records every search as an event of the tenant, with the filter but no personal data', async () => {
    const reader = await key('acme', ['read']);
    const r = await call(base, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=carol-5x8n&limit=3', {
      key: reader,
    });
    expect(r.status).toBe(200);
    await server.indexer.catchUp();
    // Accepted access events become durable and indexed shortly after.
    let found: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      await server.indexer.catchUp();
      const s = await call(
        base,
        'GET',
        '/api/v1/tenants/acme/audit-logs?action=sealog.audit_logs.search&limit=1000',
        {
          key: ADMIN,
        },
      );
      found = s.json.records.filter(
        (x: { metadata?: Record<string, unknown> }) =>
          x.metadata?.count === 3 && x.metadata['filter.actor_token'] !== undefined,
      );
      if (found.length === 0) await new Promise((res) => setTimeout(res, 50));
    }
    expect(found.length).toBeGreaterThan(0);
    const ev = found[0]! as {
      actor: { id: string; type: string };
      metadata: Record<string, unknown>;
      resource: unknown;
    };
    expect(ev.actor.type).toBe('service');
    expect(ev.actor.id).toMatch(/^api-key:/);
    expect(ev.metadata['filter.actor_token']).toMatch(/^[0-9a-f]{32}$/);
    // Who accessed also outside the (erasable) personal fields.
    expect(ev.metadata['sealog.actor']).toBe(ev.actor.id);
    expect(JSON.stringify(ev.metadata)).not.toContain('carol');
  });

  it('erases a subject: 200 with the erasure event, records read [erased], proofs still verify, actor search finds nothing', async () => {
    const eraser = await key('acme', ['erase']);
    expect(
      (
        await call(base, 'POST', '/api/v1/tenants/acme/subjects/carol-5x8n/erase', {
          key: await key('acme', ['read']),
        })
      ).status,
    ).toBe(403);
    const r = await call(base, 'POST', '/api/v1/tenants/acme/subjects/carol-5x8n/erase', { key: eraser });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ erased: true, subject: 'carol-5x8n' });
    expect(typeof r.json.event_id).toBe('string');
    const ev = await call(base, 'GET', '/api/v1/tenants/acme/events/acme-2', { key: ADMIN });
    expect(ev.status).toBe(200);
    expect(ev.json.record.actor.id).toBe('[erased]');
    expect(ev.json.record.actor.email).toBe('[erased]');
    expect(ev.json.record.context.ip).toBe('[erased]');
    const logs = (await call(base, 'GET', '/api/v1/logs', { key: ADMIN })).json;
    const cp = openCheckpoint(ev.json.proof.checkpoint, [logs[0].public_key]).checkpoint;
    const proof = ev.json.proof.inclusion.map((h: string) => new Uint8Array(Buffer.from(h, 'hex')));
    expect(
      verifyInclusion(
        Buffer.from(ev.json.proof.leaf_hash, 'hex'),
        ev.json.proof.leaf_index,
        cp.size,
        proof,
        cp.rootHash,
      ),
    ).toBe(true);
    const s = await call(base, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=carol-5x8n', { key: ADMIN });
    expect(s.json.records).toEqual([]);
    // No other way finds them by actor either: a bundle by actor id holds none of them.
    const bundle = await call(base, 'GET', '/api/v1/tenants/acme/export?format=bundle&actor_id=carol-5x8n', {
      key: ADMIN,
    });
    expect(bundle.status).toBe(200);
    expect(bundle.text.split('\n').filter((l) => l.includes('"type":"record"'))).toEqual([]);
    // The key holders of the access trail cannot be erased.
    const trail = await call(
      base,
      'POST',
      '/api/v1/tenants/acme/subjects/api-key:key_0123456789abcdef/erase',
      {
        key: eraser,
      },
    );
    expect(trail.status).toBe(400);
    // The erasure event is durable and names the subject only by blind token.
    await server.indexer.catchUp();
    const erasure = await call(base, 'GET', `/api/v1/tenants/acme/events/${r.json.event_id}`, { key: ADMIN });
    expect(erasure.status).toBe(200);
    expect(erasure.json.record.action).toBe('sealog.subject.erase');
    expect(JSON.stringify(erasure.json.record)).not.toContain('carol');
  });

  it('keeps personal data out of the index database', async () => {
    await server.indexer.catchUp();
    const indexDir = join(dir, 'index');
    for (const name of readdirSync(indexDir)) {
      const bytes = readFileSync(join(indexDir, name));
      for (const needle of ['alice-9f3k', 'bob-7q2m', '@corp.example', '198.51.100.23']) {
        expect(bytes.includes(needle), `${needle} in ${name}`).toBe(false);
      }
    }
  });
});

describe('with an index that lags (polled once a minute)', () => {
  const lagDir = mkdtempSync(join(tmpdir(), 'sealog-lag-'));
  let lag: RunningServer;
  beforeAll(async () => {
    lag = await startServer(
      resolveServeConfig({ dataDir: lagDir, port: '0', grpcPort: '0' }, { SEALOG_ADMIN_KEY: ADMIN }),
      {
        logger: false,
        onNotice: () => {},
        processMetrics: false,
        indexerOptions: { pollIntervalMs: 60_000 },
      },
    );
  });
  afterAll(async () => {
    await lag?.close();
    rmSync(lagDir, { recursive: true, force: true });
  });

  it('finds an event that is durable but not yet indexed (GET …/events/{id})', async () => {
    const r = await call(lag.url, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: { ...acmeEvent(99), event_id: 'fresh-1' },
    });
    expect(r.status).toBe(200);
    expect(lag.indexer.lag().records).toBeGreaterThan(0);
    const got = await call(lag.url, 'GET', '/api/v1/tenants/acme/events/fresh-1', { key: ADMIN });
    expect(got.status, got.text).toBe(200);
    expect(got.json.record.leaf_index).toBe(r.json.results[0].leaf_index);
    const metrics = await call(lag.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/^sealog_index_lag_records [1-9]/m);
    expect(metrics.text).toMatch(/^sealog_index_writer_restarts 0$/m);
  });

  it('reports broken_at when the history the index lists skips a record of the entity chain', async () => {
    const events = Array.from({ length: 5 }, (_, i) => ({
      ...acmeEvent(i),
      event_id: `chain-${i}`,
      resource: { type: 'invoice', id: 'inv-1' },
    }));
    const r = await call(lag.url, 'POST', '/api/v1/events', { key: ADMIN, body: { events } });
    expect(r.status).toBe(200);
    const leaves = r.json.results.map((x: { leaf_index: number }) => x.leaf_index) as number[];
    await lag.indexer.catchUp();
    const whole = await call(lag.url, 'GET', '/api/v1/tenants/acme/resources/invoice/inv-1/history', {
      key: ADMIN,
    });
    expect(whole.json.chain).toEqual({ verified: true, length: 5, broken_at: null });
    // Rebuild the (derived) index with the third record filed under another resource: the
    // history then skips it, and the fourth record's link no longer meets the one before it.
    const size = lag.ledger.log('default').treeSize;
    const all = await lag.ledger.readMany(
      'default',
      Array.from({ length: size }, (_, i) => i),
    );
    await lag.index.reset();
    await lag.index.insert(
      all.map((x) => {
        const row = indexRowOf(x.logId, x.leafIndex, x.record);
        return x.leafIndex === leaves[2] ? { ...row, resourceId: 'inv-9' } : row;
      }),
      new Map([['default', size]]),
    );
    const broken = await call(lag.url, 'GET', '/api/v1/tenants/acme/resources/invoice/inv-1/history', {
      key: ADMIN,
    });
    expect(broken.status).toBe(200);
    expect(broken.json.chain).toEqual({ verified: false, length: 4, broken_at: leaves[3] });
    await lag.indexer.reindex();
    const again = await call(lag.url, 'GET', '/api/v1/tenants/acme/resources/invoice/inv-1/history', {
      key: ADMIN,
    });
    expect(again.json.chain).toEqual({ verified: true, length: 5, broken_at: null });
  });

  it('keeps an erased subject unsearchable when the index file is deleted and rebuilt', async () => {
    const erased = await call(lag.url, 'POST', '/api/v1/tenants/acme/subjects/alice-9f3k/erase', {
      key: ADMIN,
    });
    expect(erased.status).toBe(200);
    await lag.close();
    rmSync(join(lagDir, 'index'), { recursive: true, force: true });
    lag = await startServer(resolveServeConfig({ dataDir: lagDir, port: '0', grpcPort: '0' }, {}), {
      logger: false,
      onNotice: () => {},
      processMetrics: false,
    });
    await lag.indexer.catchUp();
    const alice = await call(lag.url, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=alice-9f3k', {
      key: ADMIN,
    });
    expect(alice.status).toBe(200);
    expect(alice.json.records).toEqual([]);
    const bob = await call(lag.url, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=bob-7q2m', {
      key: ADMIN,
    });
    expect(bob.json.records.length).toBeGreaterThan(0);
  });
});

describe('search scan budget (index.max_scan_rows)', () => {
  it('pages a rare filter the index cannot narrow in bounded steps, finding every record', async () => {
    const small = mkdtempSync(join(tmpdir(), 'sealog-read-budget-'));
    const config = resolveServeConfig(
      { dataDir: small, port: '0', grpcPort: '0' },
      { SEALOG_ADMIN_KEY: ADMIN },
    );
    const s = await startServer(
      { ...config, index: { maxScanRows: 7 } },
      { logger: false, onNotice: () => {}, processMetrics: false },
    );
    try {
      const a = await call(s.url, 'POST', '/api/v1/events', { key: ADMIN, body: { events: ACME } });
      expect(a.status).toBe(200);
      for (
        let i = 0;
        i < 100 &&
        (await call(s.url, 'GET', '/api/v1/tenants/acme/audit-logs?limit=1000', { key: ADMIN })).json.records
          .length < 60;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // `result` alone: checked on 7 index entries per page, newest first.
      const first = await call(s.url, 'GET', '/api/v1/tenants/acme/audit-logs?result=failure&limit=50', {
        key: ADMIN,
      });
      expect(first.status).toBe(200);
      expect(first.json.records.length).toBeLessThan(50);
      expect(first.json.next_cursor).not.toBeNull();
      const prevBase = base;
      base = s.url;
      try {
        const all = await allPages('/api/v1/tenants/acme/audit-logs?result=failure&limit=50', ADMIN);
        expect(all).toEqual(expectIds((e) => e.result === 'failure').reverse());
      } finally {
        base = prevBase;
      }
    } finally {
      await s.close();
      rmSync(small, { recursive: true, force: true });
    }
  });
});

describe('erasure interrupted before the index update (crash window)', () => {
  it('reaches the index when the durable erasure event is indexed, and after a rebuild', async () => {
    const own = mkdtempSync(join(tmpdir(), 'sealog-read-erase-'));
    const config = resolveServeConfig(
      { dataDir: own, port: '0', grpcPort: '0' },
      { SEALOG_ADMIN_KEY: ADMIN },
    );
    const options = { logger: false, onNotice: () => {}, processMetrics: false } as const;
    let s = await startServer(config, options);
    const actorHits = async () =>
      (
        await call(s.url, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=bob-7q2m&limit=1000', {
          key: ADMIN,
        })
      ).json.records.length as number;
    try {
      expect(
        (await call(s.url, 'POST', '/api/v1/events', { key: ADMIN, body: { events: ACME } })).status,
      ).toBe(200);
      await s.indexer.catchUp();
      expect(await actorHits()).toBe(20);
      // What the erase route does, minus its last step (index.eraseSubject), as if the process died
      // right after the shred: the durable erasure event, then the key shred.
      const token = s.ledger.keyMaterial.subjectToken('acme', 'bob-7q2m');
      await s.ledger.append(
        [
          {
            tenant_id: 'acme',
            occurred_at: Date.now(),
            actor: { id: 'api-key:test', type: 'service' },
            action: 'sealog.subject.erase',
            category: 'delete',
            resource: { type: 'sealog.audit_log', id: 'acme' },
            metadata: { subject_token: Buffer.from(token).toString('hex'), key_existed: true },
          },
        ],
        { wait: 'durable' },
      );
      await s.ledger.eraseSubject('acme', 'bob-7q2m');
      await s.indexer.catchUp();
      expect(await actorHits()).toBe(0);
      // A client cannot announce erasures: sealog.* actions are refused at ingest.
      const forged = await call(s.url, 'POST', '/api/v1/events', {
        key: ADMIN,
        body: {
          ...acmeEvent(1),
          event_id: 'forged',
          action: 'sealog.subject.erase',
          metadata: { subject_token: 'ab'.repeat(16) },
        },
      });
      expect(forged.status).toBe(400);
      // The index file lost and rebuilt from the logs (sealog reindex): the erasure is replayed.
      await s.close();
      rmSync(join(own, 'index'), { recursive: true, force: true });
      s = await startServer(config, options);
      await s.indexer.catchUp();
      expect(await actorHits()).toBe(0);
      expect(
        (
          await call(s.url, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=alice-9f3k&limit=1000', {
            key: ADMIN,
          })
        ).json.records.length,
      ).toBe(20);
    } finally {
      await s.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});

describe('a subject erased and then seen again', () => {
  it('is found by actor for its new events only, live and after the index is rebuilt from the logs', async () => {
    const own = mkdtempSync(join(tmpdir(), 'sealog-read-again-'));
    const config = resolveServeConfig(
      { dataDir: own, port: '0', grpcPort: '0' },
      { SEALOG_ADMIN_KEY: ADMIN },
    );
    const options = { logger: false, onNotice: () => {}, processMetrics: false } as const;
    let s = await startServer(config, options);
    const bobIds = async (): Promise<string[]> => {
      const r = await call(s.url, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=bob-7q2m&limit=1000', {
        key: ADMIN,
      });
      expect(r.status, r.text).toBe(200);
      return ids(r.json.records).sort();
    };
    const again = [0, 1].map((i) => ({ ...acmeEvent(1), event_id: `bob-again-${i}` }));
    try {
      expect(
        (await call(s.url, 'POST', '/api/v1/events', { key: ADMIN, body: { events: ACME } })).status,
      ).toBe(200);
      await s.indexer.catchUp();
      expect(await bobIds()).toHaveLength(20);
      const erased = await call(s.url, 'POST', '/api/v1/tenants/acme/subjects/bob-7q2m/erase', {
        key: ADMIN,
      });
      expect(erased.status, erased.text).toBe(200);
      expect(await bobIds()).toEqual([]);
      // The same actor in new events: a new subject key, the same blind token.
      expect(
        (await call(s.url, 'POST', '/api/v1/events', { key: ADMIN, body: { events: again } })).status,
      ).toBe(200);
      await s.indexer.catchUp();
      expect(await bobIds()).toEqual(['bob-again-0', 'bob-again-1']);
      const fresh = await call(s.url, 'GET', '/api/v1/tenants/acme/events/bob-again-0', { key: ADMIN });
      expect(fresh.json.record.actor.id).toBe('bob-7q2m');
      const old = await call(s.url, 'GET', '/api/v1/tenants/acme/events/acme-1', { key: ADMIN });
      expect(old.json.record.actor.id).toBe('[erased]');
      // The index file lost and rebuilt from the logs: the erasure event replays with its horizon.
      await s.close();
      rmSync(join(own, 'index'), { recursive: true, force: true });
      s = await startServer(config, options);
      await s.indexer.catchUp();
      expect(await bobIds()).toEqual(['bob-again-0', 'bob-again-1']);
      // Every record stays findable by the other filters.
      const docs = await call(
        s.url,
        'GET',
        '/api/v1/tenants/acme/audit-logs?resource_type=document&limit=1000',
        {
          key: ADMIN,
        },
      );
      expect(docs.json.records).toHaveLength(62);
    } finally {
      await s.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});

describe('bundle export through the search index', () => {
  it('reads only the index hits plus the unindexed tail, and falls back to a scan when it must', async () => {
    const own = mkdtempSync(join(tmpdir(), 'sealog-read-bundle-'));
    const config = resolveServeConfig(
      { dataDir: own, port: '0', grpcPort: '0' },
      { SEALOG_ADMIN_KEY: ADMIN },
    );
    const s = await startServer(config, { logger: false, onNotice: () => {}, processMetrics: false });
    const bobRecords = async (): Promise<number> => {
      const r = await call(s.url, 'GET', '/api/v1/tenants/acme/export?format=bundle&actor_id=bob-7q2m', {
        key: ADMIN,
      });
      expect(r.status, r.text.slice(0, 300)).toBe(200);
      const file = join(own, `bob-${Date.now()}.jsonl`);
      writeFileSync(file, r.text);
      const logs = (await call(s.url, 'GET', '/api/v1/logs', { key: ADMIN })).json;
      expect((await verifyBundle(file, { publicKeys: [logs[0].public_key] })).findings).toEqual([]);
      return r.text.split('\n').filter((l) => l.includes('"type":"record"')).length;
    };
    const filler = Array.from({ length: 200 }, (_, i) => ({
      ...acmeEvent(i),
      event_id: `filler-${i}`,
      actor: { id: 'dave-1x2y', type: 'user' },
    }));
    try {
      for (const events of [ACME, filler]) {
        expect((await call(s.url, 'POST', '/api/v1/events', { key: ADMIN, body: { events } })).status).toBe(
          200,
        );
      }
      await s.indexer.catchUp();
      // The indexer follows the log with iterate() too: stopped, only the export reads.
      await s.indexer.stop();
      const log = s.ledger.log('default');
      const iterate = vi.spyOn(log, 'iterate');
      const readMany = vi.spyOn(log, 'readMany');
      expect(await bobRecords()).toBe(20);
      expect(iterate).not.toHaveBeenCalled();
      expect(readMany).toHaveBeenCalled();
      // Records the index has not seen yet are read too (the tail past its watermark).
      const more = Array.from({ length: 3 }, (_, i) => ({ ...acmeEvent(1), event_id: `more-${i}` }));
      expect(
        (await call(s.url, 'POST', '/api/v1/events', { key: ADMIN, body: { events: more } })).status,
      ).toBe(200);
      expect(await bobRecords()).toBe(23);
      expect(iterate).not.toHaveBeenCalled();
      // Erased, then seen again: the index dropped the token for good, so the bundle scans.
      expect(
        (await call(s.url, 'POST', '/api/v1/tenants/acme/subjects/bob-7q2m/erase', { key: ADMIN })).status,
      ).toBe(200);
      const again = { ...acmeEvent(1), event_id: 'bob-again' };
      expect((await call(s.url, 'POST', '/api/v1/events', { key: ADMIN, body: again })).status).toBe(200);
      expect(await bobRecords()).toBe(1);
      expect(iterate).toHaveBeenCalled();
    } finally {
      await s.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
