import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loggableUrl } from '../src/app';
import { resolveServeConfig } from '../src/config';
import { startServer } from '../src/serve';
import { call } from './helpers';

const ADMIN = 'test-admin-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'sealog-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('request log', () => {
  it('cuts query strings and erased actor ids out of logged URLs', () => {
    expect(loggableUrl('/api/v1/tenants/acme/audit-logs?actor_id=alice&limit=5')).toBe(
      '/api/v1/tenants/acme/audit-logs?[redacted]',
    );
    expect(loggableUrl('/api/v1/tenants/acme/subjects/alice%40x.com/erase')).toBe(
      '/api/v1/tenants/acme/subjects/[redacted]/erase',
    );
    expect(loggableUrl('/api/v1/events')).toBe('/api/v1/events');
  });

  it('never writes personal data, bodies or keys while serving ingest, search and erasure', async () => {
    let log = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += chunk.toString();
        done();
      },
    });
    const server = await startServer(
      resolveServeConfig({ dataDir: dir, port: '0', grpcPort: '0' }, { SEALOG_ADMIN_KEY: ADMIN }),
      { logStream: stream, onNotice: () => {}, processMetrics: false },
    );
    try {
      const personal = {
        id: 'mallory-4411',
        type: 'user',
        email: 'mallory@private.example',
        name: 'Mallory Q',
      };
      const ok = await call(server.url, 'POST', '/api/v1/events', {
        key: ADMIN,
        body: {
          tenant_id: 'acme',
          occurred_at: 1,
          action: 'a.b',
          actor: personal,
          resource: { type: 'r', id: '1' },
          context: { ip: '192.0.2.77' },
        },
      });
      expect(ok.status).toBe(200);
      await call(server.url, 'POST', '/api/v1/events', {
        key: ADMIN,
        body: { tenant_id: 'acme', occurred_at: 'x', action: 'a', actor: personal, resource: {} },
      });
      await server.indexer.catchUp();
      await call(server.url, 'GET', '/api/v1/tenants/acme/audit-logs?actor_id=mallory-4411', { key: ADMIN });
      await call(server.url, 'POST', '/api/v1/tenants/acme/subjects/mallory-4411/erase', { key: ADMIN });
    } finally {
      await server.close();
    }
    expect(log).toContain('"url":"/api/v1/tenants/acme/audit-logs?[redacted]"');
    for (const needle of ['mallory', 'private.example', 'Mallory Q', '192.0.2.77', ADMIN]) {
      expect(log, needle).not.toContain(needle);
    }
  });
});
