import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/atomic-file';

describe('writeFileAtomic', () => {
  it('writes one buffer, or parts in order with any flush interval, as exactly their concatenation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-atomic-'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
        async (parts, every) => {
          const path = join(dir, 'state.snapshot');
          await writeFileAtomic(path, parts, every === undefined ? {} : { syncEveryBytes: every });
          expect(Buffer.compare(readFileSync(path), Buffer.concat(parts))).toBe(0);
          await writeFileAtomic(path, Buffer.concat(parts));
          expect(Buffer.compare(readFileSync(path), Buffer.concat(parts))).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
    // Replaced in place each time: no temp files left, owner-only mode.
    expect(readdirSync(dir)).toEqual(['state.snapshot']);
    expect(statSync(join(dir, 'state.snapshot')).mode & 0o777).toBe(0o600);
  });
});
