/**
 * The original `SubjectKeyStore` file layout, kept for existing directories and for comparison;
 * `JournalSubjectKeyStore` is the recommended store (and migrates this layout on open).
 *
 * A `SubjectKeyStore` in a directory: one file per data subject holding its key wrapped by the
 * master key (wrapped-key format, purpose `subject-key`).
 *
 * Directory layout (mode 0700, files 0600):
 * - `names.key` — a random 32-byte name key, wrapped (purpose `name-key`). File names are
 *   `HMAC-SHA256(name key, subject id)`, so the directory listing reveals no subject ids (they are
 *   personal data) and survives master key rotation.
 * - `<64 hex digits>.key` — one subject's key; its wrapped key id is `name hash (32) ‖ key tag (4)`,
 *   so a file copied onto another subject's name fails to load.
 *
 * Every write is temp + fsync + rename + fsync(dir); `shred` overwrites, fsyncs, unlinks and
 * fsyncs the directory (what that can and cannot guarantee: `shredFile` in `atomic-file.ts`).
 *
 * Deliberately not here: sharing a directory between processes (one process owns a store; the
 * cache would not see another process's shred) and sharding the directory (ext4's hashed
 * directories handle millions of entries). Returned keys are cached objects shared by callers.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_DIR_MODE, shredFile, writeFileAtomic } from './atomic-file';
import { constantTimeEqual, encodeHex } from './bytes';
import { CryptoEnvelopeError } from './errors';
import type { Keyring } from './keyring';
import { LruCache } from './lru-cache';
import { checkSubjectId, SUBJECT_KEY_TAG_BYTES, SubjectKey } from './subject-key';
import type { SubjectKeyStore } from './subject-key-store';
import { parseWrappedKeyHeader } from './wrapped-key';

/** Default number of unwrapped subject keys kept in memory (least recently used evicted first). */
export const DEFAULT_SUBJECT_KEY_CACHE_ENTRIES = 100_000;

/** File holding the store's wrapped name key (shared by the file and journal layouts). */
export const NAME_KEY_FILE = 'names.key';
const NAME_KEY_BYTES = 32;
/** Length of a subject's name hash, HMAC-SHA256(name key, subject id), in bytes. */
export const NAME_HASH_BYTES = 32;
const KEY_FILE_SUFFIX = '.key';
/** One subject's key file in the file layout: `<64 hex digits>.key`. */
export const KEY_FILE_RE: RegExp = /^[0-9a-f]{64}\.key$/;
const EMPTY: Uint8Array = new Uint8Array(0);

/** Options of {@link FileSubjectKeyStore.open}. */
export interface FileSubjectKeyStoreOptions {
  /** Unwrapped keys cached in memory, ≥ 0 (default 100,000; 0 disables the cache). */
  readonly cacheEntries?: number;
}

/**
 * Subject keys in files, wrapped by a keyring's current master key.
 *
 * @example
 * ```ts
 * const store = await FileSubjectKeyStore.open('/var/lib/sealog/subject-keys', keyring);
 * const key = await store.getOrCreate('acme/user-42');
 * await store.shred('acme/user-42'); // file overwritten, unlinked, directory fsync'd
 * ```
 */
export class FileSubjectKeyStore implements SubjectKeyStore {
  /** The store's directory. */
  readonly dir: string;
  readonly #keyring: Keyring;
  readonly #nameKey: Buffer;
  readonly #cache: LruCache<string, SubjectKey>;
  /** Per-file tail of pending operations: operations on one subject run one at a time. */
  readonly #locks: Map<string, Promise<unknown>>;

  private constructor(dir: string, keyring: Keyring, nameKey: Buffer, cacheEntries: number) {
    this.dir = dir;
    this.#keyring = keyring;
    this.#nameKey = nameKey;
    this.#cache = new LruCache(cacheEntries);
    this.#locks = new Map();
  }

  /**
   * Opens (creating if needed) a store directory.
   *
   * @throws {CryptoEnvelopeError} `IO_ERROR` when the directory cannot be created or read, or holds
   *   subject key files but no `names.key`; `UNKNOWN_KEK` / `AUTH_FAILED` when `names.key` was
   *   wrapped by a master key the keyring lacks.
   */
  static async open(
    dir: string,
    keyring: Keyring,
    options: FileSubjectKeyStoreOptions = {},
  ): Promise<FileSubjectKeyStore> {
    const cacheEntries = options.cacheEntries ?? DEFAULT_SUBJECT_KEY_CACHE_ENTRIES;
    if (!Number.isInteger(cacheEntries) || cacheEntries < 0) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `subject key store: cacheEntries must be an integer ≥ 0, got ${cacheEntries}`,
      );
    }
    const nameKey = await openNameKey(dir, keyring, (entry) => KEY_FILE_RE.test(entry));
    return new FileSubjectKeyStore(dir, keyring, nameKey, cacheEntries);
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT`, `IO_ERROR`, or unwrap errors for a damaged file. */
  async getOrCreate(subjectId: string): Promise<SubjectKey> {
    const name = this.#fileName(subjectId);
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    return this.#serialize(name, async () => {
      const existing = await this.#load(name, subjectId);
      if (existing !== undefined) return existing;
      const key = SubjectKey.generate(subjectId);
      const material = key.exportBytes();
      let wrapped: Uint8Array;
      try {
        wrapped = this.#keyring.wrap('subject-key', keyIdFor(name, key.keyTag), material);
      } finally {
        material.fill(0);
      }
      const path = join(this.dir, name);
      try {
        await writeFileAtomic(path, wrapped);
      } catch (cause) {
        throw new CryptoEnvelopeError('IO_ERROR', `subject key store: cannot write ${path}`, { cause });
      }
      this.#cache.set(name, key);
      return key;
    });
  }

  /**
   * Keys of several subjects, creating the missing ones. This layout cannot batch durability: each
   * new key is its own file (temp + fsync + rename + fsync(dir)), O(new keys) fsyncs, run
   * concurrently. Use `JournalSubjectKeyStore` for one fdatasync per call.
   *
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` (before anything is written) if any id is bad;
   *   `IO_ERROR`, or unwrap errors for a damaged file.
   */
  async getOrCreateMany(subjectIds: readonly string[]): Promise<Map<string, SubjectKey>> {
    for (const subjectId of subjectIds) checkSubjectId(subjectId);
    const keys = await Promise.all(subjectIds.map((subjectId) => this.getOrCreate(subjectId)));
    const result = new Map<string, SubjectKey>();
    for (let i = 0; i < subjectIds.length; i++) result.set(subjectIds[i]!, keys[i]!);
    return result;
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT`, `IO_ERROR`, or unwrap errors for a damaged file. */
  async get(subjectId: string): Promise<SubjectKey | undefined> {
    const name = this.#fileName(subjectId);
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    return this.#serialize(name, () => this.#load(name, subjectId));
  }

  /** @throws {CryptoEnvelopeError} `INVALID_ARGUMENT`, `IO_ERROR`, or unwrap errors for a damaged file. */
  async has(subjectId: string): Promise<boolean> {
    return (await this.get(subjectId)) !== undefined;
  }

  /**
   * Shreds the subject's key file; once this resolves the unlink is durable and the cache entry is
   * gone. See `shredFile` for what overwriting can and cannot guarantee on journaling/CoW
   * filesystems and SSDs.
   *
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT`; `IO_ERROR` if the file cannot be removed.
   */
  async shred(subjectId: string): Promise<boolean> {
    const name = this.#fileName(subjectId);
    return this.#serialize(name, async () => {
      this.#cache.delete(name);
      const path = join(this.dir, name);
      try {
        return await shredFile(path);
      } catch (cause) {
        throw new CryptoEnvelopeError('IO_ERROR', `subject key store: cannot shred ${path}`, { cause });
      }
    });
  }

  /**
   * Rewraps every key file (and `names.key`) not wrapped by the current master key, each with an
   * atomic replace. After it resolves, older master keys are no longer needed by this store.
   * Returns how many files were rewrapped.
   *
   * @throws {CryptoEnvelopeError} `IO_ERROR`, or unwrap errors for a damaged file.
   */
  async rewrapAll(): Promise<number> {
    const currentId = this.#keyring.current.id;
    let count = 0;
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (cause) {
      throw new CryptoEnvelopeError('IO_ERROR', `subject key store ${this.dir}: cannot list`, { cause });
    }
    for (const entry of entries) {
      if (entry !== NAME_KEY_FILE && !KEY_FILE_RE.test(entry)) continue;
      const rewrapped = await this.#serialize(entry, async () => {
        const path = join(this.dir, entry);
        const wrapped = await readOptional(path);
        if (wrapped === undefined || parseWrappedKeyHeader(wrapped).kekId === currentId) return false;
        await writeFileAtomic(path, this.#keyring.rewrap(wrapped));
        return true;
      });
      if (rewrapped) count++;
    }
    return count;
  }

  #fileName(subjectId: string): string {
    checkSubjectId(subjectId);
    return `${this.#nameHash(subjectId).toString('hex')}${KEY_FILE_SUFFIX}`;
  }

  #nameHash(subjectId: string): Buffer {
    return createHmac('sha256', this.#nameKey).update(subjectId, 'utf8').digest();
  }

  async #load(name: string, subjectId: string): Promise<SubjectKey | undefined> {
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    const path = join(this.dir, name);
    let wrapped: Uint8Array | undefined;
    try {
      wrapped = await readOptional(path);
    } catch (cause) {
      throw new CryptoEnvelopeError('IO_ERROR', `subject key store: cannot read ${path}`, { cause });
    }
    if (wrapped === undefined) return undefined;
    const unwrapped = this.#keyring.unwrap(wrapped, 'subject-key');
    try {
      const nameHash = this.#nameHash(subjectId);
      const keyId = unwrapped.keyId;
      if (
        keyId.byteLength !== NAME_HASH_BYTES + SUBJECT_KEY_TAG_BYTES ||
        !constantTimeEqual(keyId.subarray(0, NAME_HASH_BYTES), nameHash)
      ) {
        throw new CryptoEnvelopeError(
          'MALFORMED_WRAPPED_KEY',
          `subject key store: ${path} holds a key for another subject (key id ${encodeHex(keyId.subarray(0, 8))}…)`,
        );
      }
      const key = SubjectKey.fromBytes(subjectId, unwrapped.material, keyId.subarray(NAME_HASH_BYTES));
      this.#cache.set(name, key);
      return key;
    } finally {
      unwrapped.material.fill(0);
    }
  }

  /** Runs `task` after every earlier task on the same file name has settled. */
  #serialize<T>(name: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return run;
  }
}

/**
 * Reads the store's name key from `names.key`, creating it when the directory holds no key files
 * yet (`isKeyFile` says which entries would need the old name key).
 *
 * @throws {CryptoEnvelopeError} `IO_ERROR` when the directory cannot be created or read, or holds
 *   key files but no `names.key`; `UNKNOWN_KEK` / `AUTH_FAILED` from unwrapping.
 */
export async function openNameKey(
  dir: string,
  keyring: Keyring,
  isKeyFile: (entry: string) => boolean,
): Promise<Buffer> {
  const namePath = join(dir, NAME_KEY_FILE);
  let wrappedName: Uint8Array | undefined;
  try {
    await mkdir(dir, { recursive: true, mode: KEY_DIR_MODE });
    wrappedName = await readOptional(namePath);
    if (wrappedName === undefined) {
      const entries = await readdir(dir);
      if (entries.some(isKeyFile)) {
        throw new CryptoEnvelopeError(
          'IO_ERROR',
          `subject key store ${dir}: subject key files exist but ${NAME_KEY_FILE} is missing; refusing to start a new name key`,
        );
      }
      const material = randomBytes(NAME_KEY_BYTES);
      wrappedName = keyring.wrap('name-key', EMPTY, material);
      material.fill(0);
      await writeFileAtomic(namePath, wrappedName);
    }
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) throw err;
    throw new CryptoEnvelopeError('IO_ERROR', `subject key store ${dir}: cannot open`, { cause: err });
  }
  return Buffer.from(keyring.unwrap(wrappedName, 'name-key').material);
}

/** Wrapped key id of a subject key: name hash (32, from the first 64 hex digits of `name`) ‖ key tag (4). */
export function keyIdFor(name: string, keyTag: Uint8Array): Uint8Array {
  const keyId = new Uint8Array(NAME_HASH_BYTES + SUBJECT_KEY_TAG_BYTES);
  keyId.set(Buffer.from(name.slice(0, NAME_HASH_BYTES * 2), 'hex'), 0);
  keyId.set(keyTag, NAME_HASH_BYTES);
  return keyId;
}

/** The file's bytes, or `undefined` if it does not exist. */
export async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
