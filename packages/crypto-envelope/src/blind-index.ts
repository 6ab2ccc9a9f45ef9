/**
 * Blind-index tokens: `HMAC-SHA256(tenant key, len16(field) ‖ field ‖ value)` truncated to
 * 16 bytes, so the search index can match equal values of a personal field without storing them.
 *
 * Domain separation: the tenant is separated by key — each tenant's key is
 * `HKDF-SHA256(ikm = blind-index root key, salt = "sealog/blind-index/v1", info = tenant id, L = 32)`
 * (RFC 5869) — so tokens of two tenants never match; the field is separated inside the message by
 * its 2-byte big-endian UTF-8 length prefix, so `("ab", "c")` and `("a", "bc")` differ.
 *
 * Implementation choices (bench/blind-token.bench.ts, 2-core VM, Node 20.20): HMAC uses
 * @noble/hashes with the keyed inner/outer SHA-256 states computed once per tenant key and cloned
 * into a reused scratch state per token: 2.6 µs per token including UTF-8 encoding, vs 3.0 µs for
 * `createHmac` per call on the pre-encoded message and 5.9 µs for noble's one-shot `hmac()`.
 * HKDF uses @noble/hashes: 11.8 µs vs 12.5 µs for `hkdfSync` (a tie; it runs once per
 * tenant). Deliberately not here: caching tenant keys (callers hold one `BlindIndexKey` per tenant)
 * and normalising values (callers lowercase emails etc. before tokenising). Tokens are fresh
 * arrays unless the caller passes `out`.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoEnvelopeError } from './errors';

/** Blind token length in bytes (HMAC-SHA256 truncated; 128 bits keep collisions negligible). */
export const BLIND_TOKEN_BYTES = 16;
/** Blind-index root key length in bytes. */
export const BLIND_INDEX_ROOT_KEY_BYTES = 32;
/** Longest field name in UTF-8 bytes (the length prefix is 2 bytes). */
export const MAX_BLIND_FIELD_BYTES = 65535;

const HKDF_SALT: Uint8Array = new TextEncoder().encode('sealog/blind-index/v1');
const TENANT_KEY_BYTES = 32;
const SHA256_BYTES = 32;
/** Initial scratch size for encoding field and value; grows on demand. */
const INITIAL_SCRATCH_BYTES = 512;

/** The slice of noble's HMAC state used here (its own typings are too generic to narrow). */
interface HmacState {
  update(bytes: Uint8Array): unknown;
  digestInto(out: Uint8Array): void;
  _cloneInto(to?: HmacState): HmacState;
}
const encoder = new TextEncoder();

/**
 * A tenant's blind-index key with its precomputed HMAC state. Not safe to share across worker
 * threads (it owns scratch state); it is safe to reuse for any number of tokens.
 */
export class BlindIndexKey {
  /** The tenant this key was derived for. */
  readonly tenantId: string;
  /** HMAC state after absorbing the key's inner/outer pads: cloned per token, never updated. */
  readonly #base: HmacState;
  #scratchState: HmacState | undefined;
  #scratch: Uint8Array;
  readonly #digest: Uint8Array;

  /**
   * Prefer {@link deriveBlindIndexKey}; this takes an already-derived 32-byte tenant key.
   * @throws {CryptoEnvelopeError} `INVALID_KEY` when `tenantKey` is not 32 bytes.
   */
  constructor(tenantId: string, tenantKey: Uint8Array) {
    if (tenantKey.byteLength !== TENANT_KEY_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `blind index: expected a ${TENANT_KEY_BYTES}-byte tenant key, got ${tenantKey.byteLength}`,
      );
    }
    this.tenantId = tenantId;
    this.#base = hmac.create(sha256, tenantKey) as unknown as HmacState;
    this.#scratchState = undefined;
    this.#scratch = new Uint8Array(INITIAL_SCRATCH_BYTES);
    this.#digest = new Uint8Array(SHA256_BYTES);
  }

  /**
   * Computes the token; see {@link blindToken}.
   * @throws {CryptoEnvelopeError} as {@link blindToken}.
   */
  token(field: string, value: string | Uint8Array, out?: Uint8Array): Uint8Array {
    if (out !== undefined && out.byteLength < BLIND_TOKEN_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `blind index: out must hold ${BLIND_TOKEN_BYTES} bytes, got ${out.byteLength}`,
      );
    }
    // Worst case UTF-8 is 3 bytes per UTF-16 unit; size the scratch once for field + value.
    const valueBound = typeof value === 'string' ? value.length * 3 : 0;
    const needed = 2 + field.length * 3 + valueBound;
    if (this.#scratch.byteLength < needed) this.#scratch = new Uint8Array(needed * 2);
    const scratch = this.#scratch;
    const fieldBytes = encoder.encodeInto(field, scratch.subarray(2)).written;
    if (fieldBytes > MAX_BLIND_FIELD_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `blind index: field name of ${fieldBytes} UTF-8 bytes exceeds ${MAX_BLIND_FIELD_BYTES}`,
      );
    }
    scratch[0] = fieldBytes >>> 8;
    scratch[1] = fieldBytes & 0xff;
    let length = 2 + fieldBytes;
    if (typeof value === 'string') length += encoder.encodeInto(value, scratch.subarray(length)).written;
    const state = this.#base._cloneInto(this.#scratchState);
    this.#scratchState = state;
    state.update(scratch.subarray(0, length));
    if (typeof value !== 'string') state.update(value);
    state.digestInto(this.#digest);
    const token = out ?? new Uint8Array(BLIND_TOKEN_BYTES);
    token.set(this.#digest.subarray(0, BLIND_TOKEN_BYTES), 0);
    return token;
  }
}

/**
 * Derives a tenant's blind-index key from the blind-index root key (HKDF-SHA256, RFC 5869).
 *
 * @param rootKey - 32 random bytes, kept wrapped by the master key (purpose `blind-index-root`).
 * @param tenantId - the tenant id, non-empty.
 * @throws {CryptoEnvelopeError} `INVALID_KEY` when `rootKey` is not 32 bytes; `INVALID_ARGUMENT`
 *   on an empty tenant id.
 * @example
 * ```ts
 * const key = deriveBlindIndexKey(root, 'acme');
 * const token = blindToken(key, 'actor.email', 'alice@example.com'); // 16 bytes
 * ```
 */
export function deriveBlindIndexKey(rootKey: Uint8Array, tenantId: string): BlindIndexKey {
  if (rootKey.byteLength !== BLIND_INDEX_ROOT_KEY_BYTES) {
    throw new CryptoEnvelopeError(
      'INVALID_KEY',
      `blind index: expected a ${BLIND_INDEX_ROOT_KEY_BYTES}-byte root key, got ${rootKey.byteLength}`,
    );
  }
  if (tenantId.length === 0) {
    throw new CryptoEnvelopeError('INVALID_ARGUMENT', 'blind index: tenant id must not be empty');
  }
  const tenantKey = hkdf(sha256, rootKey, HKDF_SALT, encoder.encode(tenantId), TENANT_KEY_BYTES);
  try {
    return new BlindIndexKey(tenantId, tenantKey);
  } finally {
    tenantKey.fill(0);
  }
}

/**
 * The 16-byte blind token of `value` in `field` under a tenant's key. Strings are hashed as UTF-8;
 * normalise values (case, whitespace) before calling. With `out` (≥ 16 bytes) the token is written
 * to `out[0..16)` and `out` is returned.
 *
 * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` for a field name over 65535 UTF-8 bytes or a
 *   too-small `out`.
 * @example
 * ```ts
 * blindToken(key, 'context.ip', '203.0.113.7');
 * ```
 */
export function blindToken(
  key: BlindIndexKey,
  field: string,
  value: string | Uint8Array,
  out?: Uint8Array,
): Uint8Array {
  return key.token(field, value, out);
}
