import {
  cpSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { generateNoteKey, signCheckpoint } from '@sealog/crypto-envelope';
import { scanSegmentFile } from '@sealog/segment-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, runVerifyCommand, type VerifyReport, verifyDataDir } from '../src/index';
import { appendMore, captureIO, cleanTemps, makeDataDir, tempDir } from './support/make-log';

let base: string;
const LOG = 'logs/default';

beforeAll(async () => {
  base = await makeDataDir(tempDir(), { rounds: 3, callsPerRound: 4, perRound: 100 });
}, 60_000);
afterAll(cleanTemps);

/** A fresh copy of the base data dir. */
function copy(): string {
  const d = tempDir();
  cpSync(base, d, { recursive: true });
  return d;
}

function segs(d: string): string[] {
  return readdirSync(join(d, LOG))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(d, LOG, n));
}

function flip(path: string, offset: number): void {
  const b = readFileSync(path);
  b[offset] = b[offset]! ^ 0x5a;
  writeFileSync(path, b);
}

function expectCaught(r: VerifyReport, named: (f: Finding) => boolean): void {
  expect(r.ok).toBe(false);
  expect(r.findings.some((f) => f.severity === 'error' && named(f))).toBe(true);
}

async function cli(args: string[]): Promise<number> {
  const c = captureIO();
  return runVerifyCommand(args, c.io);
}

describe('verifier tamper suite', () => {
  it('passes the untouched data dir, keyed and keyless, and the CLI exits 0', async () => {
    const keyed = await verifyDataDir(base);
    expect(keyed.findings).toEqual([]);
    expect(keyed.ok).toBe(true);
    expect(keyed.summary.keyed).toBe(true);
    expect(keyed.summary.records).toBe(1200);
    expect(keyed.summary.segments).toBeGreaterThan(3);
    expect(keyed.summary.checkpoints).toBe(3);
    const keyless = await verifyDataDir(base, { keyless: true });
    expect(keyless.ok).toBe(true);
    expect(keyless.summary.records).toBe(0);
    expect(keyless.summary.leaves).toBe(1200);
    const c = captureIO();
    expect(await runVerifyCommand([base], c.io)).toBe(0);
    expect(c.stdout).toMatch(/^VERIFIED /m);
    expect(await cli([join(base, LOG), '--keyless'])).toBe(0);
  });

  it('finds a flipped byte in every part of a sealed and of the last segment, with and without keys', async () => {
    const d = copy();
    const files = segs(d);
    const cases: [string, number][] = [];
    for (const path of [files[1]!, files[files.length - 1]!]) {
      const scan = await scanSegmentFile(path);
      const o0 = scan.offsets[0]!;
      const o1 = scan.offsets[1] ?? scan.size;
      const lastFrame = scan.offsets[scan.offsets.length - 1]!;
      const hdr = scan.header.headerBytes;
      const picks = [
        0, // segment magic
        9, // segment number
        20, // first key
        45, // log id
        hdr - 2, // header CRC
        o0 + 2, // envelope length
        o0 + 8, // envelope key
        o0 + 12, // frame magic
        o0 + 12 + 30, // batch index
        o0 + 12 + 100, // batch root
        o0 + 12 + 140, // prev chain hash
        o0 + 12 + 170, // reserved
        o0 + 12 + 300, // body
        o1 - 2, // envelope CRC
        lastFrame + 12 + 200, // last frame body
        scan.size - 1, // last byte (trailer or last frame CRC)
      ];
      if (scan.end.kind === 'sealed') picks.push(scan.end.offset + 1, scan.end.offset + 10);
      for (const p of picks) cases.push([path, p]);
    }
    for (const [path, offset] of cases) {
      flip(path, offset);
      for (const keyless of [false, true]) {
        const r = await verifyDataDir(d, { keyless });
        if (r.ok) throw new Error(`flip at ${path} @ ${offset} (keyless ${keyless}) not detected`);
        expectCaught(r, (f) => f.file === path || f.batchIndex !== undefined);
      }
      flip(path, offset);
    }
    expect(await cli([d])).toBe(0);
  });

  it('finds a flipped byte in checkpoints.log, data-keys.bin, log.json and tiles', async () => {
    const d = copy();
    const logDir = join(d, LOG);
    const cp = join(logDir, 'checkpoints.log');
    const cpSize = statSync(cp).size;
    for (const offset of [0, 5, 12, 20, 40, 60, Math.floor(cpSize / 2), cpSize - 10, cpSize - 2]) {
      flip(cp, offset);
      const r = await verifyDataDir(d, { keyless: true });
      expectCaught(r, (f) => f.file === cp);
      expect(await cli([d])).toBe(1);
      flip(cp, offset);
    }
    const dk = join(logDir, 'data-keys.bin');
    for (const offset of [1, 10, 50, statSync(dk).size - 1]) {
      flip(dk, offset);
      expectCaught(await verifyDataDir(d), (f) => f.file === dk);
      expectCaught(await verifyDataDir(d, { keyless: true }), (f) => f.file === dk);
      flip(dk, offset);
    }
    const tile0 = join(logDir, 'tiles/tile/0/001');
    for (const offset of [0, 33, 8191]) {
      flip(tile0, offset);
      expectCaught(await verifyDataDir(d), (f) => f.file === tile0 && f.leafIndex !== undefined);
      expectCaught(await verifyDataDir(d, { keyless: true }), (f) => f.code === 'BATCH_ROOT');
      flip(tile0, offset);
    }
    const lj = join(logDir, 'log.json');
    const ljText = readFileSync(lj, 'utf8');
    const id = JSON.parse(ljText) as { public_key: string };
    const k = id.public_key;
    const swapped = `${k.slice(0, -4)}${k.at(-4) === 'A' ? 'B' : 'A'}${k.slice(-3)}`;
    writeFileSync(lj, JSON.stringify({ ...id, public_key: swapped }));
    expectCaught(await verifyDataDir(d, { keyless: true }), (f) => f.file === cp || f.file === lj);
    writeFileSync(lj, ljText);
    const tile1 = join(logDir, 'tiles/tile/1/000.p/4');
    flip(tile1, 40);
    expectCaught(
      await verifyDataDir(d, { keyless: true }),
      (f) => f.file === tile1 && f.code === 'TILE_MISMATCH',
    );
    flip(tile1, 40);
    expect((await verifyDataDir(d)).ok).toBe(true);
  });

  it('finds a deleted frame, two reordered frames, swapped and deleted segments, a truncated tail', async () => {
    const files = segs(base);
    const rel = (p: string): string => p.slice(base.length);
    // delete a frame in a sealed segment
    {
      const d = copy();
      const path = d + rel(files[1]!);
      const scan = await scanSegmentFile(path);
      const b = readFileSync(path);
      writeFileSync(path, Buffer.concat([b.subarray(0, scan.offsets[1]!), b.subarray(scan.offsets[2]!)]));
      const r = await verifyDataDir(d, { keyless: true });
      expectCaught(r, (f) => f.file === path);
      expectCaught(r, (f) => f.code === 'BATCH_INDEX' || f.code === 'CHAIN_HASH');
      expect(await cli([d])).toBe(1);
    }
    // reorder two frames of the last segment
    {
      const d = copy();
      const path = d + rel(files[files.length - 1]!);
      const scan = await scanSegmentFile(path);
      const [a, b2, c] = [scan.offsets[0]!, scan.offsets[1]!, scan.offsets[2] ?? scan.size];
      const buf = readFileSync(path);
      writeFileSync(
        path,
        Buffer.concat([buf.subarray(0, a), buf.subarray(b2, c), buf.subarray(a, b2), buf.subarray(c)]),
      );
      expectCaught(await verifyDataDir(d, { keyless: true }), (f) => f.file === path && f.offset === a);
      expect(await cli([d])).toBe(1);
    }
    // swap two segments
    {
      const d = copy();
      const [p2, p3] = [d + rel(files[1]!), d + rel(files[2]!)];
      renameSync(p2, `${p2}.tmp`);
      renameSync(p3, p2);
      renameSync(`${p2}.tmp`, p3);
      expectCaught(
        await verifyDataDir(d, { keyless: true }),
        (f) => f.code === 'SEGMENT_NUMBER' && f.file === p2,
      );
      expect(await cli([d])).toBe(1);
    }
    // delete a segment
    {
      const d = copy();
      const p3 = d + rel(files[2]!);
      rmSync(p3);
      expectCaught(await verifyDataDir(d, { keyless: true }), (f) => f.code === 'SEGMENT_MISSING');
      expect(await cli([d])).toBe(1);
    }
    // delete the last segment entirely (rollback)
    {
      const d = copy();
      rmSync(d + rel(files[files.length - 1]!));
      expectCaught(await verifyDataDir(d, { keyless: true }), (f) => f.code === 'CHECKPOINT_BEYOND_DATA');
    }
    // truncate the tail (inside the last frame, and at a frame boundary)
    {
      const d = copy();
      const path = d + rel(files[files.length - 1]!);
      const scan = await scanSegmentFile(path);
      truncateSync(path, scan.size - 100);
      expectCaught(
        await verifyDataDir(d, { keyless: true }),
        (f) => f.code === 'TORN_TAIL' && f.file === path,
      );
      truncateSync(path, scan.offsets[scan.offsets.length - 1]!);
      expectCaught(await verifyDataDir(d, { keyless: true }), (f) => f.code === 'CHECKPOINT_BEYOND_DATA');
      expect(await cli([d])).toBe(1);
    }
  });

  it('rejects a checkpoint signed by another key, and a re-signed log when the key is pinned', async () => {
    const d = copy();
    const logDir = join(d, LOG);
    const cpFile = join(logDir, 'checkpoints.log');
    const identity = JSON.parse(readFileSync(join(logDir, 'log.json'), 'utf8')) as {
      origin: string;
      public_key: string;
    };
    const text = readFileSync(cpFile, 'utf8');
    const entries = text.split(/(?=^checkpoint \d+\n)/m);
    const last = entries[entries.length - 1]!;
    const note = last.slice(last.indexOf('\n') + 1);
    const forged = generateNoteKey(identity.origin);
    const lines = note.split('\n');
    const size = Number(lines[1]);
    const rootHash = new Uint8Array(Buffer.from(lines[2]!, 'base64'));
    const resign = (signer: string): string => {
      const n = signCheckpoint({ origin: identity.origin, size, rootHash, extensions: [lines[3]!] }, signer);
      return `checkpoint ${Buffer.byteLength(n)}\n${n}`;
    };
    writeFileSync(cpFile, [...entries.slice(0, -1), resign(forged.signerKey)].join(''));
    const offset = Buffer.byteLength(entries.slice(0, -1).join(''));
    expectCaught(
      await verifyDataDir(d, { keyless: true }),
      (f) => f.code === 'CHECKPOINT_SIGNATURE' && f.file === cpFile && f.offset === offset,
    );
    expect(await cli([d])).toBe(1);
    // An attacker who rewrites log.json too passes unless the auditor pins the key.
    writeFileSync(cpFile, resign(forged.signerKey));
    writeFileSync(join(logDir, 'log.json'), JSON.stringify({ ...identity, public_key: forged.verifierKey }));
    expect((await verifyDataDir(d, { keyless: true })).ok).toBe(true);
    const pinned = await verifyDataDir(d, { keyless: true, publicKeys: [identity.public_key] });
    expectCaught(pinned, (f) => f.code === 'KEY_MISMATCH');
    expectCaught(pinned, (f) => f.code === 'CHECKPOINT_SIGNATURE');
    const keyFile = join(d, 'pub.key');
    writeFileSync(keyFile, `${identity.public_key}\n`);
    expect(await cli([d, '--keyless', '--key', keyFile])).toBe(1);
  });

  it('finds rollback to an older copy given a newer checkpoint, and rejects a checkpoint of another log', async () => {
    const d = copy();
    const older = tempDir();
    cpSync(d, older, { recursive: true });
    await appendMore(d, 150);
    const newer = await verifyDataDir(d);
    expect(newer.ok).toBe(true);
    const cps = readFileSync(join(d, LOG, 'checkpoints.log'), 'utf8').split(/(?=^checkpoint \d+\n)/m);
    const latest = cps[cps.length - 1]!;
    const note = latest.slice(latest.indexOf('\n') + 1);
    const cpFile = join(d, 'latest.checkpoint');
    writeFileSync(cpFile, note);
    // the newer copy contains it; the older one does not
    expect(await cli([d, '--checkpoint', cpFile])).toBe(0);
    const r = await verifyDataDir(older, { checkpoints: [{ note, file: cpFile }] });
    expectCaught(r, (f) => f.code === 'AUDITOR_CHECKPOINT' && f.file === cpFile && f.expected === '1350');
    expect(await cli([older, '--checkpoint', cpFile])).toBe(1);
    // a checkpoint of another log (other origin, other key)
    const other = generateNoteKey('sealog/elsewhere');
    const foreign = signCheckpoint(
      { origin: 'sealog/elsewhere', size: 1, rootHash: new Uint8Array(32) },
      other.signerKey,
    );
    expectCaught(await verifyDataDir(d, { checkpoints: [foreign] }), (f) => f.code === 'AUDITOR_CHECKPOINT');
    expectCaught(
      await verifyDataDir(d, { checkpoints: [note.replace('sealog/default', 'sealog/defaulx')] }),
      (f) => f.code === 'AUDITOR_CHECKPOINT',
    );
  }, 60_000);

  it('exits 2 on usage and I/O errors', async () => {
    expect(await cli([])).toBe(2);
    expect(await cli(['--bogus', base])).toBe(2);
    expect(await cli([join(base, 'nope')])).toBe(2);
    expect(await cli([base, '--checkpoint', join(base, 'nope')])).toBe(2);
  });
});
