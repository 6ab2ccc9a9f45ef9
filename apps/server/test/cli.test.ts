import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedger } from '@sealog/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'sealog-cli-'));

function sealog(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=@sealog/source', '--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  const ledger = await createLedger({ dir, onNotice: () => {} });
  await ledger.append(
    Array.from({ length: 200 }, (_, i) => ({
      tenant_id: 'acme',
      occurred_at: 1_795_428_000_000 + i,
      action: 'document.read',
      actor: { id: `u${i % 7}`, type: 'user' },
      resource: { type: 'document', id: `d${i % 5}` },
    })),
  );
  await ledger.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sealog verify (CLI, real process)', () => {
  it('exits 0 on an untouched data dir and prints the summary', () => {
    const r = sealog('verify', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/VERIFIED .*200 leaves/);
  });

  it('prints the report as JSON with --json', () => {
    const r = sealog('verify', dir, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, findings: [] });
  });

  it('exits 2 on usage errors', () => {
    expect(sealog('verify').code).toBe(2);
    expect(sealog('verify', join(dir, 'does-not-exist')).code).toBe(2);
  });

  it('exits 1 and names the file and offset when a segment byte changed', () => {
    const seg = join(dir, 'logs', 'default', '0000000001.seg');
    const original = readFileSync(seg);
    const tampered = Buffer.from(original);
    tampered[original.length - 40] = tampered[original.length - 40]! ^ 0x01;
    writeFileSync(seg, tampered);
    try {
      const r = sealog('verify', dir);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain('0000000001.seg @ 0x');
    } finally {
      writeFileSync(seg, original);
    }
  });
});
