import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ENVELOPE_BYTES,
  openSegmentSource,
  openSegmentStore,
  SegmentStoreError,
  segmentFileName,
} from '../src/index';
import { payloadFor, tempDir } from './helpers';

const group = { mode: 'group' as const, maxUnsyncedBytes: 1024 * 1024 };

describe('segment-store', () => {
  it('appends frames durably and reads them back by offset, by key and by iteration', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 'default', durability: group });
    const results = await Promise.all([0, 10, 20, 30].map((k) => store.append(payloadFor(k, 100 + k), k)));
    expect(results.map((r) => r.segment)).toEqual([1, 1, 1, 1]);
    for (const r of results) {
      const f = await store.readFrame(r.segment, r.offset);
      expect(f.key).toBe(r.key);
      expect(f.payload).toEqual(payloadFor(r.key, 100 + r.key));
    }
    expect((await store.locate(25))?.key).toBe(20);
    expect((await store.locate(30))?.key).toBe(30);
    expect(await store.locate(-1)).toBeUndefined();
    const keys: number[] = [];
    for await (const f of store.iterateFrames(1)) keys.push(f.key);
    expect(keys).toEqual([0, 10, 20, 30]);
    expect(store.stats().syncs).toBeGreaterThanOrEqual(1);
    expect(store.stats().fsync.count).toBe(store.stats().syncs);
    await store.close();
  });

  it('locates frames with their envelope size, and reads them alike with any size hint', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 'l1', durability: group, segmentBytes: 8192 });
    for (let k = 0; k < 30; k++) await store.append(payloadFor(k, 300 + 97 * k), k);
    const segs = await store.listSegments();
    expect(segs.length).toBeGreaterThan(2); // sealed segments (footer index) and the tail
    for (let k = 0; k < 30; k++) {
      const at = (await store.locate(k))!;
      const plain = await store.readFrame(at.segment, at.offset);
      expect(plain.payload).toEqual(payloadFor(k, 300 + 97 * k));
      // Every frame's size is known but the last of a sealed segment's.
      if (at.bytes !== undefined) expect(at.bytes).toBe(ENVELOPE_BYTES + plain.payload.length);
      for (const hint of [at.bytes, 1, ENVELOPE_BYTES + 1, 200, 10_000_000]) {
        const f = await store.readFrame(at.segment, at.offset, hint);
        expect(f.key).toBe(k);
        expect(f.payload).toEqual(plain.payload);
        expect(f.next).toBe(plain.next);
      }
      // Iterating from a frame's offset yields it and the rest of its segment, nothing before.
      const rest: number[] = [];
      for await (const f of store.iterateFrames(at.segment, at.offset)) rest.push(f.key);
      const all: number[] = [];
      for await (const f of store.iterateFrames(at.segment)) all.push(f.key);
      expect(rest[0]).toBe(k);
      expect(rest).toEqual(all.slice(all.indexOf(k)));
    }
    await store.close();
  });

  it('rejects out-of-order keys, empty frames and appends after close with typed errors', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 'default', durability: group });
    await store.append(payloadFor(5, 10), 5);
    expect(() => store.append(payloadFor(5, 10), 5)).toThrow(expect.objectContaining({ code: 'KEY_ORDER' }));
    expect(() => store.append(new Uint8Array(0), 6)).toThrow(
      expect.objectContaining({ code: 'FRAME_TOO_LARGE' }),
    );
    await store.close();
    await expect(store.append(payloadFor(7, 10), 7)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rotates by size, seals the old segment with a footer, and keeps numbering across reopen', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 'l1', durability: group, segmentBytes: 8192 });
    for (let k = 0; k < 40; k++) await store.append(payloadFor(k, 1000), k);
    const segs = await store.listSegments();
    expect(segs.length).toBeGreaterThan(4);
    expect(segs.slice(0, -1).every((s) => s.sealed)).toBe(true);
    expect(segs.at(-1)?.sealed).toBe(false);
    for (const s of segs) expect(s.size).toBeLessThanOrEqual(8192 + 200);
    await store.close();

    const again = await openSegmentStore({ dir, logId: 'l1', durability: group, segmentBytes: 8192 });
    expect(again.recovery.lastKey).toBe(39);
    expect(again.recovery.tornBytes).toBe(0);
    await again.append(payloadFor(40, 1000), 40);
    expect((await again.locate(17))?.key).toBe(17);
    const f = await again.readFrame((await again.locate(17))!.segment, (await again.locate(17))!.offset);
    expect(f.payload).toEqual(payloadFor(17, 1000));
    await again.close({ seal: true });

    const source = openSegmentSource(dir);
    const all = await source.listSegments();
    expect(all.every((s) => s.sealed)).toBe(true);
    const keys: number[] = [];
    for (const s of all) for await (const fr of source.iterateFrames(s.number)) keys.push(fr.key);
    expect(keys).toEqual(Array.from({ length: 41 }, (_, i) => i));
  });

  it('writes segment metadata from the callback into each header', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({
      dir,
      logId: 'm',
      durability: group,
      segmentBytes: 4096,
      segmentMeta: (n, first) => Buffer.from(`key-for-${n}-${first}`),
    });
    for (let k = 0; k < 10; k++) await store.append(payloadFor(k, 1500), k * 2);
    const segs = await store.listSegments();
    for (const s of segs) {
      expect(Buffer.from(s.header.meta).toString()).toBe(`key-for-${s.number}-${s.header.firstKey}`);
    }
    await store.close();
  });

  it('supports every-frame and none durability', async () => {
    for (const durability of [{ mode: 'every-frame' as const }, { mode: 'none' as const }]) {
      const dir = tempDir();
      const store = await openSegmentStore({ dir, logId: 'd', durability });
      await Promise.all([1, 2, 3].map((k) => store.append(payloadFor(k, 64), k)));
      expect(store.stats().syncs).toBe(durability.mode === 'every-frame' ? 3 : 0);
      await store.close();
      const again = await openSegmentStore({ dir, logId: 'd', durability });
      expect(again.recovery.lastKey).toBe(3);
      await again.close();
    }
  });

  it('cuts a torn last frame at every byte offset, keeps it aside, and recovers exactly the prefix', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 't', durability: group });
    for (let k = 0; k < 3; k++) await store.append(payloadFor(k, 50), k);
    const last = await store.append(payloadFor(3, 50), 3);
    await store.close();
    const file = join(dir, segmentFileName(1));
    const full = readFileSync(file);
    const frameEnd = last.offset + 50 + ENVELOPE_BYTES;
    expect(full.length).toBe(frameEnd);
    for (let cut = last.offset + 1; cut < frameEnd; cut++) {
      writeFileSync(file, full.subarray(0, cut));
      for (const f of readdirSync(dir))
        if (f.endsWith('.torn') || f.endsWith('.reason')) truncateSync(join(dir, f));
      const s = await openSegmentStore({ dir, logId: 't', durability: group });
      expect(s.recovery.lastKey).toBe(2);
      expect(s.recovery.tornBytes).toBe(cut - last.offset);
      expect(readFileSync(s.recovery.tornFile!)).toEqual(full.subarray(last.offset, cut));
      expect(statSync(file).size).toBe(last.offset);
      await s.close();
    }
    // A cut exactly at a frame boundary is simply a shorter log, nothing torn.
    writeFileSync(file, full.subarray(0, last.offset));
    const s = await openSegmentStore({ dir, logId: 't', durability: group });
    expect(s.recovery).toMatchObject({ lastKey: 2, tornBytes: 0 });
    await s.close();
  });

  it('treats a flipped byte in the last frame as torn only inside the unsynced window', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 'w', durability: group });
    // 1.5 MiB of frames with a 1 MiB window: damage to the first frame cannot be a crash artifact.
    for (let k = 0; k < 24; k++) await store.append(payloadFor(k, 64 * 1024), k);
    await store.close();
    const file = join(dir, segmentFileName(1));
    const pristine = readFileSync(file);
    const damaged = Buffer.from(pristine);
    damaged[200] = damaged[200]! ^ 0x01;
    writeFileSync(file, damaged);
    await expect(openSegmentStore({ dir, logId: 'w', durability: group })).rejects.toMatchObject({
      code: 'CORRUPT_SEGMENT',
      message: expect.stringContaining('CRC-32 mismatch'),
    });
    // Damage in the last frame (inside the window) is a torn tail.
    const tailDamaged = Buffer.from(pristine);
    tailDamaged[pristine.length - 10] = tailDamaged[pristine.length - 10]! ^ 0x80;
    writeFileSync(file, tailDamaged);
    const s = await openSegmentStore({ dir, logId: 'w', durability: group });
    expect(s.recovery.lastKey).toBe(22);
    expect(s.recovery.tornBytes).toBe(64 * 1024 + ENVELOPE_BYTES);
    await s.close();
  });

  it('refuses to open when a segment is missing, unsealed before the tail, or from another log', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 'x', durability: group, segmentBytes: 4096 });
    for (let k = 0; k < 12; k++) await store.append(payloadFor(k, 1500), k);
    await store.close();
    await expect(openSegmentStore({ dir, logId: 'other', durability: group })).rejects.toMatchObject({
      code: 'CORRUPT_SEGMENT',
      message: expect.stringContaining('belongs to log "x"'),
    });
    const seg2 = join(dir, segmentFileName(2));
    const bytes = readFileSync(seg2);
    // Remove segment 2: a hole in the numbering.
    writeFileSync(seg2, '');
    await import('node:fs').then((fs) => fs.rmSync(seg2));
    await expect(openSegmentStore({ dir, logId: 'x', durability: group })).rejects.toMatchObject({
      code: 'CORRUPT_SEGMENT',
      message: expect.stringContaining('segment 2 is missing'),
    });
    // Put it back without its footer: unsealed in the middle.
    writeFileSync(seg2, bytes.subarray(0, bytes.length - 20));
    await expect(openSegmentStore({ dir, logId: 'x', durability: group })).rejects.toMatchObject({
      code: 'CORRUPT_SEGMENT',
      message: expect.stringContaining('not sealed'),
    });
  });

  it('deletes only whole sealed segments below a key, oldest first', async () => {
    const dir = tempDir();
    const store = await openSegmentStore({ dir, logId: 'r', durability: group, segmentBytes: 4096 });
    for (let k = 0; k < 12; k++) await store.append(payloadFor(k, 1500), k);
    const before = await store.listSegments();
    const deleted = await store.deleteSegmentsBefore(5);
    expect(deleted.length).toBeGreaterThan(0);
    const after = await store.listSegments();
    expect(after[0]!.header.firstKey).toBeLessThanOrEqual(5);
    expect(after.length + deleted.length).toBe(before.length);
    await expect(store.readFrame(deleted[0]!, 200)).rejects.toBeInstanceOf(SegmentStoreError);
    await store.close();
    const again = await openSegmentStore({ dir, logId: 'r', durability: group, segmentBytes: 4096 });
    expect(again.recovery.lastKey).toBe(11);
    await again.close();
  });

  it('round-trips any sequence of frames across reopen (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 4096, max: 20000 }),
        fc.boolean(),
        async (sizes, segmentBytes, seal) => {
          const dir = tempDir();
          const store = await openSegmentStore({ dir, logId: 'p', durability: group, segmentBytes });
          await Promise.all(sizes.map((size, k) => store.append(payloadFor(k, size), k)));
          await store.close({ seal });
          const again = await openSegmentStore({ dir, logId: 'p', durability: group, segmentBytes });
          expect(again.recovery.lastKey).toBe(sizes.length - 1);
          const got: Buffer[] = [];
          for (const s of await again.listSegments())
            for await (const f of again.iterateFrames(s.number)) got.push(f.payload);
          expect(got).toEqual(sizes.map((size, k) => payloadFor(k, size)));
          await again.close();
        },
      ),
      { numRuns: 25 },
    );
  });
});
