import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateNoteKey, openNote, signCheckpoint, signNote } from '@sealog/crypto-envelope';
import { createLedger, exportBundle, type Ledger } from '@sealog/ledger';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, runVerifyCommand, type VerifyReport, verifyBundle } from '../src/index';
import { auditEvent, captureIO, cleanTemps, tempDir } from './support/make-log';

let ledger: Ledger;
let dir: string;
/** The untouched bundle of tenant-1. */
let base: string;
let lines: string[];
let publicKey: string;
let keyFile: string;

beforeAll(async () => {
  dir = tempDir();
  ledger = await createLedger({
    dir,
    segmentBytes: 64 * 1024,
    checkpointIntervalMs: 3_600_000,
    snapshotIntervalMs: 3_600_000,
    batchMaxRecords: 64,
    durability: { mode: 'none' },
    onNotice: () => {},
  });
  for (let r = 0; r < 3; r++) {
    const events = [];
    for (let k = 0; k < 100; k++) events.push(auditEvent(r * 100 + k));
    await ledger.append(events);
  }
  publicKey = ledger.log('default').verifierKey;
  keyFile = join(dir, 'log.pub');
  writeFileSync(keyFile, `${publicKey}\n`);
  base = await bundleFile({ tenantId: 'tenant-1' });
  lines = readFileSync(base, 'utf8').split('\n');
}, 60_000);
afterAll(async () => {
  await ledger.close();
  cleanTemps();
});

async function bundleFile(filter: Parameters<typeof exportBundle>[1]): Promise<string> {
  let out = '';
  await exportBundle(ledger, filter, (chunk) => {
    out += chunk;
  });
  return write(out);
}

let n = 0;
function write(text: string | Buffer): string {
  const path = join(dir, `bundle-${n++}.jsonl`);
  writeFileSync(path, text);
  return path;
}

/** A copy of the base bundle with its lines changed by `edit` (lines end with an empty string). */
function edited(edit: (ls: string[]) => string[]): string {
  return write(edit([...lines]).join('\n'));
}

/** Line `i` (0-based) parsed, changed by `f`, re-serialized. */
function editJson(i: number, f: (v: Record<string, unknown>) => void): string {
  return edited((ls) => {
    const v = JSON.parse(ls[i]!) as Record<string, unknown>;
    f(v);
    ls[i] = JSON.stringify(v);
    return ls;
  });
}

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const c = captureIO();
  const code = await runVerifyCommand(args, c.io);
  return { code, stdout: c.stdout + c.stderr };
}

function errors(r: VerifyReport): Finding[] {
  return r.findings.filter((f) => f.severity === 'error');
}

/** Verifies with the pinned key through the CLI (exit 1) and returns the report's findings. */
async function expectFails(path: string, named: (f: Finding) => boolean): Promise<Finding[]> {
  expect((await cli([path, '--key', keyFile])).code).toBe(1);
  const r = await verifyBundle(path, { publicKeys: [publicKey] });
  expect(r.ok).toBe(false);
  const errs = errors(r);
  expect(errs.some(named), errs.map((f) => `${f.code} ${f.message}`).join('\n')).toBe(true);
  return errs;
}

const recordLine = (i: number): Record<string, unknown> => JSON.parse(lines[i]!) as Record<string, unknown>;

describe('verifyBundle', () => {
  it('verifies an untouched bundle (pinned: no findings; CLI exit 0)', async () => {
    const r = await verifyBundle(base, { publicKeys: [publicKey] });
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.summary.bundle).toMatchObject({ keyTrust: 'pinned', signed: true, logId: 'default' });
    expect(r.summary.leaves).toBeGreaterThan(30);
    expect(r.summary.records).toBe(r.summary.leaves);
    const run = await cli([base, '--key', keyFile]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^VERIFIED .*export bundle v1 of log default .*key pinned/m);
    const json = await cli([base, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).summary.bundle.keyTrust).toBe('embedded');
  });

  it('says when it trusts only the key embedded in the bundle', async () => {
    const r = await verifyBundle(base);
    expect(r.ok).toBe(true);
    expect(r.findings.map((f) => f.code)).toEqual(['BUNDLE_KEY_UNPINNED']);
    expect((await cli([base])).stdout).toMatch(/NOT pinned/);
  });

  it('fails an edited leaf byte, naming the record, line and leaf', async () => {
    const rec = recordLine(3);
    const path = editJson(3, (v) => {
      const leaf = Buffer.from(v.leaf as string, 'base64');
      leaf[40] = leaf[40]! ^ 1;
      v.leaf = leaf.toString('base64');
    });
    const errs = await expectFails(path, (f) => f.code === 'LEAF_HASH' && f.line === 4);
    expect(errs[0]!.message).toContain(`record #2 (line 4, leaf ${rec.leaf_index})`);
    expect(errs[0]!.leafIndex).toBe(rec.leaf_index);
    expect(errs.some((f) => f.code === 'BUNDLE_PROOF')).toBe(true);
  });

  it('fails an edited human-readable field, naming the field', async () => {
    const path = editJson(2, (v) => {
      (v.record as { resource: { id: string } }).resource.id = 'doc-forged';
    });
    const errs = await expectFails(path, (f) => f.code === 'BUNDLE_FIELD' && f.line === 3);
    expect(errs.find((f) => f.code === 'BUNDLE_FIELD')!.message).toMatch(
      /record\.resource\.id: the leaf holds "doc-\d+", the readable field says "doc-forged"/,
    );
  });

  it('fails a removed record (also when renumbered and the trailer count fixed)', async () => {
    await expectFails(
      edited((ls) => ls.filter((_, i) => i !== 5)),
      (f) => f.code === 'BUNDLE_ORDER' && f.line === 6,
    );
    // The forger renumbers the records and fixes the count: the signed digest still catches it.
    const forged = edited((ls) => {
      const kept = ls.filter((_, i) => i !== 5);
      for (let i = 1; i < kept.length - 2; i++) {
        const v = JSON.parse(kept[i]!);
        v.n = i - 1;
        kept[i] = JSON.stringify(v);
      }
      const t = JSON.parse(kept[kept.length - 2]!);
      t.count -= 1;
      kept[kept.length - 2] = JSON.stringify(t);
      return kept;
    });
    const errs = await expectFails(forged, (f) => f.code === 'BUNDLE_DIGEST');
    expect(errs.some((f) => f.code === 'BUNDLE_SIGNATURE')).toBe(true);
  });

  it('fails reordered records', async () => {
    const errs = await expectFails(
      edited((ls) => {
        [ls[3], ls[4]] = [ls[4]!, ls[3]!];
        return ls;
      }),
      (f) => f.code === 'LEAF_INDEX' && f.line === 5 && f.leafIndex === recordLine(3).leaf_index,
    );
    expect(errs.some((f) => f.code === 'BUNDLE_ORDER' && f.line === 4)).toBe(true);
  });

  it('fails a duplicated record', async () => {
    await expectFails(
      edited((ls) => {
        ls.splice(4, 0, ls[3]!);
        return ls;
      }),
      (f) => f.code === 'LEAF_INDEX' && f.line === 5 && f.message.includes('reordered or duplicated'),
    );
  });

  it('fails an added record of another tenant, proven against the same checkpoint', async () => {
    const other = readFileSync(await bundleFile({ tenantId: 'tenant-2' }), 'utf8').split('\n');
    const alien = JSON.parse(other[1]!);
    const path = edited((ls) => {
      ls.splice(ls.length - 2, 0, JSON.stringify({ ...alien, n: ls.length - 3 }));
      return ls;
    });
    const errs = await expectFails(path, (f) => f.code === 'BUNDLE_FILTER');
    expect(errs.some((f) => f.code === 'BUNDLE_COUNT')).toBe(true);
  });

  it('fails a truncated file, at a line boundary or inside a line', async () => {
    const text = readFileSync(base, 'utf8');
    const cutAtLine = text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1);
    await expectFails(write(cutAtLine), (f) => f.code === 'BUNDLE_TRUNCATED');
    await expectFails(
      write(text.slice(0, Math.floor(text.length / 2))),
      (f) => f.code === 'BUNDLE_TRUNCATED',
    );
    await expectFails(write(text.slice(0, -1)), (f) => f.code === 'BUNDLE_TRUNCATED');
  });

  it('fails a checkpoint re-signed with another key: pinned always; unpinned unless the embedded key is swapped too', async () => {
    const attacker = generateNoteKey('sealog/default');
    const header = JSON.parse(lines[0]!);
    const text = openNote(header.checkpoint, [publicKey]).text;
    const lines2 = text.split('\n');
    const checkpoint = {
      origin: lines2[0]!,
      size: Number(lines2[1]),
      rootHash: new Uint8Array(Buffer.from(lines2[2]!, 'base64')),
      extensions: lines2.slice(3, -1),
    };
    const resigned = signCheckpoint(checkpoint, attacker.signerKey);
    // Only the checkpoint re-signed: fails even unpinned (the embedded key does not verify it).
    const onlyCheckpoint = editJson(0, (v) => {
      v.checkpoint = resigned;
    });
    expect((await cli([onlyCheckpoint])).code).toBe(1);
    await expectFails(onlyCheckpoint, (f) => f.code === 'BUNDLE_CHECKPOINT');
    // Everything re-signed and the embedded key swapped: self-consistent, so only a pin catches it.
    const swapped = edited((ls) => {
      const h = JSON.parse(ls[0]!);
      h.checkpoint = resigned;
      h.public_key = attacker.verifierKey;
      ls[0] = JSON.stringify(h);
      const body = `${ls.slice(0, -2).join('\n')}\n`;
      const t = JSON.parse(ls[ls.length - 2]!);
      t.sha256 = createHash('sha256').update(body).digest('hex');
      const summary = openNote(t.signature, [publicKey]).text.replace(
        /sha256 [0-9a-f]+/,
        `sha256 ${t.sha256}`,
      );
      t.signature = signNote(summary, attacker.signerKey);
      ls[ls.length - 2] = JSON.stringify(t);
      return ls;
    });
    const unpinned = await verifyBundle(swapped);
    expect(unpinned.ok).toBe(true);
    expect(unpinned.findings.map((f) => f.code)).toEqual(['BUNDLE_KEY_UNPINNED']);
    const errs = await expectFails(swapped, (f) => f.code === 'BUNDLE_CHECKPOINT');
    expect(errs.some((f) => f.code === 'KEY_MISMATCH')).toBe(true);
    expect(errs.some((f) => f.code === 'BUNDLE_SIGNATURE')).toBe(true);
  });

  it('fails a proof for a different tree size', async () => {
    const rec = recordLine(2);
    const size = (JSON.parse(lines[0]!) as { tree_size: number }).tree_size;
    const proof = await ledger.log('default').inclusionProof(rec.leaf_index as number, size - 1);
    const path = editJson(2, (v) => {
      v.inclusion = proof.map((h) => Buffer.from(h).toString('hex'));
    });
    const errs = await expectFails(path, (f) => f.code === 'BUNDLE_PROOF' && f.line === 3);
    expect(errs.find((f) => f.code === 'BUNDLE_PROOF')!.message).toContain(`tree size ${size}`);
  });

  it('rejects usage that does not apply to bundles with exit 2', async () => {
    const masterKeyFile = join(dir, 'master.key');
    writeFileSync(masterKeyFile, `${'ab'.repeat(32)}\n`);
    expect((await cli([base, '--key', masterKeyFile])).code).toBe(2);
    expect((await cli([join(dir, 'missing.jsonl')])).code).toBe(2);
  });

  it('detects any single-byte change inside a record line', async () => {
    const text = Buffer.from(readFileSync(base));
    const starts: number[] = [];
    for (let i = 0, at = 0; i < lines.length - 1; i++) {
      starts.push(at);
      at += Buffer.byteLength(lines[i]!) + 1;
    }
    const records = lines.length - 3;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.integer({ min: 1, max: 255 }),
        async (r, pos, xor) => {
          const line = 1 + (r % records);
          const length = Buffer.byteLength(lines[line]!);
          const offset = starts[line]! + Math.floor(pos * length);
          const changed = Buffer.from(text);
          changed[offset] = changed[offset]! ^ xor;
          const path = write(changed);
          const report = await verifyBundle(path, { publicKeys: [publicKey] });
          expect(report.ok, `line ${line + 1} byte ${offset} ^ ${xor}`).toBe(false);
          expect(errors(report).some((f) => f.line === line + 1)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
