/**
 * Sealing of small personal-data fields (one blob per record, ~50–300 bytes) under a data
 * subject's key, AES-256-GCM with random 96-bit nonces. This runs once per event on the hot path.
 *
 * Sealed field layout, version 1:
 * `version (1 byte = 0x01) ‖ keyTag (4) ‖ nonce (12) ‖ ciphertext (n) ‖ tag (16)` — 33 bytes of
 * overhead. The GCM AAD is `version ‖ keyTag ‖ caller AAD`; callers should pass what pins the
 * field to its place (e.g. event id + field path) so a sealed value cannot be moved elsewhere.
 *
 * Per-key limit: random nonces collide with probability ~q²/2^97 after q seals, so NIST SP
 * 800-38D §8.3 caps a key at 2^32 random-nonce seals. One data subject never produces that many
 * events; each `FieldSealer` still counts its own seals and refuses past 2^32.
 *
 * Hot-path choices (measured, see README): the key is a pre-imported KeyObject, nonces come from
 * a 4 KiB CSPRNG pool, header and nonce are written straight into the output. Deliberately not
 * here: key storage and text encoding. `seal` returns a fresh buffer owned by the caller (small
 * ones come from Node's shared Buffer pool); `open` returns the fresh buffer node:crypto produced.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { encodeHex } from './bytes';
import { CryptoEnvelopeError } from './errors';
import { fillRandom } from './random-pool';
import { SUBJECT_KEY_TAG_BYTES, type SubjectKey } from './subject-key';

/** Sealed field format version written by this package. */
export const SEALED_FIELD_VERSION = 1;
/** Bytes a sealed field adds to its plaintext: version 1 + keyTag 4 + nonce 12 + tag 16. */
export const SEALED_FIELD_OVERHEAD_BYTES = 33;
/** Seals one `FieldSealer` performs at most (random-nonce limit of NIST SP 800-38D §8.3). */
export const MAX_FIELD_SEALS_PER_KEY: number = 2 ** 32;
/** Largest field plaintext in bytes; an event is ≤ 64 KiB of JSON, so no field is bigger. */
export const MAX_FIELD_PLAINTEXT_BYTES = 65536;

const HEADER_BYTES = 1 + SUBJECT_KEY_TAG_BYTES;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT_OFFSET = HEADER_BYTES + NONCE_BYTES;
const GCM_OPTIONS = { authTagLength: TAG_BYTES } as const;

/** Seals and opens fields under one subject key. Create with {@link createFieldSealer}. */
export class FieldSealer {
  /** The subject whose key this sealer uses. */
  readonly subjectId: string;
  readonly #key: SubjectKey;
  /** `version ‖ keyTag`, precomputed: the first bytes of every blob and of every AAD. */
  readonly #header: Uint8Array;
  #sealed: number;

  /** Prefer {@link createFieldSealer}. */
  constructor(key: SubjectKey) {
    this.subjectId = key.subjectId;
    this.#key = key;
    const header = new Uint8Array(HEADER_BYTES);
    header[0] = SEALED_FIELD_VERSION;
    header.set(key.keyTag, 1);
    this.#header = header;
    this.#sealed = 0;
  }

  /** Seals performed by this sealer. */
  get sealCount(): number {
    return this.#sealed;
  }

  /**
   * Seals `plaintext` (0–65536 bytes) bound to `aad`; returns `plaintext.length + 33` bytes.
   *
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` for an over-long plaintext; `KEY_EXHAUSTED`
   *   after 2^32 seals.
   * @example
   * ```ts
   * const sealer = createFieldSealer(await store.getOrCreate('acme/user-42'));
   * const blob = sealer.seal(utf8('alice@example.com'), utf8(`${eventId}/actor.email`));
   * ```
   */
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(plaintext.byteLength + SEALED_FIELD_OVERHEAD_BYTES);
    this.sealInto(plaintext, aad, out, 0);
    return out;
  }

  /**
   * Like {@link FieldSealer.seal}, but writes the `plaintext.length + 33` sealed bytes into `out`
   * at `offset` (e.g. into the place reserved for them in an encoded record) instead of a fresh
   * buffer. `plaintext` and `aad` must not overlap that place.
   *
   * @throws {CryptoEnvelopeError} as {@link FieldSealer.seal}; also `INVALID_ARGUMENT` when `out` has
   *   no room at `offset` (nothing is written then).
   */
  sealInto(plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): void {
    const length = plaintext.byteLength;
    if (length > MAX_FIELD_PLAINTEXT_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `field sealer: plaintext of ${length} bytes exceeds ${MAX_FIELD_PLAINTEXT_BYTES}`,
      );
    }
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      offset + length + SEALED_FIELD_OVERHEAD_BYTES > out.byteLength
    ) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `field sealer: ${length + SEALED_FIELD_OVERHEAD_BYTES} sealed bytes do not fit at offset ${offset} of a ${out.byteLength}-byte buffer`,
      );
    }
    if (this.#sealed >= MAX_FIELD_SEALS_PER_KEY) {
      throw new CryptoEnvelopeError(
        'KEY_EXHAUSTED',
        `field sealer: subject key sealed ${this.#sealed} fields, the random-nonce limit; create a new subject key`,
      );
    }
    this.#sealed++;
    out.set(this.#header, offset);
    fillRandom(out, offset + HEADER_BYTES, NONCE_BYTES);
    const cipher = createCipheriv(
      'aes-256-gcm',
      this.#key.keyObject,
      out.subarray(offset + HEADER_BYTES, offset + CIPHERTEXT_OFFSET),
      GCM_OPTIONS,
    );
    // GCM concatenates successive AAD updates, so header and caller AAD need no joined copy.
    cipher.setAAD(this.#header);
    if (aad.byteLength > 0) cipher.setAAD(aad);
    out.set(cipher.update(plaintext), offset + CIPHERTEXT_OFFSET);
    cipher.final();
    out.set(cipher.getAuthTag(), offset + CIPHERTEXT_OFFSET + length);
  }

  /**
   * Opens a sealed field with the same `aad` it was sealed with.
   *
   * @throws {CryptoEnvelopeError} `KEY_MISMATCH` when the field was sealed under another key of
   *   this subject (e.g. before a shred; treat as erased); `AUTH_FAILED` on a wrong AAD or
   *   tampered bytes; `MALFORMED_SEALED_FIELD` on a bad length or version.
   */
  open(sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    const length = sealed.byteLength - SEALED_FIELD_OVERHEAD_BYTES;
    if (length < 0) {
      throw new CryptoEnvelopeError(
        'MALFORMED_SEALED_FIELD',
        `field sealer: expected at least ${SEALED_FIELD_OVERHEAD_BYTES} bytes, got ${sealed.byteLength}`,
      );
    }
    if (sealed[0] !== SEALED_FIELD_VERSION) {
      throw new CryptoEnvelopeError(
        'MALFORMED_SEALED_FIELD',
        `field sealer: expected version ${SEALED_FIELD_VERSION}, got ${sealed[0]}`,
      );
    }
    const header = this.#header;
    for (let i = 1; i < HEADER_BYTES; i++) {
      if (sealed[i] !== header[i]) {
        throw new CryptoEnvelopeError(
          'KEY_MISMATCH',
          `field sealer: field sealed under key tag ${encodeHex(sealed.subarray(1, HEADER_BYTES))}, this key has tag ${encodeHex(header.subarray(1))} (sealed before a shred, or for another subject)`,
        );
      }
    }
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.#key.keyObject,
      sealed.subarray(HEADER_BYTES, CIPHERTEXT_OFFSET),
      GCM_OPTIONS,
    );
    decipher.setAAD(header);
    if (aad.byteLength > 0) decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(CIPHERTEXT_OFFSET + length));
    const plaintext = decipher.update(sealed.subarray(CIPHERTEXT_OFFSET, CIPHERTEXT_OFFSET + length));
    try {
      decipher.final();
    } catch (cause) {
      throw new CryptoEnvelopeError(
        'AUTH_FAILED',
        `field sealer: tag mismatch on a ${sealed.byteLength}-byte sealed field (wrong AAD or tampered bytes)`,
        { cause },
      );
    }
    return plaintext;
  }
}

/**
 * Creates a sealer for one subject key. Cheap (no key import); callers may create one per event
 * or cache one per subject.
 *
 * @example
 * ```ts
 * const sealer = createFieldSealer(SubjectKey.generate('acme/user-42'));
 * const blob = sealer.seal(new TextEncoder().encode('203.0.113.7'), aad);
 * sealer.open(blob, aad); // the bytes of '203.0.113.7'
 * ```
 */
export function createFieldSealer(subjectKey: SubjectKey): FieldSealer {
  return new FieldSealer(subjectKey);
}
