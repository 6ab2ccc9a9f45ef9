import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedger } from '@sealog/ledger';
import { verifyBundle } from '@sealog/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../src/api-keys';
import { resolveServeConfig } from '../src/config';
import { startServer } from '../src/serve';
import { call } from './helpers';

const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'sealog-admin-cli-'));
const ADMIN = 'test-admin-key-0123456789abcdef';

function sealog(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=@sealog/source', '--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SEALOG_DATA_DIR: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  await ApiKeyStore.open(dir, ADMIN);
  const ledger = await createLedger({ dir, onNotice: () => {} });
  await ledger.append(
    Array.from({ length: 120 }, (_, i) => ({
      event_id: `e-${i}`,
      tenant_id: i % 2 === 0 ? 'acme' : 'globex',
      occurred_at: 1_795_428_000_000 + i * 1000,
      action: i % 3 === 0 ? 'document.delete' : 'document.read',
      actor: { id: `person-${i % 7}`, type: 'user', email: `person-${i % 7}@corp.example` },
      resource: { type: 'document', id: `d${i % 5}` },
    })),
  );
  await ledger.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sealog reindex / export (offline, real process)', () => {
  it('reindex builds the search index of every durable record', () => {
    const r = sealog('reindex', '--data-dir', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^reindexed 120 records of /);
    expect(existsSync(join(dir, 'index'))).toBe(true);
  });

  it('export writes one tenant as ndjson with filters, csv, and a bundle that verifies', async () => {
    const nd = sealog('export', '--data-dir', dir, '--tenant', 'acme', '--action', 'document.delete');
    expect(nd.code, nd.stderr).toBe(0);
    const lines = nd.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event_id)).toEqual(
      Array.from({ length: 120 }, (_, i) => i)
        .filter((i) => i % 2 === 0 && i % 3 === 0)
        .map((i) => `e-${i}`),
    );
    expect(lines[0].actor.email).toMatch(/@corp\.example$/);
    const bare = sealog('export', '--data-dir', dir, '--tenant', 'acme', '--no-personal', '--format', 'csv');
    expect(bare.code, bare.stderr).toBe(0);
    // Header, 60 events, and the record of the first export (exports are audited too).
    const rows = bare.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(1 + 60 + 1);
    expect(rows.filter((r) => r.includes('sealog.export'))).toHaveLength(1);
    expect(bare.stdout).not.toContain('@corp.example');
    const out = join(dir, 'acme.bundle.jsonl');
    const b = sealog(
      'export',
      '--data-dir',
      dir,
      '--tenant',
      'acme',
      '--format',
      'bundle',
      '--actor-id',
      'person-3',
      '--out',
      out,
    );
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/^exported \d+ records of tenant acme to /);
    const report = await verifyBundle(out);
    expect(report.ok).toBe(true);
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('export --consistency-from adds proofs that let sealog verify prove a kept checkpoint', async () => {
    const ledger = await createLedger({ dir, onNotice: () => {} });
    let kept: string;
    try {
      await ledger.checkpoint();
      kept = ledger.log('default').latestCheckpoint()!;
    } finally {
      await ledger.close();
    }
    const keptSize = Number(kept.split('\n')[1]);
    const keptFile = join(dir, 'kept.checkpoint');
    writeFileSync(keptFile, kept);
    const out = join(dir, 'proven.bundle.jsonl');
    const args = [
      'export',
      '--data-dir',
      dir,
      '--tenant',
      'globex',
      '--format',
      'bundle',
      '--resource-id',
      'd1',
    ];
    const b = sealog(...args, '--consistency-from', `1,${keptSize}`, '--consistency-from', '7', '--out', out);
    expect(b.code, b.stderr).toBe(0);
    const header = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]!);
    expect(header.consistency.map((c: { from_size: number }) => c.from_size)).toEqual([1, 7, keptSize]);
    const ok = sealog('verify', out, '--checkpoint', keptFile);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/3 consistency proof\(s\), your checkpoints: 1 proven, 0 NOT proven/);
    // Without proofs (and no record at the kept size) the kept checkpoint is not proven: exit 1.
    const plain = join(dir, 'plain.bundle.jsonl');
    expect(sealog(...args, '--out', plain).code).toBe(0);
    const unproven = sealog('verify', plain, '--checkpoint', keptFile);
    expect(unproven.code).toBe(1);
    expect(unproven.stdout).toMatch(new RegExp(`ERROR AUDITOR_CHECKPOINT .*consistency-from ${keptSize}`));
    // Bad sizes: exit 2 naming the flag; nothing written.
    for (const [value, message] of [
      ['0', /--consistency-from: expected tree sizes \(integers ≥ 1\)/],
      ['99999999', /consistency_from: 99999999 is larger than log default's tree/],
    ] as const) {
      const bad = sealog(...args, '--consistency-from', value, '--out', join(dir, 'bad.jsonl'));
      expect(bad.code, value).toBe(2);
      expect(bad.stderr, value).toMatch(message);
    }
    const csv = sealog('export', '--data-dir', dir, '--tenant', 'globex', '--consistency-from', '1');
    expect(csv.code).toBe(2);
    expect(csv.stderr).toContain('--consistency-from: only with --format bundle');
  });

  it('exits 2 with a clear message on bad flags, a missing data dir, or a running server', async () => {
    const badFormat = sealog('export', '--data-dir', dir, '--tenant', 'acme', '--format', 'xml');
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('--format: expected ndjson, csv or bundle');
    const noDir = sealog('reindex', '--data-dir', join(dir, 'nope'));
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('no sealog data directory');
    const server = await startServer(resolveServeConfig({ dataDir: dir, port: '0', grpcPort: '0' }, {}), {
      logger: false,
      onNotice: () => {},
      processMetrics: false,
    });
    try {
      const busy = sealog('reindex', '--data-dir', dir);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toMatch(/in use by process \d+.*stop the server first/);
    } finally {
      await server.close();
    }
  });
});

describe('sealog keys (works while the server runs)', () => {
  it('creates, lists and revokes keys; a running server honours both within a second', async () => {
    const server = await startServer(resolveServeConfig({ dataDir: dir, port: '0', grpcPort: '0' }, {}), {
      logger: false,
      onNotice: () => {},
      processMetrics: false,
    });
    try {
      const created = sealog(
        'keys',
        'create',
        '--data-dir',
        dir,
        '--tenant',
        'acme',
        '--roles',
        'read,export',
        '--json',
      );
      expect(created.code, created.stderr).toBe(0);
      const { key, key_id } = JSON.parse(created.stdout) as { key: string; key_id: string };
      const list = sealog('keys', 'list', '--data-dir', dir, '--json');
      expect(JSON.parse(list.stdout)).toContainEqual(
        expect.objectContaining({ key_id, tenant_id: 'acme', roles: ['read', 'export'] }),
      );
      expect(list.stdout).not.toContain('sha256');
      const path = '/api/v1/tenants/acme/audit-logs?limit=1';
      let status = 0;
      for (let i = 0; i < 30 && status !== 200; i++) {
        status = (await call(server.url, 'GET', path, { key })).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      expect(sealog('keys', 'revoke', '--data-dir', dir, key_id).code).toBe(0);
      for (let i = 0; i < 30 && status !== 401; i++) {
        status = (await call(server.url, 'GET', path, { key })).status;
        if (status !== 401) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(401);
      const again = sealog('keys', 'revoke', '--data-dir', dir, key_id);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(`no API key ${key_id}`);
      const badRole = sealog('keys', 'create', '--data-dir', dir, '--tenant', 'acme', '--roles', 'read,root');
      expect(badRole.code).toBe(2);
      expect(badRole.stderr).toContain('unknown: root');
    } finally {
      await server.close();
    }
    expect(readFileSync(join(dir, 'keys', 'api-keys.json'), 'utf8')).not.toContain(ADMIN);
  });
});
