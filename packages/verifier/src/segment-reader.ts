/**
 * An independent reader of segment files (docs/FORMAT.md, "Segment files"), written from the
 * format page rather than reusing the segment store's own reader: the header, the footer found
 * from the trailer, and the frame envelopes, each checked (lengths, CRC-32, key order) and the end
 * of the file classified exactly as the format's "Torn tail versus corruption" rule says.
 *
 * Synchronous, through one reusable chunk buffer (frames are handed out as views of it, valid
 * during the callback only): it runs in worker threads, where blocking reads cost nothing and
 * per-frame promises and buffers did (the async reader left the verifier ~11% idle).
 *
 * Two ways to read frames: a whole segment from its header on (every case, including damaged
 * files), or — for a sealed segment whose footer verifies — one range of its frames, so a segment
 * can be split between threads. A range that disagrees in any way with the footer it was planned
 * from reports `mismatch`, and the caller re-reads the segment from the range's start as a whole
 * read (everything before it matched the footer, so that is what a read from the header would do):
 * ranges are a shortcut, never a second set of rules.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { ENVELOPE_BYTES, MAX_FRAME_BYTES } from '@sealog/segment-store';
import { VerifierError } from './errors';
import { hexOffset } from './finding';

/** "SLSG": first four bytes of every segment file. */
const SEGMENT_MAGIC = 0x534c5347;
/** "SLFT": first four bytes of a footer (larger than any legal frame length). */
const FOOTER_MAGIC = 0x534c4654;
/** "SLSE": last four bytes of a sealed segment. */
const TRAILER_MAGIC = 0x534c5345;
/** Segment format version this reader knows. */
const SEGMENT_VERSION = 1;
/** Fixed part of the segment header, before the metadata. */
const HEADER_FIXED_BYTES = 104;
/** Largest header metadata, bytes. */
const MAX_META_BYTES = 4096;
/** Largest log id in the header, bytes. */
const MAX_LOG_ID_BYTES = 64;
/** Envelope head: `payload_len:u32 key:u64`. */
const ENVELOPE_HEAD_BYTES = 12;
/** Footer head: magic, frame count. */
const FOOTER_HEAD_BYTES = 8;
/** One footer entry: `offset:u64 key:u64`. */
const FOOTER_ENTRY_BYTES = 16;
/** Trailer: `footer_len:u32 crc32:u32 trailer_magic:u32`. */
const TRAILER_BYTES = 12;
/** `max_unsynced` value meaning unbounded (durability `none`). */
const UNBOUNDED_UNSYNCED = 0xffffffff;
/** Bytes read at a time (a frame larger than this is read whole). */
const CHUNK_BYTES = 8 * 1024 * 1024;
const TWO_32 = 0x1_0000_0000;

/** The fields of a segment header the verifier uses. */
export interface SegmentHeaderInfo {
  /** Header length; frames start here. */
  readonly headerBytes: number;
  readonly segmentNumber: number;
  /** Key (first leaf index) of the first frame. */
  readonly firstKey: number;
  /** The torn-tail window in bytes (`Infinity` when unbounded). */
  readonly window: number;
  readonly logId: string;
}

/** A footer's frame index. */
export interface FooterIndex {
  /** Offset of the footer's first byte (= end of the last frame). */
  readonly offset: number;
  readonly offsets: number[];
  readonly keys: number[];
}

/** One frame as read: a view valid during the callback only. */
export interface SegmentFrame {
  /** Offset of the frame's envelope in the file. */
  readonly offset: number;
  /** The envelope's key (the ledger: first leaf index). */
  readonly key: number;
  /** The frame bytes (a view of the reader's buffer). */
  readonly payload: Buffer;
}

/** How a read of frames ended. */
export type ScanEnd =
  /** No footer; frames run exactly to the end of the file. */
  | { readonly kind: 'open'; readonly offset: number }
  /** A valid footer matching the frames closes the file. */
  | { readonly kind: 'sealed'; readonly offset: number }
  /** Damage a crash explains (within the unsynced window of the end, or claiming bytes past it). */
  | { readonly kind: 'torn'; readonly offset: number; readonly reason: string }
  /** Damage no crash explains. */
  | { readonly kind: 'corrupt'; readonly offset: number; readonly reason: string }
  /** A range read all its frames as planned. */
  | { readonly kind: 'range'; readonly offset: number }
  /** A range found something other than the footer said: re-read the whole segment. */
  | { readonly kind: 'mismatch'; readonly offset: number };

/** Where a read of frames starts, and the state of the reading before that point. */
export interface ScanStart {
  /** Offset of the first envelope to read (the header's end for a whole segment). */
  readonly offset: number;
  /** Key of the frame before it (−1 at the first frame). */
  readonly lastKey: number;
  /** Its index in the segment (0: it must carry the header's first key). */
  readonly index: number;
  /** (offset, key) pairs of the frames before it, for the footer comparison. */
  readonly found: readonly number[];
}

/** The frames a range read must find: the footer's entries from the range's start on. */
export interface FrameRange {
  /** Offset where the range must end: the next range's first frame, or the footer. */
  readonly to: number;
  /** Envelope offsets the footer lists for the range. */
  readonly offsets: readonly number[];
  /** Keys the footer lists for the range. */
  readonly keys: readonly number[];
}

/** Start of a whole-segment read. */
export function segmentStart(header: SegmentHeaderInfo): ScanStart {
  return { offset: header.headerBytes, lastKey: -1, index: 0, found: [] };
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function u64(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
}

/** A segment file opened for reading. Create with {@link SegmentReader.open}; {@link SegmentReader.close} after. */
export class SegmentReader {
  readonly path: string;
  /** File size in bytes at open. */
  readonly size: number;
  private readonly fd: number;
  private buf: Buffer = Buffer.allocUnsafe(0);
  /** File offsets held in `buf[0 … bufEnd − bufStart)`. */
  private bufStart = 0;
  private bufEnd = 0;
  /** (offset, key) of every frame a whole-segment read found so far, for the footer comparison. */
  private found: number[] = [];

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.fd = fd;
    this.size = size;
  }

  /** @throws {VerifierError} `IO_ERROR` when the file cannot be opened. */
  static open(path: string): SegmentReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new VerifierError('IO_ERROR', `${path}: cannot open: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      return new SegmentReader(path, fd, fstatSync(fd).size);
    } catch (error) {
      closeSync(fd);
      throw new VerifierError('IO_ERROR', `${path}: cannot stat: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /**
   * Makes file bytes `[offset, offset + length)` available (the caller checked they exist) and
   * returns their index in the buffer.
   */
  private at(offset: number, length: number): number {
    if (offset >= this.bufStart && offset + length <= this.bufEnd) return offset - this.bufStart;
    const want = Math.min(Math.max(length, CHUNK_BYTES), this.size - offset);
    if (this.buf.length < want)
      this.buf = Buffer.allocUnsafe(Math.max(want, Math.min(CHUNK_BYTES, this.size)));
    let got = 0;
    try {
      while (got < want) {
        const n = readSync(this.fd, this.buf, got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (error) {
      throw new VerifierError(
        'IO_ERROR',
        `${this.path}: read @ ${hexOffset(offset)}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (got < length) {
      throw new VerifierError(
        'IO_ERROR',
        `${this.path}: file shrank while being read (at ${hexOffset(offset)})`,
      );
    }
    this.bufStart = offset;
    this.bufEnd = offset + got;
    return 0;
  }

  /**
   * Reads and checks the header (FORMAT.md, "Header").
   * @returns the header, or the first problem and its offset.
   */
  header(): SegmentHeaderInfo | { readonly error: string; readonly offset: number } {
    const bad = (message: string, offset: number): { error: string; offset: number } => ({
      error: `segment header: ${message}`,
      offset,
    });
    const have = Math.min(this.size, HEADER_FIXED_BYTES + MAX_META_BYTES + 4);
    if (have < HEADER_FIXED_BYTES + 4)
      return bad(`need ≥ ${HEADER_FIXED_BYTES + 4} bytes, file has ${have}`, 0);
    const i = this.at(0, have);
    const b = this.buf;
    const magic = b.readUInt32BE(i);
    if (magic !== SEGMENT_MAGIC)
      return bad(`expected magic 0x${hex32(SEGMENT_MAGIC)}, got 0x${hex32(magic)}`, 0);
    const version = b.readUInt16BE(i + 4);
    if (version !== SEGMENT_VERSION)
      return bad(`expected format version ${SEGMENT_VERSION}, got ${version}`, 4);
    const headerBytes = b.readUInt16BE(i + 6);
    const metaLength = b.readUInt16BE(i + 36);
    if (headerBytes !== HEADER_FIXED_BYTES + metaLength + 4 || metaLength > MAX_META_BYTES) {
      return bad(`header length ${headerBytes} does not match metadata length ${metaLength}`, 6);
    }
    if (have < headerBytes) return bad(`need ${headerBytes} bytes, file has ${have}`, 0);
    const want = b.readUInt32BE(i + headerBytes - 4);
    const got = crc32(b.subarray(i, i + headerBytes - 4));
    if (want !== got) {
      return bad(`CRC-32 mismatch: stored 0x${hex32(want)}, computed 0x${hex32(got)}`, headerBytes - 4);
    }
    const logIdLength = b.readUInt8(i + 38);
    if (logIdLength === 0 || logIdLength > MAX_LOG_ID_BYTES) return bad(`log id length ${logIdLength}`, 38);
    const maxUnsynced = b.readUInt32BE(i + 32);
    return {
      headerBytes,
      segmentNumber: u64(b, i + 8),
      firstKey: u64(b, i + 16),
      window: maxUnsynced === UNBOUNDED_UNSYNCED ? Number.POSITIVE_INFINITY : maxUnsynced,
      logId: b.toString('utf8', i + 40, i + 40 + logIdLength),
    };
  }

  /**
   * The footer named by the trailer at the end of the file, when it decodes and its CRC holds
   * (it is then used to plan frame ranges; nothing is concluded from it before the frames agree).
   */
  footerFromTrailer(headerBytes: number): FooterIndex | undefined {
    if (this.size < headerBytes + FOOTER_HEAD_BYTES + TRAILER_BYTES) return undefined;
    let i = this.at(this.size - TRAILER_BYTES, TRAILER_BYTES);
    if (this.buf.readUInt32BE(i + 8) !== TRAILER_MAGIC) return undefined;
    const length = this.buf.readUInt32BE(i);
    if (length < FOOTER_HEAD_BYTES + TRAILER_BYTES || length > this.size - headerBytes) return undefined;
    const offset = this.size - length;
    i = this.at(offset, length);
    const footer = decodeFooter(this.buf.subarray(i, i + length), offset);
    return 'error' in footer ? undefined : footer;
  }

  /**
   * Reads frames from `start` ({@link segmentStart} for a whole segment), calling `onFrame` for
   * each good one, and says how the read ended. With `range`, reads only the frames the footer
   * lists for it (see {@link FrameRange}); without, to the end of the file.
   */
  frames(
    header: SegmentHeaderInfo,
    start: ScanStart,
    range: FrameRange | undefined,
    onFrame: (frame: SegmentFrame) => void,
  ): ScanEnd {
    const size = this.size;
    const classify = (offset: number, reason: string, pastEof: boolean): ScanEnd =>
      pastEof || size - offset <= header.window
        ? { kind: 'torn', offset, reason }
        : { kind: 'corrupt', offset, reason };
    let offset = start.offset;
    let lastKey = start.lastKey;
    let index = start.index;
    this.found = range === undefined ? [...start.found] : [];
    const frame = { offset: 0, key: 0, payload: this.buf };
    for (let j = 0; ; j++) {
      if (range !== undefined) {
        if (j === range.offsets.length) {
          return offset === range.to ? { kind: 'range', offset } : { kind: 'mismatch', offset };
        }
        if (offset !== range.offsets[j] || offset === size) return { kind: 'mismatch', offset };
      }
      if (offset === size) return { kind: 'open', offset };
      const remaining = size - offset;
      if (remaining >= 4) {
        const m = this.at(offset, 4);
        if (this.buf.readUInt32BE(m) === FOOTER_MAGIC) {
          return range === undefined
            ? this.classifyFooter(offset, index, classify)
            : { kind: 'mismatch', offset };
        }
      }
      // The envelope (FORMAT.md "Frame envelope"): length 1 … 64 MiB, CRC over length ‖ key ‖ payload.
      if (remaining < ENVELOPE_HEAD_BYTES) {
        return classify(offset, `envelope head needs ${ENVELOPE_HEAD_BYTES} bytes, ${remaining} left`, true);
      }
      let h = this.at(offset, ENVELOPE_HEAD_BYTES);
      const length = this.buf.readUInt32BE(h);
      if (length === 0 || length > MAX_FRAME_BYTES) {
        return classify(offset, `frame length ${length} outside 1..${MAX_FRAME_BYTES}`, false);
      }
      if (length + ENVELOPE_BYTES > remaining) {
        return classify(
          offset,
          `frame of ${length} bytes runs past end of file (${remaining - ENVELOPE_BYTES} bytes present)`,
          true,
        );
      }
      h = this.at(offset, length + ENVELOPE_BYTES);
      const b = this.buf;
      const want = b.readUInt32BE(h + ENVELOPE_HEAD_BYTES + length);
      const got = crc32(b.subarray(h, h + ENVELOPE_HEAD_BYTES + length));
      if (want !== got) {
        return classify(
          offset,
          `envelope CRC-32 mismatch: stored 0x${hex32(want)}, computed 0x${hex32(got)}`,
          false,
        );
      }
      const key = u64(b, h + 4);
      if (key <= lastKey) {
        return {
          kind: 'corrupt',
          offset,
          reason: `frame key ${key} does not follow previous key ${lastKey}`,
        };
      }
      if (index === 0 && key !== header.firstKey) {
        return {
          kind: 'corrupt',
          offset,
          reason: `first frame key ${key} ≠ segment header first key ${header.firstKey}`,
        };
      }
      if (range !== undefined && key !== range.keys[j]) return { kind: 'mismatch', offset };
      frame.offset = offset;
      frame.key = key;
      frame.payload = b.subarray(h + ENVELOPE_HEAD_BYTES, h + ENVELOPE_HEAD_BYTES + length);
      onFrame(frame);
      lastKey = key;
      index += 1;
      offset += length + ENVELOPE_BYTES;
      // Whole-segment reads keep the frame index for the footer comparison.
      if (range === undefined) this.found.push(frame.offset, key);
    }
  }

  /** A footer met at an envelope boundary during a whole-segment read. */
  private classifyFooter(
    offset: number,
    frames: number,
    classify: (offset: number, reason: string, pastEof: boolean) => ScanEnd,
  ): ScanEnd {
    const length = this.size - offset;
    if (length < FOOTER_HEAD_BYTES + TRAILER_BYTES) return classify(offset, 'footer truncated', true);
    const h = this.at(offset, FOOTER_HEAD_BYTES);
    const count = this.buf.readUInt32BE(h + 4);
    const total = FOOTER_HEAD_BYTES + count * FOOTER_ENTRY_BYTES + TRAILER_BYTES;
    // Read the footer only when its size is consistent (else the message is known already).
    const i = total === length ? this.at(offset, length) : h;
    const footer = decodeFooter(
      this.buf.subarray(i, i + (total === length ? length : FOOTER_HEAD_BYTES)),
      offset,
      length,
    );
    const found = this.found;
    this.found = [];
    // The footer is the last write a segment gets: damaged at the end of file, it may be torn.
    if ('error' in footer) return classify(offset, footer.error, false);
    if (footer.offsets.length !== frames) {
      return {
        kind: 'corrupt',
        offset,
        reason: `footer lists ${footer.offsets.length} frames, file holds ${frames}`,
      };
    }
    for (let k = 0; k < frames; k++) {
      if (footer.offsets[k] !== found[2 * k] || footer.keys[k] !== found[2 * k + 1]) {
        return {
          kind: 'corrupt',
          offset,
          reason: `footer entry ${k} (offset ${footer.offsets[k]}, key ${footer.keys[k]}) ≠ frame (offset ${found[2 * k]}, key ${found[2 * k + 1]})`,
        };
      }
    }
    return { kind: 'sealed', offset };
  }
}

/**
 * Decodes a footer (FORMAT.md "Footer") that starts at `buf[0]` and at file offset `offset`;
 * `length` is the footer's byte length in the file when `buf` holds only its head.
 */
function decodeFooter(
  buf: Buffer,
  offset: number,
  length: number = buf.length,
): FooterIndex | { error: string } {
  const bad = (message: string, at: number): { error: string } => ({
    error: `footer @ ${hexOffset(offset)}: ${message}${at === offset ? '' : ` (@ ${hexOffset(at)})`}`,
  });
  if (length < FOOTER_HEAD_BYTES + TRAILER_BYTES) return bad('truncated', offset);
  const magic = buf.readUInt32BE(0);
  if (magic !== FOOTER_MAGIC)
    return bad(`expected magic 0x${hex32(FOOTER_MAGIC)}, got 0x${hex32(magic)}`, offset);
  const count = buf.readUInt32BE(4);
  const total = FOOTER_HEAD_BYTES + count * FOOTER_ENTRY_BYTES + TRAILER_BYTES;
  if (length !== total)
    return bad(`footer of ${count} frames must be ${total} bytes, found ${length}`, offset);
  const t = total - TRAILER_BYTES;
  if (buf.readUInt32BE(t) !== total)
    return bad(`trailer length ${buf.readUInt32BE(t)} ≠ ${total}`, offset + t);
  const want = buf.readUInt32BE(t + 4);
  const got = crc32(buf.subarray(0, t + 4));
  if (want !== got) {
    return bad(`CRC-32 mismatch: stored 0x${hex32(want)}, computed 0x${hex32(got)}`, offset + t + 4);
  }
  if (buf.readUInt32BE(t + 8) !== TRAILER_MAGIC) return bad('bad trailer magic', offset + t + 8);
  const offsets = new Array<number>(count);
  const keys = new Array<number>(count);
  for (let k = 0, p = FOOTER_HEAD_BYTES; k < count; k++, p += FOOTER_ENTRY_BYTES) {
    offsets[k] = u64(buf, p);
    keys[k] = u64(buf, p + 8);
  }
  return { offset, offsets, keys };
}
