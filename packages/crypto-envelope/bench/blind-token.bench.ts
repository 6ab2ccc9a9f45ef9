/**
 * Blind-index tokens on small inputs: the shipped `blindToken` (noble HMAC with precomputed keyed
 * state) against node:crypto `createHmac` per call and noble's one-shot `hmac()`; and HKDF for the
 * per-tenant key: @noble/hashes `hkdf` against node:crypto `hkdfSync`.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bench, describe } from 'vitest';
import { blindToken, deriveBlindIndexKey } from '../src/index';
import { BENCH_OPTIONS, check } from './bench-options';

const root = randomBytes(32);
const salt = Buffer.from('sealog/blind-index/v1');
const info = Buffer.from('acme');
const tenantKey = Buffer.from(hkdfSync('sha256', root, salt, info, 32));
const key = deriveBlindIndexKey(root, 'acme');
const field = 'actor.email';
const value = 'alice@example.com';
const fieldBytes = Buffer.from(field);
// The exact message blindToken hashes: len16(field) ‖ field ‖ value.
const message = Buffer.concat([Buffer.from([0, fieldBytes.byteLength]), fieldBytes, Buffer.from(value)]);
const expected = createHmac('sha256', tenantKey).update(message).digest().subarray(0, 16);
check(Buffer.from(blindToken(key, field, value)).equals(expected), 'blindToken equals createHmac reference');
check(Buffer.from(hkdf(sha256, root, salt, info, 32)).equals(tenantKey), 'noble hkdf equals hkdfSync');
const out = new Uint8Array(16);

describe(`blind token (${message.byteLength}-byte message)`, () => {
  bench(
    'node:crypto createHmac per call (message pre-encoded)',
    () => {
      createHmac('sha256', tenantKey).update(message).digest();
    },
    BENCH_OPTIONS,
  );
  bench(
    '@noble/hashes hmac() one-shot (message pre-encoded)',
    () => {
      hmac(sha256, tenantKey, message);
    },
    BENCH_OPTIONS,
  );
  bench(
    'blindToken (noble, precomputed keyed state, encodes field + value)',
    () => {
      blindToken(key, field, value);
    },
    BENCH_OPTIONS,
  );
  bench(
    'blindToken into reused out',
    () => {
      blindToken(key, field, value, out);
    },
    BENCH_OPTIONS,
  );
});

describe('HKDF-SHA256 per-tenant key (32 bytes)', () => {
  bench(
    'node:crypto hkdfSync',
    () => {
      hkdfSync('sha256', root, salt, info, 32);
    },
    BENCH_OPTIONS,
  );
  bench(
    '@noble/hashes hkdf',
    () => {
      hkdf(sha256, root, salt, info, 32);
    },
    BENCH_OPTIONS,
  );
  bench(
    'deriveBlindIndexKey (noble hkdf + HMAC key setup)',
    () => {
      deriveBlindIndexKey(root, 'acme');
    },
    BENCH_OPTIONS,
  );
});
