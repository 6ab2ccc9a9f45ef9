import { describe, expect, it } from 'vitest';
import { checkAfterCrash, runAndKill } from './crash';
import { tempDir } from './helpers';

describe('ledger crash safety (slow)', () => {
  it('keeps every acknowledged event exactly once across 100 kill -9 at random moments', async () => {
    const dir = tempDir();
    const acked = new Map<string, number>();
    for (let round = 0; round < 100; round++) {
      for (const [id, leaf] of await runAndKill(
        dir,
        1_000_000 * (round + 1),
        50 + Math.floor(Math.random() * 500),
      )) {
        acked.set(id, leaf);
      }
      await checkAfterCrash(dir, acked);
    }
    // The child must have made progress, or the test proves nothing.
    expect(acked.size).toBeGreaterThan(0);
  }, 1_800_000);
});
