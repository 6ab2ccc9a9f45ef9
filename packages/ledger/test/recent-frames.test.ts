import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FrameToKeep, type RecentFrame, RecentFrames } from '../src/read-cache';

interface ModelFrame {
  readonly firstLeaf: number;
  readonly leaves: Uint8Array[];
  readonly hashes: Uint8Array[];
  readonly bytes: number;
}

/** A frame as the writer hands it over: a body with a header before the leaves, in a larger buffer. */
function writerFrame(m: ModelFrame, header: number, batchIndex: number): FrameToKeep {
  const count = m.leaves.length;
  const buffer = new Uint8Array(header + m.bytes + 7);
  buffer.fill(0xee);
  const offsets = new Uint32Array(count + 1);
  let at = header;
  for (let i = 0; i < count; i++) {
    offsets[i] = at;
    buffer.set(m.leaves[i]!, at);
    at += m.leaves[i]!.length;
  }
  offsets[count] = at;
  const hashes = new Uint8Array(32 * count);
  for (let i = 0; i < count; i++) hashes.set(m.hashes[i]!, 32 * i);
  return {
    firstLeaf: m.firstLeaf,
    count,
    body: buffer.subarray(0, at),
    offsets,
    hashes,
    batchIndex,
    blockHash: `block-${batchIndex}`,
    buffer,
  };
}

/** Bytes a frame takes of the budget: offsets, leaves and hashes, rounded up to 4. */
function held(f: ModelFrame): number {
  return (4 * (f.leaves.length + 1) + f.bytes + 32 * f.leaves.length + 3) & ~3;
}

const frameArb = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 12 }),
  header: fc.integer({ min: 0, max: 64 }),
  seed: fc.nat(255),
});

describe('RecentFrames (the newest durable frames, copied into one ring)', () => {
  it('serves exactly the newest frames within the budget, byte for byte, across many laps of the ring', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6000 }),
        fc.array(frameArb, { minLength: 1, maxLength: 80 }),
        (budget, specs) => {
          const released: Uint8Array[] = [];
          const recent = new RecentFrames(budget, (b) => released.push(b));
          const model: ModelFrame[] = [];
          const handedOut: { frame: RecentFrame; index: number }[] = [];
          let nextLeaf = 0;
          for (const [n, spec] of specs.entries()) {
            const leaves = spec.sizes.map((size, i) =>
              Uint8Array.from({ length: size }, (_, j) => (spec.seed + 7 * i + j) & 0xff),
            );
            const hashes = spec.sizes.map((_, i) =>
              Uint8Array.from({ length: 32 }, (_, j) => (spec.seed * 3 + i + j) & 0xff),
            );
            const m: ModelFrame = {
              firstLeaf: nextLeaf,
              leaves,
              hashes,
              bytes: spec.sizes.reduce((a, b) => a + b, 0),
            };
            nextLeaf += leaves.length;
            model.push(m);
            const handed = writerFrame(m, spec.header, n);
            recent.push(handed);
            // The writer's buffer comes back at once (copied), whatever became of the frame.
            expect(released.at(-1)).toBe(handed.buffer);
            expect(released.length).toBe(n + 1);
            handed.buffer!.fill(0); // reused by the writer: must not show through

            // What is kept: a contiguous run of the newest frames, within the budget.
            const kept = model.filter((f) => recent.frameOf(f.firstLeaf) !== undefined);
            expect(kept.reduce((a, f) => a + held(f), 0)).toBeLessThanOrEqual(budget);
            if (kept.length > 0) {
              expect(kept.at(-1)).toBe(m);
              expect(model.slice(model.length - kept.length)).toEqual(kept);
              expect(recent.firstLeaf).toBe(kept[0]!.firstLeaf);
            } else {
              expect(recent.firstLeaf).toBeUndefined();
            }
            // The newest frame is kept whenever it fits the budget alone.
            if (held(m) <= budget) expect(kept.at(-1)).toBe(m);
            for (const f of model) {
              const isKept = kept.includes(f);
              for (let i = 0; i < f.leaves.length; i++) {
                const got = recent.get(f.firstLeaf + i);
                if (!isKept) {
                  expect(got).toBeUndefined();
                  continue;
                }
                expect(got).toBeDefined();
                expect(new Uint8Array(got!.leaf)).toEqual(f.leaves[i]);
                expect(new Uint8Array(got!.leafHash)).toEqual(f.hashes[i]);
                expect(got!.batchIndex).toBe(model.indexOf(f));
              }
            }
            // Frames handed out earlier are flagged once dropped (their ring bytes may be rewritten).
            for (const h of handedOut) {
              expect(h.frame.dropped === true).toBe(!kept.includes(model[h.index]!));
            }
            const mine = recent.frameOf(m.firstLeaf);
            if (mine !== undefined) handedOut.push({ frame: mine, index: n });
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps nothing with a budget of 0, and a frame larger than the budget replaces nothing', () => {
    const none = new RecentFrames(0);
    const m: ModelFrame = {
      firstLeaf: 0,
      leaves: [new Uint8Array([1, 2, 3])],
      hashes: [new Uint8Array(32)],
      bytes: 3,
    };
    none.push(writerFrame(m, 0, 0));
    expect(none.get(0)).toBeUndefined();

    const small = new RecentFrames(100);
    small.push(writerFrame({ ...m, leaves: [new Uint8Array(60)], bytes: 60 }, 4, 0));
    const before = small.frameOf(0)!;
    small.push(
      writerFrame(
        { firstLeaf: 1, leaves: [new Uint8Array(101)], hashes: [new Uint8Array(32)], bytes: 101 },
        4,
        1,
      ),
    );
    expect(small.get(1)).toBeUndefined();
    // The older frame is gone too: kept frames stay a contiguous run up to the newest.
    expect(small.get(0)).toBeUndefined();
    expect(before.dropped).toBe(true);
  });
});
