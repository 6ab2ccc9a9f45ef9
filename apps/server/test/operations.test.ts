import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../src/config';
import { type RunningServer, type StartOptions, startServer } from '../src/serve';
import { call, event } from './helpers';

const ADMIN = 'test-admin-key-0123456789abcdef';
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealog-ops-'));
  dirs.push(dir);
  return dir;
}

function start(dir: string, options: StartOptions = {}): Promise<RunningServer> {
  return startServer(
    resolveServeConfig({ dataDir: dir, port: '0', grpcPort: '0' }, { SEALOG_ADMIN_KEY: ADMIN }),
    {
      logger: false,
      onNotice: () => {},
      ...options,
    },
  );
}

/** The value of one sample line `name{labels} value` of a Prometheus exposition, if present. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('GET /metrics and GET /openapi.json', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start(tempDir());
  });
  afterAll(async () => {
    await server?.close();
  });

  it('exposes ingest, queue, tree, fsync, request and process metrics without a key', async () => {
    const ok = await call(server.url, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: { events: [event(0), event(1), event(2)] },
    });
    expect(ok.status).toBe(200);
    const bad = await call(server.url, 'POST', '/api/v1/events', {
      key: ADMIN,
      body: event(3, { actor: 7 }),
    });
    expect(bad.status).toBe(400);
    await call(server.url, 'GET', '/api/v1/logs/default/proofs/inclusion?leaf_index=0&tree_size=1', {
      key: ADMIN,
    });

    const r = await call(server.url, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = r.text;
    expect(sample(m, 'sealog_events_total{log="default",status="stored"}')).toBe(3);
    expect(sample(m, 'sealog_events_rejected_total{code="INVALID_EVENT"}')).toBe(1);
    expect(sample(m, 'sealog_ingest_request_events_count')).toBe(1);
    expect(sample(m, 'sealog_ingest_request_events_sum')).toBe(3);
    expect(sample(m, 'sealog_queue_depth{log="default"}')).toBe(0);
    expect(sample(m, 'sealog_tree_size{log="default"}')).toBe(3);
    expect(sample(m, 'sealog_store_frames_total{log="default"}')).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'sealog_store_syncs_total{log="default"}')).toBeGreaterThanOrEqual(1);
    expect(m).toContain('# TYPE sealog_store_fsync_seconds summary');
    expect(sample(m, 'sealog_store_fsync_seconds{log="default",quantile="0.99"}')).toBeGreaterThan(0);
    expect(sample(m, 'sealog_store_fsync_seconds_count{log="default"}')).toBeGreaterThanOrEqual(1);
    expect(
      sample(
        m,
        'sealog_http_request_duration_seconds_count{method="POST",route="/api/v1/events",status_code="200"}',
      ),
    ).toBe(1);
    // Route patterns, never concrete URLs or query strings.
    expect(m).toContain('route="/api/v1/logs/:log_id/proofs/inclusion",status_code="200"');
    expect(m).not.toContain('leaf_index=');
    expect(m).toContain('process_cpu_user_seconds_total');
    expect(m).toContain('nodejs_eventloop_lag_seconds');
    // No audit data: actor ids, emails, tenants and keys never appear.
    for (const secret of ['u0@example.com', 'acme', ADMIN, 'document.read']) expect(m).not.toContain(secret);
  });

  it('serves a valid OpenAPI 3.1 document listing every implemented route', async () => {
    const r = await call(server.url, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = r.json;
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
        'POST /api/v1/events',
        'GET /api/v1/logs',
        'GET /api/v1/logs/{log_id}/checkpoint',
        'GET /api/v1/logs/{log_id}/proofs/inclusion',
        'GET /api/v1/logs/{log_id}/proofs/consistency',
        'POST /api/v1/admin/api-keys',
        'GET /api/v1/admin/api-keys',
        'DELETE /api/v1/admin/api-keys/{key_id}',
        'GET /api/v1/tenants/{tenant_id}/audit-logs',
        'GET /api/v1/tenants/{tenant_id}/events/{event_id}',
        'GET /api/v1/tenants/{tenant_id}/resources/{resource_type}/{resource_id}/history',
        'GET /api/v1/tenants/{tenant_id}/export',
        'POST /api/v1/tenants/{tenant_id}/subjects/{actor_id}/erase',
      ].sort(),
    );
    const ingest = doc.paths['/api/v1/events'].post;
    expect(ingest.security).toEqual([{ apiKey: [] }]);
    expect(ingest.parameters).toEqual([
      {
        name: 'wait',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['durable', 'accepted'] },
      },
    ]);
    expect(Object.keys(ingest.responses).sort()).toEqual(
      ['200', '202', '400', '401', '403', '413', '415', '429', '503'].sort(),
    );
    expect(ingest.responses['429'].headers['Retry-After']).toBeDefined();
    expect(doc.components.schemas.Event.required).toContain('tenant_id');
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    const inclusion = doc.paths['/api/v1/logs/{log_id}/proofs/inclusion'].get;
    expect(inclusion.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'path:log_id',
      'query:leaf_index',
      'query:tree_size',
    ]);
  });
});

describe('backpressure', () => {
  it('answers 429 BACKPRESSURE with Retry-After when the ledger queue is full, storing nothing', async () => {
    const dir = tempDir();
    // A queue of 4 records that is only flushed after a minute (or on close): the 5th must bounce.
    const server = await start(dir, {
      ledgerOptions: { queueMaxRecords: 4, batchMaxWaitMs: 60_000 },
      processMetrics: false,
    });
    try {
      const queued = await call(server.url, 'POST', '/api/v1/events?wait=accepted', {
        key: ADMIN,
        body: { events: [0, 1, 2, 3].map((i) => event(i, { event_id: `q-${i}` })) },
      });
      expect(queued.status).toBe(202);
      expect(server.ledger.log('default').queueDepth()).toBe(4);

      const full = await call(server.url, 'POST', '/api/v1/events', {
        key: ADMIN,
        body: event(9, { event_id: 'bounced' }),
      });
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('1');
      expect(full.json.error.code).toBe('BACKPRESSURE');
      expect(server.ledger.log('default').queueDepth()).toBe(4);
      const metrics = (await call(server.url, 'GET', '/metrics')).text;
      expect(sample(metrics, 'sealog_queue_depth{log="default"}')).toBe(4);
      expect(sample(metrics, 'sealog_events_rejected_total{code="BACKPRESSURE"}')).toBe(1);
    } finally {
      await server.close(); // drains the 4 queued records
    }

    const again = await start(dir, { processMetrics: false });
    try {
      expect((await call(again.url, 'GET', '/api/v1/logs', { key: ADMIN })).json[0].tree_size).toBe(4);
      // Had the bounced event been stored, this would answer "duplicate".
      const r = await call(again.url, 'POST', '/api/v1/events', {
        key: ADMIN,
        body: event(9, { event_id: 'bounced' }),
      });
      expect(r.status).toBe(200);
      expect(r.json.results[0]).toMatchObject({ event_id: 'bounced', status: 'stored', leaf_index: 4 });
    } finally {
      await again.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes the in-flight request and answers 503 + Retry-After to a request arriving while draining', async () => {
    const dir = tempDir();
    // Durable writes wait ~3 s for their batch: long enough to start shutting down meanwhile, even
    // on a loaded machine.
    const server = await start(dir, { ledgerOptions: { batchMaxWaitMs: 3000 }, processMetrics: false });
    const socket = connect(server.port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      raw += chunk;
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const request = (id: string): string => {
      const body = JSON.stringify(event(1, { event_id: id }));
      return (
        `POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      );
    };
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(request('in-flight'));
    for (let i = 0; i < 500 && server.ledger.log('default').queueDepth() === 0; i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(server.ledger.log('default').queueDepth()).toBe(1);

    const closing = server.close();
    // Same (busy, hence not closed) connection, pipelined behind the in-flight request.
    socket.write(request('late'));
    await closing;
    await ended;

    const responses = raw.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(responses[0]).toContain('"event_id":"in-flight","status":"stored"');
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(responses[1]).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(responses[1]).toMatch(/\r\nconnection: close\r\n/i);
    expect(responses[1]).toContain('"code":"UNAVAILABLE"');

    // The acknowledged event survived the drain; the refused one was never stored.
    const again = await start(dir, { processMetrics: false });
    try {
      const r = await call(again.url, 'POST', '/api/v1/events', {
        key: ADMIN,
        body: { events: [event(1, { event_id: 'in-flight' }), event(1, { event_id: 'late' })] },
      });
      expect(r.json.results.map((x: { status: string }) => x.status)).toEqual(['duplicate', 'stored']);
    } finally {
      await again.close();
    }
  });
});
