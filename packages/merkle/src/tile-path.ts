/**
 * C2SP tlog-tiles naming (https://c2sp.org/tlog-tiles): tree hashes are grouped in tiles of height
 * 8, i.e. up to 256 hashes of one tree level `8·L` per tile; tile `N` of tile level `L` holds the
 * hashes of nodes `(8·L, 256·N … 256·N + W − 1)`. A tile with fewer than 256 hashes is partial and
 * its path carries its width: `tile/<L>/<N>.p/<W>`. `<N>` is written in 3-digit groups, all but the
 * last prefixed with `x` (1234067 → `x001/x234/067`).
 *
 * Not here: reading or writing tiles (`tile-store.ts`, `file-tile-store.ts`), entry bundles
 * (`tile/entries/…`; this package stores no leaf data).
 */
import { MerkleError } from './errors';
import { assertCount } from './validate';

/** Tree levels per tile (C2SP tlog-tiles fixes 8). */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile: 2^TILE_HEIGHT = 256. */
export const TILE_WIDTH = 256;
/** Highest tile level: tree levels ≤ 63 fit in tile levels 0 … 7. */
export const MAX_TILE_LEVEL = 7;

/**
 * Encodes a tile index as C2SP path elements: 3-digit groups, all but the last prefixed with `x`.
 *
 * @param index - tile index, 0 ≤ index ≤ 2^53 − 1.
 * @returns e.g. `"067"` for 67, `"x001/x234/067"` for 1234067.
 * @throws {MerkleError} `INVALID_INTEGER` for a negative or fractional index.
 * @example
 * ```ts
 * encodeTileIndex(1234067); // "x001/x234/067"
 * ```
 */
export function encodeTileIndex(index: number): string {
  assertCount(index, 'index');
  let rest = index;
  let path = String(rest % 1000).padStart(3, '0');
  rest = Math.floor(rest / 1000);
  while (rest > 0) {
    path = `x${String(rest % 1000).padStart(3, '0')}/${path}`;
    rest = Math.floor(rest / 1000);
  }
  return path;
}

/**
 * C2SP tlog-tiles path of a hash tile, relative to the log's prefix.
 *
 * @param level - tile level L, 0 ≤ L ≤ 7 (tree level 8·L).
 * @param index - tile index N within the level, ≥ 0.
 * @param width - hashes in the tile, 1 ≤ W ≤ 256; 256 (the default) names the full tile.
 * @returns e.g. `"tile/0/x001/x234/067"` or `"tile/1/000.p/17"`.
 * @throws {MerkleError} `INVALID_INTEGER` / `OUT_OF_RANGE` for arguments outside those ranges.
 * @example
 * ```ts
 * tilePath(0, 1234067);     // "tile/0/x001/x234/067"
 * tilePath(2, 0, 17);       // "tile/2/000.p/17"
 * ```
 */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  assertCount(level, 'level');
  assertCount(width, 'width');
  if (level > MAX_TILE_LEVEL) {
    throw new MerkleError('OUT_OF_RANGE', `level: expected 0 ≤ level ≤ ${MAX_TILE_LEVEL}, got ${level}`);
  }
  if (width < 1 || width > TILE_WIDTH) {
    throw new MerkleError('OUT_OF_RANGE', `width: expected 1 ≤ width ≤ ${TILE_WIDTH}, got ${width}`);
  }
  const base = `tile/${level}/${encodeTileIndex(index)}`;
  return width === TILE_WIDTH ? base : `${base}.p/${width}`;
}
