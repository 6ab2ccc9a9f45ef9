import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateNoteKey, signCheckpoint } from '@sealog/crypto-envelope';
import type { exportBundle, Ledger } from '@sealog/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, runVerifyCommand, type VerifyReport, verifyBundle } from '../src/index';
import {
  appendRange as append,
  bundleText,
  captureIO,
  cleanTemps,
  openTestLedger as open,
  tempDir,
} from './support/make-log';

let dir: string;
let publicKey: string;
/** Bundles of the log at size 300: all of tenant-1, and tenant-1's doc-3 (leaves 29, 120, 211). */
let wide: string;
let narrow: string;
/** Checkpoints of the log, by size; `fork*` of a copy that diverged after leaf 100. */
const cps = new Map<string, string>();

async function checkpointOf(ledger: Ledger, name: string): Promise<void> {
  await ledger.checkpoint();
  cps.set(name, ledger.log('default').latestCheckpoint()!);
}

async function bundle(
  ledger: Ledger,
  filter: Parameters<typeof exportBundle>[1],
  name: string,
): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await bundleText(ledger, filter));
  return path;
}

function file(name: string): string {
  const path = join(dir, `${name}.checkpoint`);
  writeFileSync(path, cps.get(name)!);
  return path;
}

async function check(path: string, names: string[]): Promise<VerifyReport> {
  return verifyBundle(path, {
    publicKeys: [publicKey],
    checkpoints: names.map((n) => ({ note: cps.get(n)!, file: `${n}.checkpoint` })),
  });
}

function auditorFindings(r: VerifyReport): Finding[] {
  return r.findings.filter((f) => f.code === 'AUDITOR_CHECKPOINT');
}

beforeAll(async () => {
  dir = tempDir();
  const a = join(dir, 'a');
  let ledger = await open(a);
  await append(ledger, 0, 100);
  await checkpointOf(ledger, 'cp100');
  publicKey = ledger.log('default').verifierKey;
  await ledger.close();
  const b = join(dir, 'b');
  cpSync(a, b, { recursive: true });
  ledger = await open(a);
  await append(ledger, 100, 121);
  await checkpointOf(ledger, 'cp121');
  await append(ledger, 121, 200);
  await checkpointOf(ledger, 'cp200');
  await append(ledger, 200, 300);
  wide = await bundle(ledger, { tenantId: 'tenant-1' }, 'wide.bundle.jsonl');
  narrow = await bundle(ledger, { tenantId: 'tenant-1', resourceId: 'doc-3' }, 'narrow.bundle.jsonl');
  cps.set('cp300', ledger.log('default').latestCheckpoint()!);
  await append(ledger, 300, 350);
  await checkpointOf(ledger, 'cp350');
  await ledger.close();
  // The copy diverges after leaf 100: same key, other records.
  const fork = await open(b);
  await append(fork, 5000, 5021);
  await checkpointOf(fork, 'fork121');
  await append(fork, 5021, 5200);
  await checkpointOf(fork, 'fork300');
  await fork.close();
}, 60_000);
afterAll(cleanTemps);

describe('bundles against checkpoints the auditor kept', () => {
  it('proves equal and smaller trees whose root a record of the bundle fixes', async () => {
    const r = await check(wide, ['cp100', 'cp121', 'cp200', 'cp300']);
    expect(r.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.summary.bundle).toMatchObject({ treeSize: 300, auditorProven: 4, auditorUnproven: 0 });
    expect(r.summary.checkpoints).toBe(5);
    writeFileSync(join(dir, 'pub.key'), `${publicKey}\n`);
    const d = captureIO();
    expect(
      await runVerifyCommand([wide, '--key', join(dir, 'pub.key'), '--checkpoint', file('cp121')], d.io),
    ).toBe(0);
    expect(d.stdout).toMatch(/your checkpoints: 1 proven, 0 NOT proven/);
  });

  it('fails a smaller tree that neither a consistency proof nor a record of the bundle proves', async () => {
    const r = await check(narrow, ['cp100', 'cp121']);
    expect(r.ok).toBe(false);
    expect(r.summary.bundle).toMatchObject({ auditorProven: 1, auditorUnproven: 1 });
    const [e] = auditorFindings(r);
    expect(e).toMatchObject({ severity: 'error', file: 'cp100.checkpoint', leafIndex: 100, found: 'none' });
    expect(e!.message).toMatch(/NOT proven.*no consistency proof from size 100.*consistency_from=100/);
    const c = captureIO();
    expect(await runVerifyCommand([narrow, '--checkpoint', file('cp100')], c.io)).toBe(1);
    expect(c.stdout).toMatch(/^ERROR AUDITOR_CHECKPOINT /m);
    expect(c.stdout).toMatch(/your checkpoints: 0 proven, 1 NOT proven/);
  });

  it('fails a checkpoint of a forked log, of the same size or proven smaller', async () => {
    for (const [path, name, size] of [
      [wide, 'fork300', 300],
      [wide, 'fork121', 121],
      [narrow, 'fork121', 121],
    ] as const) {
      const r = await check(path, [name]);
      expect(r.ok, `${path} ${name}`).toBe(false);
      const [e] = auditorFindings(r);
      expect(e).toMatchObject({ severity: 'error', file: `${name}.checkpoint`, leafIndex: size });
      expect(e!.message).toMatch(/forked or rewritten log/);
    }
    const c = captureIO();
    expect(await runVerifyCommand([wide, '--checkpoint', file('fork300')], c.io)).toBe(1);
  });

  it('fails a larger tree than the bundle’s, and a checkpoint of another log or key', async () => {
    const larger = await check(wide, ['cp350']);
    expect(larger.ok).toBe(false);
    expect(auditorFindings(larger)[0]!.message).toMatch(/larger than the bundle's tree of 300/);
    const other = generateNoteKey('sealog/default');
    const cp = cps.get('cp300')!;
    const lines = cp.split('\n');
    cps.set(
      'foreign',
      signCheckpoint(
        {
          origin: 'sealog/default',
          size: 300,
          rootHash: new Uint8Array(Buffer.from(lines[2]!, 'base64')),
          extensions: [lines[3]!],
        },
        other.signerKey,
      ),
    );
    const foreign = await check(wide, ['foreign']);
    expect(foreign.ok).toBe(false);
    expect(auditorFindings(foreign)[0]!.message).toMatch(/another log or key/);
    // Not a checkpoint at all.
    const junk = await verifyBundle(wide, { checkpoints: [{ note: `${publicKey}\n`, file: 'pub.key' }] });
    expect(auditorFindings(junk)[0]).toMatchObject({ severity: 'error', file: 'pub.key' });
  });
});
