/**
 * The `SubjectKeyStore` contract (get / create / has / shred per data subject) and its in-memory
 * implementation for tests and embedded use.
 *
 * Shredding is the point of these stores: after `shred(subject)` resolves, no later call returns
 * that key, and fields sealed under it open as `KEY_MISMATCH` even if a new key is created for the
 * same subject. Deliberately not here: files (see `JournalSubjectKeyStore`, `FileSubjectKeyStore`). Returned keys are shared
 * objects owned by the store; callers must not mutate them.
 */
import { checkSubjectId, SubjectKey } from './subject-key';

/** Where data-subject keys live; every implementation must make `shred` final. */
export interface SubjectKeyStore {
  /**
   * The subject's key, created (and durably stored) first if it has none.
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` on a bad subject id; store-specific I/O errors.
   */
  getOrCreate(subjectId: string): Promise<SubjectKey>;
  /**
   * Keys of several subjects (duplicates allowed), creating the missing ones; resolves once every
   * new key is durable. A persistent store should pay O(1) syncs per call, not one per new key
   * (`JournalSubjectKeyStore`: one write + one fdatasync; the legacy `FileSubjectKeyStore` cannot
   * and pays one file per key). Ids are checked before anything is created.
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` on any bad subject id; store-specific I/O errors.
   */
  getOrCreateMany(subjectIds: readonly string[]): Promise<Map<string, SubjectKey>>;
  /** The subject's key, or `undefined` if it has none (never created, or shredded). */
  get(subjectId: string): Promise<SubjectKey | undefined>;
  /** Whether the subject has a key now. */
  has(subjectId: string): Promise<boolean>;
  /** Deletes the subject's key for good (crypto-shredding); resolves `true` if a key existed. */
  shred(subjectId: string): Promise<boolean>;
}

/**
 * A `SubjectKeyStore` in process memory. Keys are lost on exit; `shred` drops the only reference
 * (a `KeyObject`'s native memory cannot be wiped from JS; it is freed when collected).
 *
 * @example
 * ```ts
 * const store = new MemorySubjectKeyStore();
 * const key = await store.getOrCreate('acme/user-42');
 * await store.shred('acme/user-42'); // true
 * ```
 */
export class MemorySubjectKeyStore implements SubjectKeyStore {
  readonly #keys: Map<string, SubjectKey> = new Map();

  /** Number of subjects with a key. */
  get size(): number {
    return this.#keys.size;
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` (as a rejection) on a bad subject id. */
  async getOrCreate(subjectId: string): Promise<SubjectKey> {
    checkSubjectId(subjectId);
    let key = this.#keys.get(subjectId);
    if (key === undefined) {
      key = SubjectKey.generate(subjectId);
      this.#keys.set(subjectId, key);
    }
    return key;
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` (as a rejection) on any bad subject id. */
  async getOrCreateMany(subjectIds: readonly string[]): Promise<Map<string, SubjectKey>> {
    for (const subjectId of subjectIds) checkSubjectId(subjectId);
    const result = new Map<string, SubjectKey>();
    for (const subjectId of subjectIds) {
      let key = this.#keys.get(subjectId);
      if (key === undefined) {
        key = SubjectKey.generate(subjectId);
        this.#keys.set(subjectId, key);
      }
      result.set(subjectId, key);
    }
    return result;
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` (as a rejection) on a bad subject id. */
  async get(subjectId: string): Promise<SubjectKey | undefined> {
    checkSubjectId(subjectId);
    return this.#keys.get(subjectId);
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` (as a rejection) on a bad subject id. */
  async has(subjectId: string): Promise<boolean> {
    checkSubjectId(subjectId);
    return this.#keys.has(subjectId);
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` (as a rejection) on a bad subject id. */
  async shred(subjectId: string): Promise<boolean> {
    checkSubjectId(subjectId);
    return this.#keys.delete(subjectId);
  }
}
