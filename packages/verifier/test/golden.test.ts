import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyDataDir, verifyLogDir } from '../src/index';

const here = new URL('.', import.meta.url).pathname;
const dir = join(here, 'fixtures/golden');
const expected = JSON.parse(readFileSync(join(here, 'fixtures/golden.json'), 'utf8')) as {
  summary: Record<string, unknown>;
  lastCheckpoint: string;
};

describe('golden fixture', () => {
  it('verifies the committed fixture log, keyed, with the recorded counts', async () => {
    const r = await verifyDataDir(dir);
    expect(r.findings).toEqual([]);
    const { ms: _ms, ...summary } = r.summary;
    expect(summary).toEqual(expected.summary);
  });

  it('verifies it keyless and against its own last checkpoint', async () => {
    const cp = expected.lastCheckpoint;
    const note = cp.slice(cp.indexOf('\n') + 1);
    const r = await verifyLogDir(join(dir, 'logs/default'), { checkpoints: [note] });
    expect(r.ok).toBe(true);
    expect(r.summary.keyed).toBe(false);
    expect(r.summary.checkpoints).toBe((expected.summary.checkpoints as number) + 1);
  });
});
