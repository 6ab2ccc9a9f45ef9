/**
 * Byte layout of segment files (docs/FORMAT.md, "Segment files"): the segment header, the frame
 * envelope that wraps each opaque frame, and the footer that seals a segment. Pure functions over
 * Buffers; no I/O. Every byte a segment file holds is covered by a CRC-32 here (frame payloads are
 * additionally covered by whatever the caller puts inside them: tags, hashes).
 *
 * Decoders return views (`subarray`) into the buffer they were given; they never copy payloads.
 */
import { crc32 } from 'node:zlib';
import { formatOffset, SegmentStoreError } from './errors';

/** "SLSG": first four bytes of every segment file. */
export const SEGMENT_MAGIC = 0x534c5347;
/** "SLFT": first four bytes of a footer (chosen > MAX_FRAME_BYTES so it never reads as a frame length). */
export const FOOTER_MAGIC = 0x534c4654;
/** "SLSE": last four bytes of a sealed segment. */
export const TRAILER_MAGIC = 0x534c5345;
/** Segment format version written by this code. */
export const SEGMENT_FORMAT_VERSION = 1;
/** Fixed part of the segment header, before the caller's metadata. */
export const HEADER_FIXED_BYTES = 104;
/** Largest caller metadata stored in a segment header, in bytes. */
export const MAX_META_BYTES = 4096;
/** Largest log id, in UTF-8 bytes. */
export const MAX_LOG_ID_BYTES = 64;
/** Envelope bytes before a frame's payload: u32 length, u64 key. */
export const ENVELOPE_HEAD_BYTES = 12;
/** Envelope bytes after a frame's payload: u32 CRC-32. */
export const ENVELOPE_TAIL_BYTES = 4;
/** Total envelope overhead per frame, in bytes. */
export const ENVELOPE_BYTES: number = ENVELOPE_HEAD_BYTES + ENVELOPE_TAIL_BYTES;
/** Largest frame payload, in bytes (64 MiB). */
export const MAX_FRAME_BYTES: number = 64 * 1024 * 1024;
/** Footer bytes before the index entries: magic, u32 frame count. */
export const FOOTER_HEAD_BYTES = 8;
/** Bytes per footer index entry: u64 offset, u64 key. */
export const FOOTER_ENTRY_BYTES = 16;
/** Trailer at the very end of a sealed segment: u32 footer length, u32 CRC-32, magic. */
export const TRAILER_BYTES = 12;
/** `maxUnsyncedBytes` value meaning "no bound" (durability `none`). */
export const UNBOUNDED_UNSYNCED = 0xffffffff;

const TWO_32 = 0x1_0000_0000;

/** Writes a non-negative safe integer as big-endian u64. */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** Reads a big-endian u64 that must be a safe integer. */
export function readU64(buf: Buffer, offset: number): number {
  const hi = buf.readUInt32BE(offset);
  const lo = buf.readUInt32BE(offset + 4);
  return hi * TWO_32 + lo;
}

/** The decoded segment header. */
export interface SegmentHeader {
  /** Segment format version (1). */
  readonly version: number;
  /** Header length in bytes, metadata and CRC included; frames start here. */
  readonly headerBytes: number;
  /** Segment number, contiguous from 1 within a log. */
  readonly segmentNumber: number;
  /** Key of the first frame this segment holds (the caller's ordering key, e.g. first leaf index). */
  readonly firstKey: number;
  /** Creation time, epoch milliseconds. */
  readonly createdAtMs: number;
  /** Largest span of bytes that may have been written but not yet fsync'd (the recovery window). */
  readonly maxUnsyncedBytes: number;
  /** Log id this segment belongs to. */
  readonly logId: string;
  /** Caller metadata (e.g. the id of the data key in effect); opaque here. */
  readonly meta: Uint8Array;
}

/** Input for {@link encodeSegmentHeader}. */
export interface SegmentHeaderInput {
  readonly segmentNumber: number;
  readonly firstKey: number;
  readonly createdAtMs: number;
  readonly maxUnsyncedBytes: number;
  readonly logId: string;
  readonly meta: Uint8Array;
}

/**
 * Encodes a segment header (fixed part, metadata, CRC-32 over both).
 * @throws {SegmentStoreError} `BAD_ARGUMENT` when the log id or metadata is too long.
 */
export function encodeSegmentHeader(input: SegmentHeaderInput): Buffer {
  const logId = Buffer.from(input.logId, 'utf8');
  if (logId.length === 0 || logId.length > MAX_LOG_ID_BYTES) {
    throw new SegmentStoreError(
      'BAD_ARGUMENT',
      `segment header: log id must be 1..${MAX_LOG_ID_BYTES} UTF-8 bytes, got ${logId.length}`,
    );
  }
  if (input.meta.length > MAX_META_BYTES) {
    throw new SegmentStoreError(
      'BAD_ARGUMENT',
      `segment header: metadata must be ≤ ${MAX_META_BYTES} bytes, got ${input.meta.length}`,
    );
  }
  const total = HEADER_FIXED_BYTES + input.meta.length + 4;
  const buf = Buffer.alloc(total);
  buf.writeUInt32BE(SEGMENT_MAGIC, 0);
  buf.writeUInt16BE(SEGMENT_FORMAT_VERSION, 4);
  buf.writeUInt16BE(total, 6);
  writeU64(buf, input.segmentNumber, 8);
  writeU64(buf, input.firstKey, 16);
  writeU64(buf, input.createdAtMs, 24);
  buf.writeUInt32BE(input.maxUnsyncedBytes >>> 0, 32);
  buf.writeUInt16BE(input.meta.length, 36);
  buf.writeUInt8(logId.length, 38);
  // byte 39 reserved (zero)
  logId.copy(buf, 40);
  buf.set(input.meta, HEADER_FIXED_BYTES);
  buf.writeUInt32BE(crc32(buf.subarray(0, total - 4)), total - 4);
  return buf;
}

/**
 * Decodes and checks a segment header at the start of `buf`.
 * @throws {SegmentStoreError} `CORRUPT_SEGMENT` naming the field and got-vs-expected.
 */
export function decodeSegmentHeader(buf: Buffer, file = ''): SegmentHeader {
  const bad = (message: string, offset: number): SegmentStoreError =>
    new SegmentStoreError('CORRUPT_SEGMENT', `${file}: segment header: ${message}`, { file, offset });
  if (buf.length < HEADER_FIXED_BYTES + 4) {
    throw bad(`need ≥ ${HEADER_FIXED_BYTES + 4} bytes, file has ${buf.length}`, 0);
  }
  const magic = buf.readUInt32BE(0);
  if (magic !== SEGMENT_MAGIC) {
    throw bad(`expected magic 0x${hex32(SEGMENT_MAGIC)}, got 0x${hex32(magic)}`, 0);
  }
  const version = buf.readUInt16BE(4);
  if (version !== SEGMENT_FORMAT_VERSION) {
    throw bad(`expected format version ${SEGMENT_FORMAT_VERSION}, got ${version}`, 4);
  }
  const headerBytes = buf.readUInt16BE(6);
  const metaLength = buf.readUInt16BE(36);
  if (headerBytes !== HEADER_FIXED_BYTES + metaLength + 4 || metaLength > MAX_META_BYTES) {
    throw bad(`header length ${headerBytes} does not match metadata length ${metaLength}`, 6);
  }
  if (buf.length < headerBytes) throw bad(`need ${headerBytes} bytes, file has ${buf.length}`, 0);
  const want = buf.readUInt32BE(headerBytes - 4);
  const got = crc32(buf.subarray(0, headerBytes - 4));
  if (want !== got) {
    throw bad(`CRC-32 mismatch: stored 0x${hex32(want)}, computed 0x${hex32(got)}`, headerBytes - 4);
  }
  const logIdLength = buf.readUInt8(38);
  if (logIdLength === 0 || logIdLength > MAX_LOG_ID_BYTES) throw bad(`log id length ${logIdLength}`, 38);
  return {
    version,
    headerBytes,
    segmentNumber: readU64(buf, 8),
    firstKey: readU64(buf, 16),
    createdAtMs: readU64(buf, 24),
    maxUnsyncedBytes: buf.readUInt32BE(32),
    logId: buf.toString('utf8', 40, 40 + logIdLength),
    meta: buf.subarray(HEADER_FIXED_BYTES, HEADER_FIXED_BYTES + metaLength),
  };
}

/**
 * Builds the 12-byte envelope head of a frame and returns the CRC-32 that will close it.
 * The CRC covers length ‖ key ‖ payload, so a torn or flipped byte anywhere in the envelope shows.
 */
export function encodeEnvelope(payload: Uint8Array, key: number): { head: Buffer; tail: Buffer } {
  const head = Buffer.allocUnsafe(ENVELOPE_HEAD_BYTES);
  head.writeUInt32BE(payload.length, 0);
  writeU64(head, key, 4);
  const tail = Buffer.allocUnsafe(ENVELOPE_TAIL_BYTES);
  tail.writeUInt32BE(crc32(payload, crc32(head)), 0);
  return { head, tail };
}

/** The footer of a sealed segment: frame offsets and keys, in file order. */
export interface SegmentFooter {
  /** Byte offset of the footer's first byte (= end of the last frame). */
  readonly offset: number;
  /** Number of frames in the segment. */
  readonly frameCount: number;
  /** Envelope offset of frame i. */
  readonly offsets: readonly number[];
  /** Key of frame i. */
  readonly keys: readonly number[];
}

/** Encodes a footer (index + trailer) for frames at `offsets` with `keys`, starting at `footerOffset`. */
export function encodeFooter(offsets: readonly number[], keys: readonly number[]): Buffer {
  const count = offsets.length;
  const total = FOOTER_HEAD_BYTES + count * FOOTER_ENTRY_BYTES + TRAILER_BYTES;
  const buf = Buffer.alloc(total);
  buf.writeUInt32BE(FOOTER_MAGIC, 0);
  buf.writeUInt32BE(count, 4);
  let p = FOOTER_HEAD_BYTES;
  for (let i = 0; i < count; i++) {
    writeU64(buf, offsets[i]!, p);
    writeU64(buf, keys[i]!, p + 8);
    p += FOOTER_ENTRY_BYTES;
  }
  buf.writeUInt32BE(total, p);
  buf.writeUInt32BE(crc32(buf.subarray(0, p + 4)), p + 4);
  buf.writeUInt32BE(TRAILER_MAGIC, p + 8);
  return buf;
}

/**
 * Decodes a footer that starts at `buf[0]` and was found at file offset `offset`.
 * @throws {SegmentStoreError} `CORRUPT_SEGMENT` with the failing field.
 */
export function decodeFooter(buf: Buffer, offset: number, file = ''): SegmentFooter {
  const bad = (message: string, at: number): SegmentStoreError =>
    new SegmentStoreError('CORRUPT_SEGMENT', `${file}: footer @ ${formatOffset(offset)}: ${message}`, {
      file,
      offset: at,
    });
  if (buf.length < FOOTER_HEAD_BYTES + TRAILER_BYTES) throw bad('truncated', offset);
  const magic = buf.readUInt32BE(0);
  if (magic !== FOOTER_MAGIC)
    throw bad(`expected magic 0x${hex32(FOOTER_MAGIC)}, got 0x${hex32(magic)}`, offset);
  const count = buf.readUInt32BE(4);
  const total = FOOTER_HEAD_BYTES + count * FOOTER_ENTRY_BYTES + TRAILER_BYTES;
  if (buf.length !== total)
    throw bad(`footer of ${count} frames must be ${total} bytes, found ${buf.length}`, offset);
  const t = total - TRAILER_BYTES;
  if (buf.readUInt32BE(t) !== total)
    throw bad(`trailer length ${buf.readUInt32BE(t)} ≠ ${total}`, offset + t);
  const want = buf.readUInt32BE(t + 4);
  const got = crc32(buf.subarray(0, t + 4));
  if (want !== got) {
    throw bad(`CRC-32 mismatch: stored 0x${hex32(want)}, computed 0x${hex32(got)}`, offset + t + 4);
  }
  if (buf.readUInt32BE(t + 8) !== TRAILER_MAGIC) throw bad('bad trailer magic', offset + t + 8);
  const offsets = new Array<number>(count);
  const keys = new Array<number>(count);
  let p = FOOTER_HEAD_BYTES;
  for (let i = 0; i < count; i++) {
    offsets[i] = readU64(buf, p);
    keys[i] = readU64(buf, p + 8);
    p += FOOTER_ENTRY_BYTES;
  }
  return { offset, frameCount: count, offsets, keys };
}

/** Eight lowercase hex digits of a u32. */
export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
