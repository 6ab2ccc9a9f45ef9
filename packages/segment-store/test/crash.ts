/** Shared body of the kill -9 tests (default: few kills; *.slow.test.ts: many). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { openSegmentSource, openSegmentStore } from '../src/index';
import { payloadFor } from './payload';

// `node --import tsx` (not the tsx CLI, which forks): the PID we SIGKILL is the writer itself.

/** Starts the child, waits a random time after it is ready, kills it with SIGKILL; returns acked keys. */
export async function runAndKill(dir: string, killAfterMs: number, segmentBytes: number): Promise<number[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dir, '0', String(segmentBytes)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const acked: number[] = [];
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
      if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
      else if (line.startsWith('ready')) ready();
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
 * Reopens after a kill and asserts: every acked frame is there, keys contiguous, content intact.
 * Segments before `fromSegment` were checked by an earlier round and only the tail can change, so
 * they are skipped (keeps 100 rounds over a growing log linear). Returns the number of segments.
 */
export async function checkAfterCrash(
  dir: string,
  allAcked: Set<number>,
  segmentBytes: number,
  fromSegment = 1,
): Promise<number> {
  const store = await openSegmentStore({
    dir,
    logId: 'crash',
    durability: { mode: 'group', maxUnsyncedBytes: 1024 * 1024 },
    segmentBytes,
  });
  const last = store.recovery.lastKey;
  if (process.env.SEALOG_DEBUG === '1') console.log('recovery', store.recovery);
  await store.close();
  const source = openSegmentSource(dir);
  const segments = await source.listSegments();
  let expected = -1;
  for (const seg of segments) {
    if (seg.number < fromSegment) continue;
    if (expected < 0) expected = seg.header.firstKey;
    for await (const f of source.iterateFrames(seg.number)) {
      expect(f.key).toBe(expected);
      // Length and embedded key on every frame (the envelope CRC already covers the bytes); full
      // content on a sample, so 100 rounds over a growing log stay linear.
      expect(f.payload.length).toBe(200 + ((f.key * 7919) % 6000));
      expect(f.payload.readUInt32BE(0)).toBe(f.key >>> 0);
      if (f.key % 64 === 0) expect(f.payload.equals(payloadFor(f.key, f.payload.length))).toBe(true);
      expected++;
    }
  }
  if (expected >= 0) expect(expected - 1).toBe(last);
  for (const k of allAcked) expect(k).toBeLessThanOrEqual(last);
  return segments.length;
}
