/**
 * The idempotency window on disk, written incrementally: each state snapshot appends only the
 * entries added since the previous one, instead of rewriting the whole window (up to a million
 * entries, ~56 MB, every snapshot: its writing and fdatasyncs slowed the group commit's own
 * fdatasync for seconds at a time).
 *
 * Entries are numbered in the order they joined the window (`IdempotencyWindow.firstSequence`);
 * entry `s` lives in file `window-<k>.bin` with `k = floor(s / entriesPerFile)`, at index
 * `s - k * entriesPerFile` of three columns at fixed offsets — fingerprints (16 bytes), leaf
 * indexes (f64 LE), leaf hashes (32 bytes) — after a 64-byte header (docs/FORMAT.md, "Idempotency
 * window files"). A file is written in place as entries arrive (sparse until full) and deleted
 * once every entry in it has left the window. The state snapshot names the range that is valid —
 * `[first, end)` under a salt — and is renamed into place only after the files hold that range
 * durably; bytes past `end` (a snapshot that crashed before its rename) are never read and are
 * overwritten by the next one.
 */
import { closeSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '@sealog/crypto-envelope';
import { HASH_BYTES } from '@sealog/merkle';
import type { IdempotencyWindow } from './idempotency-window';
import { FINGERPRINT_BYTES, SALT_BYTES } from './key-fingerprint';
import type { FingerprintColumns } from './state-snapshot';

/** Entries per file unless configured otherwise (2^16: 3.5 MiB per full file). */
export const WINDOW_FILE_ENTRIES: number = 1 << 16;
/** Bytes of the header before the columns. */
export const WINDOW_HEADER_BYTES = 64;
/** Version of the file layout (in each header). */
export const WINDOW_FILE_VERSION = 1;
const MAGIC = Buffer.from('SLWINDOW', 'latin1');
const ENTRY_BYTES = FINGERPRINT_BYTES + 8 + HASH_BYTES;
/** Written bytes between two fdatasyncs (a large dirty burst holds up the group commit's fdatasync). */
const SYNC_EVERY_BYTES = 1 << 20;
/** Entries per write call (per column). */
const WRITE_ENTRIES = 8192;
const FILE_PATTERN = /^window-(\d{10})\.bin$/;

/** What a state snapshot records of the window: entries `first … end - 1` are in the files. */
export interface WindowRef {
  /** Salt of the fingerprints (also in every file header). */
  readonly salt: Uint8Array;
  readonly first: number;
  readonly end: number;
  readonly entriesPerFile: number;
}

/** Name of the file holding file number `k`. */
export function windowFileName(k: number): string {
  return `window-${k.toString().padStart(10, '0')}.bin`;
}

/** The 64-byte header of file `k`. */
function header(k: number, entriesPerFile: number, salt: Uint8Array): Buffer {
  const h = Buffer.alloc(WINDOW_HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(WINDOW_FILE_VERSION, 8);
  h.writeUInt32LE(entriesPerFile, 12);
  h.writeBigUInt64LE(BigInt(k * entriesPerFile), 16);
  h.set(salt, 24);
  return h;
}

/** Byte offsets of the three columns of a file of `entriesPerFile` entries. */
function columnOffsets(entriesPerFile: number): [number, number, number] {
  return [
    WINDOW_HEADER_BYTES,
    WINDOW_HEADER_BYTES + FINGERPRINT_BYTES * entriesPerFile,
    WINDOW_HEADER_BYTES + (FINGERPRINT_BYTES + 8) * entriesPerFile,
  ];
}

/** Reads exactly `length` bytes at `position` into `into[at …]`, or throws. */
function readExactly(
  fd: number,
  into: Uint8Array,
  at: number,
  length: number,
  position: number,
  what: string,
): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, at + done, length - done, position + done);
    if (n === 0) throw new Error(`${what}: file ends ${length - done} bytes early`);
    done += n;
  }
}

/**
 * Reads the entries `ref` names (oldest first), checking every file's header.
 * @throws Error naming the file when one is missing, short, or not of this window.
 */
export function readWindowFiles(dir: string, ref: WindowRef): FingerprintColumns {
  const { first, end, entriesPerFile: per, salt } = ref;
  const n = end - first;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(end) || first < 0 || n < 0 || !(per >= 1)) {
    throw new Error(`state snapshot: window range ${first}…${end} (${per} per file) is not valid`);
  }
  const fingerprints = new Uint8Array(n * FINGERPRINT_BYTES);
  const indexBytes = new Uint8Array(n * 8);
  const hashes = new Uint8Array(n * HASH_BYTES);
  const offsets = columnOffsets(per);
  for (let s = first; s < end; ) {
    const k = Math.floor(s / per);
    const from = s - k * per;
    const count = Math.min(end, (k + 1) * per) - s;
    const name = windowFileName(k);
    const what = `state snapshot: ${name}`;
    let fd: number;
    try {
      fd = openSync(join(dir, name), 'r');
    } catch (error) {
      throw new Error(
        `${what}: ${(error as Error).message} (the snapshot names entries ${first}…${end - 1})`,
      );
    }
    try {
      const h = Buffer.alloc(WINDOW_HEADER_BYTES);
      readExactly(fd, h, 0, WINDOW_HEADER_BYTES, 0, what);
      const expected = header(k, per, salt);
      if (!h.subarray(0, 24 + SALT_BYTES).equals(expected.subarray(0, 24 + SALT_BYTES))) {
        throw new Error(
          `${what}: header is not that of file ${k} of this window (magic, version, size or salt)`,
        );
      }
      const at = s - first;
      readExactly(
        fd,
        fingerprints,
        at * FINGERPRINT_BYTES,
        count * FINGERPRINT_BYTES,
        offsets[0] + from * FINGERPRINT_BYTES,
        what,
      );
      readExactly(fd, indexBytes, at * 8, count * 8, offsets[1] + from * 8, what);
      readExactly(fd, hashes, at * HASH_BYTES, count * HASH_BYTES, offsets[2] + from * HASH_BYTES, what);
    } finally {
      closeSync(fd);
    }
    s += count;
  }
  return {
    salt: new Uint8Array(salt),
    fingerprints,
    leafIndexes: new Float64Array(indexBytes.buffer),
    hashes,
  };
}

/**
 * Writes a window's entries into its files, incrementally (see module doc). One per log; the
 * writer's snapshots call {@link WindowJournal.write} then, once the snapshot naming the returned
 * range is in place, {@link WindowJournal.prune}.
 */
export class WindowJournal {
  readonly dir: string;
  readonly salt: Uint8Array;
  readonly entriesPerFile: number;
  /** Entries from the current range's first up to this one are durably in the files. */
  private end: number;
  /** Files whose bytes this journal may keep (the rest are created afresh when first written). */
  private readonly valid = new Set<number>();
  /** A file was created since the directory was last fsync'd (kept across a write that failed). */
  private dirUnsynced = false;

  /**
   * @param committed - the range the current snapshot names (the files then hold it); `undefined`
   *   for a window with nothing on disk yet. Files outside it are deleted.
   */
  constructor(
    dir: string,
    salt: Uint8Array,
    committed: WindowRef | undefined,
    entriesPerFile: number = committed?.entriesPerFile ?? WINDOW_FILE_ENTRIES,
  ) {
    this.dir = dir;
    this.salt = salt;
    this.entriesPerFile = entriesPerFile;
    this.end = committed?.end ?? 0;
    if (committed !== undefined && committed.end > committed.first) {
      const per = committed.entriesPerFile;
      for (let k = Math.floor(committed.first / per); k * per < committed.end; k++) this.valid.add(k);
    }
    for (const name of readdirSync(dir)) {
      const m = FILE_PATTERN.exec(name);
      if (m !== null && !this.valid.has(Number(m[1]))) unlinkSync(join(dir, name));
    }
  }

  /**
   * Writes the entries `window` holds in `[first, end)` that the files do not hold yet, flushed
   * (fdatasync) before it returns.
   *
   * @param first - the window's {@link IdempotencyWindow.firstSequence} when the snapshot started.
   * @param end - its {@link IdempotencyWindow.endSequence} then (entries added later are not written).
   * @param pause - awaited between writes (the writer's thread yields to its appends).
   * @returns the range now in the files for a snapshot to name: `[first, end)`, or later than `first`
   *   when entries left the window before they were written.
   */
  async write(
    window: IdempotencyWindow,
    first: number,
    end: number,
    pause: () => Promise<void> = async () => {},
  ): Promise<WindowRef> {
    if (!(first <= end && end <= window.endSequence)) {
      throw new RangeError(
        `window journal: range ${first}…${end} is not within the window's ${window.firstSequence}…${window.endSequence}`,
      );
    }
    let start = first;
    let seq = Math.max(first, this.end);
    const per = this.entriesPerFile;
    const offsets = columnOffsets(per);
    let handle: FileHandle | undefined;
    let handleFile = -1;
    let dirty = 0;
    const pending: Promise<unknown>[] = [];
    try {
      while (seq < end) {
        if (seq < window.firstSequence) {
          // Entries forgotten before they were written (a window smaller than what arrives between
          // two snapshots): the range starts after them.
          seq = Math.min(end, window.firstSequence);
          start = seq;
          continue;
        }
        const k = Math.floor(seq / per);
        if (k !== handleFile) {
          if (handle !== undefined) {
            await handle.datasync();
            await handle.close();
            handle = undefined;
          }
          dirty = 0;
          if (this.valid.has(k)) {
            handle = await open(join(this.dir, windowFileName(k)), 'r+');
          } else {
            handle = await open(join(this.dir, windowFileName(k)), 'w', 0o600);
            await handle.write(header(k, per, this.salt), 0, WINDOW_HEADER_BYTES, 0);
            this.valid.add(k);
            this.dirUnsynced = true;
          }
          handleFile = k;
        }
        const from = seq - k * per;
        const max = Math.min(end - seq, (k + 1) * per - seq, WRITE_ENTRIES);
        const h = handle!;
        // Written straight from the window's arrays: the writes are started synchronously here,
        // and a slot is only reused by an entry that pushes this one out of the window (then the
        // range starts after it: checked below once the writes are done).
        const count = window.visitRun(seq, max, (fps, idx, hashes, at, n) => {
          pending.push(
            h.write(
              new Uint8Array(fps.buffer, fps.byteOffset + at * FINGERPRINT_BYTES, n * FINGERPRINT_BYTES),
              0,
              n * FINGERPRINT_BYTES,
              offsets[0] + from * FINGERPRINT_BYTES,
            ),
            h.write(
              new Uint8Array(idx.buffer, idx.byteOffset + at * 8, n * 8),
              0,
              n * 8,
              offsets[1] + from * 8,
            ),
            h.write(
              hashes.subarray(at * HASH_BYTES, (at + n) * HASH_BYTES),
              0,
              n * HASH_BYTES,
              offsets[2] + from * HASH_BYTES,
            ),
          );
        });
        await Promise.all(pending.splice(0));
        if (window.firstSequence > seq) {
          // Some of these slots may have been reused while being written.
          continue;
        }
        seq += count;
        dirty += count * ENTRY_BYTES;
        if (dirty >= SYNC_EVERY_BYTES) {
          await h.datasync();
          dirty = 0;
        }
        await pause();
      }
      if (handle !== undefined) await handle.datasync();
      this.end = Math.max(this.end, seq);
    } finally {
      await Promise.allSettled(pending);
      await handle?.close();
    }
    if (this.dirUnsynced) {
      await syncDirectory(this.dir);
      this.dirUnsynced = false;
    }
    return { salt: this.salt, first: Math.min(start, end), end, entriesPerFile: per };
  }

  /** Deletes the files whose entries are all below `first` (call once a snapshot naming `first …` is in place). */
  async prune(first: number): Promise<void> {
    const per = this.entriesPerFile;
    for (const k of [...this.valid]) {
      if ((k + 1) * per <= first) {
        this.valid.delete(k);
        await unlink(join(this.dir, windowFileName(k))).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
    }
  }
}
