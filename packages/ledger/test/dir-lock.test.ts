import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLedger, LOCK_FILE } from '../src/index';
import { tempDir } from './helpers';

const FAST = { batchMaxWaitMs: 1, checkpointIntervalMs: 60_000, prepareWorkers: 0 as const };

describe('data directory lock', () => {
  it('refuses a second open of the same directory in this process, and allows it after close', async () => {
    const dir = tempDir();
    const first = await createLedger({ dir, ...FAST });
    await expect(createLedger({ dir, ...FAST })).rejects.toMatchObject({ code: 'LOCKED' });
    await first.append([
      {
        tenant_id: 't',
        occurred_at: 1,
        action: 'a',
        actor: { id: 'u', type: 'user' },
        resource: { type: 'r', id: '1' },
      },
    ]);
    await first.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const second = await createLedger({ dir, ...FAST });
    expect(second.log('default').treeSize).toBe(1);
    await second.close();
  });

  it('refuses a directory held by another live process, naming its pid', async () => {
    const dir = tempDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, LOCK_FILE), `${holder.pid}\n`);
      await expect(createLedger({ dir, ...FAST })).rejects.toThrow(
        new RegExp(`in use by process ${holder.pid}`),
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that died (kill -9 leaves the file behind)', async () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(join(dir, LOCK_FILE), `${dead.stdout}\n`);
    const ledger = await createLedger({ dir, ...FAST });
    await ledger.close();
  });
});
