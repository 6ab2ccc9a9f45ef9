/**
 * The read-only view of a log's segments that verifiers and other readers depend on, and a
 * directory-backed implementation that opens nothing for writing and repairs nothing: it reports
 * what it finds. {@link SegmentStore} implements the same interface for the live log.
 */
import { readdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { SegmentStoreError } from './errors';
import type { SegmentHeader } from './format';
import {
  type FrameRead,
  readFooter,
  readFrameAt,
  readSegmentHeader,
  type SegmentScan,
  scanSegmentFile,
} from './segment-file';

/** One segment file of a log. */
export interface SegmentInfo {
  /** Segment number (contiguous within a log, from 1 unless retention removed older ones). */
  readonly number: number;
  /** Absolute or dir-relative path of the `.seg` file. */
  readonly file: string;
  /** File size in bytes (for the live tail: bytes written so far). */
  readonly size: number;
  /** True when a valid footer closes the file (it never changes again). */
  readonly sealed: boolean;
  /** The decoded segment header. */
  readonly header: SegmentHeader;
}

/** Read-only access to a log's segments, for verifiers and readers. */
export interface SegmentSource {
  /** Segments oldest first. */
  listSegments(): Promise<SegmentInfo[]>;
  /** Reads the frame whose envelope starts at `offset` in segment `segment`. */
  readFrame(segment: number, offset: number): Promise<FrameRead>;
  /** Iterates the frames of one segment in file order. */
  iterateFrames(segment: number): AsyncIterable<FrameRead>;
}

/** Width of the zero-padded segment number in file names. */
export const SEGMENT_NAME_DIGITS = 10;

/** File name of segment `n`: `0000000001.seg`. */
export function segmentFileName(n: number): string {
  return `${String(n).padStart(SEGMENT_NAME_DIGITS, '0')}.seg`;
}

/** Lists `*.seg` files of `dir` as (number, path), sorted by number. Other files are ignored. */
export function listSegmentFiles(dir: string): { number: number; path: string }[] {
  const out: { number: number; path: string }[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^(\d{10})\.seg$/.exec(name);
    if (m !== null) out.push({ number: Number(m[1]), path: join(dir, name) });
  }
  out.sort((a, b) => a.number - b.number);
  return out;
}

/**
 * Opens a log directory read-only. Nothing is repaired: a torn or corrupt tail shows up as a
 * `CORRUPT_SEGMENT` error from `readFrame`/`iterateFrames`, and {@link scanSegment} reports how each
 * file ends.
 * @example
 * const source = openSegmentSource('data/logs/default');
 * for (const seg of await source.listSegments()) for await (const f of source.iterateFrames(seg.number)) use(f.payload);
 */
export function openSegmentSource(dir: string): DirectorySegmentSource {
  return new DirectorySegmentSource(dir);
}

/** See {@link openSegmentSource}. */
export class DirectorySegmentSource implements SegmentSource {
  /** The log directory. */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Segments oldest first, with headers decoded and sealed-ness from the trailer. */
  async listSegments(): Promise<SegmentInfo[]> {
    const out: SegmentInfo[] = [];
    for (const { number, path } of listSegmentFiles(this.dir)) {
      const fh = await open(path, 'r');
      try {
        const size = (await fh.stat()).size;
        const header = await readSegmentHeader(fh, path);
        const sealed = (await readFooter(fh, path, size)) !== undefined;
        out.push({ number, file: path, size, sealed, header });
      } finally {
        await fh.close();
      }
    }
    return out;
  }

  /** Reads one frame (CRC-checked). @throws {SegmentStoreError} `CORRUPT_SEGMENT`, `NOT_FOUND`. */
  async readFrame(segment: number, offset: number): Promise<FrameRead> {
    const path = this.path(segment);
    const fh = await this.openOrNotFound(path, segment);
    try {
      return await readFrameAt(fh, path, offset, (await fh.stat()).size);
    } finally {
      await fh.close();
    }
  }

  /** Iterates frames from the header to the footer or end of file; throws at the first bad frame. */
  async *iterateFrames(segment: number): AsyncGenerator<FrameRead> {
    const path = this.path(segment);
    const fh = await this.openOrNotFound(path, segment);
    try {
      const size = (await fh.stat()).size;
      const header = await readSegmentHeader(fh, path);
      const footer = await readFooter(fh, path, size);
      const end = footer === undefined ? size : footer.offset;
      let offset = header.headerBytes;
      while (offset < end) {
        const frame = await readFrameAt(fh, path, offset, end);
        yield frame;
        offset = frame.next;
      }
    } finally {
      await fh.close();
    }
  }

  /** Scans one segment and classifies its end (open, sealed, torn, corrupt) without changing it. */
  scanSegment(segment: number): Promise<SegmentScan> {
    return scanSegmentFile(this.path(segment));
  }

  private path(segment: number): string {
    return join(this.dir, segmentFileName(segment));
  }

  private async openOrNotFound(path: string, segment: number): Promise<FileHandle> {
    try {
      return await open(path, 'r');
    } catch (error) {
      throw new SegmentStoreError('NOT_FOUND', `segment ${segment} not found in ${this.dir}`, {
        cause: error,
      });
    }
  }
}
