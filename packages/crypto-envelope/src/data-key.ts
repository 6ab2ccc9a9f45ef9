/**
 * Data keys: the AES-256 keys that encrypt frames (one per segment). A data key carries a random
 * 16-byte id (written into the frame header) and remembers whether it may seal at all.
 *
 * Only a key generated in this process (`DataKey.generate`) may seal. A key rebuilt from bytes or
 * unwrapped from storage is open-only: after a crash nobody can know which nonces it already used,
 * so sealing under it again could repeat a nonce (see the README's "Nonce rule").
 *
 * Deliberately not here: nonce bookkeeping (that is `FrameSealer`, the one place nonces come from)
 * and wrapping (that is `Keyring`). The key bytes live in a node:crypto `KeyObject`; `exportBytes`
 * returns a fresh copy owned by the caller.
 */
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { encodeHex } from './bytes';
import { CryptoEnvelopeError } from './errors';

/** AES-256 key length in bytes. */
export const DATA_KEY_BYTES = 32;
/** Data key id length in bytes: random, so ids never need coordination. */
export const DATA_KEY_ID_BYTES = 16;

/** Options of {@link DataKey.fromBytes}. */
export interface DataKeyFromBytesOptions {
  /**
   * Allow sealing with this key. Only set it for key bytes that provably never sealed anything
   * (e.g. handed over unused by another process). Default `false`: open-only.
   */
  readonly fresh?: boolean;
}

/**
 * A 32-byte AES-256-GCM data key with its 16-byte id.
 *
 * @example
 * ```ts
 * const key = DataKey.generate();          // may seal, once bound to one FrameSealer
 * const sealer = createFrameSealer(key);
 * const copy = DataKey.fromBytes(key.exportBytes(), key.keyId); // open-only
 * ```
 */
export class DataKey {
  /** Random 16-byte key id; the caller must not mutate it. */
  readonly keyId: Uint8Array;
  /** The key as a node:crypto KeyObject (saves re-importing the key on every cipher). */
  readonly keyObject: KeyObject;
  /** Whether this key may be bound to a `FrameSealer`. */
  readonly sealable: boolean;

  private constructor(keyObject: KeyObject, keyId: Uint8Array, sealable: boolean) {
    this.keyObject = keyObject;
    this.keyId = keyId;
    this.sealable = sealable;
  }

  /** Generates a random data key that may seal (once bound to exactly one `FrameSealer`). */
  static generate(): DataKey {
    const material = randomBytes(DATA_KEY_BYTES);
    const key = createSecretKey(material);
    material.fill(0);
    return new DataKey(key, new Uint8Array(randomBytes(DATA_KEY_ID_BYTES)), true);
  }

  /**
   * Rebuilds a data key from its 32 bytes and 16-byte id. Open-only unless `options.fresh`.
   * The bytes are copied; the caller may wipe its array afterwards.
   *
   * @throws {CryptoEnvelopeError} `INVALID_KEY` when `material` is not 32 bytes or `keyId` not 16.
   */
  static fromBytes(material: Uint8Array, keyId: Uint8Array, options: DataKeyFromBytesOptions = {}): DataKey {
    if (material.byteLength !== DATA_KEY_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `data key: expected ${DATA_KEY_BYTES} bytes of key material, got ${material.byteLength}`,
      );
    }
    if (keyId.byteLength !== DATA_KEY_ID_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `data key: expected a ${DATA_KEY_ID_BYTES}-byte keyId, got ${keyId.byteLength}`,
      );
    }
    return new DataKey(
      createSecretKey(Uint8Array.from(material)),
      Uint8Array.from(keyId),
      options.fresh === true,
    );
  }

  /** The key id as 32 lowercase hex digits. */
  get keyIdHex(): string {
    return encodeHex(this.keyId);
  }

  /** A fresh copy of the 32 key bytes (for wrapping); the caller should wipe it after use. */
  exportBytes(): Uint8Array {
    return new Uint8Array(this.keyObject.export());
  }
}
