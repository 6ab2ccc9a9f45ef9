/**
 * Where a `TiledTree` keeps its tree hashes: the `TileStore` interface (C2SP tlog-tiles layout, see
 * `tile-path.ts`) and an in-memory implementation for tests, benchmarks and caches.
 *
 * Contract of a store:
 * - A tile is identified by (level, index) and holds `width` consecutive 32-byte hashes,
 *   1 ≤ width ≤ 256. Hashes never change once written: a wider tile always extends a narrower one.
 * - Full tiles (width 256) are immutable: a write whose bytes are not a prefix of an existing full
 *   tile is refused (`TILE_CORRUPT`: it would mean two different trees, i.e. a fork); a matching
 *   one is a no-op.
 * - A partial tile is replaced by a later, wider write of the same tile (last write wins).
 * - `readTile` may answer with a wider tile than asked for; callers use its prefix.
 *
 * Not here: the file-system store (`file-tile-store.ts`), computing hashes (`tiled-tree.ts`).
 *
 * Buffers: a store may keep the `data` it is given (writers never modify those bytes afterwards);
 * buffers returned by `readTile` must be treated as read-only by callers.
 */
import { MerkleError } from './errors';
import { MAX_TILE_LEVEL, TILE_WIDTH, tilePath } from './tile-path';
import { HASH_BYTES } from './validate';

/** One tile to persist. */
export interface TileWrite {
  /** Tile level L, 0 ≤ L ≤ 7 (tree level 8·L). */
  readonly level: number;
  /** Tile index N within the level. */
  readonly index: number;
  /** Hashes in the tile, 1 ≤ width ≤ 256 (256 = full, immutable). */
  readonly width: number;
  /** `width · 32` bytes: the hashes, in index order. Never modified after the write is issued. */
  readonly data: Uint8Array;
}

/** Storage of C2SP tlog-tiles hash tiles; see the file comment for the contract. */
export interface TileStore {
  /**
   * Reads a tile holding at least `minWidth` hashes.
   *
   * @param level - tile level, 0 ≤ level ≤ 7.
   * @param index - tile index, ≥ 0.
   * @param minWidth - hashes needed from the start of the tile, 1 ≤ minWidth ≤ 256.
   * @returns the tile's bytes (`width · 32`, width ≥ minWidth; read-only), or `undefined` when the
   *   store has no such tile or only a narrower one.
   */
  readTile(level: number, index: number, minWidth: number): Promise<Uint8Array | undefined>;
  /**
   * Persists tiles; resolves once all are stored (durably, for a durable store). Callers do not
   * issue overlapping calls for the same tile.
   *
   * @throws {MerkleError} `TILE_CORRUPT` if a full tile exists with different bytes.
   */
  writeTiles(tiles: readonly TileWrite[]): Promise<void>;
}

/** Throws unless `tile` is internally consistent (width range, data length). */
export function checkTileWrite(tile: TileWrite): void {
  const { level, index, width, data } = tile;
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new MerkleError('OUT_OF_RANGE', `tile.level: expected 0 ≤ level ≤ ${MAX_TILE_LEVEL}, got ${level}`);
  }
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new MerkleError('INVALID_INTEGER', `tile.index: expected an integer ≥ 0, got ${index}`);
  }
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new MerkleError('OUT_OF_RANGE', `tile.width: expected 1 ≤ width ≤ ${TILE_WIDTH}, got ${width}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * HASH_BYTES) {
    throw new MerkleError(
      'TILE_CORRUPT',
      `${tilePath(level, index, width)}: expected ${width * HASH_BYTES} bytes, got ${data instanceof Uint8Array ? data.length : typeof data}`,
    );
  }
}

/** The error for a write that disagrees with an existing full tile. */
export function fullTileConflict(tile: TileWrite): MerkleError {
  return new MerkleError(
    'TILE_CORRUPT',
    `${tilePath(tile.level, tile.index)}: full tile exists with different bytes (width ${tile.width} write refused)`,
  );
}

/** Byte equality (tiles are public data; no constant-time need). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A `TileStore` in a `Map` per level. Keeps the written buffers themselves (no copy); reads return
 * them. Not durable: for tests, benchmarks, and as a reference for other stores.
 *
 * @example
 * ```ts
 * const tree = await TiledTree.open(new MemoryTileStore());
 * ```
 */
export class MemoryTileStore implements TileStore {
  readonly #levels: Map<number, Uint8Array>[];

  /** Creates an empty store. */
  constructor() {
    this.#levels = [];
    for (let l = 0; l <= MAX_TILE_LEVEL; l++) this.#levels.push(new Map());
  }

  /** Number of tiles held (full and partial). */
  get tileCount(): number {
    let n = 0;
    for (const m of this.#levels) n += m.size;
    return n;
  }

  /** See `TileStore.readTile`. */
  readTile(level: number, index: number, minWidth: number): Promise<Uint8Array | undefined> {
    const tile = this.#levels[level]?.get(index);
    if (tile === undefined || tile.length < minWidth * HASH_BYTES) return Promise.resolve(undefined);
    return Promise.resolve(tile);
  }

  /** See `TileStore.writeTiles`. */
  writeTiles(tiles: readonly TileWrite[]): Promise<void> {
    try {
      for (const tile of tiles) checkTileWrite(tile);
      for (const tile of tiles) {
        const level = this.#levels[tile.level]!;
        const existing = level.get(tile.index);
        if (existing !== undefined && existing.length === TILE_WIDTH * HASH_BYTES) {
          // A full tile never changes; re-writing its prefix (a tree reopened at a smaller size
          // re-appending the same leaves) is a no-op, anything else is a fork.
          if (sameBytes(existing.subarray(0, tile.data.length), tile.data)) continue;
          throw fullTileConflict(tile);
        }
        level.set(tile.index, tile.data);
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
