import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../src/errors';
import {
  assembledRecordLength,
  assembleRecord,
  assembleRecordInto,
  decodeRecord,
  type EntityLink,
  encodeRecordBody,
  MAX_RECORD_BYTES,
} from '../src/record';
import { recordBodyArb } from './support/arbitraries';
import { makeBodies, makeEvents, normalizeAll } from './support/corpus';
import { GOLDEN_BODY_FIRST, GOLDEN_BODY_SECOND, goldenBytes, goldenLink, plain } from './support/golden';

export const linkArb: fc.Arbitrary<EntityLink | null> = fc.option(
  fc.record({
    leafIndex: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
    leafHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  { nil: null },
);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('record', () => {
  it('decodes what it encodes for any valid body and entity link', () => {
    fc.assert(
      fc.property(recordBodyArb, linkArb, (body, prev) => {
        const leaf = assembleRecord(prev, encodeRecordBody(body));
        expect(plain(decodeRecord(leaf))).toEqual(plain({ version: 1, prev, ...body }));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes deterministically: equal bodies give identical bytes, also via a deep clone', () => {
    fc.assert(
      fc.property(recordBodyArb, linkArb, (body, prev) => {
        const a = assembleRecord(prev, encodeRecordBody(body));
        const b = assembleRecord(
          prev === null ? null : structuredClone(prev),
          encodeRecordBody(structuredClone(body)),
        );
        expect(hex(b)).toBe(hex(a));
      }),
      { numRuns: 200 },
    );
  });

  it('encodes the golden records byte for byte (test/fixtures/record-v1-*.hex)', () => {
    const first = assembleRecord(null, encodeRecordBody(GOLDEN_BODY_FIRST));
    expect(hex(first)).toBe(hex(goldenBytes('record-v1-first.hex', first)));
    const second = assembleRecord(goldenLink(first), encodeRecordBody(GOLDEN_BODY_SECOND));
    expect(hex(second)).toBe(hex(goldenBytes('record-v1-linked.hex', second)));
    expect(plain(decodeRecord(second).prev)).toEqual(plain(goldenLink(first)));
  });

  it('starts every leaf with fixarray(3), the version, and nil or the shortest-form link', () => {
    const body = encodeRecordBody(GOLDEN_BODY_FIRST);
    const hash = new Uint8Array(32).fill(0xab);
    const cases: [number, string][] = [
      [0, '9301' + '92' + '00'],
      [127, '9301' + '92' + '7f'],
      [128, '9301' + '92' + 'cc80'],
      [65_535, '9301' + '92' + 'cdffff'],
      [65_536, '9301' + '92' + 'ce00010000'],
      [2 ** 32, '9301' + '92' + 'cf0000000100000000'],
      [Number.MAX_SAFE_INTEGER, '9301' + '92' + 'cf001fffffffffffff'],
    ];
    expect(hex(assembleRecord(null, body).subarray(0, 3))).toBe('9301c0');
    for (const [leafIndex, prefix] of cases) {
      const leaf = assembleRecord({ leafIndex, leafHash: hash }, body);
      expect(hex(leaf).startsWith(`${prefix}c420${'ab'.repeat(32)}dc0010`)).toBe(true);
      expect(leaf.length).toBe(assembledRecordLength({ leafIndex, leafHash: hash }, body.length));
      expect(decodeRecord(leaf).prev?.leafIndex).toBe(leafIndex);
    }
  });

  it('assembles into a caller buffer at an offset and returns a view of it', () => {
    const body = encodeRecordBody(GOLDEN_BODY_FIRST);
    const out = new Uint8Array(1000).fill(0xee);
    const leaf = assembleRecord(null, body, out, 10);
    expect(leaf.buffer).toBe(out.buffer);
    expect(leaf.byteOffset).toBe(10);
    expect(out[9]).toBe(0xee);
    expect(out[10 + leaf.length]).toBe(0xee);
    expect(hex(leaf)).toBe(hex(assembleRecord(null, body)));
    expect(() => assembleRecord(null, body, new Uint8Array(body.length + 2))).toThrow(
      expect.objectContaining({ code: 'BUFFER_TOO_SMALL' }),
    );
  });

  it('assembleRecordInto writes the same leaf as assembleRecord and returns its length, or writes nothing', () => {
    fc.assert(
      fc.property(recordBodyArb, linkArb, fc.nat(64), (rec, prev, offset) => {
        const body = encodeRecordBody(rec);
        const want = assembleRecord(prev, body);
        const out = new Uint8Array(offset + want.length + 3).fill(0xee);
        expect(assembleRecordInto(prev, body, out, offset)).toBe(want.length);
        expect(hex(out.subarray(offset, offset + want.length))).toBe(hex(want));
        expect(out.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
        expect(out.subarray(offset + want.length).every((b) => b === 0xee)).toBe(true);
        const small = new Uint8Array(offset + want.length - 1).fill(0xee);
        expect(() => assembleRecordInto(prev, body, small, offset)).toThrow(
          expect.objectContaining({ code: 'BUFFER_TOO_SMALL' }),
        );
        expect(small.every((b) => b === 0xee)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('returns byte fields of a decoded record as views into the leaf', () => {
    const leaf = assembleRecord(null, encodeRecordBody(GOLDEN_BODY_FIRST));
    const rec = decodeRecord(leaf);
    expect(rec.sealed_personal.buffer).toBe(leaf.buffer);
    expect(rec.subject_token.buffer).toBe(leaf.buffer);
  });

  it('keeps realistic corpus records near their JSON size', () => {
    const bodies = makeBodies(normalizeAll(makeEvents(256)));
    let total = 0;
    for (const b of bodies) total += assembleRecord(null, encodeRecordBody(b)).length;
    const avg = total / bodies.length;
    expect(avg).toBeGreaterThan(300);
    expect(avg).toBeLessThan(700);
  });

  it('rejects bad arguments to assembleRecord and encodeRecordBody with typed errors', () => {
    const body = encodeRecordBody(GOLDEN_BODY_FIRST);
    const err = (code: string, msg: RegExp) =>
      expect.objectContaining({ code, message: expect.stringMatching(msg) });
    expect(() => assembleRecord(null, body.subarray(1))).toThrow(err('INVALID_ARGUMENT', /array16\(16\)/));
    expect(() => assembleRecord({ leafIndex: 1, leafHash: new Uint8Array(31) }, body)).toThrow(
      err('INVALID_ARGUMENT', /prev.leafHash of 32 bytes, got 31/),
    );
    expect(() => assembleRecord({ leafIndex: -1, leafHash: new Uint8Array(32) }, body)).toThrow(
      err('INVALID_ARGUMENT', /prev.leafIndex/),
    );
    expect(() => encodeRecordBody({ ...GOLDEN_BODY_FIRST, occurred_at: 1.5 })).toThrow(
      err('INVALID_ARGUMENT', /occurred_at/),
    );
    expect(() => encodeRecordBody({ ...GOLDEN_BODY_FIRST, result: 'maybe' as never })).toThrow(
      err('INVALID_ARGUMENT', /result in success\|failure\|unknown, got maybe/),
    );
    expect(() =>
      encodeRecordBody({ ...GOLDEN_BODY_FIRST, sealed_personal: new Uint8Array(MAX_RECORD_BYTES) }),
    ).toThrow(err('LIMIT_EXCEEDED', /at most 1048576 bytes/));
  });

  it('rejects malformed leaves with BAD_RECORD or UNSUPPORTED_VERSION and the offset', () => {
    const leaf = assembleRecord(
      { leafIndex: 300, leafHash: new Uint8Array(32) },
      encodeRecordBody(GOLDEN_BODY_FIRST),
    );
    const mutate = (f: (b: Uint8Array) => Uint8Array): Uint8Array => f(new Uint8Array(leaf));
    const setByte = (at: number, value: number): Uint8Array => {
      const b = new Uint8Array(leaf);
      b[at] = value;
      return b;
    };
    const cases: [Uint8Array, string, RegExp, number | undefined][] = [
      [setByte(0, 0x94), 'BAD_RECORD', /expected fixarray\(3\) 0x93 at offset 0, got 0x94/, 0],
      [setByte(1, 2), 'UNSUPPORTED_VERSION', /expected version 1, got 0x02/, 1],
      [setByte(2, 0x91), 'BAD_RECORD', /expected prev as nil/, 2],
      // 300 written as uint32 instead of uint16 (not the shortest form)
      [
        new Uint8Array([0x93, 0x01, 0x92, 0xce, 0, 0, 1, 0x2c, ...leaf.subarray(6)]),
        'BAD_RECORD',
        /shortest msgpack uint/,
        3,
      ],
      [mutate((b) => b.subarray(0, b.length - 1)), 'BAD_RECORD', /not valid msgpack/, 40],
      [new Uint8Array([...leaf, 0xc0]), 'BAD_RECORD', /not valid msgpack/, 40],
      [mutate((b) => b.subarray(0, 20)), 'BAD_RECORD', /truncated in prev.leafHash/, 8],
    ];
    for (const [bytes, code, message, offset] of cases) {
      let caught: unknown;
      try {
        decodeRecord(bytes);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(CodecError);
      expect(caught).toMatchObject({ code, offset });
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('rejects a body whose slots have the wrong types, naming the field', () => {
    const body = encodeRecordBody(GOLDEN_BODY_FIRST);
    // Slot 4 (actor_type) holds code 0 as positive fixint 0x00; 0x05 is outside the table.
    const at = Buffer.from(body).indexOf(Buffer.from([0x00, 0xc4, 0x20]), 3);
    const tampered = new Uint8Array(body);
    tampered[at] = 0x05;
    expect(() => decodeRecord(assembleRecord(null, tampered))).toThrow(
      /expected actor_type to be a code 0…2, got number/,
    );
  });
});
