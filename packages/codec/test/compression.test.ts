import fc from 'fast-check';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { encodeBatchBody } from '../src/batch-body';
import { compressBody, decompressBody, snappyUncompressedLength } from '../src/compression';
import { assembleRecord, encodeRecordBody } from '../src/record';
import { makeBodies, makeEvents, normalizeAll } from './support/corpus';

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('compression', () => {
  it('round-trips any body and reads the length from the snappy preamble', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (plain) => {
        const c = compressBody(plain);
        expect(snappyUncompressedLength(c)).toBe(plain.length);
        expect(hex(decompressBody(c, plain.length))).toBe(hex(plain));
      }),
    );
  });

  it('produces the same bytes as bare snappy.compressSync with default options', () => {
    const plain = new Uint8Array(Buffer.from('audit '.repeat(1000)));
    expect(hex(compressBody(plain))).toBe(hex(compressSync(plain)));
  });

  it('compresses a realistic batch (sealed personal blobs are random) to under 85%', () => {
    const leaves = makeBodies(normalizeAll(makeEvents(512))).map((b) =>
      assembleRecord(null, encodeRecordBody(b)),
    );
    const body = encodeBatchBody(leaves);
    expect(compressBody(body).length / body.length).toBeLessThan(0.85);
  });

  it('refuses a body whose preamble disagrees with the header before decompressing', () => {
    const c = compressBody(new Uint8Array(100));
    expect(() => decompressBody(c, 99)).toThrow(
      expect.objectContaining({
        code: 'COMPRESSION',
        message: expect.stringMatching(/preamble of 99 bytes.*got 100/),
      }),
    );
    expect(() => decompressBody(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 10)).toThrow(
      /malformed preamble/,
    );
    expect(() => decompressBody(new Uint8Array([100, 0xff, 0xff]), 100)).toThrow(
      expect.objectContaining({ code: 'COMPRESSION' }),
    );
    expect(() => decompressBody(c, 2 ** 31)).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
  });
});
