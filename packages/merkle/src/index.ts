/** @sealog/merkle — public surface (named re-exports only). */
export {
  CompactRange,
  type CompactRangeJSON,
  type CompactRangeOptions,
  type NodeVisitor,
} from './compact-range';
export { MerkleError, type MerkleErrorCode } from './errors';
export { FileTileStore, type FileTileStoreOptions } from './file-tile-store';
export {
  emptyRoot,
  HASH_BYTES,
  hashChildren,
  hashLeaf,
  hashLeaves,
  LEAF_PREFIX,
  MAX_SCRATCH_LEAF_BYTES,
  NODE_PREFIX,
  SHA256_BACKEND,
  type Sha256Backend,
  sha256Many,
} from './hashing';
export { bytesFromWords, HASH_WORDS, hashNodeWords, wordsEqualBytes, wordsFromBytes } from './sha256-node';
export { SimdHasher } from './sha256-simd';
export { encodeTileIndex, MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, tilePath } from './tile-path';
export { MemoryTileStore, type TileStore, type TileWrite } from './tile-store';
export { DEFAULT_TILE_CACHE_TILES, TiledTree, type TiledTreeOptions } from './tiled-tree';
export { consistencyProof, inclusionProof, rootFromFlat, rootFromLeafHashes } from './tree';
export { verifyConsistency, verifyInclusion } from './verify';
