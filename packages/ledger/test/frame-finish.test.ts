import { randomBytes } from 'node:crypto';
import { decodeFrameHeader, decompressBody, FRAME_HEADER_BYTES } from '@sealog/codec';
import { createFrameSealer, DataKey, openFrame } from '@sealog/crypto-envelope';
import { HASH_BYTES, hashLeaf } from '@sealog/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '../src/chain-hash';
import {
  FRAME_POOL_BUFFERS,
  FrameBufferPool,
  type FrameJob,
  finishFrame,
  hashFrameLeaves,
  InThreadFinisher,
  LeafHashWindow,
} from '../src/frame-finish';
import { LedgerKeys } from '../src/index';
import { WorkerPreparer } from '../src/worker-preparer';
import { tempDir } from './helpers';

/** A frame job of `count` random leaves of 50–300 bytes (half of each repeated, so snappy shrinks it). */
function job(count: number, batchIndex = 0, firstLeafIndex = 0): FrameJob {
  const leaves = Array.from({ length: count }, (_, i) => {
    const n = 50 + ((i * 37) % 250);
    const leaf = Buffer.alloc(n, i & 0xff);
    randomBytes(n >> 1).copy(leaf);
    return leaf;
  });
  const offsets = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i]! + leaves[i]!.length;
  const plain = new Uint8Array(new ArrayBuffer(offsets[count]!));
  for (let i = 0; i < count; i++) plain.set(leaves[i]!, offsets[i]!);
  return {
    logId: new Uint8Array(16).fill(7),
    batchIndex,
    firstLeafIndex,
    recordCount: count,
    minOccurredAt: 1_795_428_000_000,
    maxOccurredAt: 1_795_428_000_500,
    plain,
    offsets,
    patches: new Float64Array(0),
    knownBelow: firstLeafIndex,
    compress: true,
  };
}

describe('hashFrameLeaves', () => {
  it('equals hashing each leaf after patching in the hashes it links to, and leaves the body as patched', () => {
    const leafArb = fc.record({
      bytes: fc.uint8Array({ minLength: 33, maxLength: 700 }),
      // A link to an earlier leaf of this frame (index back from this one) or of the frame before.
      link: fc.option(fc.record({ back: fc.integer({ min: 1, max: 12 }), at: fc.nat() }), { freq: 2 }),
    });
    fc.assert(
      fc.property(
        fc.array(leafArb, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(0, 4, 40),
        (leaves, header) => {
          const first = 100;
          // The frame before: 12 leaves whose hashes only the window knows.
          const before = Array.from({ length: 12 }, (_, i) => hashLeaf(Uint8Array.of(i)));
          const window = new LeafHashWindow();
          window.add(first - 12, Buffer.concat(before));
          const offsets = new Uint32Array(leaves.length + 1);
          offsets[0] = header;
          for (let i = 0; i < leaves.length; i++) offsets[i + 1] = offsets[i]! + leaves[i]!.bytes.length;
          const plain = new Uint8Array(offsets[leaves.length]!).fill(0xee, 0, header);
          const patches: number[] = [];
          for (let i = 0; i < leaves.length; i++) {
            plain.set(leaves[i]!.bytes, offsets[i]!);
            const link = leaves[i]!.link;
            if (link === null) continue;
            const at = offsets[i]! + (link.at % (leaves[i]!.bytes.length - HASH_BYTES + 1));
            patches.push(at, first + i - link.back);
          }
          // Reference: leaf by leaf, patch then hash.
          const expected = plain.slice();
          const want: Uint8Array[] = [];
          for (let i = 0, p = 0; i < leaves.length; i++) {
            for (; p < patches.length && patches[p]! < offsets[i + 1]!; p += 2) {
              const target = patches[p + 1]! - first;
              expected.set(target >= 0 ? want[target]! : before[target + 12]!, patches[p]!);
            }
            want.push(hashLeaf(expected.subarray(offsets[i]!, offsets[i + 1]!)));
          }
          const job: FrameJob = {
            logId: new Uint8Array(16),
            batchIndex: 1,
            firstLeafIndex: first,
            recordCount: leaves.length,
            minOccurredAt: 0,
            maxOccurredAt: 0,
            plain,
            offsets,
            patches: Float64Array.from(patches),
            knownBelow: first - 12,
            compress: false,
          };
          const hashes = hashFrameLeaves(job, window);
          expect(Buffer.from(hashes).equals(Buffer.concat(want))).toBe(true);
          expect(Buffer.from(plain).equals(Buffer.from(expected))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('FrameBufferPool', () => {
  it('hands back a given buffer large enough, else a new one, and keeps at most a few', () => {
    const pool = new FrameBufferPool();
    const fresh = pool.take(1000);
    expect(fresh.length).toBe(1000);
    expect(fresh.byteOffset).toBe(0);
    expect(fresh.buffer.byteLength).toBeGreaterThanOrEqual(1000);
    const small = new ArrayBuffer(500);
    const large = new ArrayBuffer(4000);
    pool.give(small);
    pool.give(large);
    const view = pool.take(3000);
    expect(view.buffer).toBe(large);
    expect(view.length).toBe(3000);
    expect(pool.size).toBe(1);
    // Nothing large enough left: a new buffer, the small one stays.
    expect(pool.take(600).buffer).not.toBe(small);
    expect(pool.size).toBe(1);
    // Full: a larger buffer replaces the smallest held, a smaller one is dropped.
    for (let i = 1; i < FRAME_POOL_BUFFERS; i++) pool.give(new ArrayBuffer(2000));
    expect(pool.size).toBe(FRAME_POOL_BUFFERS);
    pool.give(new ArrayBuffer(100));
    pool.give(new ArrayBuffer(8000));
    expect(pool.size).toBe(FRAME_POOL_BUFFERS);
    expect(pool.take(7000).buffer.byteLength).toBe(8000);
    expect(pool.take(1900).buffer.byteLength).toBe(2000);
    // The small one was the one replaced.
    for (let i = 0; i < FRAME_POOL_BUFFERS - 2; i++) expect(pool.take(1).buffer.byteLength).toBe(2000);
    expect(pool.size).toBe(0);
    // A detached buffer (transferred elsewhere) is not kept.
    const detached = new ArrayBuffer(64);
    structuredClone(detached, { transfer: [detached] });
    pool.give(detached);
    expect(pool.size).toBe(0);
  });
});

describe('finishFrame into a reused buffer', () => {
  it('writes every byte: a buffer full of old bytes gives the frame a fresh one gives', () => {
    const material = randomBytes(32);
    const keyId = randomBytes(16);
    const keyA = DataKey.fromBytes(material, keyId, { fresh: true });
    const keyB = DataKey.fromBytes(material, keyId, { fresh: true });
    const pool = new FrameBufferPool();
    const old = new ArrayBuffer(1 << 20);
    new Uint8Array(old).fill(0xa5);
    pool.give(old);
    const a = job(300);
    // Same job for both (finishFrame may overwrite patch placeholders in `plain`: none here).
    const fresh = finishFrame(a, createFrameSealer(keyA), GENESIS_CHAIN, new LeafHashWindow());
    const reused = finishFrame(
      { ...a, plain: a.plain.slice() },
      createFrameSealer(keyB),
      GENESIS_CHAIN,
      new LeafHashWindow(),
      pool,
    );
    expect(reused.frame.buffer).toBe(old);
    expect(reused.frame.length).toBe(fresh.frame.length);
    expect(reused.hashes).toEqual(fresh.hashes);
    // Headers equal but for the nonce (each sealer draws its own): reserved bytes are zero again.
    const hf = decodeFrameHeader(fresh.frame);
    const hr = decodeFrameHeader(reused.frame);
    const at = hf.nonce.byteOffset - fresh.frame.byteOffset;
    const masked = (frame: Uint8Array): Uint8Array => {
      const header = frame.slice(0, FRAME_HEADER_BYTES);
      header.fill(0, at, at + hf.nonce.length);
      return header;
    };
    expect(masked(reused.frame)).toEqual(masked(fresh.frame));
    for (const [frame, h, key] of [
      [fresh.frame, hf, keyA],
      [reused.frame, hr, keyB],
    ] as const) {
      const body = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + h.storedBodyLength);
      const opened = openFrame(key, h.nonce, frame.subarray(0, FRAME_HEADER_BYTES), body);
      expect(Buffer.from(decompressBody(opened, h.plainBodyLength)).equals(a.plain)).toBe(true);
    }
  });

  it('the in-thread finisher finishes the next frame into the buffer handed back', async () => {
    const finisher = new InThreadFinisher(() => createFrameSealer(DataKey.generate()), GENESIS_CHAIN);
    const first = await finisher.finish(job(200, 0, 0));
    const second = await finisher.finish(job(200, 1, 200));
    expect(second.frame.buffer).not.toBe(first.frame.buffer);
    finisher.recycle(first.frame);
    const third = await finisher.finish(job(150, 2, 400));
    expect(third.frame.buffer).toBe(first.frame.buffer);
  });

  it('the worker finishes frames into buffers the main thread handed back, sent with the next frame', async () => {
    const keys = await LedgerKeys.open(tempDir(), { generate: true }, () => {});
    const worker = await WorkerPreparer.start(keys);
    try {
      const key = DataKey.generate();
      const opener = DataKey.fromBytes(key.exportBytes(), key.keyId);
      const finisher = worker.frameFinisher(GENESIS_CHAIN, () => key);
      const check = (frame: Uint8Array, plain: Uint8Array): void => {
        const h = decodeFrameHeader(frame);
        const body = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + h.storedBodyLength);
        const opened = openFrame(opener, h.nonce, frame.subarray(0, FRAME_HEADER_BYTES), body);
        expect(Buffer.from(decompressBody(opened, h.plainBodyLength)).equals(plain)).toBe(true);
      };
      let firstLeaf = 0;
      let handedBack: ArrayBuffer | undefined;
      for (let batch = 0; batch < 5; batch++) {
        const j = job(100 + batch * 20, batch, firstLeaf);
        firstLeaf += j.recordCount;
        const expected = j.plain.slice();
        const pending = finisher.finish(j);
        // The buffer handed back after the previous frame went to the worker with this request.
        if (handedBack !== undefined) expect(handedBack.byteLength).toBe(0);
        const done = await pending;
        check(done.frame, expected);
        handedBack = done.frame.buffer as ArrayBuffer;
        finisher.recycle(done.frame);
        expect(handedBack.byteLength).toBeGreaterThan(0);
      }
    } finally {
      await worker.close();
      await keys.close();
    }
  });
});
