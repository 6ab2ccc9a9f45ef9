import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { exportBundle, Ledger } from '@sealog/ledger';
import fc from 'fast-check';
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
let keyFile: string;
/** tenant-1's doc-3 (leaves 29, 120, 211 of 300), proofs from 100, 121 and 200: no record fixes 100 or 200. */
let proven: string;
/** Checkpoints of the log, by name; `fork*` of a copy that diverged after leaf 100. */
const cps = new Map<string, string>();
/** Property test: the real checkpoint of each size in SIZES, and a bundle at each proving every smaller one. */
const SIZES = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 50, 63, 64, 65, 100, 127, 128, 129, 200, 255, 256, 257,
  300,
];
const bySize = new Map<number, { checkpoint: string; bundle: string }>();
/** The key of that log (another data dir: another key). */
let grownKey: string;

async function checkpointOf(ledger: Ledger, name: string): Promise<void> {
  await ledger.checkpoint();
  cps.set(name, ledger.log('default').latestCheckpoint()!);
}

async function bundle(
  ledger: Ledger,
  filter: Parameters<typeof exportBundle>[1],
  consistencyFrom: number[],
  name: string,
): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await bundleText(ledger, filter, { consistencyFrom }));
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

function codes(r: VerifyReport): string[] {
  return r.findings.filter((f) => f.severity === 'error').map((f) => f.code);
}

function auditorFindings(r: VerifyReport): Finding[] {
  return r.findings.filter((f) => f.code === 'AUDITOR_CHECKPOINT');
}

/** The bundle at `path` with its header line rewritten by `edit` (the trailer is left alone). */
function editHeader(path: string, name: string, edit: (h: Record<string, unknown>) => void): string {
  const lines = readFileSync(path, 'utf8').split('\n');
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  edit(header);
  lines[0] = JSON.stringify(header);
  const out = join(dir, name);
  writeFileSync(out, lines.join('\n'));
  return out;
}

interface Entry {
  from_size: number;
  from_root: string;
  proof: string[];
}

/** Hex root of a checkpoint note (its third line, base64). */
function rootOf(note: string): string {
  return Buffer.from(note.split('\n')[2]!, 'base64').toString('hex');
}

beforeAll(async () => {
  dir = tempDir();
  const a = join(dir, 'a');
  let ledger = await open(a);
  await append(ledger, 0, 100);
  await checkpointOf(ledger, 'cp100');
  publicKey = ledger.log('default').verifierKey;
  keyFile = join(dir, 'pub.key');
  writeFileSync(keyFile, `${publicKey}\n`);
  await ledger.close();
  cpSync(a, join(dir, 'b'), { recursive: true });
  ledger = await open(a);
  await append(ledger, 100, 121);
  await checkpointOf(ledger, 'cp121');
  await append(ledger, 121, 200);
  await checkpointOf(ledger, 'cp200');
  await append(ledger, 200, 300);
  proven = await bundle(
    ledger,
    { tenantId: 'tenant-1', resourceId: 'doc-3' },
    [121, 100, 200],
    'proven.jsonl',
  );
  cps.set('cp300', ledger.log('default').latestCheckpoint()!);
  await append(ledger, 300, 350);
  await checkpointOf(ledger, 'cp350');
  await ledger.close();
  const fork = await open(join(dir, 'b'));
  await append(fork, 5000, 5021);
  await checkpointOf(fork, 'fork121');
  await append(fork, 5021, 5100);
  await checkpointOf(fork, 'fork200');
  await fork.close();

  // A second log grown size by size; at each size its checkpoint, and a bundle (no record: only
  // the consistency proofs can prove anything) with proofs from every size so far.
  const grown = await open(join(dir, 'grown'));
  let size = 0;
  for (const n of SIZES) {
    await append(grown, size, n);
    size = n;
    await grown.checkpoint();
    const checkpoint = grown.log('default').latestCheckpoint()!;
    const sizes = SIZES.filter((m) => m <= n);
    const path = await bundle(grown, { tenantId: 'nobody' }, sizes, `grown-${n}.jsonl`);
    bySize.set(n, { checkpoint, bundle: path });
  }
  grownKey = grown.log('default').verifierKey;
  await grown.close();
}, 120_000);
afterAll(cleanTemps);

describe('bundle consistency proofs', () => {
  it('proves kept smaller checkpoints that no record of the bundle fixes', async () => {
    const r = await check(proven, ['cp100', 'cp121', 'cp200', 'cp300']);
    expect(r.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.summary.bundle).toMatchObject({
      treeSize: 300,
      records: 3,
      auditorProven: 4,
      auditorUnproven: 0,
      consistencyProofs: 3,
    });
    expect(r.summary.checkpoints).toBe(5);
    // No kept checkpoint: the proofs are still checked (against their stated roots).
    expect((await verifyBundle(proven, { publicKeys: [publicKey] })).ok).toBe(true);
  });

  it('exits 0 from the CLI with kept checkpoints the proofs cover', async () => {
    const c = captureIO();
    expect(
      await runVerifyCommand(
        [proven, '--key', keyFile, '--checkpoint', file('cp100'), '--checkpoint', file('cp200')],
        c.io,
      ),
    ).toBe(0);
    expect(c.stdout).toMatch(
      /^VERIFIED .*3 consistency proof\(s\), your checkpoints: 2 proven, 0 NOT proven/m,
    );
  });

  it('fails a kept checkpoint of a forked log, naming both roots', async () => {
    for (const [name, size] of [
      ['fork121', 121],
      ['fork200', 200],
    ] as const) {
      const r = await check(proven, [name]);
      expect(r.ok, name).toBe(false);
      const [e] = auditorFindings(r);
      expect(e).toMatchObject({
        severity: 'error',
        file: `${name}.checkpoint`,
        leafIndex: size,
        expected: rootOf(cps.get(name)!),
        found: rootOf(cps.get(`cp${size}`)!),
      });
      expect(e!.message).toMatch(
        /consistency proof from size \d+ fixes that tree's root as .*forked or rewritten log/,
      );
      // The bundle itself is sound.
      expect(codes(r)).toEqual(['AUDITOR_CHECKPOINT']);
    }
    const c = captureIO();
    expect(await runVerifyCommand([proven, '--key', keyFile, '--checkpoint', file('fork121')], c.io)).toBe(1);
    expect(c.stdout).toMatch(/^ERROR AUDITOR_CHECKPOINT .*forked or rewritten log/m);
  });

  it('fails tampered proof bytes and a tampered stated root, with or without a kept checkpoint', async () => {
    const flipped = editHeader(proven, 'flipped.jsonl', (h) => {
      const e = (h.consistency as Entry[])[1]!;
      e.proof[0] = `${e.proof[0]!.slice(0, 10)}${e.proof[0]![10] === '0' ? '1' : '0'}${e.proof[0]!.slice(11)}`;
    });
    const bare = await verifyBundle(flipped, { publicKeys: [publicKey] });
    expect(bare.ok).toBe(false);
    // The proof fails on its own; the trailer's digest and signed summary say the line was edited.
    expect(codes(bare)).toEqual(['BUNDLE_PROOF', 'BUNDLE_DIGEST', 'BUNDLE_SIGNATURE']);
    expect(bare.findings.find((f) => f.code === 'BUNDLE_PROOF')).toMatchObject({ line: 1, leafIndex: 121 });
    const kept = await check(flipped, ['cp121']);
    expect(auditorFindings(kept)[0]!.message).toMatch(
      /NOT proven: the bundle's consistency proof from size 121/,
    );
    expect(kept.summary.bundle).toMatchObject({ auditorProven: 0, consistencyProofs: 2 });

    const rooted = editHeader(proven, 'rooted.jsonl', (h) => {
      (h.consistency as Entry[])[0]!.from_root = rootOf(cps.get('fork121')!);
    });
    expect(codes(await verifyBundle(rooted, { publicKeys: [publicKey] }))).toEqual([
      'BUNDLE_PROOF',
      'BUNDLE_DIGEST',
      'BUNDLE_SIGNATURE',
    ]);
    const c = captureIO();
    expect(await runVerifyCommand([flipped, '--key', keyFile, '--checkpoint', file('cp121')], c.io)).toBe(1);
    expect(c.stdout).toMatch(/^ERROR BUNDLE_PROOF .*consistency proof from size 121/m);
  });

  it('fails a kept checkpoint whose proof was removed, and a bundle whose proofs were all removed', async () => {
    const removed = editHeader(proven, 'removed.jsonl', (h) => {
      h.consistency = (h.consistency as Entry[]).filter((e) => e.from_size !== 100);
    });
    const r = await check(removed, ['cp100']);
    expect(r.ok).toBe(false);
    expect(codes(r).sort()).toEqual(['AUDITOR_CHECKPOINT', 'BUNDLE_DIGEST', 'BUNDLE_SIGNATURE']);
    expect(auditorFindings(r)[0]).toMatchObject({
      severity: 'error',
      leafIndex: 100,
      expected: 'a consistency proof from size 100',
      found: 'from 121, 200',
    });
    const none = editHeader(proven, 'none.jsonl', (h) => {
      delete h.consistency;
    });
    const n = await check(none, ['cp200']);
    expect(codes(n).sort()).toEqual(['AUDITOR_CHECKPOINT', 'BUNDLE_DIGEST', 'BUNDLE_SIGNATURE']);
    expect(auditorFindings(n)[0]!.message).toMatch(/no consistency proof from size 200 \(it has none\)/);
  });

  it('reports a malformed consistency array and still checks the records', async () => {
    for (const [name, edit] of [
      ['unsorted', (c: Entry[]) => c.reverse()],
      ['beyond', (c: Entry[]) => c.push({ from_size: 301, from_root: c[0]!.from_root, proof: [] })],
      [
        'short-hash',
        (c: Entry[]) => {
          c[0]!.proof[0] = 'ab';
        },
      ],
    ] as const) {
      const path = editHeader(proven, `${name}.jsonl`, (h) => edit(h.consistency as Entry[]));
      const r = await check(path, ['cp100']);
      expect(
        r.findings.find((f) => f.code === 'BUNDLE_HEADER'),
        name,
      ).toMatchObject({ line: 1 });
      expect(r.summary.bundle).toMatchObject({ records: 3, consistencyProofs: 0, auditorUnproven: 1 });
    }
  });

  it('still fails a kept checkpoint larger than the bundle’s', async () => {
    const r = await check(proven, ['cp350']);
    expect(r.ok).toBe(false);
    expect(auditorFindings(r)[0]!.message).toMatch(/larger than the bundle's tree of 300/);
  });

  it('property: a proof from any size m ≤ n verifies against the real checkpoint of m; any flipped byte fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SIZES.length - 1 }),
        fc.integer({ min: 0, max: SIZES.length - 1 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (i, j, hashPick, bytePick, xor) => {
          const m = SIZES[Math.min(i, j)]!;
          const n = SIZES[Math.max(i, j)]!;
          const b = bySize.get(n)!;
          const kept = [{ note: bySize.get(m)!.checkpoint, file: `cp${m}` }];
          const honest = await verifyBundle(b.bundle, { publicKeys: [grownKey], checkpoints: kept });
          expect(honest.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
          expect(honest.summary.bundle).toMatchObject({ auditorProven: 1, records: 0 });
          // Flip one byte of the proof from m (from_root when m = n: its proof is empty).
          const path = editHeader(b.bundle, 'flip.jsonl', (h) => {
            const e = (h.consistency as Entry[]).find((c) => c.from_size === m)!;
            const at = e.proof.length === 0 ? -1 : hashPick % e.proof.length;
            const bytes = Buffer.from(at < 0 ? e.from_root : e.proof[at]!, 'hex');
            bytes[bytePick % 32]! ^= xor;
            if (at < 0) e.from_root = bytes.toString('hex');
            else e.proof[at] = bytes.toString('hex');
          });
          const r = await verifyBundle(path, { publicKeys: [grownKey], checkpoints: kept });
          expect(r.ok).toBe(false);
          expect(r.findings.find((f) => f.code === 'BUNDLE_PROOF')).toMatchObject({ line: 1, leafIndex: m });
          // m = n with a flipped from_root: the kept root still equals the bundle's (same size, no proof needed).
          if (m < n) expect(r.summary.bundle).toMatchObject({ auditorProven: 0 });
        },
      ),
      { numRuns: 60 },
    );
  });
});
