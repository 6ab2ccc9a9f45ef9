/**
 * Signed notes per C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 (signature type
 * 0x01), and note keys in the formats of Go's `golang.org/x/mod/sumdb/note`:
 *
 * - signer key: `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ 32-byte Ed25519 seed)>`
 * - verifier key: `<name>+<hash>+<base64(0x01 ‖ 32-byte Ed25519 public key)>`
 * - hash = first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), as 8 lowercase hex digits
 * - note = text (ending in "\n") ‖ "\n" ‖ one line per signature:
 *   `— <name> <base64(4-byte key hash ‖ 64-byte signature)>\n` (U+2014 em dash, space).
 *
 * Parsing follows the Go package's `Open`: the text is separated from the signatures by the last
 * blank line; the note must be valid UTF-8 with no control characters but newline; at most 100
 * signature lines; unknown keys are kept as unverified; a known key whose signature fails rejects
 * the whole note; no verified signature rejects the note.
 *
 * Deliberately not here: other signature types (ECDSA, cosignatures) and checkpoint semantics
 * (see `checkpoint.ts`). Returned strings and objects are fresh and owned by the caller.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import {
  decodeBase64Strict,
  encodeBase64,
  hasControlCharacter,
  isWellFormedText,
  readUint32BE,
  writeUint32BE,
} from './bytes';
import { CryptoEnvelopeError } from './errors';

/** Signature type byte of Ed25519 in C2SP signed-note. */
export const NOTE_ALG_ED25519 = 0x01;
/** Most signature lines `openNote` accepts (the Go package's limit; the spec demands ≥ 16). */
export const MAX_NOTE_SIGNATURES = 100;

const ED25519_SEED_BYTES = 32;
const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const KEY_HASH_BYTES = 4;
/** DER prefix of a PKCS#8 Ed25519 private key (RFC 8410 §7) before the 32-byte seed. */
const PKCS8_ED25519_PREFIX: Buffer = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER prefix of an SPKI Ed25519 public key (RFC 8410 §4) before the 32-byte key. */
const SPKI_ED25519_PREFIX: Buffer = Buffer.from('302a300506032b6570032100', 'hex');
const SIGNATURE_PREFIX = '\u2014 ';
/** Unicode spaces (Go's unicode.IsSpace = the White_Space property) or plus are not allowed in names. */
const BAD_NAME_CHAR_RE = /[\p{White_Space}+]/u;
const HASH_HEX_RE = /^[0-9a-fA-F]{8}$/;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A generated note key pair, as key strings. */
export interface NoteKeyPair {
  /** `PRIVATE+KEY+<name>+<hash>+<base64>` — secret. */
  readonly signerKey: string;
  /** `<name>+<hash>+<base64>` — public; what `GET /api/v1/logs` serves as `public_key`. */
  readonly verifierKey: string;
}

/** One signature line of an opened note. */
export interface NoteSignature {
  /** Key name from the signature line. */
  readonly name: string;
  /** Key hash (key ID), unsigned 32-bit. */
  readonly keyHash: number;
  /** The base64 text of the signature line (key hash ‖ signature). */
  readonly base64: string;
  /** True when verified by one of the given keys; false for signatures from unknown keys. */
  readonly verified: boolean;
}

/** A note whose text is authenticated by at least one verified signature. */
export interface OpenedNote {
  /** The note text, including its final newline. */
  readonly text: string;
  /** Every distinct signature, in note order; unknown keys have `verified: false`. */
  readonly signatures: readonly NoteSignature[];
}

/** A parsed signer key; parse once, sign many times. */
export class NoteSigner {
  /** Key name. */
  readonly name: string;
  /** Key hash, unsigned 32-bit. */
  readonly keyHash: number;
  /** The matching verifier key string. */
  readonly verifierKey: string;
  readonly #privateKey: KeyObject;

  private constructor(name: string, keyHash: number, verifierKey: string, privateKey: KeyObject) {
    this.name = name;
    this.keyHash = keyHash;
    this.verifierKey = verifierKey;
    this.#privateKey = privateKey;
  }

  /**
   * Parses `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`; checks the hash against the
   * derived public key.
   * @throws {CryptoEnvelopeError} `INVALID_KEY` on any malformation or a hash mismatch.
   */
  static parse(signerKey: string): NoteSigner {
    const [priv1, rest1] = chop(signerKey, '+');
    const [priv2, rest2] = chop(rest1, '+');
    const [name, rest3] = chop(rest2, '+');
    const [hash16, key64] = chop(rest3, '+');
    const key = decodeBase64Strict(key64);
    if (
      priv1 !== 'PRIVATE' ||
      priv2 !== 'KEY' ||
      !HASH_HEX_RE.test(hash16) ||
      !isValidNoteKeyName(name) ||
      key === undefined ||
      key.byteLength === 0
    ) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        'note signer key: expected PRIVATE+KEY+<name>+<8 hex>+<base64>',
      );
    }
    if (key[0] !== NOTE_ALG_ED25519 || key.byteLength !== 1 + ED25519_SEED_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `note signer key ${name}: expected algorithm 0x01 and a ${ED25519_SEED_BYTES}-byte seed, got algorithm 0x${(key[0] ?? 0).toString(16).padStart(2, '0')} and ${key.byteLength - 1} bytes`,
      );
    }
    const privateKey = ed25519PrivateKey(key.subarray(1));
    key.fill(0);
    const publicKey = ed25519PublicKeyBytes(privateKey);
    const hash = noteKeyHash(name, publicKey);
    if (hash !== Number.parseInt(hash16, 16)) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `note signer key ${name}: key hash ${hash16.toLowerCase()} does not match the key (expected ${hashHex(hash)})`,
      );
    }
    return new NoteSigner(name, hash, formatVerifierKey(name, hash, publicKey), privateKey);
  }

  /** Builds a signer from a 32-byte Ed25519 seed (RFC 8032 private key). */
  static fromSeed(name: string, seed: Uint8Array): NoteSigner {
    checkName(name);
    if (seed.byteLength !== ED25519_SEED_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `note signer: expected a ${ED25519_SEED_BYTES}-byte Ed25519 seed, got ${seed.byteLength}`,
      );
    }
    const privateKey = ed25519PrivateKey(seed);
    const publicKey = ed25519PublicKeyBytes(privateKey);
    const hash = noteKeyHash(name, publicKey);
    return new NoteSigner(name, hash, formatVerifierKey(name, hash, publicKey), privateKey);
  }

  /** Signs raw bytes (the note text) with Ed25519; returns the 64-byte signature. */
  signBytes(message: Uint8Array): Uint8Array {
    return sign(null, message, this.#privateKey);
  }
}

/** A parsed verifier key; parse once, verify many times. */
export class NoteVerifier {
  /** Key name. */
  readonly name: string;
  /** Key hash, unsigned 32-bit. */
  readonly keyHash: number;
  /** The verifier key string. */
  readonly verifierKey: string;
  readonly #publicKey: KeyObject;

  private constructor(name: string, keyHash: number, verifierKey: string, publicKey: KeyObject) {
    this.name = name;
    this.keyHash = keyHash;
    this.verifierKey = verifierKey;
    this.#publicKey = publicKey;
  }

  /**
   * Parses `<name>+<hash>+<base64(0x01 ‖ public key)>` and checks the hash.
   * @throws {CryptoEnvelopeError} `INVALID_KEY` on any malformation or a hash mismatch.
   */
  static parse(verifierKey: string): NoteVerifier {
    const [name, rest] = chop(verifierKey, '+');
    const [hash16, key64] = chop(rest, '+');
    const key = decodeBase64Strict(key64);
    if (!HASH_HEX_RE.test(hash16) || !isValidNoteKeyName(name) || key === undefined || key.byteLength === 0) {
      throw new CryptoEnvelopeError('INVALID_KEY', 'note verifier key: expected <name>+<8 hex>+<base64>');
    }
    const hash = noteKeyHashOfEncoded(name, key);
    if (hash !== Number.parseInt(hash16, 16)) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `note verifier key ${name}: key hash ${hash16.toLowerCase()} does not match the key (expected ${hashHex(hash)})`,
      );
    }
    if (key[0] !== NOTE_ALG_ED25519 || key.byteLength !== 1 + ED25519_PUBLIC_KEY_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_KEY',
        `note verifier key ${name}: expected algorithm 0x01 and a ${ED25519_PUBLIC_KEY_BYTES}-byte key, got algorithm 0x${(key[0] ?? 0).toString(16).padStart(2, '0')} and ${key.byteLength - 1} bytes`,
      );
    }
    const publicKey = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, key.subarray(1)]),
      format: 'der',
      type: 'spki',
    });
    return new NoteVerifier(name, hash, verifierKey, publicKey);
  }

  /** Verifies a 64-byte Ed25519 signature over raw bytes (the note text). */
  verifyBytes(message: Uint8Array, signature: Uint8Array): boolean {
    return (
      signature.byteLength === ED25519_SIGNATURE_BYTES && verify(null, message, this.#publicKey, signature)
    );
  }
}

/**
 * Generates an Ed25519 note key pair for `name`.
 *
 * @param name - key name per C2SP signed-note: non-empty, no Unicode spaces, no `+`; recommended a
 *   schema-less URL such as `sealog.example/log/default` (for checkpoints: the log's origin).
 * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` on a bad name.
 * @example
 * ```ts
 * const { signerKey, verifierKey } = generateNoteKey('sealog.example/log/default');
 * const note = signNote('hello\n', signerKey);
 * openNote(note, [verifierKey]).text; // 'hello\n'
 * ```
 */
export function generateNoteKey(name: string): NoteKeyPair {
  checkName(name);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.byteLength);
  const publicBytes = publicKey
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_ED25519_PREFIX.byteLength);
  const hash = noteKeyHash(name, publicBytes);
  const encodedSeed = new Uint8Array(1 + ED25519_SEED_BYTES);
  encodedSeed[0] = NOTE_ALG_ED25519;
  encodedSeed.set(seed, 1);
  seed.fill(0);
  const signerKey = `PRIVATE+KEY+${name}+${hashHex(hash)}+${encodeBase64(encodedSeed)}`;
  encodedSeed.fill(0);
  return { signerKey, verifierKey: formatVerifierKey(name, hash, publicBytes) };
}

/**
 * Signs `text` and returns the signed note (`text ‖ "\n" ‖ signature lines`). With several
 * signers, lines appear in the given order.
 *
 * @param text - UTF-8 text ending in `\n`, without control characters other than newline.
 * @param signerKey - a signer key string or parsed {@link NoteSigner} (or a list of them).
 * @throws {CryptoEnvelopeError} `MALFORMED_NOTE` on bad text; `INVALID_KEY` on a bad key string;
 *   `INVALID_ARGUMENT` on an empty signer list.
 * @example
 * ```ts
 * const signer = NoteSigner.parse(signerKey); // parse once for repeated signing
 * const note = signNote(formatCheckpoint(cp), signer);
 * ```
 */
export function signNote(
  text: string,
  signerKey: string | NoteSigner | readonly (string | NoteSigner)[],
): string {
  checkNoteText(text);
  const signers = Array.isArray(signerKey) ? signerKey : [signerKey];
  if (signers.length === 0) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      'sign note: expected at least one signer key, got none',
    );
  }
  const message = Buffer.from(text, 'utf8');
  let note = `${text}\n`;
  for (const key of signers) {
    const signer = typeof key === 'string' ? NoteSigner.parse(key) : (key as NoteSigner);
    const line = new Uint8Array(KEY_HASH_BYTES + ED25519_SIGNATURE_BYTES);
    writeUint32BE(line, 0, signer.keyHash);
    line.set(signer.signBytes(message), KEY_HASH_BYTES);
    note += `${SIGNATURE_PREFIX}${signer.name} ${encodeBase64(line)}\n`;
  }
  return note;
}

/**
 * Parses a signed note and verifies its signatures against `verifierKeys`.
 *
 * @param note - the signed note, as a string or UTF-8 bytes.
 * @param verifierKeys - trusted verifier key strings or parsed {@link NoteVerifier}s.
 * @returns the text and every distinct signature (unknown keys reported with `verified: false`).
 * @throws {CryptoEnvelopeError} `MALFORMED_NOTE` on a syntax violation or more than 100
 *   signatures; `NOTE_INVALID_SIGNATURE` when a signature from a known key does not verify;
 *   `NOTE_UNVERIFIED` when no signature is from a known key; `AMBIGUOUS_KEY` when two given keys
 *   share name and hash and a signature names them; `INVALID_KEY` on a bad key string.
 * @example
 * ```ts
 * const { text, signatures } = openNote(noteText, [logVerifierKey]);
 * ```
 */
export function openNote(
  note: string | Uint8Array,
  verifierKeys: readonly (string | NoteVerifier)[],
): OpenedNote {
  const message = typeof note === 'string' ? note : decodeNote(note);
  if (!isWellFormedText(message) || hasControlCharacter(message, true)) {
    throw malformed('note must be valid UTF-8 without control characters other than newline');
  }
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line separates text and signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) {
    throw malformed('signature block must be non-empty and end with a newline');
  }
  const known = new Map<string, NoteVerifier[]>();
  for (const key of verifierKeys) {
    const verifier = typeof key === 'string' ? NoteVerifier.parse(key) : (key as NoteVerifier);
    const id = `${verifier.name}+${hashHex(verifier.keyHash)}`;
    const list = known.get(id);
    if (list === undefined) known.set(id, [verifier]);
    else list.push(verifier);
  }
  const textBytes = Buffer.from(text, 'utf8');
  const signatures: NoteSignature[] = [];
  const seen = new Set<string>();
  let verifiedCount = 0;
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`expected at most ${MAX_NOTE_SIGNATURES} signatures, got ${lines.length}`);
  }
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed('signature line must start with "\u2014 "');
    const [name, b64] = chop(line.slice(SIGNATURE_PREFIX.length), ' ');
    const raw = decodeBase64Strict(b64);
    if (
      raw === undefined ||
      b64.length === 0 ||
      !isValidNoteKeyName(name) ||
      raw.byteLength < KEY_HASH_BYTES + 1
    ) {
      throw malformed(`bad signature line for key name ${JSON.stringify(name)}`);
    }
    const keyHash = readUint32BE(raw, 0);
    const id = `${name}+${hashHex(keyHash)}`;
    const candidates = known.get(id);
    if (candidates === undefined) {
      // Unknown key (C2SP: verifiers MUST ignore it); kept once per identical line.
      if (seen.has(line)) continue;
      seen.add(line);
      signatures.push({ name, keyHash, base64: b64, verified: false });
      continue;
    }
    if (candidates.length > 1) {
      throw new CryptoEnvelopeError(
        'AMBIGUOUS_KEY',
        `open note: ambiguous key ${id}: given ${candidates.length} times`,
      );
    }
    // A key verifies once; repeated lines by the same key are dropped (as Go's note.Open does).
    if (seen.has(id)) continue;
    seen.add(id);
    if (!candidates[0]!.verifyBytes(textBytes, raw.subarray(KEY_HASH_BYTES))) {
      throw new CryptoEnvelopeError('NOTE_INVALID_SIGNATURE', `open note: invalid signature for key ${id}`);
    }
    verifiedCount++;
    signatures.push({ name, keyHash, base64: b64, verified: true });
  }
  if (verifiedCount === 0) {
    const ids = signatures.map((s) => `${s.name}+${hashHex(s.keyHash)}`).join(', ');
    throw new CryptoEnvelopeError(
      'NOTE_UNVERIFIED',
      `open note: no signature from a known key; signed by [${ids}], known [${[...known.keys()].join(', ')}]`,
    );
  }
  return { text, signatures };
}

/**
 * Whether `name` is a valid key name: non-empty, well-formed Unicode, no Unicode space, no `+`
 * (C2SP signed-note "Format").
 */
export function isValidNoteKeyName(name: string): boolean {
  return name.length > 0 && isWellFormedText(name) && !BAD_NAME_CHAR_RE.test(name);
}

/**
 * Key hash of an Ed25519 public key: first 4 bytes (big-endian) of
 * SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key) (C2SP signed-note "Ed25519 signatures").
 */
export function noteKeyHash(name: string, publicKey: Uint8Array): number {
  const encoded = new Uint8Array(1 + publicKey.byteLength);
  encoded[0] = NOTE_ALG_ED25519;
  encoded.set(publicKey, 1);
  return noteKeyHashOfEncoded(name, encoded);
}

function noteKeyHashOfEncoded(name: string, encodedKey: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update('\n').update(encodedKey).digest();
  return digest.readUInt32BE(0);
}

function formatVerifierKey(name: string, hash: number, publicKey: Uint8Array): string {
  const encoded = new Uint8Array(1 + ED25519_PUBLIC_KEY_BYTES);
  encoded[0] = NOTE_ALG_ED25519;
  encoded.set(publicKey, 1);
  return `${name}+${hashHex(hash)}+${encodeBase64(encoded)}`;
}

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function ed25519PublicKeyBytes(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return spki.subarray(SPKI_ED25519_PREFIX.byteLength);
}

function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) throw malformed('note text must end with a newline');
  if (!isWellFormedText(text) || hasControlCharacter(text, true)) {
    throw malformed('note text must be valid UTF-8 without control characters other than newline');
  }
}

function checkName(name: string): void {
  if (!isValidNoteKeyName(name)) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `note key name: expected non-empty text without Unicode spaces or "+", got ${JSON.stringify(name)}`,
    );
  }
}

function decodeNote(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new CryptoEnvelopeError('MALFORMED_NOTE', 'open note: note is not valid UTF-8', { cause });
  }
}

function malformed(what: string): CryptoEnvelopeError {
  return new CryptoEnvelopeError('MALFORMED_NOTE', `note: ${what}`);
}

/** Splits at the first `sep` (Go's `chop` in x/mod/sumdb/note): base64 may itself contain `+`. */
function chop(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

function hashHex(hash: number): string {
  return hash.toString(16).padStart(8, '0');
}
