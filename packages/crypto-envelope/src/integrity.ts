/**
 * The record integrity string of seed 002: `keySetId::keyId::algoVersion::hashHex`, e.g.
 * `sealog.example/log/default::c74f20a3::1::<64 hex digits>`.
 *
 * Grammar (strict both ways; no component may contain `:`, so `::` splits unambiguously):
 * - keySetId: 1–128 characters `[A-Za-z0-9._/-]` (a log origin fits)
 * - keyId: 1–128 characters `[A-Za-z0-9._-]`
 * - algoVersion: 1–16 characters `[A-Za-z0-9._-]`
 * - hashHex: lowercase hex, even length, 32–128 digits (16–64 bytes; SHA-256 leaf hashes are 64)
 *
 * Deliberately not here: what the ids mean (the ledger decides) and verifying the hash.
 * Returned strings and objects are fresh.
 */
import { CryptoEnvelopeError } from './errors';

/** Separator between the four components. */
export const INTEGRITY_SEPARATOR = '::';

const KEY_SET_ID_RE = /^[A-Za-z0-9._/-]{1,128}$/;
const KEY_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
const ALGO_VERSION_RE = /^[A-Za-z0-9._-]{1,16}$/;
const HASH_HEX_RE = /^(?:[0-9a-f]{2}){16,64}$/;

/** The four components of an integrity string. */
export interface Integrity {
  /** Which key set (e.g. the log's signing identity), 1–128 `[A-Za-z0-9._/-]`. */
  readonly keySetId: string;
  /** Which key within the set, 1–128 `[A-Za-z0-9._-]`. */
  readonly keyId: string;
  /** Version of the hashing/sealing algorithm, 1–16 `[A-Za-z0-9._-]`. */
  readonly algoVersion: string;
  /** The record's hash, lowercase hex, 32–128 digits. */
  readonly hashHex: string;
}

/**
 * Formats `keySetId::keyId::algoVersion::hashHex`.
 *
 * @throws {CryptoEnvelopeError} `MALFORMED_INTEGRITY` naming the component that breaks the grammar.
 * @example
 * ```ts
 * formatIntegrity({ keySetId: 'sealog.example/log/default', keyId: 'c74f20a3', algoVersion: '1', hashHex });
 * ```
 */
export function formatIntegrity(integrity: Integrity): string {
  checkComponents(integrity.keySetId, integrity.keyId, integrity.algoVersion, integrity.hashHex);
  return `${integrity.keySetId}::${integrity.keyId}::${integrity.algoVersion}::${integrity.hashHex}`;
}

/**
 * Parses an integrity string; exactly four components, each per the grammar above.
 *
 * @throws {CryptoEnvelopeError} `MALFORMED_INTEGRITY` naming the component that breaks the grammar.
 * @example
 * ```ts
 * const { hashHex } = parseIntegrity(record.integrity);
 * ```
 */
export function parseIntegrity(text: string): Integrity {
  const parts = text.split(INTEGRITY_SEPARATOR);
  if (parts.length !== 4) {
    throw new CryptoEnvelopeError(
      'MALFORMED_INTEGRITY',
      `integrity: expected 4 components separated by "::", got ${parts.length}`,
    );
  }
  const [keySetId, keyId, algoVersion, hashHex] = parts as [string, string, string, string];
  checkComponents(keySetId, keyId, algoVersion, hashHex);
  return { keySetId, keyId, algoVersion, hashHex };
}

function checkComponents(keySetId: string, keyId: string, algoVersion: string, hashHex: string): void {
  check('keySetId', keySetId, KEY_SET_ID_RE, '1–128 characters [A-Za-z0-9._/-]');
  check('keyId', keyId, KEY_ID_RE, '1–128 characters [A-Za-z0-9._-]');
  check('algoVersion', algoVersion, ALGO_VERSION_RE, '1–16 characters [A-Za-z0-9._-]');
  check('hashHex', hashHex, HASH_HEX_RE, 'lowercase hex of even length 32–128');
}

function check(field: string, value: string, re: RegExp, expected: string): void {
  if (!re.test(value)) {
    throw new CryptoEnvelopeError(
      'MALFORMED_INTEGRITY',
      `integrity: ${field} must be ${expected}, got ${JSON.stringify(value.slice(0, 64))}`,
    );
  }
}
