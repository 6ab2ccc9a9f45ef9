/**
 * Checkpoint text per C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the body of a
 * signed note that says "log <origin> has <size> leaves with root <hash>":
 *
 * ```
 * <origin>\n
 * <size, decimal, no leading zeros>\n
 * <base64 of the 32-byte RFC 6962/9162 root hash>\n
 * [<extension line>\n]...
 * ```
 *
 * Parsing is strict: every line non-empty, exactly one canonical spelling of size and root hash.
 * Deliberately not here: signing (see `signed-note.ts`; `signCheckpoint`/`openCheckpoint` below
 * just compose the two) and consistency checks between checkpoints (the merkle package).
 * Returned objects and strings are fresh and owned by the caller.
 */
import { decodeBase64Strict, encodeBase64, hasControlCharacter, isWellFormedText } from './bytes';
import { CryptoEnvelopeError } from './errors';
import { type NoteSignature, type NoteSigner, type NoteVerifier, openNote, signNote } from './signed-note';

/** Root hash length in bytes (SHA-256). */
export const CHECKPOINT_ROOT_HASH_BYTES = 32;

const SIZE_RE = /^(?:0|[1-9][0-9]*)$/;

/** A checkpoint's fields. */
export interface Checkpoint {
  /** Log identity, non-empty (recommended: a schema-less URL without spaces or `+`). */
  readonly origin: string;
  /** Tree size in leaves, 0 ≤ size ≤ 2^53 − 1. */
  readonly size: number;
  /** 32-byte root hash. */
  readonly rootHash: Uint8Array;
  /** Extension lines, each non-empty; not recommended by the spec (monitors cannot audit them). */
  readonly extensions: readonly string[];
}

/** Input of {@link formatCheckpoint}; `extensions` may be omitted. */
export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

/** A checkpoint opened from a signed note. */
export interface OpenedCheckpoint {
  /** The parsed checkpoint. */
  readonly checkpoint: Checkpoint;
  /** The exact note text that was signed. */
  readonly text: string;
  /** Signatures as reported by `openNote`. */
  readonly signatures: readonly NoteSignature[];
}

/**
 * Formats checkpoint text (ends with a newline, ready for `signNote`).
 *
 * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` on an empty origin or extension line, a
 *   control character in either, a size that is not a safe non-negative integer, or a root hash
 *   that is not 32 bytes.
 * @example
 * ```ts
 * const text = formatCheckpoint({ origin: 'sealog.example/log/default', size: 42, rootHash });
 * ```
 */
export function formatCheckpoint(input: CheckpointInput): string {
  checkLine('origin', input.origin);
  if (!Number.isSafeInteger(input.size) || input.size < 0) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `checkpoint: size must be an integer in [0, 2^53 − 1], got ${input.size}`,
    );
  }
  if (input.rootHash.byteLength !== CHECKPOINT_ROOT_HASH_BYTES) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `checkpoint: rootHash must be ${CHECKPOINT_ROOT_HASH_BYTES} bytes, got ${input.rootHash.byteLength}`,
    );
  }
  let text = `${input.origin}\n${input.size}\n${encodeBase64(input.rootHash)}\n`;
  for (const line of input.extensions ?? []) {
    checkLine('extension line', line);
    text += `${line}\n`;
  }
  return text;
}

/**
 * Parses checkpoint text (the text of an opened note, including its final newline).
 *
 * @throws {CryptoEnvelopeError} `MALFORMED_CHECKPOINT` naming the line and what was expected.
 * @example
 * ```ts
 * const { origin, size, rootHash } = parseCheckpoint(openNote(note, [key]).text);
 * ```
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed(`expected at least 3 lines, got ${lines.length}`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) throw malformed(`line ${i + 1} is empty`);
    if (hasControlCharacter(line, false) || !isWellFormedText(line)) {
      throw malformed(`line ${i + 1} contains a control character or invalid UTF-16`);
    }
  }
  const [origin, sizeText, hashText] = lines as [string, string, string];
  if (!SIZE_RE.test(sizeText)) {
    throw malformed(
      `line 2: size must be decimal without leading zeros, got ${JSON.stringify(sizeText.slice(0, 32))}`,
    );
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) {
    throw malformed(
      `line 2: size ${sizeText} exceeds 2^53 − 1, the largest size this implementation handles`,
    );
  }
  const rootHash = decodeBase64Strict(hashText);
  if (rootHash === undefined || rootHash.byteLength !== CHECKPOINT_ROOT_HASH_BYTES) {
    throw malformed(
      `line 3: root hash must be canonical base64 of ${CHECKPOINT_ROOT_HASH_BYTES} bytes, got ${JSON.stringify(hashText.slice(0, 64))}`,
    );
  }
  return { origin, size, rootHash, extensions: lines.slice(3) };
}

/**
 * Formats and signs a checkpoint: `signNote(formatCheckpoint(input), signerKey)`.
 * @throws {CryptoEnvelopeError} as {@link formatCheckpoint} and `signNote`.
 */
export function signCheckpoint(
  input: CheckpointInput,
  signerKey: string | NoteSigner | readonly (string | NoteSigner)[],
): string {
  return signNote(formatCheckpoint(input), signerKey);
}

/**
 * Opens a signed checkpoint note and parses its text.
 * @throws {CryptoEnvelopeError} as `openNote`, then `MALFORMED_CHECKPOINT`.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifierKeys: readonly (string | NoteVerifier)[],
): OpenedCheckpoint {
  const opened = openNote(note, verifierKeys);
  return { checkpoint: parseCheckpoint(opened.text), text: opened.text, signatures: opened.signatures };
}

function checkLine(field: string, line: string): void {
  if (line.length === 0 || hasControlCharacter(line, false) || !isWellFormedText(line)) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `checkpoint: ${field} must be non-empty text without control characters, got ${JSON.stringify(line.slice(0, 64))}`,
    );
  }
}

function malformed(what: string): CryptoEnvelopeError {
  return new CryptoEnvelopeError('MALFORMED_CHECKPOINT', `checkpoint: ${what}`);
}
