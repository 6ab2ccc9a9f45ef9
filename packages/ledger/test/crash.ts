/** Shared body of the ledger kill -9 tests (default: few kills; *.slow.test.ts: many). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openCheckpoint } from '@sealog/crypto-envelope';
import { expect } from 'vitest';
import { createLedger } from '../src/index';
import { auditEvent } from './events';

/** Starts a child, kills it with SIGKILL after a random time once ready; returns acked id → leaf. */
export async function runAndKill(
  dir: string,
  startAt: number,
  killAfterMs: number,
): Promise<Map<string, number>> {
  // `node --import tsx` (not the tsx CLI, which forks): the PID we SIGKILL is the writer itself.
  const child = spawn(
    process.execPath,
    [
      '--conditions=@sealog/source',
      '--import',
      'tsx',
      join(import.meta.dirname, 'crash-child.ts'),
      dir,
      String(startAt),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const acked = new Map<string, number>();
  let buffered = '';
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('ack ')) {
        const [, id, leaf] = line.split(' ');
        acked.set(id!, Number(leaf));
      } else if (line === 'ready') ready();
      nl = buffered.indexOf('\n');
    }
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await isReady;
  await new Promise((r) => setTimeout(r, killAfterMs));
  child.kill('SIGKILL');
  await exited;
  return acked;
}

/**
 * Reopens after a kill and asserts: every acknowledged event is there exactly once at the leaf it
 * was acknowledged with, leaf numbering is contiguous, and the tree matches the last checkpoint
 * (the ledger refuses to open otherwise). Returns the tree size.
 */
export async function checkAfterCrash(dir: string, acked: Map<string, number>): Promise<number> {
  const ledger = await createLedger({ dir, checkpointIntervalMs: 60_000, onNotice: () => {} });
  const log = ledger.log('default');
  const size = log.treeSize;
  const seen = new Map<string, number>();
  // Entity chains: every record links to the newest earlier record of its entity, across every
  // restart (the writer state survives kills, or is replayed).
  const heads = new Map<string, { leafIndex: number; leafHash: string }>();
  let expected = 0;
  for await (const r of log.iterate(0, size)) {
    expect(r.leafIndex).toBe(expected++);
    expect(seen.has(r.record.event_id), `event ${r.record.event_id} stored twice`).toBe(false);
    seen.set(r.record.event_id, r.leafIndex);
    const entity = `${r.record.tenant_id}/${r.record.resource.type}/${r.record.resource.id}`;
    const head = heads.get(entity);
    const prev = r.record.prev;
    expect(
      prev === null
        ? undefined
        : { leafIndex: prev.leafIndex, leafHash: Buffer.from(prev.leafHash).toString('hex') },
      `entity link of leaf ${r.leafIndex}`,
    ).toEqual(head);
    heads.set(entity, { leafIndex: r.leafIndex, leafHash: Buffer.from(r.leafHash).toString('hex') });
  }
  expect(expected).toBe(size);
  for (const [id, leaf] of acked) expect(seen.get(id), `acknowledged ${id} missing`).toBe(leaf);
  // Acknowledged client ids are still known after the crash (from the snapshot's window files or
  // the replay after it): a retry is a duplicate. The newest, the oldest and ~200 between.
  const byLeaf = [...acked].sort((a, b) => b[1] - a[1]);
  const step = Math.max(1, Math.floor(byLeaf.length / 200));
  const retried = byLeaf.filter((_, i) => i % step === 0 || i === byLeaf.length - 1);
  if (retried.length > 0) {
    const again = await ledger.append(
      retried.map(([id]) => auditEvent(Number(id.slice('ev-'.length)), { event_id: id })),
    );
    for (let i = 0; i < retried.length; i++) {
      expect(again[i], `retry of ${retried[i]![0]}`).toMatchObject({
        status: 'duplicate',
        leaf_index: retried[i]![1],
      });
    }
  }
  if (process.env.SEALOG_DEBUG === '1')
    console.log(`size ${size} acked ${acked.size} checkpoint ${log.latestCheckpoint()?.split('\n')[1]}`);
  const note = log.latestCheckpoint();
  if (note !== undefined) {
    const cp = openCheckpoint(note, [log.verifierKey]).checkpoint;
    expect(cp.size).toBeLessThanOrEqual(size);
    expect(Buffer.from(await log.rootAt(cp.size)).equals(Buffer.from(cp.rootHash))).toBe(true);
  }
  await ledger.close();
  return size;
}
