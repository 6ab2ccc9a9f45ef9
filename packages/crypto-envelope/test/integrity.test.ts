import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoEnvelopeError, formatIntegrity, parseIntegrity } from '../src/index';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) return err.code;
    throw err;
  }
  return undefined;
}

const HASH = 'a'.repeat(64);

describe('integrity', () => {
  it('formats keySetId::keyId::algoVersion::hashHex', () => {
    expect(
      formatIntegrity({
        keySetId: 'sealog.example/log/default',
        keyId: 'c74f20a3',
        algoVersion: '1',
        hashHex: HASH,
      }),
    ).toBe(`sealog.example/log/default::c74f20a3::1::${HASH}`);
  });

  it('round-trips any valid components', () => {
    const id = (chars: string, max: number) =>
      fc.string({ unit: fc.constantFrom(...chars.split('')), minLength: 1, maxLength: max });
    const base = 'abcXYZ019._-';
    fc.assert(
      fc.property(
        id(`${base}/`, 128),
        id(base, 128),
        id(base, 16),
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        (keySetId, keyId, algoVersion, hash) => {
          const integrity = { keySetId, keyId, algoVersion, hashHex: Buffer.from(hash).toString('hex') };
          expect(parseIntegrity(formatIntegrity(integrity))).toEqual(integrity);
        },
      ),
    );
  });

  it('rejects wrong component counts, empty parts, colons, uppercase or odd-length hex', () => {
    const bad = [
      `a::b::${HASH}`,
      `a::b::1::${HASH}::x`,
      `::b::1::${HASH}`,
      `a::::1::${HASH}`,
      `a::b:c::1::${HASH}`,
      `a::b::1::${HASH.toUpperCase()}`,
      `a::b::1::${HASH}a`,
      'a::b::1::abcd',
      `a b::k::1::${HASH}`,
      `a::b::${'v'.repeat(17)}::${HASH}`,
    ];
    for (const text of bad)
      expect(
        codeOf(() => parseIntegrity(text)),
        text,
      ).toBe('MALFORMED_INTEGRITY');
    expect(
      codeOf(() => formatIntegrity({ keySetId: 'a::b', keyId: 'k', algoVersion: '1', hashHex: HASH })),
    ).toBe('MALFORMED_INTEGRITY');
  });
});
