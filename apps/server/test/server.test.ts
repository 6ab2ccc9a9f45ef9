import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint, parseIntegrity } from '@sealog/crypto-envelope';
import { hashLeaf, verifyConsistency, verifyInclusion } from '@sealog/merkle';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEYS_FILE } from '../src/api-keys';
import { resolveServeConfig } from '../src/config';
import { type RunningServer, startServer } from '../src/serve';
import { call, event } from './helpers';

const ADMIN = 'test-admin-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'sealog-server-'));
let server: RunningServer;
let base: string;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

async function treeSize(): Promise<number> {
  const r = await call(base, 'GET', '/api/v1/logs', { key: ADMIN });
  return r.json[0].tree_size;
}

async function newKey(tenant: string, roles: string[]): Promise<string> {
  const r = await call(base, 'POST', '/api/v1/admin/api-keys', {
    key: ADMIN,
    body: { tenant_id: tenant, roles },
  });
  expect(r.status).toBe(200);
  return r.json.key;
}

/** The API's latest checkpoint once it covers at least `min` leaves (signed on a 1 s timer). */
async function checkpointCovering(
  min: number,
  key: string,
): Promise<{ text: string; size: number; root: Uint8Array }> {
  const logs = (await call(base, 'GET', '/api/v1/logs', { key })).json;
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await call(base, 'GET', '/api/v1/logs/default/checkpoint', { key });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const opened = openCheckpoint(r.text, [logs[0].public_key]);
    if (opened.checkpoint.size >= min) {
      return { text: r.text, size: opened.checkpoint.size, root: opened.checkpoint.rootHash };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no checkpoint covering ${min} leaves`);
}

beforeAll(async () => {
  server = await startServer(
    resolveServeConfig({ dataDir: dir, port: '0', grpcPort: '0' }, { SEALOG_ADMIN_KEY: ADMIN }),
    {
      logger: false,
      onNotice: () => {},
    },
  );
  base = server.url;
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /api/v1/events', () => {
  it('stores one event durably and answers its leaf index, verification hash and integrity', async () => {
    const r = await call(base, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: event(0, { event_id: 'evt-1' }),
    });
    expect(r.status).toBe(200);
    const [res] = r.json.results;
    expect(res).toMatchObject({ event_id: 'evt-1', status: 'stored', log_id: 'default', leaf_index: 0 });
    const stored = await server.ledger.read('default', res.leaf_index);
    expect(res.verification_hash).toBe(hex(hashLeaf(stored.leaf)));
    const integrity = parseIntegrity(res.integrity);
    expect(integrity.hashHex).toBe(res.verification_hash);
    expect(integrity.keySetId).toBe('default');
  });

  it('answers a repeated event_id with the original result marked duplicate', async () => {
    const r = await call(base, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: event(0, { event_id: 'evt-1' }),
    });
    expect(r.status).toBe(200);
    expect(r.json.results[0]).toMatchObject({ event_id: 'evt-1', status: 'duplicate', leaf_index: 0 });
  });

  it('stores a batch with contiguous leaf indexes in input order', async () => {
    const before = await treeSize();
    const events = Array.from({ length: 50 }, (_, i) => event(i));
    const r = await call(base, 'POST', '/api/v1/events', { key: ADMIN, body: { events } });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(50);
    r.json.results.forEach(
      (res: { leaf_index: number; status: string; verification_hash: string }, i: number) => {
        expect(res.status).toBe('stored');
        expect(res.leaf_index).toBe(before + i);
        expect(res.verification_hash).toMatch(/^[0-9a-f]{64}$/);
      },
    );
  });

  it('answers 202 with status accepted for wait=accepted', async () => {
    const before = await treeSize();
    const r = await call(base, 'POST', '/api/v1/events?wait=accepted', {
      key: ADMIN,
      body: { events: [event(1), event(2)] },
    });
    expect(r.status).toBe(202);
    for (const res of r.json.results) {
      expect(res.status).toBe('accepted');
      expect(res.verification_hash).toBeUndefined();
      expect(typeof res.event_id).toBe('string');
    }
    // They become durable shortly after (and must not land in the middle of the next test).
    await vi.waitFor(async () => expect(await treeSize()).toBe(before + 2), { timeout: 5000 });
  });

  it('rejects a batch with one invalid event with 400, index and path, and stores nothing', async () => {
    await server.ledger.checkpoint();
    const before = await treeSize();
    const r = await call(base, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: { events: [event(1), event(2, { actor: { id: 'u1', type: 'robot' } }), event(3)] },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('INVALID_EVENT');
    expect(r.json.error.details).toContainEqual(expect.objectContaining({ index: 1, path: 'actor.type' }));
    expect(await treeSize()).toBe(before);
    await server.ledger.checkpoint();
    expect((await checkpointCovering(0, ADMIN)).size).toBe(before);
  });

  it('rejects an unknown top-level field of an event and of the batch envelope', async () => {
    const a = await call(base, 'POST', '/api/v1/events', { key: ADMIN, body: event(1, { colour: 'red' }) });
    expect(a.status).toBe(400);
    expect(a.json.error.details[0]).toMatchObject({ index: 0, path: 'colour' });
    const b = await call(base, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: { events: [event(1)], extra: 1 },
    });
    expect(b.status).toBe(400);
    expect(b.json.error).toMatchObject({ code: 'INVALID_REQUEST', details: [{ path: 'extra' }] });
  });

  it('answers malformed JSON, a non-object body and an unknown wait value with 400', async () => {
    const a = await call(base, 'POST', '/api/v1/events', { key: ADMIN, raw: '{"tenant_id": "acme",' });
    expect(a.status).toBe(400);
    expect(a.json.error.code).toBe('MALFORMED_JSON');
    const b = await call(base, 'POST', '/api/v1/events', { key: ADMIN, body: [event(1)] });
    expect(b.status).toBe(400);
    const c = await call(base, 'POST', '/api/v1/events?wait=never', { key: ADMIN, body: event(1) });
    expect(c.status).toBe(400);
    expect(c.json.error.details[0].path).toBe('wait');
  });

  it('answers 413 for a body over 16 MiB and for more than 10,000 events', async () => {
    const big = JSON.stringify(event(1, { metadata: { blob: 'x'.repeat(17 * 1024 * 1024) } }));
    const a = await call(base, 'POST', '/api/v1/events', { key: ADMIN, raw: big });
    expect(a.status).toBe(413);
    expect(a.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    const events = Array.from({ length: 10_001 }, () => ({}));
    const b = await call(base, 'POST', '/api/v1/events', { key: ADMIN, body: { events } });
    expect(b.status).toBe(413);
  });
});

describe('auth', () => {
  it('answers 401 without a key, with a malformed header and with an unknown key', async () => {
    const a = await call(base, 'POST', '/api/v1/events', { body: event(1) });
    expect(a.status).toBe(401);
    expect(a.json.error.code).toBe('UNAUTHENTICATED');
    expect((await call(base, 'POST', '/api/v1/events', { key: 'nope nope', body: event(1) })).status).toBe(
      401,
    );
    expect((await call(base, 'GET', '/api/v1/logs', { key: 'sealog_unknown' })).status).toBe(401);
  });

  it('answers 403 when an ingest key of tenant A posts an event of tenant B, storing nothing', async () => {
    const key = await newKey('acme', ['ingest']);
    const before = await treeSize();
    const r = await call(base, 'POST', '/api/v1/events', {
      key,
      body: { events: [event(1), event(2, { tenant_id: 'globex' })] },
    });
    expect(r.status).toBe(403);
    expect(r.json.error.details[0]).toMatchObject({ index: 1, path: 'tenant_id' });
    expect(await treeSize()).toBe(before);
    const ok = await call(base, 'POST', '/api/v1/events', { key, body: event(3) });
    expect(ok.status).toBe(200);
  });

  it('answers 403 for a key without the role the route needs', async () => {
    const ingest = await newKey('*', ['ingest']);
    expect((await call(base, 'GET', '/api/v1/logs', { key: ingest })).status).toBe(403);
    const read = await newKey('*', ['read']);
    expect((await call(base, 'POST', '/api/v1/events', { key: read, body: event(1) })).status).toBe(403);
    expect(
      (
        await call(base, 'POST', '/api/v1/admin/api-keys', {
          key: read,
          body: { tenant_id: '*', roles: ['admin'] },
        })
      ).status,
    ).toBe(403);
  });

  it('validates key requests and stores keys hashed in a 0600 file', async () => {
    const bad = await call(base, 'POST', '/api/v1/admin/api-keys', {
      key: ADMIN,
      body: { tenant_id: 'acme', roles: ['root'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].path).toBe('roles.0');
    const key = await newKey('acme', ['read']);
    const file = join(dir, API_KEYS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(ADMIN);
  });
});

describe('logs and proofs', () => {
  it('lists logs and serves proofs that verify against the signed checkpoint', async () => {
    const read = await newKey('*', ['read']);
    const logs = await call(base, 'GET', '/api/v1/logs', { key: read });
    expect(logs.status).toBe(200);
    expect(logs.json[0]).toMatchObject({ log_id: 'default', origin: 'sealog/default' });
    expect(logs.json[0].public_key).toMatch(/^[^+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/);

    const first = await checkpointCovering(1, read);
    const r = await call(base, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: { events: [event(7), event(8)] },
    });
    const target = r.json.results[1];
    const second = await checkpointCovering(target.leaf_index + 1, read);

    const inc = await call(
      base,
      'GET',
      `/api/v1/logs/default/proofs/inclusion?leaf_index=${target.leaf_index}&tree_size=${second.size}`,
      { key: read },
    );
    expect(inc.status).toBe(200);
    expect(inc.json).toMatchObject({ leaf_index: target.leaf_index, tree_size: second.size });
    const proof = inc.json.proof.map(unhex);
    expect(
      verifyInclusion(unhex(target.verification_hash), target.leaf_index, second.size, proof, second.root),
    ).toBe(true);

    const con = await call(
      base,
      'GET',
      `/api/v1/logs/default/proofs/consistency?first=${first.size}&second=${second.size}`,
      { key: read },
    );
    expect(con.status).toBe(200);
    expect(
      verifyConsistency(first.size, second.size, con.json.proof.map(unhex), first.root, second.root),
    ).toBe(true);
  });

  it('answers 400 for bad numbers and 404 for an unknown log', async () => {
    const read = await newKey('*', ['read']);
    const size = await treeSize();
    for (const q of [
      'leaf_index=x&tree_size=1',
      'leaf_index=-1&tree_size=1',
      'leaf_index=1.5&tree_size=2',
      'tree_size=1',
      `leaf_index=0&tree_size=${size + 1}`,
      'leaf_index=3&tree_size=3',
    ]) {
      const r = await call(base, 'GET', `/api/v1/logs/default/proofs/inclusion?${q}`, { key: read });
      expect(r.status, q).toBe(400);
      expect(r.json.error.code).toBe('INVALID_REQUEST');
    }
    for (const q of ['first=0&second=1', 'first=3&second=2', `first=1&second=${size + 1}`]) {
      expect(
        (await call(base, 'GET', `/api/v1/logs/default/proofs/consistency?${q}`, { key: read })).status,
        q,
      ).toBe(400);
    }
    const missing = await call(base, 'GET', '/api/v1/logs/nope/checkpoint', { key: read });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('UNKNOWN_LOG');
    expect(
      (await call(base, 'GET', '/api/v1/logs/nope/proofs/inclusion?leaf_index=0&tree_size=1', { key: read }))
        .status,
    ).toBe(404);
  });

  it('answers probes without a key', async () => {
    expect((await call(base, 'GET', '/healthz')).status).toBe(200);
    expect((await call(base, 'GET', '/readyz')).status).toBe(200);
    expect((await call(base, 'GET', '/nothing-here')).json.error.code).toBe('NOT_FOUND');
  });
});
