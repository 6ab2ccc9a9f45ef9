import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDataDir } from '../src/index';
import { cleanTemps, makeDataDir, tempDir } from './support/make-log';

let dir: string;
let files: string[];

beforeAll(async () => {
  const base = await makeDataDir(tempDir(), { rounds: 2, callsPerRound: 3, perRound: 100 });
  dir = tempDir();
  cpSync(base, dir, { recursive: true });
  const logDir = join(dir, 'logs/default');
  files = readdirSync(logDir)
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(logDir, n));
}, 60_000);
afterAll(cleanTemps);

describe('verifier property', () => {
  it('detects any single-byte change anywhere in any segment file, without keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 255 }),
        async (f, pos, xor) => {
          const path = files[f % files.length]!;
          const original = readFileSync(path);
          const offset = Math.min(original.length - 1, Math.floor(pos * original.length));
          const changed = Buffer.from(original);
          changed[offset] = changed[offset]! ^ xor;
          writeFileSync(path, changed);
          try {
            const r = await verifyDataDir(dir, { keyless: true });
            expect(r.ok, `${path} @ ${offset} ^ ${xor}`).toBe(false);
          } finally {
            writeFileSync(path, original);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect((await verifyDataDir(dir)).ok).toBe(true);
  }, 120_000);
});
