import { randomFillSync } from 'node:crypto';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { encodeBatchBody } from '../src/batch-body';
import { BodyCompressor, compressBody, decompressBody, snappyUncompressedLength } from '../src/compression';
import { assembleRecord, encodeRecordBody } from '../src/record';
import { makeBodies, makeEvents, normalizeAll } from './support/corpus';

function randomFill(b: Buffer, at: number, n: number): void {
  randomFillSync(b, at, n);
}

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

  it('BodyCompressor gives the bytes of one compressSync call over the whole body, block by block', () => {
    const compressor = new BodyCompressor();
    fc.assert(
      fc.property(
        // Around the 1 MiB threshold and the 64 KiB block edges; random, repetitive or mixed.
        fc.integer({ min: (1 << 20) - 3, max: (1 << 20) + 3 * 65536 + 2 }),
        fc.constantFrom('random', 'text', 'mixed'),
        fc.integer(),
        (size, kind, seed) => {
          const plain = Buffer.alloc(size, `audit ${seed} `);
          if (kind !== 'text') {
            for (let at = 0; at < size; at += kind === 'random' ? size : 8192) {
              randomFill(plain, at, Math.min(size - at, kind === 'random' ? size : 4096));
            }
          }
          const c = compressor.compress(plain);
          expect(Buffer.from(c).equals(compressSync(plain))).toBe(true);
          expect(Buffer.from(decompressBody(c, size)).equals(plain)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('BodyCompressor reuses its buffer for large bodies and refuses bodies over the limit', () => {
    const compressor = new BodyCompressor();
    const a = compressor.compress(Buffer.alloc(3 << 20, 'a'));
    const b = compressor.compress(Buffer.alloc(2 << 20, 'b'));
    expect(b.buffer).toBe(a.buffer);
    expect(Buffer.from(decompressBody(b, 2 << 20)).equals(Buffer.alloc(2 << 20, 'b'))).toBe(true);
    // Small bodies: one call, a buffer of their own.
    const small = compressor.compress(Buffer.alloc(1000, 'c'));
    expect(small.buffer).not.toBe(a.buffer);
    expect(() => compressor.compress(new Uint8Array(64 * 1024 * 1024 + 1))).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
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
