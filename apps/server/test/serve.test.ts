import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, event } from './helpers';

const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');
const NODE_ARGS = ['--conditions=@sealog/source', '--import', 'tsx', CLI];
const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sealog-serve-'));
  dirs.push(d);
  return d;
}

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  exit: Promise<number | null>;
}

/** Starts `sealog serve` as a real process on a free port; resolves once it printed its URL. */
function serve(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(
    process.execPath,
    [...NODE_ARGS, 'serve', '--data-dir', dataDir, '--port', '0', '--grpc-port', '0'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  let err = '';
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /sealog listening on (http:\/\/\S+)/.exec(out);
      if (m !== null && out.includes('Try:')) resolve({ child, url: m[1]!, stdout: () => out, exit });
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    void exit.then((code) => reject(new Error(`server exited ${code} before ready: ${err}`)));
  });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('sealog serve (real process)', () => {
  it('prints the admin key once, drains on SIGTERM with exit 0, and keeps numbering after a restart', async () => {
    const dir = tempDir();
    const first = await serve(dir);
    const key = /Admin API key \(shown once[^\n]*\n\s+(\S+)/.exec(first.stdout())?.[1];
    expect(key).toMatch(/^sealog_[A-Za-z0-9_-]{43}$/);
    expect(first.stdout()).toContain(
      `curl -sS -X POST '${first.url}/api/v1/events' -H "Authorization: Bearer ${key}"`,
    );
    expect(first.stdout()).toContain(
      `curl -sS '${first.url}/api/v1/tenants/acme/audit-logs?actor_id=u-7' -H "Authorization: Bearer ${key}"`,
    );
    const a = await call(first.url, 'POST', '/api/v1/events', {
      key: key!,
      body: { events: [event(0), event(1), event(2)] },
    });
    expect(a.json.results.map((r: { leaf_index: number }) => r.leaf_index)).toEqual([0, 1, 2]);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    // The request log never holds the key or event contents.
    const logLines = first
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(key!);
    expect(first.stdout()).not.toContain('example.com');

    const second = await serve(dir);
    expect(second.stdout()).not.toContain('Admin API key');
    const b = await call(second.url, 'POST', '/api/v1/events', { key: key!, body: event(3) });
    expect(b.status).toBe(200);
    expect(b.json.results[0].leaf_index).toBe(3);
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  }, 60_000);

  it('takes SEALOG_ADMIN_KEY as the admin key at first start without printing it', async () => {
    const dir = tempDir();
    const admin = 'env-admin-key-0123456789abcdef';
    const s = await serve(dir, { SEALOG_ADMIN_KEY: admin });
    expect(s.stdout()).not.toContain(admin);
    expect(s.stdout()).toContain('SEALOG_ADMIN_KEY');
    expect((await call(s.url, 'POST', '/api/v1/events', { key: admin, body: event(0) })).status).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  }, 60_000);

  it('exits 2 with a clear message on invalid configuration', () => {
    const r = spawnSync(
      process.execPath,
      [...NODE_ARGS, 'serve', '--data-dir', tempDir(), '--port', 'http'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port: expected a port 0..65535, got "http"');
    const e = spawnSync(process.execPath, [...NODE_ARGS, 'serve', '--data-dir', tempDir()], {
      encoding: 'utf8',
      env: { ...process.env, SEALOG_ADMIN_KEY: 'short', SEALOG_PORT: '0' },
    });
    expect(e.status).toBe(2);
    expect(e.stderr).toContain('SEALOG_ADMIN_KEY');
  }, 60_000);
});
