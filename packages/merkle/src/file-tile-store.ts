/**
 * A durable `TileStore` on a file system: one file per tile under a directory, at the tile's
 * C2SP tlog-tiles path (`<dir>/tile/<L>/<N>` for full tiles, `<dir>/tile/<L>/<N>.p/<W>` for
 * partial ones), so the directory can be served as static tiles as is.
 *
 * Every file is written as temp + fsync + rename + fsync(dir):
 * - temp + rename: a reader or a crash sees either no tile or the whole tile, never a torn one;
 * - fsync before rename: otherwise the rename may reach the disk before the data, and a crash
 *   leaves a complete-looking file full of zeros (ext4/xfs delayed allocation);
 * - fsync of the directory after rename: the rename is a directory change; without it the new
 *   name may vanish after a crash although the caller was told the write was durable.
 * Newly created directories are fsync'd into their parents for the same reason.
 *
 * Full tiles are immutable: an existing full tile is compared, never rewritten. A partial tile is
 * "replaced" by writing the wider `.p/<W>` file, then deleting the narrower ones; a crash in
 * between leaves an extra narrower file, which is harmless (its hashes are a prefix of the wider
 * one) and is removed by the next write of that tile. A full tile supersedes the `.p` directory.
 *
 * Without fsync (`fsync: false`, for a caller that can rebuild tiles after a crash: the ledger
 * trusts them up to its last signed checkpoint and replays the rest), files are written with
 * blocking system calls by default (`blockingWrites`): they only reach the page cache, and each
 * call through the libuv pool costs the calling thread a hand-off to another thread that is
 * dearer than the call itself (a full tile took five such round trips).
 *
 * Not here: caching (the OS page cache serves repeated reads; `TiledTree` keeps hot tiles),
 * locking (one writer per directory; the ledger owns that).
 *
 * Buffers: `readTile` returns a fresh buffer; written `data` is not retained.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  open as openWithCallback,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MerkleError } from './errors';
import { TILE_WIDTH, tilePath } from './tile-path';
import { checkTileWrite, fullTileConflict, sameBytes, type TileStore, type TileWrite } from './tile-store';
import { HASH_BYTES } from './validate';

/** Options fixed for the life of a file tile store. */
export interface FileTileStoreOptions {
  /**
   * fsync each tile file and its directory (default `true`). `false` keeps atomic renames but not
   * durability across power loss: for a caller that can rebuild or re-verify tiles after a crash
   * (the ledger checks them against its last signed checkpoint), tests and benchmarks.
   */
  readonly fsync?: boolean;
  /**
   * Write with blocking system calls instead of the libuv pool (default: `true` when `fsync` is
   * `false`, else `false`; with fsync, a blocking call would stall the thread for the disk).
   */
  readonly blockingWrites?: boolean;
}

const WIDTH_NAME = /^[0-9]{1,3}$/;
/** Name prefix of the spare temp files of blocking writes, in `<directory>/tile/`. */
const SPARE_PREFIX = '.tmp-spare-';

function discardSpare(spare: { readonly path: string; readonly fd: number }): void {
  try {
    closeSync(spare.fd);
    unlinkSync(spare.path);
  } catch {
    // Best effort: a leftover spare is swept by the next writer.
  }
}

function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}

function storeFailure(action: string, path: string, e: unknown): MerkleError {
  if (e instanceof MerkleError) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new MerkleError('STORE_FAILED', `tile store: ${action} ${path} failed: ${reason}`, { cause: e });
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw storeFailure('reading', path, e);
  }
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `TileStore` backed by one file per tile under `directory`.
 *
 * @example
 * ```ts
 * const store = new FileTileStore(join(logDir, 'tree'));
 * const tree = await TiledTree.open(store, checkpointSize);
 * ```
 */
export class FileTileStore implements TileStore {
  /** Root directory; tiles live under `<directory>/tile/`. */
  readonly directory: string;
  readonly #fsync: boolean;
  readonly #blocking: boolean;
  // Directories known to exist (and be durable), so mkdir + fsync happen once per directory.
  readonly #knownDirs: Set<string>;
  #tempCounter: number;
  /**
   * Blocking writes: a temp file created ahead on the libuv pool for the next tile. Creating a
   * file blocks on the filesystem while another thread's fdatasync is in flight (~0.5 ms a tile
   * under the ledger's group commit); writing and renaming an open file mostly does not.
   */
  #spare: { readonly path: string; readonly fd: number } | undefined;
  #spareOpening = false;
  #closed = false;
  #sparesSwept = false;

  /**
   * @param directory - root directory; created on first write.
   * @param options - `fsync` policy, fixed for the store's life.
   */
  constructor(directory: string, options: FileTileStoreOptions = {}) {
    this.directory = directory;
    this.#fsync = options.fsync ?? true;
    this.#blocking = options.blockingWrites ?? !this.#fsync;
    this.#knownDirs = new Set();
    this.#tempCounter = 0;
  }

  /** Absolute file path of a tile (`width` 256 = full). */
  pathOf(level: number, index: number, width: number = TILE_WIDTH): string {
    return join(this.directory, ...tilePath(level, index, width).split('/'));
  }

  /** See `TileStore.readTile`; also checks the file's length against its width. */
  async readTile(level: number, index: number, minWidth: number): Promise<Uint8Array | undefined> {
    const fullPath = this.pathOf(level, index);
    if (minWidth < TILE_WIDTH) {
      const exactPath = `${fullPath}.p/${minWidth}`;
      const exact = await readIfExists(exactPath);
      if (exact !== undefined) return checkLength(exact, minWidth, exactPath);
    }
    const full = await readIfExists(fullPath);
    if (full !== undefined) return checkLength(full, TILE_WIDTH, fullPath);
    if (minWidth === TILE_WIDTH) return undefined;
    // No exact or full tile: an older or newer partial may still hold the prefix we need.
    let names: string[];
    try {
      names = await readdir(`${fullPath}.p`);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw storeFailure('listing', `${fullPath}.p`, e);
    }
    let best = 0;
    for (const name of names) {
      if (!WIDTH_NAME.test(name)) continue;
      const w = Number(name);
      if (w >= minWidth && w < TILE_WIDTH && (best === 0 || w < best)) best = w;
    }
    if (best === 0) return undefined;
    const path = `${fullPath}.p/${best}`;
    const tile = await readIfExists(path);
    return tile === undefined ? undefined : checkLength(tile, best, path);
  }

  /** See `TileStore.writeTiles`. Tiles are written concurrently; resolves when all are durable. */
  async writeTiles(tiles: readonly TileWrite[]): Promise<void> {
    for (const tile of tiles) checkTileWrite(tile);
    if (this.#blocking) {
      for (const tile of tiles) this.#writeTileBlocking(tile);
      return;
    }
    const pending: Promise<void>[] = [];
    for (const tile of tiles) pending.push(this.#writeTile(tile));
    const results = await Promise.allSettled(pending);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  async #writeTile(tile: TileWrite): Promise<void> {
    const fullPath = this.pathOf(tile.level, tile.index);
    // A synchronous stat first: nearly every write is of a tile that does not exist yet, and a
    // rejected async open costs the calling thread an Error (~100 µs measured) where this costs ~5.
    const existing = existsSync(fullPath) ? await readIfExists(fullPath) : undefined;
    if (existing !== undefined) {
      // Full tiles are immutable: an identical (or prefix) write is a no-op, anything else a fork.
      if (sameBytes(existing.subarray(0, tile.data.length), tile.data)) return;
      throw fullTileConflict(tile);
    }
    if (tile.width === TILE_WIDTH) {
      await this.#writeAtomically(fullPath, tile.data);
      // The full tile is durable; partial versions are now redundant.
      try {
        if (this.#knownDirs.has(`${fullPath}.p`) || existsSync(`${fullPath}.p`)) {
          await rm(`${fullPath}.p`, { recursive: true, force: true });
        }
      } catch (e) {
        throw storeFailure('removing', `${fullPath}.p`, e);
      }
      this.#knownDirs.delete(`${fullPath}.p`);
      return;
    }
    const partialDir = `${fullPath}.p`;
    const name = String(tile.width);
    await this.#writeAtomically(join(partialDir, name), tile.data);
    // Narrower (stale) partials go after the wider one is durable, so a crash never leaves none.
    let names: string[];
    try {
      names = await readdir(partialDir);
    } catch (e) {
      throw storeFailure('listing', partialDir, e);
    }
    for (const other of names) {
      if (other === name || !WIDTH_NAME.test(other)) continue;
      try {
        await unlink(join(partialDir, other));
      } catch (e) {
        if (!isNotFound(e)) throw storeFailure('removing', join(partialDir, other), e);
      }
    }
  }

  async #writeAtomically(path: string, data: Uint8Array): Promise<void> {
    const dir = dirname(path);
    await this.#ensureDirectory(dir);
    this.#tempCounter++;
    const temp = join(dir, `.tmp-${basename(path)}-${process.pid}-${this.#tempCounter}`);
    try {
      const handle = await open(temp, 'w', 0o644);
      try {
        await handle.writeFile(data);
        // fdatasync: data and the file length, which is all a reader of this file needs.
        if (this.#fsync) await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      if (this.#fsync) await fsyncDirectory(dir);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw storeFailure('writing', path, e);
    }
  }

  /** {@link FileTileStore.#writeTile} with blocking calls (never fsyncs: see `blockingWrites`). */
  #writeTileBlocking(tile: TileWrite): void {
    const fullPath = this.pathOf(tile.level, tile.index);
    if (existsSync(fullPath)) {
      let existing: Buffer | undefined;
      try {
        existing = readFileSync(fullPath);
      } catch (e) {
        if (!isNotFound(e)) throw storeFailure('reading', fullPath, e);
      }
      if (existing !== undefined) {
        if (sameBytes(existing.subarray(0, tile.data.length), tile.data)) return;
        throw fullTileConflict(tile);
      }
    }
    const partialDir = `${fullPath}.p`;
    if (tile.width === TILE_WIDTH) {
      this.#writeAtomicallyBlocking(fullPath, tile.data);
      try {
        if (this.#knownDirs.has(partialDir) || existsSync(partialDir)) {
          rmSync(partialDir, { recursive: true, force: true });
        }
      } catch (e) {
        throw storeFailure('removing', partialDir, e);
      }
      this.#knownDirs.delete(partialDir);
      return;
    }
    const name = String(tile.width);
    this.#writeAtomicallyBlocking(join(partialDir, name), tile.data);
    let names: string[];
    try {
      names = readdirSync(partialDir);
    } catch (e) {
      throw storeFailure('listing', partialDir, e);
    }
    for (const other of names) {
      if (other === name || !WIDTH_NAME.test(other)) continue;
      try {
        unlinkSync(join(partialDir, other));
      } catch (e) {
        if (!isNotFound(e)) throw storeFailure('removing', join(partialDir, other), e);
      }
    }
  }

  #writeAtomicallyBlocking(path: string, data: Uint8Array): void {
    const dir = dirname(path);
    if (!this.#knownDirs.has(dir)) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw storeFailure('creating', dir, e);
      }
      this.#knownDirs.add(dir);
    }
    const spare = this.#spare;
    if (spare !== undefined) {
      this.#spare = undefined;
      try {
        for (let at = 0; at < data.length; ) at += writeSync(spare.fd, data, at, data.length - at);
        closeSync(spare.fd);
        renameSync(spare.path, path);
      } catch (e) {
        try {
          closeSync(spare.fd);
        } catch {
          // Closed already.
        }
        try {
          unlinkSync(spare.path);
        } catch {
          // Gone already.
        }
        throw storeFailure('writing', path, e);
      }
      this.#openSpare();
      return;
    }
    this.#tempCounter++;
    const temp = join(dir, `.tmp-${basename(path)}-${process.pid}-${this.#tempCounter}`);
    try {
      writeFileSync(temp, data, { mode: 0o644 });
      renameSync(temp, path);
    } catch (e) {
      try {
        unlinkSync(temp);
      } catch {
        // Not created, or already gone: nothing to clean up.
      }
      throw storeFailure('writing', path, e);
    }
    this.#openSpare();
  }

  /** Starts creating the next spare temp file on the libuv pool (see `#spare`). */
  #openSpare(): void {
    if (this.#spare !== undefined || this.#spareOpening || this.#closed) return;
    const root = join(this.directory, 'tile');
    if (!this.#sparesSwept) {
      // Spares a crashed writer left behind (one writer per directory: none are in use).
      this.#sparesSwept = true;
      try {
        for (const name of readdirSync(root)) if (name.startsWith(SPARE_PREFIX)) unlinkSync(join(root, name));
      } catch {
        // Nothing to sweep, or not now: a leftover spare is only a small file.
      }
    }
    this.#spareOpening = true;
    this.#tempCounter++;
    const path = join(root, `${SPARE_PREFIX}${process.pid}-${this.#tempCounter}`);
    openWithCallback(path, 'w', 0o644, (error, fd) => {
      this.#spareOpening = false;
      if (error !== null) return; // The next write creates its temp file itself.
      if (this.#closed) {
        discardSpare({ path, fd });
        return;
      }
      this.#spare = { path, fd };
    });
  }

  /** Deletes the spare temp file of blocking writes, if any; later writes create their own. */
  close(): void {
    this.#closed = true;
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare !== undefined) discardSpare(spare);
  }

  async #ensureDirectory(dir: string): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    let first: string | undefined;
    try {
      first = await mkdir(dir, { recursive: true });
      if (first !== undefined && this.#fsync) {
        // Each new directory's name lives in its parent: fsync parents up to the first one made.
        for (let d = dir; ; d = dirname(d)) {
          await fsyncDirectory(dirname(d));
          if (d === first || dirname(d) === d) break;
        }
      }
    } catch (e) {
      throw storeFailure('creating', dir, e);
    }
    this.#knownDirs.add(dir);
  }
}

function checkLength(data: Uint8Array, width: number, path: string): Uint8Array {
  if (data.length !== width * HASH_BYTES) {
    throw new MerkleError(
      'TILE_CORRUPT',
      `${path}: expected ${width * HASH_BYTES} bytes (${width} hashes), got ${data.length}`,
    );
  }
  return data;
}
