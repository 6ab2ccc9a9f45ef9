/**
 * The keyring: several master keys, one of them current. The current key wraps every new key;
 * all keys unwrap what they wrapped. That is master key rotation: add a new key, make it current,
 * keep the old ones until nothing wrapped under them remains (or `rewrap` it all).
 *
 * Deliberately not here: loading keys (see `master-key.ts`) and storing wrapped keys (segment
 * headers belong to the segment store; subject keys to a `SubjectKeyStore`). Returned arrays and
 * keys are fresh and owned by the caller.
 */
import { DATA_KEY_ID_BYTES, DataKey, type DataKeyFromBytesOptions } from './data-key';
import { CryptoEnvelopeError } from './errors';
import type { MasterKey } from './master-key';
import {
  parseWrappedKeyHeader,
  type UnwrappedKey,
  unwrapKey,
  type WrappedKeyPurpose,
  wrapKey,
} from './wrapped-key';

/**
 * Master keys by id, with the current one chosen at construction.
 *
 * @example
 * ```ts
 * const keyring = new Keyring([oldKek, newKek], newKek.id);
 * const wrapped = keyring.wrapDataKey(dataKey);        // stored in the segment header
 * const reopened = keyring.unwrapDataKey(wrapped);     // open-only DataKey
 * ```
 */
export class Keyring {
  /** The master key that wraps new keys. */
  readonly current: MasterKey;
  readonly #keys: ReadonlyMap<string, MasterKey>;

  /**
   * @param keys - every master key that may still be needed to unwrap; ids unique.
   * @param currentId - id of the key that wraps new keys (defaults to the last in `keys`).
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` on an empty list, a duplicate id, or a
   *   `currentId` that is not in the list.
   */
  constructor(keys: readonly MasterKey[], currentId?: string) {
    const map = new Map<string, MasterKey>();
    for (const key of keys) {
      if (map.has(key.id)) {
        throw new CryptoEnvelopeError('INVALID_ARGUMENT', `keyring: duplicate master key id ${key.id}`);
      }
      map.set(key.id, key);
    }
    const current = currentId === undefined ? keys[keys.length - 1] : map.get(currentId);
    if (current === undefined) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `keyring: current master key ${currentId ?? '(last)'} not among ${keys.length} keys [${[...map.keys()].join(', ')}]`,
      );
    }
    this.#keys = map;
    this.current = current;
  }

  /** Ids of all master keys in the ring. */
  get ids(): readonly string[] {
    return [...this.#keys.keys()];
  }

  /** Whether a master key with this id is in the ring. */
  has(kekId: string): boolean {
    return this.#keys.has(kekId);
  }

  /**
   * Wraps 32 bytes of key material under the current master key.
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` on bad material or key id length.
   */
  wrap(purpose: WrappedKeyPurpose, keyId: Uint8Array, material: Uint8Array): Uint8Array {
    return wrapKey(this.current, purpose, keyId, material);
  }

  /**
   * Unwraps with whichever master key the header names.
   * @throws {CryptoEnvelopeError} `UNKNOWN_KEK` when that key is not in the ring; otherwise as
   *   `unwrapKey` (`MALFORMED_WRAPPED_KEY`, `AUTH_FAILED`).
   */
  unwrap(wrapped: Uint8Array, expectedPurpose: WrappedKeyPurpose): UnwrappedKey {
    const header = parseWrappedKeyHeader(wrapped);
    const kek = this.#keys.get(header.kekId);
    if (kek === undefined) {
      throw new CryptoEnvelopeError(
        'UNKNOWN_KEK',
        `keyring: key wrapped under master key ${header.kekId}, which is not in the ring [${this.ids.join(', ')}]`,
      );
    }
    return unwrapKey(kek, wrapped, expectedPurpose);
  }

  /** Wraps a data key (purpose `data-key`, key id = the data key's 16-byte id). */
  wrapDataKey(key: DataKey): Uint8Array {
    const material = key.exportBytes();
    try {
      return this.wrap('data-key', key.keyId, material);
    } finally {
      material.fill(0);
    }
  }

  /**
   * Unwraps a data key. The result is open-only unless `options.fresh` (see `DataKey.fromBytes`):
   * a key read back from storage may have sealed frames before a crash.
   *
   * @throws {CryptoEnvelopeError} as {@link Keyring.unwrap}; `MALFORMED_WRAPPED_KEY` if the key id
   *   is not 16 bytes.
   */
  unwrapDataKey(wrapped: Uint8Array, options: DataKeyFromBytesOptions = {}): DataKey {
    const unwrapped = this.unwrap(wrapped, 'data-key');
    try {
      if (unwrapped.keyId.byteLength !== DATA_KEY_ID_BYTES) {
        throw new CryptoEnvelopeError(
          'MALFORMED_WRAPPED_KEY',
          `keyring: data key id must be ${DATA_KEY_ID_BYTES} bytes, got ${unwrapped.keyId.byteLength}`,
        );
      }
      return DataKey.fromBytes(unwrapped.material, unwrapped.keyId, options);
    } finally {
      unwrapped.material.fill(0);
    }
  }

  /**
   * Re-encrypts a wrapped key under the current master key (same purpose and key id): the step
   * that lets an old master key be retired.
   *
   * @throws {CryptoEnvelopeError} as {@link Keyring.unwrap}.
   */
  rewrap(wrapped: Uint8Array): Uint8Array {
    const header = parseWrappedKeyHeader(wrapped);
    const unwrapped = this.unwrap(wrapped, header.purpose);
    try {
      return this.wrap(header.purpose, unwrapped.keyId, unwrapped.material);
    } finally {
      unwrapped.material.fill(0);
    }
  }
}
