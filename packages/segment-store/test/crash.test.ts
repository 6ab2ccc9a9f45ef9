import { describe, expect, it } from 'vitest';
import { checkAfterCrash, runAndKill } from './crash';
import { tempDir } from './helpers';

describe('segment-store crash safety', () => {
  it('keeps every acknowledged frame exactly once across 6 kill -9 at random moments', async () => {
    const dir = tempDir();
    const acked = new Set<number>();
    for (let round = 0; round < 6; round++) {
      for (const k of await runAndKill(dir, 50 + Math.floor(Math.random() * 400), 256 * 1024)) acked.add(k);
      await checkAfterCrash(dir, acked, 256 * 1024);
    }
    // The child must have made progress, or the test proves nothing.
    expect(acked.size).toBeGreaterThan(0);
  }, 120_000);
});
