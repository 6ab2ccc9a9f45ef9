/**
 * Strict text encodings and constant-time comparison shared by the modules of this package.
 *
 * Deliberately strict: `Buffer.from(s, 'base64')` silently skips junk and accepts non-canonical
 * padding, which would let two different strings name the same key or signature. Everything here
 * rejects what it does not round-trip. Returned arrays are fresh and owned by the caller.
 */
import { timingSafeEqual } from 'node:crypto';

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Decodes canonical standard base64 (RFC 4648 §4, padded); returns `undefined` for anything else,
 * including non-zero padding bits.
 */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Re-encoding catches non-zero bits in the last character, which the regex cannot see.
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encodes bytes as standard padded base64 (RFC 4648 §4). */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes hex of either case; returns `undefined` on odd length or a non-hex character. */
export function decodeHexStrict(text: string): Uint8Array | undefined {
  if (!HEX_RE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'hex');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encodes bytes as lowercase hex. */
export function encodeHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Compares two byte arrays in time that depends only on their lengths (tags, hashes, key ids).
 * Unequal lengths return false at once: lengths are public in every format of this package.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** Views any Uint8Array as a Buffer without copying (node:crypto APIs return Buffers anyway). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string has no lone surrogates, i.e. encodes to UTF-8 and back unchanged. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE_RE.test(text);
}

/** Reads a big-endian uint32 at `offset` (caller guarantees 4 bytes are there). */
export function readUint32BE(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

/** Writes `value` (0 ≤ value < 2^32) big-endian at `offset`. */
export function writeUint32BE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** Code units below this are ASCII control characters (C0). */
const FIRST_PRINTABLE = 0x20;
const NEWLINE = 0x0a;

/** Whether `text` contains an ASCII control character (U+0000–U+001F), newline allowed or not. */
export function hasControlCharacter(text: string, allowNewline: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < FIRST_PRINTABLE && !(allowNewline && unit === NEWLINE)) return true;
  }
  return false;
}
