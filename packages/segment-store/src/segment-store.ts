/**
 * The writer side of a log's segment directory: appends opaque frames in key order, makes them
 * durable under one policy chosen at construction (group commit, every frame, or none), rotates and
 * seals segments by size, recovers a torn tail on open, and serves reads.
 *
 * It does not encrypt, decode or interpret frames: a frame is bytes plus a monotonically increasing
 * integer key chosen by the caller (the ledger uses the frame's first leaf index).
 *
 * Commit points (docs/RECOVERY.md):
 *  1. `writev` of envelopes into the tail segment — in the page cache, not yet durable;
 *  2. `fdatasync` of the tail segment — every frame written before it started is durable, and only
 *     now does its `append()` promise resolve (modes `group` and `every-frame`);
 *  3. rotation — footer written + fdatasync (the old segment is sealed and never written again),
 *     then the new segment is created with its header, fdatasync'd, and the directory fsync'd.
 * A frame never sits unsynced more than `maxUnsyncedBytes` behind the end of the file: recovery
 * relies on this to tell a torn tail (a crash) from corruption.
 */
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { formatOffset, SegmentStoreError } from './errors';
import {
  ENVELOPE_BYTES,
  encodeEnvelope,
  encodeFooter,
  encodeSegmentHeader,
  HEADER_FIXED_BYTES,
  MAX_FRAME_BYTES,
  MAX_META_BYTES,
  type SegmentFooter,
  type SegmentHeader,
  UNBOUNDED_UNSYNCED,
} from './format';
import { LatencyHistogram, type LatencySummary } from './latency-histogram';
import { type FrameRead, readFooter, readFrameAt, readSegmentHeader, scanSegmentFile } from './segment-file';
import { listSegmentFiles, type SegmentInfo, type SegmentSource, segmentFileName } from './segment-source';

/** Default rotation threshold: 64 MiB. */
export const DEFAULT_SEGMENT_BYTES: number = 64 * 1024 * 1024;
/** Smallest allowed rotation threshold (tests use tiny segments): 4 KiB. */
export const MIN_SEGMENT_BYTES = 4096;
/** Default bound on bytes written but not yet fsync'd: 32 MiB. */
export const DEFAULT_MAX_UNSYNCED_BYTES: number = 32 * 1024 * 1024;
/** Default number of read file descriptors kept open. */
export const DEFAULT_READ_CACHE = 32;

/**
 * When an appended frame counts as durable.
 * - `group`: one fdatasync covers every frame written since the previous one (group commit). A sync
 *   starts as soon as the previous one ends, after `intervalMs` (default 0) to gather more frames,
 *   or at once when `maxBatchBytes` are waiting.
 * - `every-frame`: each frame is written and fdatasync'd alone before the next is written.
 * - `none`: no fsync at all; `append()` resolves once written. Benchmarks only: a crash loses data.
 */
export type Durability =
  | {
      readonly mode: 'group';
      /** Extra wait before a sync to gather frames, ms (0..1000). */
      readonly intervalMs?: number;
      /** Start a sync at once when this many bytes await one. */
      readonly maxBatchBytes?: number;
      /** Never let more than this many bytes sit written-but-unsynced (≥ 2 × largest frame). */
      readonly maxUnsyncedBytes?: number;
    }
  | { readonly mode: 'every-frame' }
  | { readonly mode: 'none' };

/** Options of {@link openSegmentStore}. */
export interface SegmentStoreOptions {
  /** The log's directory (`<data-dir>/logs/<log_id>`); created when missing. */
  readonly dir: string;
  /** The log id written into every segment header (1..64 UTF-8 bytes). */
  readonly logId: string;
  /** Durability policy, fixed for the life of the store. Default `{ mode: 'group' }`. */
  readonly durability?: Durability;
  /** Rotate when the tail segment would grow past this many bytes (4 KiB ≤ n ≤ 4 GiB). */
  readonly segmentBytes?: number;
  /** Metadata for the header of a new segment (≤ 4 KiB), e.g. the id of the data key in effect. */
  readonly segmentMeta?: (segmentNumber: number, firstKey: number) => Uint8Array;
  /** Read file descriptors kept open (LRU), ≥ 1. */
  readonly readCacheSize?: number;
  /** Clock for segment creation times (epoch ms). */
  readonly now?: () => number;
}

/** Where an appended frame landed. */
export interface AppendResult {
  /** Segment number holding the frame. */
  readonly segment: number;
  /** Byte offset of the frame's envelope in that segment. */
  readonly offset: number;
  /** The frame's key. */
  readonly key: number;
}

/** Where a frame is, as found by {@link SegmentStore.locate}. */
export interface FrameLocation extends AppendResult {
  /**
   * Bytes of the whole frame envelope when the store knows them (every frame but the last of a
   * sealed segment); pass to {@link SegmentStore.readFrame} to read the frame in one system call.
   */
  readonly bytes?: number;
}

/** What recovery found and did when the store opened. */
export interface RecoveryReport {
  /** Segments present after recovery. */
  readonly segments: number;
  /** Frames found in the tail segment. */
  readonly tailFrames: number;
  /** Key of the last durable frame, or -1 when the log is empty. */
  readonly lastKey: number;
  /** Bytes cut off the tail segment (kept aside as evidence), 0 when none. */
  readonly tornBytes: number;
  /** File holding the cut-off bytes, when any. */
  readonly tornFile: string | undefined;
  /** Why the bytes were cut. */
  readonly tornReason: string | undefined;
  /** Milliseconds recovery took. */
  readonly ms: number;
}

/** Counters and the fsync latency distribution. */
export interface SegmentStoreStats {
  readonly framesAppended: number;
  readonly bytesWritten: number;
  readonly syncs: number;
  readonly rotations: number;
  /** fdatasync durations. */
  readonly fsync: LatencySummary;
  /** Bytes written but not yet durable right now. */
  readonly unsyncedBytes: number;
}

interface Pending {
  readonly payload: Uint8Array;
  readonly key: number;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
}

interface Waiter {
  readonly end: number;
  readonly result: AppendResult;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
}

interface Tail {
  readonly number: number;
  readonly path: string;
  readonly fh: FileHandle;
  readonly headerBytes: number;
  readonly offsets: number[];
  readonly keys: number[];
  /** Bytes written (completed writes). */
  size: number;
  /** Bytes known durable. */
  durable: number;
}

interface SealedIndex {
  readonly info: SegmentInfo;
  footer: SegmentFooter | undefined;
}

/**
 * Opens (creating if needed) a log's segment directory for appending, after recovering its tail.
 *
 * @throws {SegmentStoreError} `CORRUPT_SEGMENT` when damage other than a torn tail is found
 *   (a bad frame in the middle, a missing segment, an unsealed segment before the tail);
 *   `BAD_ARGUMENT` for invalid options.
 * @example
 * const store = await openSegmentStore({ dir: 'data/logs/default', logId: 'default' });
 * const at = await store.append(frameBytes, firstLeafIndex); // resolves once durable
 * await store.close();
 */
export async function openSegmentStore(options: SegmentStoreOptions): Promise<SegmentStore> {
  const store = new SegmentStore(options);
  await store.recover();
  return store;
}

/** See {@link openSegmentStore}. Also a {@link SegmentSource} for readers. */
export class SegmentStore implements SegmentSource {
  /** The log directory. */
  readonly dir: string;
  /** The log id. */
  readonly logId: string;
  private readonly mode: 'group' | 'every-frame' | 'none';
  private readonly intervalMs: number;
  private readonly maxBatchBytes: number;
  private readonly maxUnsyncedBytes: number;
  private readonly segmentBytes: number;
  private readonly segmentMeta: (segmentNumber: number, firstKey: number) => Uint8Array;
  private readonly now: () => number;
  private readonly readCacheSize: number;
  private readonly readHandles = new Map<number, FileHandle>();
  private readonly sealed: SealedIndex[] = [];
  private readonly histogram = new LatencyHistogram();
  private tail: Tail | undefined;
  private pending: Pending[] = [];
  private waiters: Waiter[] = [];
  private pumping = false;
  private syncing: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private lastKey = -1;
  private failure: Error | undefined;
  private closing = false;
  private closed = false;
  private framesAppended = 0;
  private bytesWritten = 0;
  private syncs = 0;
  private rotations = 0;
  private recoveryReport: RecoveryReport | undefined;

  /** Use {@link openSegmentStore}, which also runs recovery. */
  constructor(options: SegmentStoreOptions) {
    const durability = options.durability ?? { mode: 'group' };
    this.dir = options.dir;
    this.logId = options.logId;
    this.mode = durability.mode;
    this.intervalMs = durability.mode === 'group' ? (durability.intervalMs ?? 0) : 0;
    this.maxBatchBytes = durability.mode === 'group' ? (durability.maxBatchBytes ?? 8 * 1024 * 1024) : 0;
    this.maxUnsyncedBytes =
      durability.mode === 'none'
        ? UNBOUNDED_UNSYNCED
        : durability.mode === 'every-frame'
          ? MAX_FRAME_BYTES + ENVELOPE_BYTES
          : (durability.maxUnsyncedBytes ?? DEFAULT_MAX_UNSYNCED_BYTES);
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.segmentMeta = options.segmentMeta ?? (() => new Uint8Array(0));
    this.readCacheSize = options.readCacheSize ?? DEFAULT_READ_CACHE;
    this.now = options.now ?? Date.now;
    if (
      !Number.isInteger(this.segmentBytes) ||
      this.segmentBytes < MIN_SEGMENT_BYTES ||
      this.segmentBytes > 2 ** 32
    ) {
      throw new SegmentStoreError(
        'BAD_ARGUMENT',
        `segmentBytes must be an integer in 4096..2^32, got ${this.segmentBytes}`,
      );
    }
    if (this.intervalMs < 0 || this.intervalMs > 1000) {
      throw new SegmentStoreError(
        'BAD_ARGUMENT',
        `durability.intervalMs must be 0..1000, got ${this.intervalMs}`,
      );
    }
    if (this.mode === 'group' && this.maxUnsyncedBytes < 1024 * 1024) {
      throw new SegmentStoreError(
        'BAD_ARGUMENT',
        `durability.maxUnsyncedBytes must be ≥ 1 MiB, got ${this.maxUnsyncedBytes}`,
      );
    }
    if (!Number.isInteger(this.readCacheSize) || this.readCacheSize < 1) {
      throw new SegmentStoreError(
        'BAD_ARGUMENT',
        `readCacheSize must be an integer ≥ 1, got ${this.readCacheSize}`,
      );
    }
  }

  /** What recovery found when the store opened. */
  get recovery(): RecoveryReport {
    if (this.recoveryReport === undefined)
      throw new SegmentStoreError('CLOSED', 'logic error: store not recovered');
    return this.recoveryReport;
  }

  /** Key of the last frame appended (durable or not), -1 when empty. */
  get lastAppendedKey(): number {
    return this.lastKey;
  }

  /** @internal Runs once from {@link openSegmentStore}. */
  async recover(): Promise<void> {
    const started = performance.now();
    mkdirSync(this.dir, { recursive: true });
    const files = listSegmentFiles(this.dir);
    let tornBytes = 0;
    let tornFile: string | undefined;
    let tornReason: string | undefined;
    let tailFrames = 0;
    for (let i = 0; i < files.length; i++) {
      const { number, path } = files[i]!;
      if (i > 0 && number !== files[i - 1]!.number + 1) {
        throw new SegmentStoreError(
          'CORRUPT_SEGMENT',
          `${this.dir}: segment ${files[i - 1]!.number + 1} is missing (found ${files[i - 1]!.number}, then ${number})`,
          { file: path },
        );
      }
      const isTail = i === files.length - 1;
      if (!isTail) {
        // Restart cost must not grow with the log: older segments are checked by their trailer only.
        const fh = await open(path, 'r');
        try {
          const size = (await fh.stat()).size;
          const header = await readSegmentHeader(fh, path);
          const footer = await readFooter(fh, path, size);
          if (footer === undefined) {
            throw new SegmentStoreError(
              'CORRUPT_SEGMENT',
              `${path}: segment ${number} is not the tail but is not sealed`,
              {
                file: path,
              },
            );
          }
          this.checkHeader(header, number, path);
          this.sealed.push({ info: { number, file: path, size, sealed: true, header }, footer: undefined });
          const lastKey = footer.keys[footer.keys.length - 1];
          if (lastKey !== undefined) this.lastKey = lastKey;
        } finally {
          await fh.close();
        }
        continue;
      }
      const size = statSync(path).size;
      let scan: Awaited<ReturnType<typeof scanSegmentFile>>;
      try {
        scan = await scanSegmentFile(path);
      } catch (error) {
        // A tail whose header never reached the disk whole: the crash hit while it was being created,
        // before any frame went into it. Keep it aside and continue with the previous segment.
        if (error instanceof SegmentStoreError && size <= HEADER_FIXED_BYTES + MAX_META_BYTES + 4) {
          tornFile = this.keepAside(path, 0, `segment header incomplete: ${error.message}`);
          tornBytes = size;
          tornReason = error.message;
          rmSync(path);
          fsyncDir(this.dir);
          break;
        }
        throw error;
      }
      this.checkHeader(scan.header, number, path);
      if (scan.offsets.length > 0 && scan.keys[0]! <= this.lastKey) {
        throw new SegmentStoreError(
          'CORRUPT_SEGMENT',
          `${path}: first key ${scan.keys[0]} does not follow previous segment's last key ${this.lastKey}`,
          { file: path },
        );
      }
      if (scan.end.kind === 'corrupt') {
        throw new SegmentStoreError(
          'CORRUPT_SEGMENT',
          `${path} @ ${formatOffset(scan.end.offset)}: ${scan.end.reason} — not a torn tail (more than the unsynced window follows); refusing to open`,
          { file: path, offset: scan.end.offset },
        );
      }
      let end = scan.size;
      if (scan.end.kind === 'torn') {
        tornBytes = scan.size - scan.end.offset;
        tornReason = scan.end.reason;
        tornFile = this.keepAside(path, scan.end.offset, scan.end.reason);
        truncateDurably(path, scan.end.offset);
        end = scan.end.offset;
      }
      const header = scan.header;
      if (scan.end.kind === 'sealed') {
        this.sealed.push({
          info: { number, file: path, size: end, sealed: true, header },
          footer: scan.end.footer,
        });
      } else {
        const fh = await open(path, 'r+');
        this.tail = {
          number,
          path,
          fh,
          headerBytes: header.headerBytes,
          offsets: scan.offsets,
          keys: scan.keys,
          size: end,
          durable: end,
        };
        tailFrames = scan.offsets.length;
      }
      const lastKey = scan.keys[scan.keys.length - 1];
      if (lastKey !== undefined) this.lastKey = lastKey;
    }
    this.recoveryReport = {
      segments: this.sealed.length + (this.tail === undefined ? 0 : 1),
      tailFrames,
      lastKey: this.lastKey,
      tornBytes,
      tornFile,
      tornReason,
      ms: performance.now() - started,
    };
  }

  private checkHeader(header: SegmentHeader, number: number, path: string): void {
    if (header.segmentNumber !== number) {
      throw new SegmentStoreError(
        'CORRUPT_SEGMENT',
        `${path}: header says segment ${header.segmentNumber}, file name says ${number}`,
        { file: path, offset: 8 },
      );
    }
    if (header.logId !== this.logId) {
      throw new SegmentStoreError(
        'CORRUPT_SEGMENT',
        `${path}: segment belongs to log "${header.logId}", expected "${this.logId}"`,
        { file: path, offset: 40 },
      );
    }
  }

  /** Copies `[offset, EOF)` of `path` to `<segment>@<offset>.torn` (fsync'd) before it is cut. */
  private keepAside(path: string, offset: number, reason: string): string {
    const size = statSync(path).size;
    const bytes = Buffer.alloc(size - offset);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      closeSync(fd);
    }
    const base = path.replace(/\.seg$/, '');
    const target = `${base}@${offset}.torn`;
    // Evidence first (write, fsync, dir fsync), cut second: a crash in between leaves both copies.
    writeFileSync(target, bytes);
    const tfd = openSync(target, 'r+');
    try {
      fsyncSync(tfd);
    } finally {
      closeSync(tfd);
    }
    writeFileSync(`${target}.reason`, `${reason}\n`);
    fsyncDir(this.dir);
    return target;
  }

  /**
   * Appends one frame. Keys must strictly increase across calls (the caller decides order in one
   * place). Resolves when the frame is durable (or written, with durability `none`).
   * @throws {SegmentStoreError} `KEY_ORDER`, `FRAME_TOO_LARGE`, `BAD_ARGUMENT` (synchronously, before
   *   anything is written); `CLOSED`; `FAILED` after an I/O error (the store accepts nothing more).
   */
  append(payload: Uint8Array, key: number): Promise<AppendResult> {
    if (this.closing || this.closed)
      return Promise.reject(new SegmentStoreError('CLOSED', 'segment store is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failedError());
    if (!Number.isSafeInteger(key) || key < 0) {
      throw new SegmentStoreError('BAD_ARGUMENT', `frame key must be a safe integer ≥ 0, got ${key}`);
    }
    if (key <= this.lastKey) {
      throw new SegmentStoreError(
        'KEY_ORDER',
        `frame key ${key} must be greater than the last key ${this.lastKey}`,
      );
    }
    if (payload.length === 0 || payload.length > MAX_FRAME_BYTES) {
      throw new SegmentStoreError(
        'FRAME_TOO_LARGE',
        `frame must be 1..${MAX_FRAME_BYTES} bytes, got ${payload.length}`,
      );
    }
    this.lastKey = key;
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ payload, key, resolve, reject });
      if (!this.pumping) void this.pump();
    });
  }

  /** Forces a sync of everything written so far; resolves when it is durable. */
  async sync(): Promise<void> {
    while (this.pumping || this.pending.length > 0) await this.idle();
    await this.syncNow();
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** The write loop: one runner at a time, writes coalesced pending frames with one writev. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.pending.length > 0 && this.failure === undefined) {
        const first = this.pending[0]!;
        const firstBytes = first.payload.length + ENVELOPE_BYTES;
        if (
          this.tail === undefined ||
          (this.tail.offsets.length > 0 && this.tail.size + firstBytes > this.segmentBytes)
        ) {
          await this.rotate(first.key);
        }
        const tail = this.tail!;
        if (this.mode !== 'none' && tail.size - tail.durable + firstBytes > this.maxUnsyncedBytes) {
          // Keep the recovery window honest: never write more than maxUnsyncedBytes past durable.
          await this.syncNow();
          continue;
        }
        const buffers: Uint8Array[] = [];
        const taken: Pending[] = [];
        let bytes = 0;
        const limit = this.mode === 'every-frame' ? 1 : this.pending.length;
        while (taken.length < limit && taken.length < this.pending.length) {
          const p = this.pending[taken.length]!;
          const frameBytes = p.payload.length + ENVELOPE_BYTES;
          if (taken.length > 0 && tail.size + bytes + frameBytes > this.segmentBytes) break;
          if (
            taken.length > 0 &&
            this.mode !== 'none' &&
            tail.size + bytes + frameBytes - tail.durable > this.maxUnsyncedBytes
          ) {
            break;
          }
          const { head, tail: crc } = encodeEnvelope(p.payload, p.key);
          buffers.push(head, p.payload, crc);
          taken.push(p);
          bytes += frameBytes;
        }
        this.pending = this.pending.slice(taken.length);
        const position = tail.size;
        if (bytes <= SYNC_WRITE_MAX_BYTES) writevFullySync(tail.fh.fd, buffers, position);
        else await writevFully(tail.fh, buffers, position);
        let offset = position;
        for (const p of taken) {
          tail.offsets.push(offset);
          tail.keys.push(p.key);
          const result: AppendResult = { segment: tail.number, offset, key: p.key };
          offset += p.payload.length + ENVELOPE_BYTES;
          if (this.mode === 'none') p.resolve(result);
          else this.waiters.push({ end: offset, result, resolve: p.resolve, reject: p.reject });
        }
        tail.size = offset;
        this.framesAppended += taken.length;
        this.bytesWritten += bytes;
        if (this.mode === 'every-frame') await this.syncNow();
        else if (this.mode === 'group') this.scheduleSync();
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.pumping = false;
    }
  }

  private scheduleSync(): void {
    if (this.syncTimer !== undefined || this.syncing !== undefined) return;
    const tail = this.tail;
    if (tail === undefined || tail.size === tail.durable) return;
    const due = this.intervalMs === 0 || tail.size - tail.durable >= this.maxBatchBytes ? 0 : this.intervalMs;
    if (due === 0) {
      void this.syncNow().catch(() => {});
      return;
    }
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.syncNow().catch(() => {});
    }, due);
  }

  /** Runs one fdatasync covering every completed write; joins one already running, then re-checks. */
  private async syncNow(): Promise<void> {
    if (this.syncTimer !== undefined) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
    }
    while (this.syncing !== undefined) await this.syncing;
    const tail = this.tail;
    if (tail === undefined || tail.size === tail.durable || this.failure !== undefined) return;
    const target = tail.size;
    this.syncing = (async () => {
      const t0 = performance.now();
      try {
        // fdatasync: the file's data and size reach the disk; mtime need not.
        await tail.fh.datasync();
      } catch (error) {
        // Never retry a failed fsync (the kernel may have dropped the dirty pages): fail the store.
        this.fail(error);
        return;
      }
      this.histogram.record(performance.now() - t0);
      this.syncs += 1;
      tail.durable = target;
      this.releaseWaiters(target);
    })();
    try {
      await this.syncing;
    } finally {
      this.syncing = undefined;
    }
    if (this.mode === 'group' && this.tail === tail && tail.size > tail.durable) this.scheduleSync();
  }

  private releaseWaiters(durableEnd: number): void {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.end <= durableEnd) {
      const w = this.waiters[n]!;
      w.resolve(w.result);
      n++;
    }
    if (n > 0) this.waiters = this.waiters.slice(n);
  }

  /** Seals the tail (footer + fdatasync) and starts segment `next` whose first frame has `firstKey`. */
  private async rotate(firstKey: number): Promise<void> {
    const old = this.tail;
    if (old !== undefined) {
      await this.sealTail();
    }
    const number = old !== undefined ? old.number + 1 : this.nextSegmentNumber();
    const path = join(this.dir, segmentFileName(number));
    const header = encodeSegmentHeader({
      segmentNumber: number,
      firstKey,
      createdAtMs: this.now(),
      maxUnsyncedBytes: this.maxUnsyncedBytes,
      logId: this.logId,
      meta: this.segmentMeta(number, firstKey),
    });
    // 'wx': a segment file is created exactly once; an existing file here is a logic error.
    const fh = await open(path, 'wx');
    await writevFully(fh, [header], 0);
    if (this.mode !== 'none') {
      await fh.datasync();
      // On the libuv pool: a directory fsync under load can take tens of ms.
      await fsyncDirAsync(this.dir);
    }
    this.tail = {
      number,
      path,
      fh,
      headerBytes: header.length,
      offsets: [],
      keys: [],
      size: header.length,
      durable: header.length,
    };
    this.rotations += 1;
  }

  private nextSegmentNumber(): number {
    const last = this.sealed[this.sealed.length - 1];
    return last === undefined ? 1 : last.info.number + 1;
  }

  /** Writes the footer to the tail, makes it durable, and moves the tail to the sealed list. */
  private async sealTail(): Promise<void> {
    const tail = this.tail;
    if (tail === undefined) return;
    await this.syncNow();
    const footer = encodeFooter(tail.offsets, tail.keys);
    await writevFully(tail.fh, [footer], tail.size);
    const footerOffset = tail.size;
    tail.size += footer.length;
    if (this.mode !== 'none') {
      const t0 = performance.now();
      await tail.fh.datasync();
      this.histogram.record(performance.now() - t0);
      this.syncs += 1;
    }
    tail.durable = tail.size;
    this.releaseWaiters(Number.POSITIVE_INFINITY);
    await tail.fh.close();
    const header = await this.headerOf(tail.path);
    this.sealed.push({
      info: { number: tail.number, file: tail.path, size: tail.size, sealed: true, header },
      footer: {
        offset: footerOffset,
        frameCount: tail.offsets.length,
        offsets: tail.offsets,
        keys: tail.keys,
      },
    });
    this.tail = undefined;
  }

  private async headerOf(path: string): Promise<SegmentHeader> {
    const fh = await open(path, 'r');
    try {
      return await readSegmentHeader(fh, path);
    } finally {
      await fh.close();
    }
  }

  /**
   * Seals the current tail segment now (e.g. before a data-key change); the next append starts a
   * new segment. A no-op when the tail holds no frame.
   */
  async sealCurrent(): Promise<void> {
    while (this.pumping || this.pending.length > 0) await this.idle();
    if (this.tail !== undefined && this.tail.offsets.length > 0) await this.sealTail();
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    const err = this.failedError();
    for (const p of this.pending) p.reject(err);
    for (const w of this.waiters) w.reject(err);
    this.pending = [];
    this.waiters = [];
  }

  private failedError(): SegmentStoreError {
    return new SegmentStoreError(
      'FAILED',
      `segment store failed and accepts nothing more: ${this.failure?.message}`,
      {
        cause: this.failure,
      },
    );
  }

  /**
   * Flushes and syncs everything appended, optionally seals the tail, and closes all files.
   * Appends after `close()` reject with `CLOSED`.
   */
  async close(options: { seal?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    while (this.pumping || this.pending.length > 0) await this.idle();
    try {
      if (this.failure === undefined) {
        if (options.seal === true) await this.sealCurrent();
        else if (this.mode !== 'none') await this.syncNow();
      }
    } finally {
      if (this.tail !== undefined) await this.tail.fh.close();
      this.tail = undefined;
      for (const fh of this.readHandles.values()) await fh.close();
      this.readHandles.clear();
      this.closed = true;
    }
    if (this.failure !== undefined) throw this.failedError();
  }

  /** Counters and the fsync latency distribution. */
  stats(): SegmentStoreStats {
    return {
      framesAppended: this.framesAppended,
      bytesWritten: this.bytesWritten,
      syncs: this.syncs,
      rotations: this.rotations,
      fsync: this.histogram.summary(),
      unsyncedBytes: this.tail === undefined ? 0 : this.tail.size - this.tail.durable,
    };
  }

  // ---- SegmentSource (reads) ----

  /** Segments of the log, oldest first; the tail (if any) last and unsealed. */
  async listSegments(): Promise<SegmentInfo[]> {
    const out = this.sealed.map((s) => s.info);
    const tail = this.tail;
    if (tail !== undefined) {
      out.push({
        number: tail.number,
        file: tail.path,
        size: tail.size,
        sealed: false,
        header: await this.headerOf(tail.path),
      });
    }
    return out;
  }

  /**
   * Reads the frame at `offset` of segment `segment` (a copy, owned by the caller).
   * @throws {SegmentStoreError} `NOT_FOUND` for an unknown segment or an offset past what was written;
   *   `CORRUPT_SEGMENT` when the frame's CRC fails.
   */
  async readFrame(segment: number, offset: number, bytesHint?: number): Promise<FrameRead> {
    const { fh, size } = await this.readHandle(segment);
    if (offset >= size) {
      throw new SegmentStoreError(
        'NOT_FOUND',
        `segment ${segment}: offset ${offset} is past its end (${size})`,
      );
    }
    return readFrameAt(fh, segmentPath(this.dir, segment), offset, size, bytesHint);
  }

  /**
   * Iterates the frames of one segment in file order, from the frame at `fromOffset` (a frame
   * offset, e.g. from {@link locate}; default: the first frame). Frames before it are not read.
   */
  async *iterateFrames(segment: number, fromOffset = 0): AsyncGenerator<FrameRead> {
    const index = await this.frameIndex(segment);
    const offsets = index.offsets;
    let lo = 0;
    let hi = offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (offsets[mid]! < fromOffset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < offsets.length; i++) {
      const next = offsets[i + 1];
      yield await this.readFrame(segment, offsets[i]!, next === undefined ? undefined : next - offsets[i]!);
    }
  }

  /**
   * Finds the frame with the greatest key ≤ `key` (e.g. the frame holding a leaf index).
   * @returns `undefined` when no frame has a key ≤ `key`.
   */
  async locate(key: number): Promise<FrameLocation | undefined> {
    const tail = this.tail;
    if (tail !== undefined && tail.keys.length > 0 && tail.keys[0]! <= key) {
      const i = upperBound(tail.keys, key) - 1;
      const offset = tail.offsets[i]!;
      const end = i + 1 < tail.offsets.length ? tail.offsets[i + 1]! : tail.size;
      return { segment: tail.number, offset, key: tail.keys[i]!, bytes: end - offset };
    }
    // Binary search the sealed segments by the first key in their headers.
    let lo = 0;
    let hi = this.sealed.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.sealed[mid]!.info.header.firstKey <= key) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const seg = this.sealed[found]!;
    const index = await this.frameIndex(seg.info.number);
    const i = upperBound(index.keys, key) - 1;
    if (i < 0) return undefined;
    const offset = index.offsets[i]!;
    return i + 1 < index.offsets.length
      ? { segment: seg.info.number, offset, key: index.keys[i]!, bytes: index.offsets[i + 1]! - offset }
      : { segment: seg.info.number, offset, key: index.keys[i]! };
  }

  private async frameIndex(
    segment: number,
  ): Promise<{ offsets: readonly number[]; keys: readonly number[] }> {
    const tail = this.tail;
    if (tail !== undefined && tail.number === segment)
      return { offsets: tail.offsets.slice(), keys: tail.keys.slice() };
    const seg = this.findSealed(segment);
    if (seg.footer === undefined) {
      const { fh, size } = await this.readHandle(segment);
      const footer = await readFooter(fh, seg.info.file, size);
      if (footer === undefined) {
        throw new SegmentStoreError('CORRUPT_SEGMENT', `${seg.info.file}: sealed segment lost its footer`, {
          file: seg.info.file,
        });
      }
      seg.footer = footer;
    }
    return seg.footer;
  }

  private findSealed(segment: number): SealedIndex {
    const first = this.sealed[0];
    const seg = first === undefined ? undefined : this.sealed[segment - first.info.number];
    if (seg === undefined || seg.info.number !== segment) {
      throw new SegmentStoreError('NOT_FOUND', `segment ${segment} does not exist in ${this.dir}`);
    }
    return seg;
  }

  private async readHandle(segment: number): Promise<{ fh: FileHandle; size: number }> {
    const tail = this.tail;
    const size =
      tail !== undefined && tail.number === segment ? tail.size : this.findSealed(segment).info.size;
    let fh = this.readHandles.get(segment);
    if (fh !== undefined) {
      // LRU: re-insert to mark as most recently used.
      this.readHandles.delete(segment);
      this.readHandles.set(segment, fh);
      return { fh, size };
    }
    fh = await open(segmentPath(this.dir, segment), 'r');
    this.readHandles.set(segment, fh);
    if (this.readHandles.size > this.readCacheSize) {
      const [oldest, handle] = this.readHandles.entries().next().value as [number, FileHandle];
      this.readHandles.delete(oldest);
      await handle.close();
    }
    return { fh, size };
  }

  /**
   * Deletes sealed segments whose frames all have keys < `beforeKey`, oldest first (retention).
   * Never deletes the tail or a segment after one it keeps, so the log stays contiguous.
   * @returns the numbers of the deleted segments.
   */
  async deleteSegmentsBefore(beforeKey: number): Promise<number[]> {
    const deleted: number[] = [];
    while (this.sealed.length > 0) {
      const next = this.sealed[1]?.info.header.firstKey ?? this.tail?.keys[0];
      // A sealed segment's keys all lie below the next segment's first key.
      if (next === undefined || next > beforeKey) break;
      const seg = this.sealed.shift()!;
      const fh = this.readHandles.get(seg.info.number);
      if (fh !== undefined) {
        this.readHandles.delete(seg.info.number);
        await fh.close();
      }
      rmSync(seg.info.file);
      deleted.push(seg.info.number);
    }
    if (deleted.length > 0) fsyncDir(this.dir);
    return deleted;
  }
}

function segmentPath(dir: string, segment: number): string {
  return join(dir, segmentFileName(segment));
}

/** Index of the first element > `key` in an ascending array. */
function upperBound(keys: readonly number[], key: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** writev until every byte is written (a short write is legal and retried at the new position). */
/**
 * Writes up to this many bytes with a synchronous `writev` on the calling thread (into the page
 * cache: tens of µs) rather than on the libuv pool: a pool round trip wakes two threads, and on
 * these VMs a thread wake-up costs tens of µs of CPU — at small frames more than the write.
 */
const SYNC_WRITE_MAX_BYTES = 256 * 1024;

function writevFullySync(fd: number, buffers: Uint8Array[], position: number): void {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = writevSync(fd, buffers, position);
  if (written < total) {
    // Rare (a short write): the remainder from one concatenated buffer.
    const all = Buffer.concat(buffers);
    while (written < total) written += writeSync(fd, all, written, total - written, position + written);
  }
}

async function writevFully(fh: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = (await fh.writev(buffers, position)).bytesWritten;
  while (written < total) {
    // Rare: fall back to one concatenated buffer for the remainder.
    const rest = Buffer.concat(buffers).subarray(written);
    written += (await fh.write(rest, 0, rest.length, position + written)).bytesWritten;
  }
}

/** fsync a directory so a created, renamed or deleted entry survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** {@link fsyncDir} without blocking the calling thread. */
async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Cuts a file to `length` bytes and makes the new length durable. */
function truncateDurably(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
