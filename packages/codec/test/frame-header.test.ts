import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBatchBody } from '../src/batch-body';
import { CodecError } from '../src/errors';
import {
  decodeFrameHeader,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  type FrameHeaderFields,
  GCM_TAG_BYTES,
} from '../src/frame-header';
import { assembleRecord, encodeRecordBody } from '../src/record';
import {
  GOLDEN_BODY_FIRST,
  GOLDEN_BODY_SECOND,
  GOLDEN_SEALED_HEADER,
  goldenBytes,
  goldenLink,
  goldenPlainFrameFields,
  leafHash,
  nodeHash,
  plain,
} from './support/golden';

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** The golden plain frame: header ‖ batch body of the two golden records (flags 0). */
export function goldenPlainFrame(): Uint8Array {
  const first = assembleRecord(null, encodeRecordBody(GOLDEN_BODY_FIRST));
  const second = assembleRecord(goldenLink(first), encodeRecordBody(GOLDEN_BODY_SECOND));
  const body = encodeBatchBody([first, second]);
  // RFC 9162 §2.1.1: the root of two leaves is H(0x01 ‖ leafHash(a) ‖ leafHash(b)).
  const root = nodeHash(leafHash(first), leafHash(second));
  const header = encodeFrameHeader(goldenPlainFrameFields(body.length, root));
  return new Uint8Array([...header, ...body]);
}

const u64 = fc.nat({ max: Number.MAX_SAFE_INTEGER - 70_000 });
const headerArb: fc.Arbitrary<FrameHeaderFields> = fc
  .record({
    compressed: fc.boolean(),
    encrypted: fc.boolean(),
    logId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    batchIndex: u64,
    firstLeafIndex: u64,
    recordCount: fc.integer({ min: 1, max: 65_536 }),
    extraPlain: fc.nat({ max: 1_000_000 }),
    storedCompressed: fc.integer({ min: 17, max: 2_000_000 }),
    keyId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }),
    t1: u64,
    t2: u64,
    batchRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    prevChainHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  })
  .map((r) => {
    const plainBodyLength = 9 + 5 * (r.recordCount - 1) + r.extraPlain;
    return {
      recordEncoding: 0,
      compressed: r.compressed,
      encrypted: r.encrypted,
      logId: r.logId,
      batchIndex: r.batchIndex,
      firstLeafIndex: r.firstLeafIndex,
      recordCount: r.recordCount,
      plainBodyLength,
      storedBodyLength: r.compressed
        ? r.storedCompressed
        : plainBodyLength + (r.encrypted ? GCM_TAG_BYTES : 0),
      keyId: r.encrypted ? r.keyId : new Uint8Array(16),
      nonce: r.encrypted ? r.nonce : new Uint8Array(12),
      minOccurredAt: Math.min(r.t1, r.t2),
      maxOccurredAt: Math.max(r.t1, r.t2),
      batchRoot: r.batchRoot,
      prevChainHash: r.prevChainHash,
    };
  });

function thrown(f: () => unknown): CodecError {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e;
    throw e;
  }
  throw new Error('expected a CodecError');
}

describe('frame-header', () => {
  it('decodes what it encodes for any valid field set', () => {
    fc.assert(
      fc.property(headerArb, (fields) => {
        const bytes = encodeFrameHeader(fields);
        expect(bytes.length).toBe(FRAME_HEADER_BYTES);
        expect(plain(decodeFrameHeader(bytes))).toEqual(plain({ version: 1, ...fields }));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes the golden sealed header byte for byte (test/fixtures/frame-header-v1-sealed.hex)', () => {
    const bytes = encodeFrameHeader(GOLDEN_SEALED_HEADER);
    expect(hex(bytes)).toBe(hex(goldenBytes('frame-header-v1-sealed.hex', bytes)));
    // Spot-check the documented layout: magic, version, flags, u64 big-endian, u32 big-endian.
    expect(hex(bytes.subarray(0, 8))).toBe('53454c47010c0000');
    expect(hex(bytes.subarray(24, 32))).toBe('0000000100000002');
    expect(hex(bytes.subarray(40, 44))).toBe('00000800');
  });

  it('encodes the golden plain frame byte for byte (test/fixtures/frame-v1-plain.hex)', () => {
    const frame = goldenPlainFrame();
    expect(hex(frame)).toBe(hex(goldenBytes('frame-v1-plain.hex', frame)));
    const h = decodeFrameHeader(frame);
    expect(h.storedBodyLength).toBe(frame.length - FRAME_HEADER_BYTES);
  });

  it('writes into a caller buffer at an offset and zeroes reserved bytes left dirty', () => {
    const out = new Uint8Array(FRAME_HEADER_BYTES + 20).fill(0xff);
    const view = encodeFrameHeader(GOLDEN_SEALED_HEADER, out, 20);
    expect(view.buffer).toBe(out.buffer);
    expect(hex(view)).toBe(hex(encodeFrameHeader(GOLDEN_SEALED_HEADER)));
    expect(out[19]).toBe(0xff);
  });

  it('reports a wrong magic quoting expected and got', () => {
    const e = thrown(() => decodeFrameHeader(new Uint8Array(FRAME_HEADER_BYTES)));
    expect(e.code).toBe('BAD_FRAME_HEADER');
    expect(e.message).toBe('frame header: expected magic 0x53454c47, got 0x00000000');
    expect(e.offset).toBe(0);
  });

  it('rejects corrupted fields with the offset of the field', () => {
    const good = encodeFrameHeader(GOLDEN_SEALED_HEADER);
    const cases: [number, number, string, RegExp][] = [
      [4, 2, 'UNSUPPORTED_VERSION', /expected version 1, got 2/],
      [5, 0x1c, 'BAD_FRAME_HEADER', /reserved flag bits/],
      [5, 0x0d, 'BAD_FRAME_HEADER', /expected record encoding 0, got 1/],
      [7, 1, 'BAD_FRAME_HEADER', /reserved bytes 6–7/],
      [24, 0x01, 'BAD_FRAME_HEADER', /batchIndex ≤ 2\^53 − 1/],
      [40, 0xff, 'BAD_FRAME_HEADER', /expected recordCount 1…65536, got/],
      [44, 0xff, 'BAD_FRAME_HEADER', /plainBodyLength/],
      [175, 1, 'BAD_FRAME_HEADER', /reserved bytes 160–175/],
      [80, 0xff, 'BAD_FRAME_HEADER', /minOccurredAt/],
    ];
    for (const [at, value, code, message] of cases) {
      const b = new Uint8Array(good);
      b[at] = value;
      const e = thrown(() => decodeFrameHeader(b));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
      expect(e.offset).toBe(at === 5 || at === 7 ? (at === 7 ? 6 : 5) : at);
    }
  });

  it('rejects lengths that contradict the flags and key material on an unencrypted frame', () => {
    const base = goldenPlainFrameFields(100, new Uint8Array(32));
    const bad = (f: Partial<FrameHeaderFields>, message: RegExp) =>
      expect(thrown(() => encodeFrameHeader({ ...base, ...f })).message).toMatch(message);
    bad({ storedBodyLength: 99 }, /expected storedBodyLength 100 \(uncompressed\), got 99/);
    bad({ encrypted: true }, /expected storedBodyLength 116 \(uncompressed \+ tag\), got 100/);
    bad({ nonce: new Uint8Array(12).fill(1) }, /nonce all zero when not encrypted/);
    bad({ logId: new Uint8Array(15) }, /expected logId of 16 bytes, got 15/);
    bad({ minOccurredAt: 5, maxOccurredAt: 4 }, /minOccurredAt ≤ maxOccurredAt, got 5 > 4/);
    bad({ recordCount: 0 }, /recordCount 1…65536, got 0/);
    expect(thrown(() => decodeFrameHeader(new Uint8Array(175))).message).toMatch(
      /at least 176 bytes, got 175/,
    );
    expect(thrown(() => encodeFrameHeader(base, new Uint8Array(100))).code).toBe('BUFFER_TOO_SMALL');
  });
});
