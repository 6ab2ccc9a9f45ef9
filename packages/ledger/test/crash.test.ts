import { describe, expect, it } from 'vitest';
import { checkAfterCrash, runAndKill } from './crash';
import { tempDir } from './helpers';

describe('ledger crash safety', () => {
  it('keeps every acknowledged event exactly once across 5 kill -9 at random moments', async () => {
    const dir = tempDir();
    const acked = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      // Each round uses fresh event ids, so a repeat would show as a second copy.
      const start = 1_000_000 * (round + 1);
      for (const [id, leaf] of await runAndKill(dir, start, 100 + Math.floor(Math.random() * 600)))
        acked.set(id, leaf);
      await checkAfterCrash(dir, acked);
    }
    // The child must have made progress, or the test proves nothing.
    expect(acked.size).toBeGreaterThan(0);
  }, 180_000);
});
