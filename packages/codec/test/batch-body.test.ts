import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchBodyBuilder,
  batchBodyLength,
  decodeBatchBody,
  encodeBatchBody,
  MAX_BATCH_RECORDS,
} from '../src/batch-body';

const leavesArb = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 40 });

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('batch-body', () => {
  it('splits back exactly the leaves it joined, as views into the body', () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        const body = encodeBatchBody(leaves);
        expect(body.length).toBe(batchBodyLength(leaves));
        const out = decodeBatchBody(body, leaves.length);
        expect(out.map(hex)).toEqual(leaves.map(hex));
        for (const leaf of out) expect(leaf.buffer).toBe(body.buffer);
      }),
    );
  });

  it('lays out a big-endian count, the length table, then the records', () => {
    const body = encodeBatchBody([new Uint8Array([0xaa]), new Uint8Array([0xbb, 0xcc])]);
    expect(hex(body)).toBe('00000002' + '00000001' + '00000002' + 'aa' + 'bbcc');
  });

  it('reuses a caller buffer and returns a view of the written prefix', () => {
    const scratch = new Uint8Array(64).fill(0xee);
    const body = encodeBatchBody([new Uint8Array([1, 2, 3])], scratch);
    expect(body.buffer).toBe(scratch.buffer);
    expect(body.length).toBe(11);
    expect(scratch[11]).toBe(0xee);
    expect(() => encodeBatchBody([new Uint8Array(100)], scratch)).toThrow(
      expect.objectContaining({ code: 'BUFFER_TOO_SMALL' }),
    );
  });

  it('builds in place the same body as encodeBatchBody, in a fresh or a reused dirty buffer', () => {
    fc.assert(
      fc.property(leavesArb, fc.integer({ min: 0, max: 2 }), (leaves, mode) => {
        const total = leaves.reduce((n, l) => n + l.length, 0);
        // mode 0: fresh; 1: a reused buffer full of old bytes; 2: one too small (ignored).
        const reuse =
          mode === 0 ? undefined : new Uint8Array(mode === 1 ? batchBodyLength(leaves) + 50 : 3).fill(0xee);
        const b = new BatchBodyBuilder(leaves.length, total, reuse);
        const views = leaves.map((leaf) => {
          b.bytes.set(leaf, b.nextOffset);
          return b.commit(leaf.length);
        });
        const body = b.finish();
        expect(hex(body)).toBe(hex(encodeBatchBody(leaves)));
        expect(views.map(hex)).toEqual(leaves.map(hex));
        if (mode === 1) expect(body.buffer).toBe(reuse!.buffer);
        else expect(body.buffer).not.toBe(reuse?.buffer);
      }),
    );
  });

  it('refuses empty batches, empty leaves and too many records', () => {
    expect(() => encodeBatchBody([])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => encodeBatchBody([new Uint8Array(1), new Uint8Array(0)])).toThrow(/leaf 1 to be non-empty/);
    const many = new Array<Uint8Array>(MAX_BATCH_RECORDS + 1).fill(new Uint8Array(1));
    expect(() => encodeBatchBody(many)).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
  });

  it('reports an inconsistent table with BAD_BATCH_BODY and the offset', () => {
    const body = encodeBatchBody([new Uint8Array([1]), new Uint8Array([2, 3])]);
    const cases: [Uint8Array, RegExp, number][] = [
      [body.subarray(0, 3), /at least 4 bytes, got 3/, 0],
      [new Uint8Array([0, 0, 0, 0]), /record count of 1…65536, got 0/, 0],
      [body.subarray(0, 10), /length table of 2 entries/, 0],
      [body.subarray(0, body.length - 1), /leaf 1 \(2 bytes at offset 13\)/, 8],
      [new Uint8Array([...body, 9]), /1 trailing bytes/, 15],
      [new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0, 7]), /leaf 0 to have a length ≥ 1, got 0/, 4],
    ];
    for (const [bytes, message, offset] of cases) {
      expect(() => decodeBatchBody(bytes)).toThrow(
        expect.objectContaining({ code: 'BAD_BATCH_BODY', offset, message: expect.stringMatching(message) }),
      );
    }
    expect(() => decodeBatchBody(body, 3)).toThrow(/expected record count 3 \(frame header\), got 2/);
  });
});
