/**
 * Read-only access to a log's tiles (`<log>/tiles/tile/<L>/<N>[.p/<W>]`, C2SP tlog-tiles, height
 * 8) for a verifier walking leaves in order: level-0 tiles give the leaf hashes without any key;
 * higher tiles are compared with the interior nodes the verifier recomputes. Synchronous reads,
 * one cached tile per level, so memory stays constant and the frame loop stays synchronous.
 *
 * Not here: writing or repairing tiles (`@sealog/merkle` owns that), deciding what a mismatch
 * means (the caller reports it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HASH_WORDS, hashNodeWords, TILE_HEIGHT, TILE_WIDTH, tilePath, wordsFromBytes } from '@sealog/merkle';

/** Bytes of one hash in a tile. */
const HASH_BYTES = 32;

/** A tile as read from disk. */
export interface TileRead {
  /** Path of the file read. */
  readonly path: string;
  /** The hashes, `width × 32` bytes. */
  readonly bytes: Uint8Array;
  /** Hashes in the tile. */
  readonly width: number;
}

/** See module doc. */
export class TileReader {
  /** The `tiles` directory of the log. */
  readonly dir: string;
  private readonly cached: (TileRead & { index: number })[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Path a full tile would have (for findings). */
  pathOf(level: number, index: number, width: number = TILE_WIDTH): string {
    return join(this.dir, ...tilePath(level, index, width).split('/'));
  }

  /**
   * The tile `(level, index)` holding at least `minWidth` hashes: the full tile, the exact partial,
   * or the widest partial; `undefined` when none is stored.
   */
  read(level: number, index: number, minWidth: number): TileRead | undefined {
    const c = this.cached[level];
    if (c !== undefined && c.index === index && c.width >= minWidth) return c;
    const full = this.pathOf(level, index);
    let found = readIfExists(full, TILE_WIDTH);
    if (found === undefined && minWidth < TILE_WIDTH) {
      let names: string[] = [];
      try {
        names = readdirSync(`${full}.p`);
      } catch {
        names = [];
      }
      let best = 0;
      for (const name of names) {
        const w = /^[0-9]{1,3}$/.test(name) ? Number(name) : 0;
        if (w >= minWidth && w < TILE_WIDTH && w > best) best = w;
      }
      if (best > 0) found = readIfExists(`${full}.p/${best}`, best);
    }
    if (found === undefined) return undefined;
    this.cached[level] = { ...found, index };
    return found;
  }

  /**
   * Copies the leaf hashes `[first, first + count)` into `out` (32 bytes each).
   * @returns `undefined` on success, else the leaf index whose tile is missing.
   */
  leafHashes(first: number, count: number, out: Uint8Array): { leaf: number; path: string } | undefined {
    let i = 0;
    while (i < count) {
      const leaf = first + i;
      const index = Math.floor(leaf / TILE_WIDTH);
      const at = leaf - index * TILE_WIDTH;
      const take = Math.min(count - i, TILE_WIDTH - at);
      const tile = this.read(0, index, at + take);
      if (tile === undefined) return { leaf, path: this.pathOf(0, index) };
      out.set(tile.bytes.subarray(at * HASH_BYTES, (at + take) * HASH_BYTES), i * HASH_BYTES);
      i += take;
    }
    return undefined;
  }

  /**
   * The stored hash of tree node `(level, index)` when `level` is a tile level boundary (8, 16, …):
   * `undefined` if the level is not stored in tiles, `null` if its tile is missing.
   */
  nodeHash(level: number, index: number): { hash: Uint8Array; path: string } | null | undefined {
    if (level % TILE_HEIGHT !== 0) return undefined;
    const tileLevel = level / TILE_HEIGHT;
    const tileIndex = Math.floor(index / TILE_WIDTH);
    const at = index - tileIndex * TILE_WIDTH;
    const tile = this.read(tileLevel, tileIndex, at + 1);
    if (tile === undefined) return null;
    return { hash: tile.bytes.subarray(at * HASH_BYTES, (at + 1) * HASH_BYTES), path: tile.path };
  }
}

/**
 * The hash of tree node `(level, index)` from the tiles alone, as words in `out[o … o + 8)`: read
 * where a tile level stores it, else hashed from its children (RFC 9162). For parts of the tree
 * whose leaves are no longer in the data (trimmed segments): nothing here proves the tiles right;
 * a signed root computed from them does.
 * @returns `undefined`, or the path of the first tile that is missing.
 */
export function nodeFromTiles(
  tiles: TileReader,
  level: number,
  index: number,
  out: Int32Array,
  o: number,
): { path: string } | undefined {
  if (level % TILE_HEIGHT === 0) {
    const tileLevel = level / TILE_HEIGHT;
    const tileIndex = Math.floor(index / TILE_WIDTH);
    const at = index - tileIndex * TILE_WIDTH;
    const tile = tiles.read(tileLevel, tileIndex, at + 1);
    if (tile !== undefined) {
      wordsFromBytes(tile.bytes, at * HASH_BYTES, out, o, 1);
      return undefined;
    }
    if (level === 0) return { path: tiles.pathOf(0, tileIndex) };
  }
  const pair = new Int32Array(2 * HASH_WORDS);
  const missing =
    nodeFromTiles(tiles, level - 1, 2 * index, pair, 0) ??
    nodeFromTiles(tiles, level - 1, 2 * index + 1, pair, HASH_WORDS);
  if (missing !== undefined) return missing;
  hashNodeWords(pair, 0, out, o);
  return undefined;
}

function readIfExists(path: string, width: number): TileRead | undefined {
  try {
    const buf = readFileSync(path);
    if (buf.length === width * HASH_BYTES) {
      return { path, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.length), width };
    }
    // A tile of the wrong length is zero-padded or cut: the hash comparisons then report it.
    const bytes = new Uint8Array(width * HASH_BYTES);
    bytes.set(buf.subarray(0, bytes.length));
    return { path, bytes, width };
  } catch {
    return undefined;
  }
}
