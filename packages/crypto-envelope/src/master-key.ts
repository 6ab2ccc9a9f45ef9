/**
 * Master keys (key-encryption keys, KEKs): 32-byte AES-256 keys with a short id, loaded from
 * configuration (hex or base64 text), from a file that only its owner can read, or generated.
 *
 * Deliberately not here: wrapping (see `Keyring`) and choosing which key is current. A loaded key
 * lives in a node:crypto `KeyObject`; no API returns its bytes except `saveMasterKeyFile`.
 */
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file';
import { decodeBase64Strict, decodeHexStrict } from './bytes';
import { CryptoEnvelopeError } from './errors';

/** Master key length in bytes (AES-256). */
export const MASTER_KEY_BYTES = 32;
/** Longest master key id, in characters. */
export const MAX_MASTER_KEY_ID_LENGTH = 64;
/** Largest key file read, in bytes; a key file is ~65 bytes, anything bigger is the wrong file. */
const MAX_KEY_FILE_BYTES = 4096;
const MASTER_KEY_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** Permission bits a key file must not have: any group or other access. */
const GROUP_OTHER_BITS = 0o077;

/**
 * A master key (KEK) with its id. The id is written next to every key it wraps, so it must stay
 * stable for as long as such wrapped keys exist.
 */
export class MasterKey {
  /** 1–64 characters `[A-Za-z0-9._-]`. */
  readonly id: string;
  /** The key as a node:crypto KeyObject. */
  readonly keyObject: KeyObject;

  /**
   * @throws {CryptoEnvelopeError} `INVALID_KEY` on a bad id or material that is not 32 bytes.
   */
  constructor(id: string, material: Uint8Array) {
    checkMasterKeyId(id);
    if (material.byteLength !== MASTER_KEY_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `master key ${id}: expected ${MASTER_KEY_BYTES} bytes, got ${material.byteLength}`,
      );
    }
    this.id = id;
    this.keyObject = createSecretKey(Uint8Array.from(material));
  }
}

/**
 * Generates a random master key (e.g. the embedded default on first start; say so loudly).
 * @throws {CryptoEnvelopeError} `INVALID_KEY` on a bad id.
 */
export function generateMasterKey(id: string): MasterKey {
  const material = randomBytes(MASTER_KEY_BYTES);
  const key = new MasterKey(id, material);
  material.fill(0);
  return key;
}

/**
 * Parses a master key from text: 64 hex digits or 44 characters of padded base64 (surrounding
 * whitespace ignored), e.g. from an environment variable.
 *
 * @throws {CryptoEnvelopeError} `INVALID_KEY` when the text is neither, or the id is bad.
 * @example
 * ```ts
 * const kek = loadMasterKey('kek-2026-01', process.env.SEALOG_MASTER_KEY ?? '');
 * ```
 */
export function loadMasterKey(id: string, text: string): MasterKey {
  const trimmed = text.trim();
  const bytes =
    trimmed.length === MASTER_KEY_BYTES * 2 ? decodeHexStrict(trimmed) : decodeBase64Strict(trimmed);
  if (bytes === undefined || bytes.byteLength !== MASTER_KEY_BYTES) {
    throw new CryptoEnvelopeError(
      'INVALID_KEY',
      `master key ${id}: expected 64 hex digits or 44 base64 characters (32 bytes), got ${trimmed.length} characters that do not decode to 32 bytes`,
    );
  }
  const key = new MasterKey(id, bytes);
  bytes.fill(0);
  return key;
}

/**
 * Loads a master key from a file holding hex or base64 text (as {@link loadMasterKey}) or exactly
 * 32 raw bytes. Like ssh with private keys, refuses a file that group or others may access, a
 * file owned by another user (root excepted), and anything that is not a regular file.
 *
 * @throws {CryptoEnvelopeError} `INSECURE_KEY_FILE` for permissions/ownership/type (message says
 *   how to fix it); `INVALID_KEY` for bad contents; `IO_ERROR` if the file cannot be read.
 * @example
 * ```ts
 * const kek = await loadMasterKeyFile('kek-2026-01', '/etc/sealog/master.key'); // chmod 600
 * ```
 */
export async function loadMasterKeyFile(id: string, path: string): Promise<MasterKey> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new CryptoEnvelopeError('IO_ERROR', `master key file ${path}: cannot open`, { cause });
  }
  try {
    // fstat on the open descriptor, not stat on the path: the file checked is the file read.
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new CryptoEnvelopeError('INSECURE_KEY_FILE', `master key file ${path}: not a regular file`);
    }
    const mode = stat.mode & 0o777;
    if ((mode & GROUP_OTHER_BITS) !== 0) {
      throw new CryptoEnvelopeError(
        'INSECURE_KEY_FILE',
        `master key file ${path}: permissions 0${mode.toString(8)} are too open (group/other access); expected 0600 or stricter — run chmod 600 ${path}`,
      );
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      throw new CryptoEnvelopeError(
        'INSECURE_KEY_FILE',
        `master key file ${path}: owned by uid ${stat.uid}, expected the current user (uid ${uid}) or root`,
      );
    }
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `master key file ${path}: ${stat.size} bytes, expected at most ${MAX_KEY_FILE_BYTES}`,
      );
    }
    const content = await handle.readFile();
    try {
      if (content.byteLength === MASTER_KEY_BYTES) return new MasterKey(id, content);
      return loadMasterKey(id, content.toString('utf8'));
    } finally {
      content.fill(0);
    }
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) throw err;
    throw new CryptoEnvelopeError('IO_ERROR', `master key file ${path}: cannot read`, { cause: err });
  } finally {
    await handle.close();
  }
}

/**
 * Writes a master key as 64 hex digits + newline to `path` (mode 0600, atomic replace), e.g. for
 * the embedded default generated on first start.
 *
 * @throws {CryptoEnvelopeError} `IO_ERROR` when the file cannot be written.
 */
export async function saveMasterKeyFile(path: string, key: MasterKey): Promise<void> {
  const material = key.keyObject.export();
  const text = Buffer.from(`${material.toString('hex')}\n`, 'utf8');
  material.fill(0);
  try {
    await writeFileAtomic(path, text);
  } catch (cause) {
    throw new CryptoEnvelopeError('IO_ERROR', `master key file ${path}: cannot write`, { cause });
  } finally {
    text.fill(0);
  }
}

/** @throws {CryptoEnvelopeError} `INVALID_KEY` unless `id` is 1–64 characters `[A-Za-z0-9._-]`. */
export function checkMasterKeyId(id: string): void {
  if (!MASTER_KEY_ID_RE.test(id)) {
    throw new CryptoEnvelopeError(
      'INVALID_KEY',
      `master key id: expected 1–${MAX_MASTER_KEY_ID_LENGTH} characters [A-Za-z0-9._-], got ${JSON.stringify(id)}`,
    );
  }
}
