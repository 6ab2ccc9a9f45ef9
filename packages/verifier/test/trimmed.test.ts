import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { tilePath } from '@sealog/merkle';
import { openSegmentStore } from '@sealog/segment-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, runVerifyCommand, type VerifyReport, verifyDataDir } from '../src/index';
import { appendMore, captureIO, cleanTemps, makeDataDir, tempDir } from './support/make-log';

const LOG = 'logs/default';
let base: string;

function segs(d: string): string[] {
  return readdirSync(join(d, LOG))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(d, LOG, n));
}

function copy(): string {
  const d = tempDir();
  cpSync(base, d, { recursive: true });
  return d;
}

/** Retention as the segment store does it: sealed segments whose frames all lie below `beforeKey`. */
async function trim(dir: string, beforeKey: number): Promise<number[]> {
  const store = await openSegmentStore({
    dir: join(dir, LOG),
    logId: 'default',
    durability: { mode: 'none' },
  });
  try {
    return await store.deleteSegmentsBefore(beforeKey);
  } finally {
    await store.close();
  }
}

/** First key (first leaf index) in a segment header (FORMAT.md: u64 at offset 16). */
function firstKey(path: string): number {
  return Number(readFileSync(path).readBigUInt64BE(16));
}

function trimmedNotice(r: VerifyReport): Finding | undefined {
  return r.findings.find((f) => f.code === 'SEGMENTS_TRIMMED' && f.severity === 'notice');
}

beforeAll(async () => {
  base = await makeDataDir(tempDir(), { rounds: 3, callsPerRound: 4, perRound: 100 });
  // Seal the tail, so the appended records start a segment at the last checkpoint (size 1200): a
  // trim there is anchored by a signed checkpoint whose sealog-chain names the last trimmed frame.
  const store = await openSegmentStore({
    dir: join(base, LOG),
    logId: 'default',
    durability: { mode: 'none' },
  });
  await store.close({ seal: true });
  await appendMore(base, 300);
}, 60_000);
afterAll(cleanTemps);

describe('trimmed logs (segments removed from the front)', () => {
  it('verifies what is left, with a notice saying where the log now starts', async () => {
    const d = copy();
    const files = segs(d);
    const keep = files[3]!;
    const from = firstKey(keep);
    const deleted = await trim(d, from);
    expect(deleted).toEqual([1, 2, 3]);
    for (const keyless of [false, true]) {
      const r = await verifyDataDir(d, { keyless });
      expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(r.ok).toBe(true);
      const n = trimmedNotice(r);
      expect(n?.file).toBe(keep);
      expect(n?.leafIndex).toBe(from);
      expect(n?.message).toMatch(/removed from the front/);
      // Every signed checkpoint is still checked: below the trim point from the tiles alone.
      expect(r.summary.checkpoints).toBe(4);
      expect(r.summary.leaves).toBe(1500);
      expect(r.summary.segments).toBe(files.length - 3);
      // Keyed, the first kept record of each entity links into the trimmed leaves: compared with the tiles.
      const links = r.findings.filter(
        (f) => f.code === 'SEGMENTS_TRIMMED' && /previous record among the trimmed/.test(f.message),
      );
      expect(links.length).toBe(keyless ? 0 : 1);
      if (!keyless)
        expect(links[0]!.message).toMatch(
          /^91 record\(s\) .*: 91 named a leaf hash equal to the level-0 tile's/,
        );
    }
    const c = captureIO();
    expect(await runVerifyCommand([d], c.io)).toBe(0);
    expect(c.stdout).toMatch(/^NOTICE SEGMENTS_TRIMMED /m);
    expect(c.stdout).toMatch(/^VERIFIED /m);
  });

  it('checks the first kept frame against a signed checkpoint that ends exactly at the trim point', async () => {
    const d = copy();
    const files = segs(d);
    const at = files.findIndex((p) => firstKey(p) === 1200);
    expect(at).toBeGreaterThan(0);
    await trim(d, 1200);
    const ok = await verifyDataDir(d, { keyless: true });
    expect(ok.ok).toBe(true);
    expect(trimmedNotice(ok)?.message).toMatch(/is checked against 1 signed checkpoint\(s\) of size 1200/);
    // Change the first kept frame's previous chain hash and repair the envelope CRC.
    const path = segs(d)[0]!;
    const b = readFileSync(path);
    const headerBytes = b.readUInt16BE(6);
    const length = b.readUInt32BE(headerBytes);
    b[headerBytes + 12 + 140] = b[headerBytes + 12 + 140]! ^ 0x01;
    b.writeUInt32BE(crc32(b.subarray(headerBytes, headerBytes + 12 + length)), headerBytes + 12 + length);
    writeFileSync(path, b);
    const r = await verifyDataDir(d, { keyless: true });
    expect(r.ok).toBe(false);
    expect(
      r.findings.some(
        (f) =>
          f.code === 'CHAIN_HASH' &&
          f.file === path &&
          /first frame after the trimmed segments/.test(f.message),
      ),
    ).toBe(true);
  });

  it('finds a record linking to a trimmed leaf whose tile hash differs (keyed)', async () => {
    const d = copy();
    const files = segs(d);
    const from = firstKey(files[3]!);
    await trim(d, from);
    expect((await verifyDataDir(d)).ok).toBe(true);
    // The test events cycle through 91 entities (support/make-log.ts): the first kept record links
    // to leaf from − 91, which is trimmed. Change that leaf's hash in its level-0 tile: the link
    // check names it, and the checkpoint roots computed from the tiles no longer match.
    const leaf = from - 91;
    const tile = join(d, LOG, 'tiles', ...tilePath(0, Math.floor(leaf / 256)).split('/'));
    const bytes = readFileSync(tile);
    bytes[(leaf % 256) * 32] = bytes[(leaf % 256) * 32]! ^ 0xff;
    writeFileSync(tile, bytes);
    const r = await verifyDataDir(d);
    expect(r.ok).toBe(false);
    expect(
      r.findings.some(
        (f) =>
          f.code === 'ENTITY_LINK' &&
          f.leafIndex === from &&
          new RegExp(`trimmed leaf ${leaf}`).test(f.message),
      ),
    ).toBe(true);
    expect(r.findings.some((f) => f.code === 'CHECKPOINT_ROOT')).toBe(true);
  });

  it('fails when the tiles of the trimmed part are gone too, and keeps a gap in the middle an error', async () => {
    const d = copy();
    const files = segs(d);
    await trim(d, firstKey(files[3]!));
    rmSync(join(d, LOG, 'tiles'), { recursive: true });
    const r = await verifyDataDir(d);
    expect(r.ok).toBe(false);
    expect(r.findings.some((f) => f.code === 'TILE_MISSING' && /trimmed/.test(f.message))).toBe(true);
    // A segment missing after the first one is not retention.
    const g = copy();
    const gap = segs(g)[4]!;
    expect(statSync(gap).size).toBeGreaterThan(0);
    rmSync(gap);
    const m = await verifyDataDir(g, { keyless: true });
    expect(m.ok).toBe(false);
    expect(m.findings.some((f) => f.code === 'SEGMENT_MISSING' && f.severity === 'error')).toBe(true);
    expect(trimmedNotice(m)).toBeUndefined();
  });
});
