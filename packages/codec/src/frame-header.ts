/**
 * Frame header: the fixed 176-byte, big-endian header in front of every stored batch body
 * (docs/FORMAT.md, "Frame header"). It is the AES-GCM AAD, so every field — nonce and stored body
 * length included — is fixed before the body is encrypted.
 *
 * Not here: choosing nonces or keys, encrypting, computing the batch root (callers do). Buffers:
 * `encodeFrameHeader` writes into `out` when given (returns a view) or a fresh buffer;
 * `decodeFrameHeader` returns `logId`, `keyId`, `nonce`, `batchRoot` and `prevChainHash` as views into its input.
 */
import { MAX_BATCH_BODY_BYTES, MAX_BATCH_RECORDS } from './batch-body';
import { CodecError } from './errors';
import { FORMAT_VERSION, RECORD_ENCODING_POSITIONAL } from './format-version';

/** Size of a frame header in bytes (format version 1). */
export const FRAME_HEADER_BYTES: number = 176;
/** Magic at offset 0: ASCII "SELG". */
export const FRAME_MAGIC: number = 0x53454c47;
/** Bytes of the log id. */
export const LOG_ID_BYTES: number = 16;
/** Bytes of the key id (the segment key's id, opaque here). */
export const KEY_ID_BYTES: number = 16;
/** Bytes of the AES-GCM nonce. */
export const NONCE_BYTES: number = 12;
/** Bytes of the batch root (SHA-256). */
export const BATCH_ROOT_BYTES: number = 32;
/** Bytes of the previous frame's chain hash (SHA-256). */
export const CHAIN_HASH_BYTES: number = 32;
/** Bytes of the AES-GCM tag appended to an encrypted body (counted in `storedBodyLength`). */
export const GCM_TAG_BYTES: number = 16;
/** Largest stored body: the largest plain body, snappy's worst-case growth (32 + n/6), and the tag. */
export const MAX_STORED_BODY_BYTES: number =
  MAX_BATCH_BODY_BYTES + 32 + Math.ceil(MAX_BATCH_BODY_BYTES / 6) + GCM_TAG_BYTES;

/** Flag bits (byte 5). */
export const FRAME_FLAGS: {
  readonly recordEncodingMask: 0x03;
  readonly compressed: 0x04;
  readonly encrypted: 0x08;
  readonly reservedMask: 0xf0;
} = { recordEncodingMask: 0x03, compressed: 0x04, encrypted: 0x08, reservedMask: 0xf0 };

const OFF = {
  magic: 0,
  version: 4,
  flags: 5,
  reserved0: 6,
  logId: 8,
  batchIndex: 24,
  firstLeafIndex: 32,
  recordCount: 40,
  plainBodyLength: 44,
  storedBodyLength: 48,
  keyId: 52,
  nonce: 68,
  minOccurredAt: 80,
  maxOccurredAt: 88,
  batchRoot: 96,
  prevChainHash: 128,
  reserved1: 160,
} as const;
const RESERVED1_BYTES = 16;
const TWO_POW_32 = 0x1_0000_0000;
/** Smallest plain body: count + one table entry + one 1-byte record. */
const MIN_PLAIN_BODY_BYTES = 4 + 4 + 1;

/** Fields of a frame header as the writer supplies them. */
export interface FrameHeaderFields {
  /** Record encoding mode (flags bits 0–1); {@link RECORD_ENCODING_POSITIONAL} in version 1. */
  recordEncoding: number;
  /** The stored body is snappy-compressed. */
  compressed: boolean;
  /** The stored body is AES-256-GCM ciphertext ‖ 16-byte tag. */
  encrypted: boolean;
  /** Log id, {@link LOG_ID_BYTES} bytes. */
  logId: Uint8Array;
  /** Batch number within the log, 0 ≤ n ≤ 2^53 − 1. */
  batchIndex: number;
  /** Leaf index of the batch's first record, 0 ≤ n ≤ 2^53 − 1. */
  firstLeafIndex: number;
  /** Records in the batch, 1 ≤ n ≤ {@link MAX_BATCH_RECORDS}. */
  recordCount: number;
  /** Bytes of the batch body before compression, ≤ {@link MAX_BATCH_BODY_BYTES}. */
  plainBodyLength: number;
  /** Bytes following the header (after compression and encryption, tag included). */
  storedBodyLength: number;
  /** Segment key id, {@link KEY_ID_BYTES} bytes; all zero when not encrypted. */
  keyId: Uint8Array;
  /** AES-GCM nonce, {@link NONCE_BYTES} bytes; all zero when not encrypted. */
  nonce: Uint8Array;
  /** Smallest `occurred_at` in the batch, epoch ms. */
  minOccurredAt: number;
  /** Largest `occurred_at` in the batch, epoch ms, ≥ `minOccurredAt`. */
  maxOccurredAt: number;
  /** RFC 9162 root of the batch's leaf hashes, {@link BATCH_ROOT_BYTES} bytes. */
  batchRoot: Uint8Array;
  /**
   * Chain hash of the previous frame of the log, {@link CHAIN_HASH_BYTES} bytes (all zero for the
   * first frame): `chain_n = SHA-256(chain_{n-1} ‖ batch_root_n ‖ SHA-256(frame_n bytes))`. Lets a
   * verifier without keys check frame order and ciphertext in one streaming pass.
   */
  prevChainHash: Uint8Array;
}

/** A decoded frame header. */
export interface FrameHeader extends FrameHeaderFields {
  /** Format version (byte 4). */
  version: number;
}

function bad(message: string, offset: number): CodecError {
  return new CodecError('BAD_FRAME_HEADER', `frame header: ${message}`, { offset });
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function checkBytes(v: Uint8Array, width: number, name: string, offset: number, make: typeof bad): void {
  if (!(v instanceof Uint8Array) || v.length !== width) {
    throw make(
      `expected ${name} of ${width} bytes, got ${v instanceof Uint8Array ? v.length : typeof v}`,
      offset,
    );
  }
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Rules shared by encoder and decoder: the encoder never writes what the decoder would refuse. */
function checkFields(f: FrameHeaderFields, make: typeof bad): void {
  if (f.recordEncoding !== RECORD_ENCODING_POSITIONAL) {
    throw make(`expected record encoding ${RECORD_ENCODING_POSITIONAL}, got ${f.recordEncoding}`, OFF.flags);
  }
  checkBytes(f.logId, LOG_ID_BYTES, 'logId', OFF.logId, make);
  checkBytes(f.keyId, KEY_ID_BYTES, 'keyId', OFF.keyId, make);
  checkBytes(f.nonce, NONCE_BYTES, 'nonce', OFF.nonce, make);
  checkBytes(f.batchRoot, BATCH_ROOT_BYTES, 'batchRoot', OFF.batchRoot, make);
  checkBytes(f.prevChainHash, CHAIN_HASH_BYTES, 'prevChainHash', OFF.prevChainHash, make);
  const u64s: [number, string, number][] = [
    [f.batchIndex, 'batchIndex', OFF.batchIndex],
    [f.firstLeafIndex, 'firstLeafIndex', OFF.firstLeafIndex],
    [f.minOccurredAt, 'minOccurredAt', OFF.minOccurredAt],
    [f.maxOccurredAt, 'maxOccurredAt', OFF.maxOccurredAt],
  ];
  for (const [v, name, at] of u64s) {
    if (!Number.isSafeInteger(v) || v < 0) throw make(`expected ${name} 0 ≤ n ≤ 2^53 − 1, got ${v}`, at);
  }
  if (!Number.isInteger(f.recordCount) || f.recordCount < 1 || f.recordCount > MAX_BATCH_RECORDS) {
    throw make(`expected recordCount 1…${MAX_BATCH_RECORDS}, got ${f.recordCount}`, OFF.recordCount);
  }
  if (!Number.isSafeInteger(f.firstLeafIndex + f.recordCount)) {
    throw make(
      `expected firstLeafIndex + recordCount ≤ 2^53 − 1, got ${f.firstLeafIndex} + ${f.recordCount}`,
      OFF.firstLeafIndex,
    );
  }
  const minPlain = MIN_PLAIN_BODY_BYTES + 5 * (f.recordCount - 1);
  if (
    !Number.isInteger(f.plainBodyLength) ||
    f.plainBodyLength < minPlain ||
    f.plainBodyLength > MAX_BATCH_BODY_BYTES
  ) {
    throw make(
      `expected plainBodyLength ${minPlain}…${MAX_BATCH_BODY_BYTES} for ${f.recordCount} record(s), got ${f.plainBodyLength}`,
      OFF.plainBodyLength,
    );
  }
  const stored = f.storedBodyLength;
  if (!Number.isInteger(stored) || stored < 1 || stored > MAX_STORED_BODY_BYTES) {
    throw make(`expected storedBodyLength 1…${MAX_STORED_BODY_BYTES}, got ${stored}`, OFF.storedBodyLength);
  }
  if (!f.compressed) {
    const expected = f.plainBodyLength + (f.encrypted ? GCM_TAG_BYTES : 0);
    if (stored !== expected) {
      throw make(
        `expected storedBodyLength ${expected} (uncompressed${f.encrypted ? ' + tag' : ''}), got ${stored}`,
        OFF.storedBodyLength,
      );
    }
  } else if (f.encrypted && stored <= GCM_TAG_BYTES) {
    throw make(
      `expected storedBodyLength > ${GCM_TAG_BYTES} (tag) when encrypted, got ${stored}`,
      OFF.storedBodyLength,
    );
  }
  if (!f.encrypted) {
    if (!isZero(f.keyId)) throw make('expected keyId all zero when not encrypted', OFF.keyId);
    if (!isZero(f.nonce)) throw make('expected nonce all zero when not encrypted', OFF.nonce);
  }
  if (f.minOccurredAt > f.maxOccurredAt) {
    throw make(
      `expected minOccurredAt ≤ maxOccurredAt, got ${f.minOccurredAt} > ${f.maxOccurredAt}`,
      OFF.minOccurredAt,
    );
  }
}

function invalidField(message: string, offset: number): CodecError {
  return new CodecError('INVALID_ARGUMENT', `encodeFrameHeader: ${message}`, { offset });
}

function setU64(view: DataView, at: number, v: number): void {
  view.setUint32(at, Math.floor(v / TWO_POW_32));
  view.setUint32(at + 4, v >>> 0);
}

function getU64(view: DataView, at: number, name: string): number {
  const hi = view.getUint32(at);
  const lo = view.getUint32(at + 4);
  const v = hi * TWO_POW_32 + lo;
  if (!Number.isSafeInteger(v))
    throw bad(`expected ${name} ≤ 2^53 − 1, got ${hex32(hi)}${hex32(lo).slice(2)}`, at);
  return v;
}

/**
 * Encodes a frame header (the AES-GCM AAD of the frame's body).
 *
 * @param fields - every field; see {@link FrameHeaderFields} for widths and ranges.
 * @param out - optional destination; the header is written at `offset`.
 * @param offset - byte offset into `out`, default 0.
 * @returns the {@link FRAME_HEADER_BYTES}-byte header: a view of `out`, or a fresh buffer.
 * @throws {CodecError} `INVALID_ARGUMENT` (with the field's header `offset`) for a field out of
 *   range or inconsistent with another; `BUFFER_TOO_SMALL` when `out` is too short.
 * @example
 * ```ts
 * const nonce = nextNonce();  // chosen first: the header is the AAD
 * const header = encodeFrameHeader({ recordEncoding: 0, compressed: true, encrypted: true, logId,
 *   batchIndex, firstLeafIndex, recordCount, plainBodyLength: plain.length,
 *   storedBodyLength: compressed.length + GCM_TAG_BYTES, keyId, nonce, minOccurredAt, maxOccurredAt, batchRoot, prevChainHash });
 * ```
 */
export function encodeFrameHeader(fields: FrameHeaderFields, out?: Uint8Array, offset = 0): Uint8Array {
  checkFields(fields, invalidField);
  let dst: Uint8Array;
  if (out === undefined) {
    dst = new Uint8Array(FRAME_HEADER_BYTES);
    offset = 0;
  } else {
    if (!Number.isInteger(offset) || offset < 0 || out.length - offset < FRAME_HEADER_BYTES) {
      throw new CodecError(
        'BUFFER_TOO_SMALL',
        `encodeFrameHeader: expected ${FRAME_HEADER_BYTES} bytes free at offset ${offset}, got ${out.length - offset}`,
      );
    }
    dst = out;
    // Reserved bytes must read zero whatever the buffer held before.
    dst.fill(0, offset, offset + FRAME_HEADER_BYTES);
  }
  const view = new DataView(dst.buffer, dst.byteOffset + offset, FRAME_HEADER_BYTES);
  view.setUint32(OFF.magic, FRAME_MAGIC);
  view.setUint8(OFF.version, FORMAT_VERSION);
  view.setUint8(
    OFF.flags,
    fields.recordEncoding |
      (fields.compressed ? FRAME_FLAGS.compressed : 0) |
      (fields.encrypted ? FRAME_FLAGS.encrypted : 0),
  );
  dst.set(fields.logId, offset + OFF.logId);
  setU64(view, OFF.batchIndex, fields.batchIndex);
  setU64(view, OFF.firstLeafIndex, fields.firstLeafIndex);
  view.setUint32(OFF.recordCount, fields.recordCount);
  view.setUint32(OFF.plainBodyLength, fields.plainBodyLength);
  view.setUint32(OFF.storedBodyLength, fields.storedBodyLength);
  dst.set(fields.keyId, offset + OFF.keyId);
  dst.set(fields.nonce, offset + OFF.nonce);
  setU64(view, OFF.minOccurredAt, fields.minOccurredAt);
  setU64(view, OFF.maxOccurredAt, fields.maxOccurredAt);
  dst.set(fields.batchRoot, offset + OFF.batchRoot);
  dst.set(fields.prevChainHash, offset + OFF.prevChainHash);
  return dst.subarray(offset, offset + FRAME_HEADER_BYTES);
}

/**
 * Decodes and checks a frame header.
 *
 * @param bytes - at least {@link FRAME_HEADER_BYTES} bytes starting with the header (e.g. a whole frame).
 * @returns the fields; byte fields are views into `bytes`.
 * @throws {CodecError} `UNSUPPORTED_VERSION` for another version; `BAD_FRAME_HEADER` with the
 *   offending field's `offset`, e.g. `frame header: expected magic 0x53454c47, got 0x00000000`.
 * @example
 * ```ts
 * const h = decodeFrameHeader(frame);
 * const stored = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + h.storedBodyLength);
 * ```
 */
export function decodeFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < FRAME_HEADER_BYTES) {
    throw bad(`expected at least ${FRAME_HEADER_BYTES} bytes, got ${bytes.length}`, bytes.length);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  const magic = view.getUint32(OFF.magic);
  if (magic !== FRAME_MAGIC)
    throw bad(`expected magic ${hex32(FRAME_MAGIC)}, got ${hex32(magic)}`, OFF.magic);
  const version = view.getUint8(OFF.version);
  if (version !== FORMAT_VERSION) {
    throw new CodecError(
      'UNSUPPORTED_VERSION',
      `frame header: expected version ${FORMAT_VERSION}, got ${version}`,
      {
        offset: OFF.version,
      },
    );
  }
  const flags = view.getUint8(OFF.flags);
  if ((flags & FRAME_FLAGS.reservedMask) !== 0) {
    throw bad(
      `expected reserved flag bits 4–7 zero, got flags 0x${flags.toString(16).padStart(2, '0')}`,
      OFF.flags,
    );
  }
  if (view.getUint16(OFF.reserved0) !== 0) throw bad('expected reserved bytes 6–7 zero', OFF.reserved0);
  for (let i = 0; i < RESERVED1_BYTES; i++) {
    if (bytes[OFF.reserved1 + i] !== 0)
      throw bad(`expected reserved bytes 160–175 zero, byte ${OFF.reserved1 + i} is not`, OFF.reserved1 + i);
  }
  const header: FrameHeader = {
    version,
    recordEncoding: flags & FRAME_FLAGS.recordEncodingMask,
    compressed: (flags & FRAME_FLAGS.compressed) !== 0,
    encrypted: (flags & FRAME_FLAGS.encrypted) !== 0,
    logId: bytes.subarray(OFF.logId, OFF.logId + LOG_ID_BYTES),
    batchIndex: getU64(view, OFF.batchIndex, 'batchIndex'),
    firstLeafIndex: getU64(view, OFF.firstLeafIndex, 'firstLeafIndex'),
    recordCount: view.getUint32(OFF.recordCount),
    plainBodyLength: view.getUint32(OFF.plainBodyLength),
    storedBodyLength: view.getUint32(OFF.storedBodyLength),
    keyId: bytes.subarray(OFF.keyId, OFF.keyId + KEY_ID_BYTES),
    nonce: bytes.subarray(OFF.nonce, OFF.nonce + NONCE_BYTES),
    minOccurredAt: getU64(view, OFF.minOccurredAt, 'minOccurredAt'),
    maxOccurredAt: getU64(view, OFF.maxOccurredAt, 'maxOccurredAt'),
    batchRoot: bytes.subarray(OFF.batchRoot, OFF.batchRoot + BATCH_ROOT_BYTES),
    prevChainHash: bytes.subarray(OFF.prevChainHash, OFF.prevChainHash + CHAIN_HASH_BYTES),
  };
  checkFields(header, bad);
  return header;
}

/** Offsets of every header field (docs/FORMAT.md table), for tools that point at bytes. */
export const FRAME_HEADER_OFFSETS: Readonly<Record<keyof typeof OFF, number>> = OFF;
