/**
 * Field sealing (one ~200-byte personal-data field per event, random 96-bit nonce) against the
 * alternatives available with what is installed: createCipheriv per call with a raw Buffer key and
 * `randomBytes(12)`, the same with a pre-imported KeyObject, and WebCrypto (async).
 */
import { createCipheriv, randomBytes, webcrypto } from 'node:crypto';
import { bench, describe } from 'vitest';
import { createFieldSealer, SubjectKey } from '../src/index';
import { BENCH_OPTIONS, check } from './bench-options';

const FIELD_BYTES = 200;
const GCM = { authTagLength: 16 } as const;
const key = SubjectKey.generate('acme/user-42');
const rawKey = Buffer.from(key.exportBytes());
const sealer = createFieldSealer(key);
const plaintext = randomBytes(FIELD_BYTES);
const aad = Buffer.from('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/actor.email');
const sealed = sealer.seal(plaintext, aad);
check(Buffer.from(sealer.open(sealed, aad)).equals(plaintext), 'field seal/open round trip');
const subtleKey = await webcrypto.subtle.importKey('raw', rawKey, 'AES-GCM', false, ['encrypt']);

describe(`seal one ${FIELD_BYTES}-byte field`, () => {
  bench(
    'bare createCipheriv, Buffer key, randomBytes(12) per call',
    () => {
      const cipher = createCipheriv('aes-256-gcm', rawKey, randomBytes(12), GCM);
      cipher.setAAD(aad);
      cipher.update(plaintext);
      cipher.final();
      cipher.getAuthTag();
    },
    BENCH_OPTIONS,
  );
  bench(
    'bare createCipheriv, KeyObject, randomBytes(12) per call',
    () => {
      const cipher = createCipheriv('aes-256-gcm', key.keyObject, randomBytes(12), GCM);
      cipher.setAAD(aad);
      cipher.update(plaintext);
      cipher.final();
      cipher.getAuthTag();
    },
    BENCH_OPTIONS,
  );
  bench(
    'FieldSealer.seal (KeyObject, pooled nonces, one output buffer)',
    () => {
      sealer.seal(plaintext, aad);
    },
    BENCH_OPTIONS,
  );
  bench(
    'createFieldSealer + seal (sealer per event)',
    () => {
      createFieldSealer(key).seal(plaintext, aad);
    },
    BENCH_OPTIONS,
  );
  bench(
    'WebCrypto subtle.encrypt (async, 1 in flight)',
    async () => {
      await webcrypto.subtle.encrypt(
        { name: 'AES-GCM', iv: randomBytes(12), additionalData: aad },
        subtleKey,
        plaintext,
      );
    },
    BENCH_OPTIONS,
  );
});

describe(`open one ${FIELD_BYTES}-byte field`, () => {
  bench(
    'FieldSealer.open',
    () => {
      sealer.open(sealed, aad);
    },
    BENCH_OPTIONS,
  );
});
