import { createCipheriv, createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CryptoEnvelopeError,
  createFrameSealer,
  DataKey,
  FRAME_NONCE_BYTES,
  FRAME_TAG_BYTES,
  FrameSealer,
  MAX_OUTSTANDING_NONCES,
  openFrame,
} from '../src/index';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) return err.code;
    throw err;
  }
  return undefined;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[bit >>> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('frame-sealer', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, Test Case 16
  // (AES-256, 96-bit IV, 20-byte AAD, 60-byte plaintext).
  const GCM_TC16 = {
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    plaintext:
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    ciphertext:
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  };
  const kat = DataKey.fromBytes(hex(GCM_TC16.key), new Uint8Array(16));

  it('opens the GCM spec test case 16 (AES-256 with AAD) to its plaintext', () => {
    const plaintext = openFrame(
      kat,
      hex(GCM_TC16.iv),
      hex(GCM_TC16.aad),
      hex(GCM_TC16.ciphertext + GCM_TC16.tag),
    );
    expect(toHex(plaintext)).toBe(GCM_TC16.plaintext);
  });

  it('opens the GCM spec test case 14 (zero key, zero IV, one zero block)', () => {
    const zero = DataKey.fromBytes(new Uint8Array(32), new Uint8Array(16));
    const body = hex('cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919');
    expect(toHex(openFrame(zero, new Uint8Array(12), new Uint8Array(0), body))).toBe('00'.repeat(16));
  });

  it('rejects test case 16 with AUTH_FAILED when the tag is off by one bit', () => {
    const body = flipBit(hex(GCM_TC16.ciphertext + GCM_TC16.tag), 60 * 8);
    expect(codeOf(() => openFrame(kat, hex(GCM_TC16.iv), hex(GCM_TC16.aad), body))).toBe('AUTH_FAILED');
  });

  it('produces ciphertext ‖ tag identical to bare createCipheriv with the issued nonce', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    const nonce = sealer.nextNonce();
    const aad = new TextEncoder().encode('frame header');
    const plaintext = new Uint8Array(1000).map((_, i) => i & 0xff);
    const sealed = sealer.seal(nonce, aad, plaintext);
    const bare = createCipheriv('aes-256-gcm', key.keyObject, nonce);
    bare.setAAD(aad);
    const expected = Buffer.concat([bare.update(plaintext), bare.final(), bare.getAuthTag()]);
    expect(toHex(sealed)).toBe(expected.toString('hex'));
    const decipher = createDecipheriv('aes-256-gcm', key.keyObject, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(1000));
    expect(
      Buffer.concat([decipher.update(sealed.subarray(0, 1000)), decipher.final()]).equals(plaintext),
    ).toBe(true);
  });

  it('issues nonces as a fixed 4-byte prefix and a big-endian 64-bit counter from 0', () => {
    const sealer = createFrameSealer(DataKey.generate());
    const a = sealer.nextNonce();
    const b = sealer.nextNonce();
    const c = sealer.nextNonce();
    expect(a.byteLength).toBe(FRAME_NONCE_BYTES);
    expect(toHex(a.subarray(0, 4))).toBe(toHex(b.subarray(0, 4)));
    expect(toHex(a.subarray(4))).toBe('0000000000000000');
    expect(toHex(b.subarray(4))).toBe('0000000000000001');
    expect(toHex(c.subarray(4))).toBe('0000000000000002');
    expect(sealer.framesIssued).toBe(3);
  });

  it('writes the nonce into a caller buffer at an offset and returns that view', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    const header = new Uint8Array(40);
    const nonce = sealer.nextNonce(header, 20);
    expect(nonce.buffer).toBe(header.buffer);
    expect(nonce.byteOffset).toBe(20);
    const sealed = sealer.seal(nonce, header, new Uint8Array([1, 2, 3]));
    expect(toHex(openFrame(key, nonce, header, sealed))).toBe('010203');
  });

  it('round-trips any plaintext and AAD, with and without an out buffer', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.uint8Array({ maxLength: 128 }),
        fc.boolean(),
        (plaintext, aad, useOut) => {
          const nonce = sealer.nextNonce();
          const out = useOut ? new Uint8Array(plaintext.byteLength + FRAME_TAG_BYTES + 7) : undefined;
          const sealed = sealer.seal(nonce, aad, plaintext, out);
          expect(sealed.byteLength).toBe(plaintext.byteLength + FRAME_TAG_BYTES);
          if (out !== undefined) expect(sealed.buffer).toBe(out.buffer);
          const opened = openFrame(
            key,
            nonce,
            aad,
            sealed,
            useOut ? new Uint8Array(plaintext.byteLength) : undefined,
          );
          expect(toHex(opened)).toBe(toHex(plaintext));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fails to open with AUTH_FAILED after any single-bit flip of ciphertext, tag, nonce or AAD', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.constantFrom('body', 'nonce', 'aad'),
        fc.nat(),
        (plaintext, aad, where, seed) => {
          const nonce = sealer.nextNonce();
          const body = sealer.seal(nonce, aad, plaintext);
          // 'body' covers ciphertext and tag (the tag is its last 16 bytes).
          const target = where === 'body' ? body : where === 'nonce' ? nonce : aad;
          const flipped = flipBit(target, seed % (target.byteLength * 8));
          const args =
            where === 'body'
              ? ([nonce, aad, flipped] as const)
              : where === 'nonce'
                ? ([flipped, aad, body] as const)
                : ([nonce, flipped, body] as const);
          expect(codeOf(() => openFrame(key, ...args))).toBe('AUTH_FAILED');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throws NONCE_REUSE when an issued nonce is sealed with twice', () => {
    const sealer = createFrameSealer(DataKey.generate());
    const nonce = sealer.nextNonce();
    sealer.seal(nonce, new Uint8Array(0), new Uint8Array([1]));
    expect(codeOf(() => sealer.seal(nonce, new Uint8Array(0), new Uint8Array([2])))).toBe('NONCE_REUSE');
    expect(
      codeOf(() => sealer.sealDetached(nonce, new Uint8Array(0), new Uint8Array([2]), new Uint8Array(16))),
    ).toBe('NONCE_REUSE');
    expect(sealer.framesSealed).toBe(1);
  });

  it('throws NONCE_REUSE for a discarded nonce', () => {
    const sealer = createFrameSealer(DataKey.generate());
    const nonce = sealer.nextNonce();
    sealer.discardNonce(nonce);
    expect(codeOf(() => sealer.seal(nonce, new Uint8Array(0), new Uint8Array(1)))).toBe('NONCE_REUSE');
  });

  it('throws NONCE_FOREIGN for nonces another sealer issued, not yet issued, or made up', () => {
    const sealer = createFrameSealer(DataKey.generate());
    const other = createFrameSealer(DataKey.generate());
    const issued = sealer.nextNonce();
    expect(codeOf(() => sealer.seal(other.nextNonce(), new Uint8Array(0), new Uint8Array(1)))).toBe(
      'NONCE_FOREIGN',
    );
    const ahead = Uint8Array.from(issued);
    ahead[11] = 5; // counter 5 was never issued
    expect(codeOf(() => sealer.seal(ahead, new Uint8Array(0), new Uint8Array(1)))).toBe('NONCE_FOREIGN');
    expect(codeOf(() => sealer.seal(new Uint8Array(12), new Uint8Array(0), new Uint8Array(1)))).toBe(
      'NONCE_FOREIGN',
    );
    expect(codeOf(() => sealer.seal(new Uint8Array(11), new Uint8Array(0), new Uint8Array(1)))).toBe(
      'INVALID_ARGUMENT',
    );
    // The genuine nonce is still usable after the rejected attempts.
    expect(sealer.seal(issued, new Uint8Array(0), new Uint8Array(1)).byteLength).toBe(17);
  });

  it('seals nonces in any order while several frames are in flight', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    const nonces = [sealer.nextNonce(), sealer.nextNonce(), sealer.nextNonce()];
    for (const i of [2, 0, 1]) {
      const body = sealer.seal(nonces[i]!, new Uint8Array([i]), new Uint8Array([i, i]));
      expect(toHex(openFrame(key, nonces[i]!, new Uint8Array([i]), body))).toBe(
        toHex(new Uint8Array([i, i])),
      );
    }
  });

  it('throws KEY_EXHAUSTED once maxFrames nonces were issued', () => {
    const sealer = createFrameSealer(DataKey.generate(), { maxFrames: 3 });
    for (let i = 0; i < 3; i++) sealer.seal(sealer.nextNonce(), new Uint8Array(0), new Uint8Array(1));
    expect(sealer.framesRemaining).toBe(0);
    expect(codeOf(() => sealer.nextNonce())).toBe('KEY_EXHAUSTED');
  });

  it('refuses to issue more than MAX_OUTSTANDING_NONCES unsealed nonces', () => {
    const sealer = createFrameSealer(DataKey.generate());
    const first = sealer.nextNonce();
    for (let i = 1; i < MAX_OUTSTANDING_NONCES; i++) sealer.nextNonce();
    expect(codeOf(() => sealer.nextNonce())).toBe('INVALID_ARGUMENT');
    sealer.discardNonce(first);
    expect(sealer.nextNonce().byteLength).toBe(12);
  });

  it('binds a data key to at most one sealer, even through the constructor', () => {
    const key = DataKey.generate();
    createFrameSealer(key);
    expect(codeOf(() => createFrameSealer(key))).toBe('KEY_ALREADY_BOUND');
    expect(codeOf(() => new FrameSealer(key))).toBe('KEY_ALREADY_BOUND');
  });

  it('refuses to seal with keys rebuilt from bytes unless marked fresh', () => {
    const key = DataKey.generate();
    const restored = DataKey.fromBytes(key.exportBytes(), key.keyId);
    expect(restored.sealable).toBe(false);
    expect(codeOf(() => createFrameSealer(restored))).toBe('KEY_OPEN_ONLY');
    const fresh = DataKey.fromBytes(DataKey.generate().exportBytes(), new Uint8Array(16), { fresh: true });
    expect(createFrameSealer(fresh).framesIssued).toBe(0);
  });

  it('rejects maxFrames outside [1, 2^32]', () => {
    expect(codeOf(() => createFrameSealer(DataKey.generate(), { maxFrames: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => createFrameSealer(DataKey.generate(), { maxFrames: 2 ** 32 + 1 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => createFrameSealer(DataKey.generate(), { maxFrames: 1.5 }))).toBe('INVALID_ARGUMENT');
  });

  it('sealDetached returns the ciphertext and writes the tag that seal would append', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    const nonce = sealer.nextNonce();
    const tag = new Uint8Array(16);
    const ciphertext = sealer.sealDetached(nonce, new Uint8Array([9]), new Uint8Array([1, 2, 3, 4]), tag);
    const body = new Uint8Array([...ciphertext, ...tag]);
    expect(toHex(openFrame(key, nonce, new Uint8Array([9]), body))).toBe('01020304');
    expect(
      codeOf(() =>
        sealer.sealDetached(sealer.nextNonce(), new Uint8Array(0), new Uint8Array(1), tag.subarray(1)),
      ),
    ).toBe('INVALID_ARGUMENT');
  });

  it('rejects bodies shorter than a tag and out buffers that are too small', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    expect(codeOf(() => openFrame(key, new Uint8Array(12), new Uint8Array(0), new Uint8Array(15)))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      codeOf(() =>
        sealer.seal(sealer.nextNonce(), new Uint8Array(0), new Uint8Array(10), new Uint8Array(25)),
      ),
    ).toBe('INVALID_ARGUMENT');
    const nonce = sealer.nextNonce();
    const body = sealer.seal(nonce, new Uint8Array(0), new Uint8Array(10));
    expect(codeOf(() => openFrame(key, nonce, new Uint8Array(0), body, new Uint8Array(9)))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('leaves no plaintext in out when the tag does not verify, for small and chunked sizes', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    for (const size of [32, 100_000]) {
      const nonce = sealer.nextNonce();
      const body = sealer.seal(nonce, new Uint8Array(0), new Uint8Array(size).fill(7));
      const out = new Uint8Array(size).fill(0xaa);
      expect(codeOf(() => openFrame(key, nonce, new Uint8Array([1]), body, out))).toBe('AUTH_FAILED');
      expect(out.every((b) => b === 0)).toBe(true);
    }
  });

  it('seals and opens frames larger than the 32 KiB update chunk exactly like bare createCipheriv', () => {
    const key = DataKey.generate();
    const sealer = createFrameSealer(key);
    for (const size of [32 * 1024, 32 * 1024 + 1, 100_000, 1 << 20]) {
      const plaintext = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
      const nonce = sealer.nextNonce();
      const aad = new Uint8Array([size & 0xff]);
      const out = new Uint8Array(size + FRAME_TAG_BYTES);
      const sealed = sealer.seal(nonce, aad, plaintext, out);
      const bare = createCipheriv('aes-256-gcm', key.keyObject, nonce);
      bare.setAAD(aad);
      const expected = Buffer.concat([bare.update(plaintext), bare.final(), bare.getAuthTag()]);
      expect(Buffer.from(sealed).equals(expected)).toBe(true);
      expect(Buffer.from(openFrame(key, nonce, aad, sealed, new Uint8Array(size))).equals(plaintext)).toBe(
        true,
      );
      expect(Buffer.from(openFrame(key, nonce, aad, sealed)).equals(plaintext)).toBe(true);
    }
  });
});
