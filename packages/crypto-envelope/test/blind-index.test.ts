import { createHmac, hkdfSync } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLIND_TOKEN_BYTES, blindToken, CryptoEnvelopeError, deriveBlindIndexKey } from '../src/index';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ROOT = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);

/** Independent reference with node:crypto: HKDF per tenant, then HMAC over len16(field) ‖ field ‖ value. */
function reference(root: Uint8Array, tenant: string, field: string, value: Uint8Array): string {
  const tenantKey = Buffer.from(
    hkdfSync('sha256', root, Buffer.from('sealog/blind-index/v1'), Buffer.from(tenant), 32),
  );
  const f = Buffer.from(field, 'utf8');
  const prefix = Buffer.from([f.byteLength >>> 8, f.byteLength & 0xff]);
  return createHmac('sha256', tenantKey)
    .update(prefix)
    .update(f)
    .update(value)
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

describe('blind-index', () => {
  it('computes HMAC-SHA256 per RFC 4231 test cases 1 and 2 with the library it uses', () => {
    expect(toHex(hmac(sha256, new Uint8Array(20).fill(0x0b), new TextEncoder().encode('Hi There')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(
      toHex(
        hmac(
          sha256,
          new TextEncoder().encode('Jefe'),
          new TextEncoder().encode('what do ya want for nothing?'),
        ),
      ),
    ).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('derives keys per RFC 5869 test case 1 (HKDF-SHA256) with the library it uses', () => {
    const okm = hkdf(
      sha256,
      new Uint8Array(22).fill(0x0b),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(toHex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('produces the golden token for a fixed root key, tenant, field and value', () => {
    const key = deriveBlindIndexKey(ROOT, 'acme');
    // Golden value computed with node:crypto hkdfSync + createHmac (see `reference`).
    expect(toHex(blindToken(key, 'actor.email', 'alice@example.com'))).toBe(
      '2831f8df0addee98b055c0e1f71be66f',
    );
  });

  it('matches an independent node:crypto implementation for any tenant, field and value', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ maxLength: 30 }),
        fc.oneof(fc.string({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 })),
        (tenant, field, value) => {
          const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
          const key = deriveBlindIndexKey(ROOT, tenant);
          expect(toHex(blindToken(key, field, value))).toBe(reference(ROOT, tenant, field, bytes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('separates tenants, fields and the field/value boundary', () => {
    const acme = deriveBlindIndexKey(ROOT, 'acme');
    const other = deriveBlindIndexKey(ROOT, 'other');
    const t = (k: typeof acme, f: string, v: string) => toHex(blindToken(k, f, v));
    expect(t(acme, 'actor.email', 'a')).not.toBe(t(other, 'actor.email', 'a'));
    expect(t(acme, 'actor.email', 'a')).not.toBe(t(acme, 'actor.name', 'a'));
    expect(t(acme, 'ab', 'c')).not.toBe(t(acme, 'a', 'bc'));
    expect(t(acme, 'f', 'same')).toBe(t(acme, 'f', 'same'));
  });

  it('writes into a caller buffer and rejects short buffers and bad keys', () => {
    const key = deriveBlindIndexKey(ROOT, 'acme');
    const out = new Uint8Array(20);
    expect(blindToken(key, 'f', 'v', out)).toBe(out);
    expect(toHex(out.subarray(0, BLIND_TOKEN_BYTES))).toBe(toHex(blindToken(key, 'f', 'v')));
    expect(() => blindToken(key, 'f', 'v', new Uint8Array(15))).toThrow(CryptoEnvelopeError);
    expect(() => deriveBlindIndexKey(new Uint8Array(31), 'acme')).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY' }),
    );
    expect(() => deriveBlindIndexKey(ROOT, '')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
