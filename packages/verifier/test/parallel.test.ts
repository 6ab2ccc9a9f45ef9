import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VerifyOptions, type VerifyReport, verifyDataDir } from '../src/index';
import { cleanTemps, makeDataDir, tempDir } from './support/make-log';

let base: string;
const LOG = 'logs/default';

/** The same run whatever the threads: findings in order and counts (not the time). */
function comparable(r: VerifyReport): unknown {
  const { ms: _ms, ...summary } = r.summary;
  return { ok: r.ok, findings: r.findings, summary };
}

/** Whole segments on this thread, the reference every other way of running must equal. */
const REFERENCE: VerifyOptions = { threads: 0, unitBytes: 2 ** 40 };
/** Ranges of a few frames, on this thread and on two workers. */
const SPLIT: VerifyOptions[] = [
  { threads: 0, unitBytes: 20_000 },
  { threads: 2, unitBytes: 20_000 },
  { threads: 2 },
];

async function expectSameEverywhere(dir: string, extra: VerifyOptions = {}): Promise<VerifyReport> {
  const reference = await verifyDataDir(dir, { ...extra, ...REFERENCE });
  for (const o of SPLIT) {
    expect(comparable(await verifyDataDir(dir, { ...extra, ...o })), JSON.stringify(o)).toEqual(
      comparable(reference),
    );
  }
  return reference;
}

function segs(d: string): string[] {
  return readdirSync(join(d, LOG))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(d, LOG, n));
}

beforeAll(async () => {
  // Segments of ~256 KiB with frames of ≤ 64 records: several ranges per sealed segment.
  base = await makeDataDir(tempDir(), {
    rounds: 3,
    callsPerRound: 6,
    perRound: 150,
    segmentBytes: 256 * 1024,
  });
}, 60_000);
afterAll(cleanTemps);

describe('parallel verification', () => {
  it('gives the same report inline, in ranges and on worker threads for an honest log', async () => {
    const keyed = await expectSameEverywhere(base);
    expect(keyed.ok).toBe(true);
    expect(keyed.summary.records).toBe(2700);
    const keyless = await expectSameEverywhere(base, { keyless: true });
    expect(keyless.ok).toBe(true);
  }, 60_000);

  it('gives the same findings for damage anywhere in a split segment, keyed and keyless', async () => {
    const d = tempDir();
    cpSync(base, d, { recursive: true });
    const path = segs(d)[1]!;
    const original = readFileSync(path);
    const size = original.length;
    // Header, early and late frames, the middle (a range boundary), the footer and the trailer.
    const offsets = [10, 200, 5_000, Math.floor(size / 2), size - 40_000, size - 300, size - 20, size - 2];
    for (const offset of offsets) {
      const b = Buffer.from(original);
      b[offset] = b[offset]! ^ 0x21;
      writeFileSync(path, b);
      for (const keyless of [false, true]) {
        const r = await expectSameEverywhere(d, { keyless });
        expect(r.ok, `flip @ ${offset}`).toBe(false);
      }
    }
    writeFileSync(path, original);
  }, 120_000);

  it('gives the same report for a random single-byte change anywhere in any segment (property)', async () => {
    const d = tempDir();
    cpSync(base, d, { recursive: true });
    const files = segs(d);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        async (f, pos, xor, keyless) => {
          const path = files[f % files.length]!;
          const original = readFileSync(path);
          const offset = Math.floor(pos * original.length);
          const b = Buffer.from(original);
          b[offset] = b[offset]! ^ xor;
          writeFileSync(path, b);
          try {
            const reference = await verifyDataDir(d, { keyless, ...REFERENCE });
            expect(reference.ok, `${path} @ ${offset}`).toBe(false);
            const split = await verifyDataDir(d, { keyless, threads: 2, unitBytes: 20_000 });
            expect(comparable(split), `${path} @ ${offset} ^ ${xor}`).toEqual(comparable(reference));
          } finally {
            writeFileSync(path, original);
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it('re-reads a segment whose frames disagree with a footer that still verifies', async () => {
    const d = tempDir();
    cpSync(base, d, { recursive: true });
    const path = segs(d)[1]!;
    const b = readFileSync(path);
    // Swap two whole envelopes of equal layout in place: CRCs hold, the footer's keys no longer
    // match the frames behind its offsets.
    const footerLength = b.readUInt32BE(b.length - 12);
    const footer = b.subarray(b.length - footerLength);
    const count = footer.readUInt32BE(4);
    const offsetAt = (i: number): number => Number(footer.readBigUInt64BE(8 + 16 * i));
    const i = Math.floor(count / 2);
    const [a, m, e] = [offsetAt(i), offsetAt(i + 1), offsetAt(i + 2)];
    const swapped = Buffer.concat([b.subarray(0, a), b.subarray(m, e), b.subarray(a, m), b.subarray(e)]);
    writeFileSync(path, swapped);
    const r = await expectSameEverywhere(d, { keyless: true });
    expect(r.ok).toBe(false);
    expect(r.findings.some((f) => f.code === 'SEGMENT_CORRUPT' && f.file === path)).toBe(true);
  }, 60_000);
});
