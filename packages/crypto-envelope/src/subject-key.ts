/**
 * Per-data-subject keys for crypto-shredding: one random AES-256 key per subject (in sealog,
 * `(tenant_id, actor.id)`), wrapped by the master key in a `SubjectKeyStore`. Deleting the key
 * makes every field sealed under it unreadable while all hashes and proofs stay valid.
 *
 * Each key carries a random 4-byte `keyTag`, written into every field it seals, so a field sealed
 * under an earlier (shredded) key of the same subject is reported as `KEY_MISMATCH` ("erased"),
 * not as `AUTH_FAILED` ("tampered").
 *
 * Deliberately not here: storage (see `subject-key-store.ts`) and sealing (see
 * `field-sealer.ts`). `exportBytes` returns a fresh copy owned by the caller.
 */
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { isWellFormedText } from './bytes';
import { CryptoEnvelopeError } from './errors';

/** Subject key length in bytes (AES-256). */
export const SUBJECT_KEY_BYTES = 32;
/** Length of a subject key's tag in bytes; written into every sealed field. */
export const SUBJECT_KEY_TAG_BYTES = 4;
/** Longest subject id in UTF-8 bytes. */
export const MAX_SUBJECT_ID_BYTES = 1024;

/**
 * A data subject's key.
 *
 * @example
 * ```ts
 * const key = SubjectKey.generate('acme/user-42');
 * const sealer = createFieldSealer(key);
 * ```
 */
export class SubjectKey {
  /** The subject this key belongs to (opaque to this package). */
  readonly subjectId: string;
  /** Random 4-byte tag identifying this key among the subject's keys; do not mutate. */
  readonly keyTag: Uint8Array;
  /** The key as a node:crypto KeyObject. */
  readonly keyObject: KeyObject;

  private constructor(subjectId: string, keyTag: Uint8Array, keyObject: KeyObject) {
    this.subjectId = subjectId;
    this.keyTag = keyTag;
    this.keyObject = keyObject;
  }

  /**
   * Generates a random key for `subjectId`.
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` on an empty or over-long subject id.
   */
  static generate(subjectId: string): SubjectKey {
    checkSubjectId(subjectId);
    const material = randomBytes(SUBJECT_KEY_BYTES);
    const key = createSecretKey(material);
    material.fill(0);
    return new SubjectKey(subjectId, new Uint8Array(randomBytes(SUBJECT_KEY_TAG_BYTES)), key);
  }

  /**
   * Rebuilds a subject key from its bytes (copied) and tag.
   * @throws {CryptoEnvelopeError} `INVALID_KEY` on wrong lengths; `INVALID_ARGUMENT` on a bad id.
   */
  static fromBytes(subjectId: string, material: Uint8Array, keyTag: Uint8Array): SubjectKey {
    checkSubjectId(subjectId);
    if (material.byteLength !== SUBJECT_KEY_BYTES || keyTag.byteLength !== SUBJECT_KEY_TAG_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `subject key: expected ${SUBJECT_KEY_BYTES} key bytes and a ${SUBJECT_KEY_TAG_BYTES}-byte tag, got ${material.byteLength} and ${keyTag.byteLength}`,
      );
    }
    return new SubjectKey(subjectId, Uint8Array.from(keyTag), createSecretKey(Uint8Array.from(material)));
  }

  /** A fresh copy of the 32 key bytes (for wrapping); wipe it after use. */
  exportBytes(): Uint8Array {
    return new Uint8Array(this.keyObject.export());
  }
}

/**
 * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` unless `subjectId` is 1–1024 UTF-8 bytes and
 *   well-formed Unicode.
 */
export function checkSubjectId(subjectId: string): void {
  const bytes = Buffer.byteLength(subjectId, 'utf8');
  if (bytes === 0 || bytes > MAX_SUBJECT_ID_BYTES || !isWellFormedText(subjectId)) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `subject id: expected 1–${MAX_SUBJECT_ID_BYTES} UTF-8 bytes of well-formed text, got ${bytes} bytes`,
    );
  }
}
