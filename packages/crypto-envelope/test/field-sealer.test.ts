import { createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CryptoEnvelopeError,
  createFieldSealer,
  MAX_FIELD_PLAINTEXT_BYTES,
  SEALED_FIELD_OVERHEAD_BYTES,
  SubjectKey,
} from '../src/index';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) return err.code;
    throw err;
  }
  return undefined;
}
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('field-sealer', () => {
  const key = SubjectKey.generate('acme/u1');
  const sealer = createFieldSealer(key);

  it('round-trips any field up to 300 bytes with any AAD', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (plaintext, aad) => {
        const sealed = sealer.seal(plaintext, aad);
        expect(sealed.byteLength).toBe(plaintext.byteLength + SEALED_FIELD_OVERHEAD_BYTES);
        expect(toHex(sealer.open(sealed, aad))).toBe(toHex(plaintext));
      }),
      { numRuns: 300 },
    );
  });

  it('sealInto writes the sealed bytes in place, leaving the bytes around them untouched', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.nat({ max: 40 }),
        fc.nat({ max: 40 }),
        (plaintext, aad, before, after) => {
          const size = before + plaintext.byteLength + SEALED_FIELD_OVERHEAD_BYTES + after;
          const out = new Uint8Array(size).fill(0xa5);
          sealer.sealInto(plaintext, aad, out, before);
          const sealed = out.subarray(before, size - after);
          expect(toHex(sealer.open(sealed, aad))).toBe(toHex(plaintext));
          expect(out.subarray(0, before).every((b) => b === 0xa5)).toBe(true);
          expect(out.subarray(size - after).every((b) => b === 0xa5)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
    const out = new Uint8Array(SEALED_FIELD_OVERHEAD_BYTES + 2).fill(9);
    expect(codeOf(() => sealer.sealInto(new Uint8Array(3), new Uint8Array(0), out, 0))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => sealer.sealInto(new Uint8Array(1), new Uint8Array(0), out, 2))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(out.every((b) => b === 9)).toBe(true);
  });

  it('writes version 1, the key tag, a 12-byte nonce, ciphertext and tag, with header ‖ AAD authenticated', () => {
    const aad = new Uint8Array([7, 7]);
    const sealed = sealer.seal(new Uint8Array([1, 2, 3]), aad);
    expect(sealed[0]).toBe(1);
    expect(toHex(sealed.subarray(1, 5))).toBe(toHex(key.keyTag));
    const decipher = createDecipheriv('aes-256-gcm', key.keyObject, sealed.subarray(5, 17));
    decipher.setAAD(Buffer.concat([sealed.subarray(0, 5), aad]));
    decipher.setAuthTag(sealed.subarray(20));
    expect(toHex(Buffer.concat([decipher.update(sealed.subarray(17, 20)), decipher.final()]))).toBe('010203');
  });

  it('uses a different random nonce for every seal', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 2000; i++)
      nonces.add(toHex(sealer.seal(new Uint8Array(1), new Uint8Array(0)).subarray(5, 17)));
    expect(nonces.size).toBe(2000);
  });

  it('fails with AUTH_FAILED after any single-bit flip of nonce, ciphertext, tag or AAD', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.boolean(),
        fc.nat(),
        (plaintext, aad, flipAad, seed) => {
          const sealed = sealer.seal(plaintext, aad);
          if (flipAad) {
            const bad = Uint8Array.from(aad);
            bad[(seed >>> 3) % bad.byteLength]! ^= 1 << (seed & 7);
            expect(codeOf(() => sealer.open(sealed, bad))).toBe('AUTH_FAILED');
          } else {
            const bad = Uint8Array.from(sealed);
            // Flip a bit after the version and key tag (those are checked before decryption).
            const bit = 5 * 8 + (seed % ((sealed.byteLength - 5) * 8));
            bad[bit >>> 3]! ^= 1 << (bit & 7);
            expect(codeOf(() => sealer.open(bad, aad))).toBe('AUTH_FAILED');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports KEY_MISMATCH for fields sealed under another key and MALFORMED_SEALED_FIELD for bad layout', () => {
    const other = createFieldSealer(SubjectKey.generate('acme/u1'));
    const sealed = other.seal(new Uint8Array([1]), new Uint8Array(0));
    expect(codeOf(() => sealer.open(sealed, new Uint8Array(0)))).toBe('KEY_MISMATCH');
    expect(codeOf(() => sealer.open(sealed.subarray(0, 32), new Uint8Array(0)))).toBe(
      'MALFORMED_SEALED_FIELD',
    );
    const v2 = sealer.seal(new Uint8Array([1]), new Uint8Array(0));
    v2[0] = 2;
    expect(codeOf(() => sealer.open(v2, new Uint8Array(0)))).toBe('MALFORMED_SEALED_FIELD');
  });

  it('rejects plaintexts over 64 KiB and counts seals', () => {
    const fresh = createFieldSealer(key);
    expect(codeOf(() => fresh.seal(new Uint8Array(MAX_FIELD_PLAINTEXT_BYTES + 1), new Uint8Array(0)))).toBe(
      'INVALID_ARGUMENT',
    );
    fresh.seal(new Uint8Array(MAX_FIELD_PLAINTEXT_BYTES), new Uint8Array(0));
    expect(fresh.sealCount).toBe(1);
  });
});
