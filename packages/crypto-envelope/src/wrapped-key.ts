/**
 * The wrapped-key format: a 32-byte key encrypted under a master key with AES-256-GCM, with the
 * master key id, the wrapped key's id and its purpose in clear and bound as AAD.
 *
 * Layout, version 1 (all integers big-endian):
 *
 * | offset      | bytes | field                                                         |
 * |-------------|-------|---------------------------------------------------------------|
 * | 0           | 4     | magic `SLWK` (0x53 0x4c 0x57 0x4b)                            |
 * | 4           | 1     | version = 1                                                   |
 * | 5           | 1     | purpose: 1 data key, 2 subject key, 3 blind-index root, 4 name key, 5 signing key (Ed25519 seed) |
 * | 6           | 1     | k = master key id length, 1–64                                |
 * | 7           | 2     | d = key id length, 0–1024                                     |
 * | 9           | k     | master key id, ASCII `[A-Za-z0-9._-]`                         |
 * | 9+k         | d     | key id (opaque bytes)                                         |
 * | 9+k+d       | 12    | random nonce                                                  |
 * | 21+k+d      | 32    | encrypted key                                                 |
 * | 53+k+d      | 16    | GCM tag over AAD = bytes [0, 9+k+d) and the encrypted key     |
 *
 * Total 69 + k + d bytes. Why AES-GCM and not AES-KW (RFC 3394): KW has no associated data, so it
 * could not bind the key id and purpose; a wrapped subject key copied onto another subject's
 * file, or a data key presented as a subject key, must fail to unwrap. The price is a random
 * 96-bit nonce per wrap: at most 2^32 wraps per master key (NIST SP 800-38D §8.3) — one wrap per
 * segment and per data subject is far below that, and rotation resets the count.
 *
 * Deliberately not here: choosing the master key (see `Keyring`). Returned arrays are fresh and
 * owned by the caller.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoEnvelopeError } from './errors';
import { checkMasterKeyId, type MasterKey } from './master-key';

/** Wrapped-key format version written by this package. */
export const WRAPPED_KEY_VERSION = 1;
/** Length of a wrapped key's plaintext in bytes (every key this package wraps is 32 bytes). */
export const WRAPPED_KEY_MATERIAL_BYTES = 32;
/** Longest key id a wrapped key carries, in bytes. */
export const MAX_WRAPPED_KEY_ID_BYTES = 1024;
/** Fixed header length in bytes before the master key id. */
const FIXED_HEADER_BYTES = 9;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MAGIC = [0x53, 0x4c, 0x57, 0x4b] as const;
const GCM_OPTIONS = { authTagLength: TAG_BYTES } as const;

/** What a wrapped key is for; bound into the AAD so a key cannot be unwrapped as another kind. */
export type WrappedKeyPurpose = 'data-key' | 'subject-key' | 'blind-index-root' | 'name-key' | 'signing-key';

const PURPOSE_CODES: Readonly<Record<WrappedKeyPurpose, number>> = {
  'data-key': 1,
  'subject-key': 2,
  'blind-index-root': 3,
  'name-key': 4,
  'signing-key': 5,
};
const PURPOSES_BY_CODE: readonly (WrappedKeyPurpose | undefined)[] = [
  undefined,
  'data-key',
  'subject-key',
  'blind-index-root',
  'name-key',
  'signing-key',
];

/** The clear-text header of a wrapped key, readable without any key. */
export interface WrappedKeyHeader {
  /** Format version (1). */
  readonly version: number;
  /** What the key is for. */
  readonly purpose: WrappedKeyPurpose;
  /** Id of the master key that wrapped it. */
  readonly kekId: string;
  /** Id of the wrapped key (opaque bytes, 0–1024). */
  readonly keyId: Uint8Array;
}

/** A key unwrapped from its serialized form. `material` is fresh; wipe it when done. */
export interface UnwrappedKey extends WrappedKeyHeader {
  /** The 32 key bytes. */
  readonly material: Uint8Array;
}

/**
 * Wraps 32 bytes of key material under `kek`. The result is self-describing (layout in this
 * file's header comment).
 *
 * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` when `material` is not 32 bytes or `keyId`
 *   longer than 1024 bytes.
 */
export function wrapKey(
  kek: MasterKey,
  purpose: WrappedKeyPurpose,
  keyId: Uint8Array,
  material: Uint8Array,
): Uint8Array {
  if (material.byteLength !== WRAPPED_KEY_MATERIAL_BYTES) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `wrap key: expected ${WRAPPED_KEY_MATERIAL_BYTES} bytes of key material, got ${material.byteLength}`,
    );
  }
  if (keyId.byteLength > MAX_WRAPPED_KEY_ID_BYTES) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `wrap key: keyId of ${keyId.byteLength} bytes exceeds ${MAX_WRAPPED_KEY_ID_BYTES}`,
    );
  }
  const kekId = Buffer.from(kek.id, 'latin1');
  const aadLength = FIXED_HEADER_BYTES + kekId.byteLength + keyId.byteLength;
  const out = new Uint8Array(aadLength + NONCE_BYTES + WRAPPED_KEY_MATERIAL_BYTES + TAG_BYTES);
  out.set(MAGIC, 0);
  out[4] = WRAPPED_KEY_VERSION;
  out[5] = PURPOSE_CODES[purpose];
  out[6] = kekId.byteLength;
  out[7] = keyId.byteLength >>> 8;
  out[8] = keyId.byteLength & 0xff;
  out.set(kekId, FIXED_HEADER_BYTES);
  out.set(keyId, FIXED_HEADER_BYTES + kekId.byteLength);
  const nonce = randomBytes(NONCE_BYTES);
  out.set(nonce, aadLength);
  const cipher = createCipheriv('aes-256-gcm', kek.keyObject, nonce, GCM_OPTIONS);
  cipher.setAAD(out.subarray(0, aadLength));
  out.set(cipher.update(material), aadLength + NONCE_BYTES);
  cipher.final();
  out.set(cipher.getAuthTag(), aadLength + NONCE_BYTES + WRAPPED_KEY_MATERIAL_BYTES);
  return out;
}

/**
 * Reads the clear-text header of a wrapped key (no key needed).
 *
 * @throws {CryptoEnvelopeError} `MALFORMED_WRAPPED_KEY` on a bad magic, version, purpose, length
 *   or master key id.
 */
export function parseWrappedKeyHeader(wrapped: Uint8Array): WrappedKeyHeader {
  return parseLayout(wrapped).header;
}

/**
 * Unwraps a key with `kek`, which must be the master key named in the header.
 *
 * @throws {CryptoEnvelopeError} `MALFORMED_WRAPPED_KEY` on bad layout or a purpose other than
 *   `expectedPurpose`; `UNKNOWN_KEK` when `kek.id` differs from the header; `AUTH_FAILED` when the
 *   tag does not verify (wrong key or tampered bytes).
 */
export function unwrapKey(
  kek: MasterKey,
  wrapped: Uint8Array,
  expectedPurpose: WrappedKeyPurpose,
): UnwrappedKey {
  const { header, aadLength } = parseLayout(wrapped);
  if (header.purpose !== expectedPurpose) {
    throw new CryptoEnvelopeError(
      'MALFORMED_WRAPPED_KEY',
      `unwrap key: expected purpose ${expectedPurpose}, got ${header.purpose}`,
    );
  }
  if (header.kekId !== kek.id) {
    throw new CryptoEnvelopeError(
      'UNKNOWN_KEK',
      `unwrap key: wrapped under master key ${header.kekId}, got master key ${kek.id}`,
    );
  }
  const nonce = wrapped.subarray(aadLength, aadLength + NONCE_BYTES);
  const ciphertextEnd = aadLength + NONCE_BYTES + WRAPPED_KEY_MATERIAL_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', kek.keyObject, nonce, GCM_OPTIONS);
  decipher.setAAD(wrapped.subarray(0, aadLength));
  decipher.setAuthTag(wrapped.subarray(ciphertextEnd));
  const material = decipher.update(wrapped.subarray(aadLength + NONCE_BYTES, ciphertextEnd));
  try {
    decipher.final();
  } catch (cause) {
    material.fill(0);
    throw new CryptoEnvelopeError(
      'AUTH_FAILED',
      `unwrap key: tag mismatch for a ${header.purpose} wrapped under ${header.kekId} (tampered bytes or a different key with the same id)`,
      { cause },
    );
  }
  return { ...header, material: new Uint8Array(material.buffer, material.byteOffset, material.byteLength) };
}

function parseLayout(wrapped: Uint8Array): { header: WrappedKeyHeader; aadLength: number } {
  const malformed = (what: string): CryptoEnvelopeError =>
    new CryptoEnvelopeError('MALFORMED_WRAPPED_KEY', `wrapped key: ${what}`);
  if (wrapped.byteLength < FIXED_HEADER_BYTES) {
    throw malformed(`expected at least ${FIXED_HEADER_BYTES} bytes, got ${wrapped.byteLength}`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (wrapped[i] !== MAGIC[i]) {
      throw malformed(
        `expected magic 0x534c574b, got 0x${Buffer.from(wrapped.subarray(0, 4)).toString('hex')}`,
      );
    }
  }
  const version = wrapped[4]!;
  if (version !== WRAPPED_KEY_VERSION) {
    throw malformed(`expected version ${WRAPPED_KEY_VERSION}, got ${version}`);
  }
  const purpose = PURPOSES_BY_CODE[wrapped[5]!];
  if (purpose === undefined) throw malformed(`unknown purpose code ${wrapped[5]}`);
  const kekIdLength = wrapped[6]!;
  const keyIdLength = (wrapped[7]! << 8) | wrapped[8]!;
  if (keyIdLength > MAX_WRAPPED_KEY_ID_BYTES) {
    throw malformed(`key id length ${keyIdLength} exceeds ${MAX_WRAPPED_KEY_ID_BYTES}`);
  }
  const aadLength = FIXED_HEADER_BYTES + kekIdLength + keyIdLength;
  const expected = aadLength + NONCE_BYTES + WRAPPED_KEY_MATERIAL_BYTES + TAG_BYTES;
  if (wrapped.byteLength !== expected) {
    throw malformed(`expected ${expected} bytes for the declared id lengths, got ${wrapped.byteLength}`);
  }
  const kekId = Buffer.from(wrapped.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + kekIdLength)).toString(
    'latin1',
  );
  try {
    checkMasterKeyId(kekId);
  } catch (cause) {
    throw new CryptoEnvelopeError('MALFORMED_WRAPPED_KEY', `wrapped key: invalid master key id`, { cause });
  }
  const keyId = Uint8Array.from(wrapped.subarray(FIXED_HEADER_BYTES + kekIdLength, aadLength));
  return { header: { version, purpose, kekId, keyId }, aadLength };
}
