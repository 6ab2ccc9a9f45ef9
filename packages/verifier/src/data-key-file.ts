/**
 * Reading `data-keys.bin` (docs/FORMAT.md, "Log directory"): entries
 * `u32 length ‖ wrapped key ‖ u32 CRC-32(wrapped key)`. Without a master key only the framing and
 * CRCs are checked; with one, each wrapped key is unwrapped (AES-GCM, so a changed byte fails) and
 * kept, open-only, by its hex key id for decrypting frames.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import {
  type DataKey,
  Keyring,
  loadMasterKey,
  type MasterKey,
  parseWrappedKeyHeader,
} from '@sealog/crypto-envelope';
import { VerifierError } from './errors';
import { type FindingCollector, hexOffset } from './finding';

/** File name of a log's wrapped data keys. */
export const DATA_KEYS_FILE = 'data-keys.bin';

/**
 * Reads the data keys of a log. Returns the unwrapped keys by hex id (empty without `masterKey`).
 * A missing file is reported only when frames need it (the caller knows).
 */
export function readDataKeys(
  path: string,
  masterKeyText: string | undefined,
  findings: FindingCollector,
): Map<string, DataKey> | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new VerifierError('IO_ERROR', `${path}: cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const keys = new Map<string, DataKey>();
  let keyring: Keyring | undefined;
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) {
      findings.error('DATA_KEYS', path, `entry @ ${hexOffset(offset)}: truncated length field`, { offset });
      break;
    }
    const length = bytes.readUInt32BE(offset);
    const end = offset + 4 + length + 4;
    if (length === 0 || end > bytes.length) {
      findings.error(
        'DATA_KEYS',
        path,
        `entry @ ${hexOffset(offset)}: length ${length} runs past end of file (${bytes.length - offset - 4} bytes left)`,
        { offset },
      );
      break;
    }
    const wrapped = bytes.subarray(offset + 4, offset + 4 + length);
    const want = bytes.readUInt32BE(offset + 4 + length);
    const got = crc32(wrapped);
    if (want !== got) {
      findings.error(
        'DATA_KEYS',
        path,
        `entry @ ${hexOffset(offset)}: CRC-32 mismatch: stored 0x${want.toString(16).padStart(8, '0')}, computed 0x${got.toString(16).padStart(8, '0')}`,
        { offset, expected: want.toString(16), found: got.toString(16) },
      );
    } else if (masterKeyText !== undefined) {
      try {
        keyring ??= new Keyring([masterFor(masterKeyText, wrapped)]);
        const key = keyring.unwrapDataKey(wrapped);
        keys.set(key.keyIdHex, key);
      } catch (error) {
        if (error instanceof VerifierError) throw error;
        findings.error(
          'DATA_KEYS',
          path,
          `entry @ ${hexOffset(offset)}: wrapped data key does not open under the master key: ${(error as Error).message}`,
          { offset },
        );
      }
    }
    offset = end;
  }
  return keys;
}

/** The master key, named with the key id the wrapped key was bound to (it is part of the AAD). */
function masterFor(text: string, wrapped: Uint8Array): MasterKey {
  let id = 'local-1';
  try {
    id = parseWrappedKeyHeader(wrapped).kekId;
  } catch {
    // keep the default id: the unwrap below then reports the damaged entry
  }
  try {
    return loadMasterKey(id, text);
  } catch (error) {
    throw new VerifierError('BAD_KEY', `master key: ${(error as Error).message}`, { cause: error });
  }
}
