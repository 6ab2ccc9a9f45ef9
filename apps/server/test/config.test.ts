import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../src/config';
import { startServer } from '../src/serve';
import { call } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'sealog-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('config file', () => {
  it('applies file settings under env and flags (flags > env > file > defaults)', () => {
    const path = configFile('a.json', { data_dir: 'data', port: 8100, grpc_port: 8101, host: '127.0.0.2' });
    const fromFile = resolveServeConfig({ config: path }, {});
    expect(fromFile).toMatchObject({
      dataDir: join(dir, 'data'),
      port: 8100,
      grpcPort: 8101,
      host: '127.0.0.2',
      configFile: path,
    });
    const envWins = resolveServeConfig({}, { SEALOG_CONFIG: path, SEALOG_PORT: '8200' });
    expect(envWins.port).toBe(8200);
    expect(envWins.grpcPort).toBe(8101);
    const flagWins = resolveServeConfig(
      { config: path, port: '8300', dataDir: '/tmp/x' },
      { SEALOG_PORT: '8200' },
    );
    expect(flagWins).toMatchObject({ port: 8300, dataDir: '/tmp/x' });
  });

  it('runs the ledger with small frames and a frame worker of its own unless configured', () => {
    expect(resolveServeConfig({}, {}).ledger).toMatchObject({ batchMaxRecords: 64, prepareWorkers: 2 });
    const one = configFile('g.json', { ledger: { prepare_workers: 1, batch_max_records: 2048 } });
    expect(resolveServeConfig({ config: one }, {}).ledger).toMatchObject({
      batchMaxRecords: 2048,
      prepareWorkers: 1,
    });
  });

  it('refuses unknown settings, wrong types and bad JSON, naming the file and the path', () => {
    const unknown = configFile('b.json', { ledger: { batch_max_record: 10 } });
    expect(() => resolveServeConfig({ config: unknown }, {})).toThrow(
      `config file ${unknown}: /ledger: unknown setting "batch_max_record"`,
    );
    const wrong = configFile('c.json', { port: 'http', ledger: { batch_max_records: 0 } });
    expect(() => resolveServeConfig({ config: wrong }, {})).toThrow(
      /\/port: must be integer; \/ledger\/batch_max_records: must be >= 1/,
    );
    const noWindow = configFile('e.json', { ledger: { idempotency_window: 0 } });
    expect(() => resolveServeConfig({ config: noWindow }, {})).toThrow(
      /\/ledger\/idempotency_window: must be >= 1/,
    );
    const workers = configFile('f.json', { ledger: { prepare_workers: 3 } });
    expect(() => resolveServeConfig({ config: workers }, {})).toThrow(
      /\/ledger\/prepare_workers: must be equal to one of/,
    );
    const young = configFile('y.json', { ledger: { worker_young_generation_mb: 2 } });
    expect(() => resolveServeConfig({ config: young }, {})).toThrow(/\/ledger\/worker_young_generation_mb/);
    const bad = configFile('d.json', '{"port": 1,');
    expect(() => resolveServeConfig({ config: bad }, {})).toThrow(/not valid JSON/);
    expect(() => resolveServeConfig({ config: join(dir, 'missing.json') }, {})).toThrow(/ENOENT/);
  });

  it('configures logs per retention class and ledger tuning for a real server', async () => {
    const path = configFile('e.json', {
      data_dir: 'served',
      logs: [
        { id: 'default', retention_classes: ['default'] },
        { id: 'pci', retention_classes: ['pci-1y', 'pci-7y'] },
      ],
      ledger: {
        batch_max_wait_ms: 1,
        checkpoint_interval_ms: 500,
        prepare_workers: 2,
        worker_young_generation_mb: 8,
      },
      index: { poll_interval_ms: 20 },
    });
    const config = resolveServeConfig(
      { config: path, port: '0', grpcPort: '0' },
      { SEALOG_ADMIN_KEY: 'admin-key-0123456789abcdef' },
    );
    expect(config.ledger).toMatchObject({
      batchMaxWaitMs: 1,
      checkpointIntervalMs: 500,
      prepareWorkers: 2,
      workerYoungGenerationMb: 8,
    });
    const server = await startServer(config, {
      logger: false,
      onNotice: () => {},
      processMetrics: false,
    });
    try {
      const key = 'admin-key-0123456789abcdef';
      const logs = await call(server.url, 'GET', '/api/v1/logs', { key });
      expect(logs.json.map((l: { log_id: string }) => l.log_id).sort()).toEqual(['default', 'pci']);
      const r = await call(server.url, 'POST', '/api/v1/events', {
        key,
        body: {
          tenant_id: 'acme',
          occurred_at: 1,
          action: 'card.read',
          actor: { id: 'u', type: 'user' },
          resource: { type: 'card', id: 'c1' },
          retention_class: 'pci-7y',
        },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json.results[0].log_id).toBe('pci');
      const unknown = await call(server.url, 'POST', '/api/v1/events', {
        key,
        body: {
          tenant_id: 'acme',
          occurred_at: 1,
          action: 'a',
          actor: { id: 'u', type: 'user' },
          resource: { type: 'r', id: '1' },
          retention_class: 'gold',
        },
      });
      expect(unknown.status).toBe(400);
    } finally {
      await server.close();
    }
  });
});
