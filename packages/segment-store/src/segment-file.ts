/**
 * Reading one segment file: its header, its frames one at a time, its footer, and a full scan that
 * classifies how the file ends (clean, sealed, torn tail, or corrupt). Used by recovery, by the
 * store's read path and by offline verifiers through {@link SegmentSource}.
 *
 * This module never writes. Payloads it returns are fresh Buffers owned by the caller.
 */

import { type FileHandle, open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { formatOffset, SegmentStoreError } from './errors';
import {
  decodeFooter,
  decodeSegmentHeader,
  ENVELOPE_BYTES,
  ENVELOPE_HEAD_BYTES,
  FOOTER_HEAD_BYTES,
  FOOTER_MAGIC,
  HEADER_FIXED_BYTES,
  hex32,
  MAX_FRAME_BYTES,
  MAX_META_BYTES,
  readU64,
  type SegmentFooter,
  type SegmentHeader,
  TRAILER_BYTES,
  TRAILER_MAGIC,
  UNBOUNDED_UNSYNCED,
} from './format';

/** One frame read from a segment. */
export interface FrameRead {
  /** Byte offset of the frame's envelope in the segment file. */
  readonly offset: number;
  /** The caller's ordering key stored with the frame (e.g. its first leaf index). */
  readonly key: number;
  /** The opaque frame bytes (caller-owned copy). */
  readonly payload: Buffer;
  /** Offset just past this frame: where the next frame or the footer starts. */
  readonly next: number;
}

/** How a scanned segment file ends. */
export type SegmentEnd =
  /** Frames run exactly to end of file; no footer (an open tail segment). */
  | { readonly kind: 'open'; readonly offset: number }
  /** A valid footer closes the file and matches the frames found. */
  | { readonly kind: 'sealed'; readonly offset: number; readonly footer: SegmentFooter }
  /** Bytes after the last good frame that a crash can explain (inside the unsynced window). */
  | { readonly kind: 'torn'; readonly offset: number; readonly reason: string }
  /** Damage that no crash explains: a bad frame followed by more than the unsynced window. */
  | { readonly kind: 'corrupt'; readonly offset: number; readonly reason: string };

/** Result of {@link scanSegmentFile}. */
export interface SegmentScan {
  readonly file: string;
  readonly size: number;
  readonly header: SegmentHeader;
  /** Envelope offsets of the good frames, in file order. */
  readonly offsets: number[];
  /** Keys of the good frames, in file order. */
  readonly keys: number[];
  readonly end: SegmentEnd;
}

/** Reads exactly `length` bytes at `position`, or fewer at end of file. */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Reads and checks the header of an open segment file.
 * @throws {SegmentStoreError} `CORRUPT_SEGMENT` when the header is missing or damaged.
 */
export async function readSegmentHeader(fh: FileHandle, file: string): Promise<SegmentHeader> {
  const buf = await readAt(fh, 0, HEADER_FIXED_BYTES + MAX_META_BYTES + 4);
  return decodeSegmentHeader(buf, file);
}

/**
 * Reads the frame whose envelope starts at `offset` and checks its CRC.
 * @throws {SegmentStoreError} `CORRUPT_SEGMENT` on a bad length, short read or CRC mismatch.
 */
export async function readFrameAt(
  fh: FileHandle,
  file: string,
  offset: number,
  fileSize: number,
  bytesHint?: number,
): Promise<FrameRead> {
  const frame = await checkFrameAt(fh, offset, fileSize, bytesHint);
  if ('reason' in frame) {
    throw new SegmentStoreError(
      'CORRUPT_SEGMENT',
      `${file}: frame @ ${formatOffset(offset)}: ${frame.reason}`,
      {
        file,
        offset,
      },
    );
  }
  return frame;
}

/** Why a frame could not be read; `pastEof` when it claims bytes the file does not have. */
interface FrameProblem {
  readonly reason: string;
  readonly pastEof: boolean;
}

/**
 * Reads one frame, returning a {@link FrameProblem} instead of throwing when it is bad. With
 * `bytesHint` (the envelope's size, when an index knows it) the frame is read in one call instead of
 * two; a wrong hint costs a second read, never a wrong answer.
 */
async function checkFrameAt(
  fh: FileHandle,
  offset: number,
  fileSize: number,
  bytesHint?: number,
): Promise<FrameRead | FrameProblem> {
  const remaining = fileSize - offset;
  if (remaining < ENVELOPE_HEAD_BYTES) {
    return { reason: `envelope head needs ${ENVELOPE_HEAD_BYTES} bytes, ${remaining} left`, pastEof: true };
  }
  const first =
    bytesHint !== undefined && bytesHint > ENVELOPE_BYTES && bytesHint <= remaining
      ? await readAt(fh, offset, bytesHint)
      : await readAt(fh, offset, ENVELOPE_HEAD_BYTES);
  const head = first.subarray(0, ENVELOPE_HEAD_BYTES);
  if (head.length < ENVELOPE_HEAD_BYTES) return { reason: 'short read of envelope head', pastEof: true };
  const length = head.readUInt32BE(0);
  if (length === 0 || length > MAX_FRAME_BYTES) {
    return { reason: `frame length ${length} outside 1..${MAX_FRAME_BYTES}`, pastEof: false };
  }
  if (length + ENVELOPE_BYTES > remaining) {
    return {
      reason: `frame of ${length} bytes runs past end of file (${remaining - ENVELOPE_BYTES} bytes present)`,
      pastEof: true,
    };
  }
  const rest =
    first.length >= ENVELOPE_BYTES + length
      ? first.subarray(ENVELOPE_HEAD_BYTES, ENVELOPE_BYTES + length)
      : await readAt(fh, offset + ENVELOPE_HEAD_BYTES, length + 4);
  if (rest.length < length + 4) return { reason: 'short read of frame payload', pastEof: true };
  const payload = rest.subarray(0, length);
  const want = rest.readUInt32BE(length);
  const got = crc32(payload, crc32(head));
  if (want !== got) {
    return {
      reason: `envelope CRC-32 mismatch: stored 0x${hex32(want)}, computed 0x${hex32(got)}`,
      pastEof: false,
    };
  }
  return { offset, key: readU64(head, 4), payload, next: offset + ENVELOPE_BYTES + length };
}

/**
 * Scans a whole segment file frame by frame (constant memory: one frame at a time) and classifies
 * its end. A bad frame is a torn tail when a crash can explain it — it is the last thing in the
 * file, or it starts within the segment's recorded unsynced window of the end of file (nothing
 * that far back was ever acknowledged). Anything else is corruption.
 *
 * @throws {SegmentStoreError} `CORRUPT_SEGMENT` when the header itself is unreadable.
 */
export async function scanSegmentFile(
  file: string,
  onFrame?: (frame: FrameRead) => void,
): Promise<SegmentScan> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const header = await readSegmentHeader(fh, file);
    const offsets: number[] = [];
    const keys: number[] = [];
    const window =
      header.maxUnsyncedBytes === UNBOUNDED_UNSYNCED ? Number.POSITIVE_INFINITY : header.maxUnsyncedBytes;
    const classify = (offset: number, reason: string, pastEof: boolean): SegmentEnd =>
      pastEof || size - offset <= window
        ? { kind: 'torn', offset, reason }
        : { kind: 'corrupt', offset, reason };
    let offset = header.headerBytes;
    let lastKey = -1;
    let end: SegmentEnd | undefined;
    while (end === undefined) {
      if (offset === size) {
        end = { kind: 'open', offset };
        break;
      }
      if (size - offset >= 4) {
        const magic = (await readAt(fh, offset, 4)).readUInt32BE(0);
        if (magic === FOOTER_MAGIC) {
          end = await classifyFooter(fh, file, offset, size, offsets, keys, classify);
          break;
        }
      }
      const frame = await checkFrameAt(fh, offset, size);
      if ('reason' in frame) {
        end = classify(offset, frame.reason, frame.pastEof);
        break;
      }
      if (frame.key <= lastKey) {
        end = {
          kind: 'corrupt',
          offset,
          reason: `frame key ${frame.key} does not follow previous key ${lastKey}`,
        };
        break;
      }
      if (offsets.length === 0 && frame.key !== header.firstKey) {
        end = {
          kind: 'corrupt',
          offset,
          reason: `first frame key ${frame.key} ≠ segment header first key ${header.firstKey}`,
        };
        break;
      }
      offsets.push(offset);
      keys.push(frame.key);
      lastKey = frame.key;
      onFrame?.(frame);
      offset = frame.next;
    }
    return { file, size, header, offsets, keys, end };
  } finally {
    await fh.close();
  }
}

async function classifyFooter(
  fh: FileHandle,
  file: string,
  offset: number,
  size: number,
  offsets: readonly number[],
  keys: readonly number[],
  classify: (offset: number, reason: string, pastEof: boolean) => SegmentEnd,
): Promise<SegmentEnd> {
  const length = size - offset;
  if (length < FOOTER_HEAD_BYTES + TRAILER_BYTES) return classify(offset, 'footer truncated', true);
  const buf = await readAt(fh, offset, length);
  let footer: SegmentFooter;
  try {
    footer = decodeFooter(buf, offset, file);
  } catch (error) {
    // The footer is the last write a segment ever gets: a damaged one at the end of file is torn
    // when it sits inside the unsynced window.
    return classify(offset, (error as Error).message, false);
  }
  if (footer.frameCount !== offsets.length) {
    return {
      kind: 'corrupt',
      offset,
      reason: `footer lists ${footer.frameCount} frames, file holds ${offsets.length}`,
    };
  }
  for (let i = 0; i < offsets.length; i++) {
    if (footer.offsets[i] !== offsets[i] || footer.keys[i] !== keys[i]) {
      return {
        kind: 'corrupt',
        offset,
        reason: `footer entry ${i} (offset ${footer.offsets[i]}, key ${footer.keys[i]}) ≠ frame (offset ${offsets[i]}, key ${keys[i]})`,
      };
    }
  }
  return { kind: 'sealed', offset, footer };
}

/**
 * Reads the footer of a sealed segment from its trailer, without scanning the frames.
 * Returns `undefined` when the file does not end in a valid trailer (not sealed).
 */
export async function readFooter(
  fh: FileHandle,
  file: string,
  size: number,
): Promise<SegmentFooter | undefined> {
  if (size < TRAILER_BYTES + FOOTER_HEAD_BYTES) return undefined;
  const trailer = await readAt(fh, size - TRAILER_BYTES, TRAILER_BYTES);
  if (trailer.readUInt32BE(8) !== TRAILER_MAGIC) return undefined;
  const length = trailer.readUInt32BE(0);
  if (length > size || length < FOOTER_HEAD_BYTES + TRAILER_BYTES) return undefined;
  const buf = await readAt(fh, size - length, length);
  try {
    return decodeFooter(buf, size - length, file);
  } catch {
    return undefined;
  }
}
