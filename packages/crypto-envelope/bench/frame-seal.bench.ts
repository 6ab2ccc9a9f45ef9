/**
 * Frame sealing and opening (AES-256-GCM, header as AAD) next to the raw primitives they wrap:
 * bare createCipheriv/createDecipheriv and WebCrypto (async, libuv pool) for reference.
 */
import { createCipheriv, createDecipheriv, randomBytes, webcrypto } from 'node:crypto';
import { bench, describe } from 'vitest';
import { createFrameSealer, DataKey, openFrame } from '../src/index';
import { BENCH_OPTIONS, check, QUICK } from './bench-options';

const SIZES: readonly number[] = QUICK ? [4096] : [4096, 65536, 1 << 20];
const AAD = randomBytes(64); // a frame header is a few dozen bytes
const GCM = { authTagLength: 16 } as const;

for (const size of SIZES) {
  const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
  const key = DataKey.generate();
  const sealer = createFrameSealer(key);
  const plaintext = randomBytes(size);
  const out = new Uint8Array(size + 16);
  const openOut = new Uint8Array(size);
  const tag = new Uint8Array(16);
  const fixedNonce = sealer.nextNonce();
  const body = sealer.seal(fixedNonce, AAD, plaintext);
  check(
    Buffer.from(openFrame(key, fixedNonce, AAD, body)).equals(plaintext),
    `seal/open round trip at ${label}`,
  );
  const subtleKey = await webcrypto.subtle.importKey('raw', key.exportBytes(), 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ]);
  const subtleBody = new Uint8Array(
    await webcrypto.subtle.encrypt(
      { name: 'AES-GCM', iv: fixedNonce, additionalData: AAD },
      subtleKey,
      plaintext,
    ),
  );
  check(Buffer.from(subtleBody).equals(body), `WebCrypto output equals seal output at ${label}`);

  describe(`seal ${label}`, () => {
    bench(
      'bare createCipheriv (ciphertext and tag separate)',
      () => {
        const cipher = createCipheriv('aes-256-gcm', key.keyObject, fixedNonce, GCM);
        cipher.setAAD(AAD);
        cipher.update(plaintext);
        cipher.final();
        cipher.getAuthTag();
      },
      BENCH_OPTIONS,
    );
    bench(
      'sealer.nextNonce + seal into reused out',
      () => {
        sealer.seal(sealer.nextNonce(), AAD, plaintext, out);
      },
      BENCH_OPTIONS,
    );
    bench(
      'sealer.nextNonce + seal, fresh result',
      () => {
        sealer.seal(sealer.nextNonce(), AAD, plaintext);
      },
      BENCH_OPTIONS,
    );
    bench(
      'sealer.nextNonce + sealDetached (zero-copy)',
      () => {
        sealer.sealDetached(sealer.nextNonce(), AAD, plaintext, tag);
      },
      BENCH_OPTIONS,
    );
    bench(
      'nonce bookkeeping only (nextNonce + discardNonce)',
      () => {
        sealer.discardNonce(sealer.nextNonce());
      },
      BENCH_OPTIONS,
    );
    bench(
      'bare createCipheriv again (noise check: same code as row 1)',
      () => {
        const cipher = createCipheriv('aes-256-gcm', key.keyObject, fixedNonce, GCM);
        cipher.setAAD(AAD);
        cipher.update(plaintext);
        cipher.final();
        cipher.getAuthTag();
      },
      BENCH_OPTIONS,
    );
    bench(
      'WebCrypto subtle.encrypt (async, 1 in flight)',
      async () => {
        await webcrypto.subtle.encrypt(
          { name: 'AES-GCM', iv: fixedNonce, additionalData: AAD },
          subtleKey,
          plaintext,
        );
      },
      BENCH_OPTIONS,
    );
  });

  describe(`open ${label}`, () => {
    bench(
      'bare createDecipheriv',
      () => {
        const decipher = createDecipheriv('aes-256-gcm', key.keyObject, fixedNonce, GCM);
        decipher.setAAD(AAD);
        decipher.setAuthTag(body.subarray(size));
        decipher.update(body.subarray(0, size));
        decipher.final();
      },
      BENCH_OPTIONS,
    );
    bench(
      'openFrame, fresh result',
      () => {
        openFrame(key, fixedNonce, AAD, body);
      },
      BENCH_OPTIONS,
    );
    bench(
      'openFrame into reused out',
      () => {
        openFrame(key, fixedNonce, AAD, body, openOut);
      },
      BENCH_OPTIONS,
    );
    bench(
      'bare createDecipheriv again (noise check: same code as row 1)',
      () => {
        const decipher = createDecipheriv('aes-256-gcm', key.keyObject, fixedNonce, GCM);
        decipher.setAAD(AAD);
        decipher.setAuthTag(body.subarray(size));
        decipher.update(body.subarray(0, size));
        decipher.final();
      },
      BENCH_OPTIONS,
    );
    bench(
      'WebCrypto subtle.decrypt (async, 1 in flight)',
      async () => {
        await webcrypto.subtle.decrypt(
          { name: 'AES-GCM', iv: fixedNonce, additionalData: AAD },
          subtleKey,
          subtleBody,
        );
      },
      BENCH_OPTIONS,
    );
  });
}
