/**
 * An RFC 9162 tree whose hashes live in a `TileStore` (C2SP tlog-tiles layout): appends leaf
 * hashes, writes every tile an append touches (one write per touched tile per append call, or
 * partial tiles only at `flush` with `partialTiles: 'flush'`), and
 * answers roots, inclusion proofs and consistency proofs for any size up to the current one by
 * reading O(log n) tiles — no leaf data, nothing decrypted.
 *
 * Memory: the compact range (O(log n) hashes), the current partial tile of each tile level
 * (≤ 8 KiB each, so reads of the right edge never hit the store), full tiles whose write is still
 * in flight, and a bounded cache of full tiles above level 0 (the hot top of the tree).
 *
 * Ordering: `append*` updates memory synchronously and queues the store write; writes run one
 * append call after another, so a store never sees a partial tile narrower than one it already
 * has. Proof reads may run while writes are in flight (in-flight tiles are served from memory).
 * If a store write fails, the tree refuses all further use (`STORE_FAILED` or the store's error):
 * memory is ahead of the store, so reopen from a size known to be stored.
 *
 * Not here: choosing the size to reopen at (the caller knows it from its checkpoint or its log),
 * leaf data, signatures.
 *
 * Buffers: returned hashes and proofs are fresh; appended hashes are copied, never retained.
 */
import { CompactRange } from './compact-range';
import { MerkleError } from './errors';
import { perfectRootOfBytes } from './fast-root';
import { emptyRoot, hashNode, hashPairAt } from './hashing';
import { assembleProof, consistencyPlan, inclusionPlan, rootPlan, shr } from './node-plan';
import { MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, tilePath } from './tile-path';
import type { TileStore, TileWrite } from './tile-store';
import { assertBytes, assertCount, assertHash, assertHashArray, copyOf, HASH_BYTES } from './validate';

/** Bytes of a full tile: 256 hashes of 32 bytes. */
const FULL_TILE_BYTES = TILE_WIDTH * HASH_BYTES;
/** Default number of full tiles above level 0 kept in memory (256 × 8 KiB = 2 MiB). */
export const DEFAULT_TILE_CACHE_TILES = 256;

/** Options fixed for the life of a tiled tree. */
export interface TiledTreeOptions {
  /**
   * Full tiles of tile level ≥ 1 kept in memory for proofs (default 256 = 2 MiB). Level-0 tiles
   * are not cached: random proofs touch them uniformly and would only evict the hot upper ones.
   */
  readonly cacheTiles?: number;
  /**
   * When partial tiles reach the store (default `'append'`):
   * - `'append'`: every append call writes each partial tile it touched (the store always holds
   *   the whole tree; one small write per level per append);
   * - `'flush'`: appends write only tiles that became full; partial tiles are written by `flush()`.
   *   The store then holds complete tiles for {@link TiledTree.storedSize} (what `flush` last
   *   covered), which is what reopening needs if the caller reopens at a size it flushed (e.g. a
   *   checkpoint signed after `flush`). For writers that append often in small steps: a partial
   *   tile per level per append costs ~6 file-system calls each.
   */
  readonly partialTiles?: 'append' | 'flush';
}

/** Subtrees of at least this many hashes go through the word/SIMD hasher (fast-root.ts). */
const FAST_ROOT_MIN = 8;
// Reused by `perfectRootInTile`; filled and drained synchronously.
const stack: Uint8Array[] = new Array<Uint8Array>(TILE_HEIGHT + 1);

/** Root of the perfect subtree over hashes `[first, first + count)` of a tile, count ≥ 2. */
function perfectRootInTile(tile: Uint8Array, first: number, count: number): Uint8Array {
  if (count >= FAST_ROOT_MIN) return perfectRootOfBytes(tile, first * HASH_BYTES, count);
  let sp = 0;
  for (let i = 0; i < count; i += 2) {
    let h = hashPairAt(tile, (first + i) * HASH_BYTES);
    for (let x = i / 2 + 1; x % 2 === 0; x /= 2) h = hashNode(stack[--sp]!, h);
    stack[sp++] = h;
  }
  const root = stack[0]!;
  stack.fill(undefined as unknown as Uint8Array, 0, sp);
  return root;
}

function tileKey(level: number, index: number): string {
  return `${level}/${index}`;
}

/**
 * RFC 9162 tree over a `TileStore`.
 *
 * @example
 * ```ts
 * const tree = await TiledTree.open(new FileTileStore(dir), lastCheckpointSize);
 * await tree.appendFlat(hashLeaves(batchBytes, offsets));
 * const proof = await tree.inclusionProof(leafIndex, checkpointSize);
 * ```
 */
export class TiledTree {
  readonly #store: TileStore;
  readonly #cacheLimit: number;
  readonly #cache: Map<string, Uint8Array>;
  // Full tiles handed to the store whose write has not resolved yet.
  readonly #inflight: Map<string, Uint8Array>;
  // Current partial tile per tile level (8 KiB buffers), its width, and whether this append
  // changed it.
  readonly #tiles: Uint8Array[];
  readonly #widths: number[];
  readonly #touched: boolean[];
  #range: CompactRange;
  #size: number;
  // Every tile of the first `#storedSize` leaves (full and partial) is in the store.
  #storedSize: number;
  readonly #deferPartial: boolean;
  #pending: TileWrite[];
  #chain: Promise<void>;
  #failure: MerkleError | undefined;

  private constructor(store: TileStore, options: TiledTreeOptions) {
    const cacheTiles = options.cacheTiles ?? DEFAULT_TILE_CACHE_TILES;
    assertCount(cacheTiles, 'cacheTiles');
    this.#store = store;
    this.#cacheLimit = cacheTiles;
    this.#cache = new Map();
    this.#inflight = new Map();
    this.#tiles = [];
    this.#widths = [];
    this.#touched = [];
    for (let l = 0; l <= MAX_TILE_LEVEL; l++) {
      this.#tiles.push(new Uint8Array(FULL_TILE_BYTES));
      this.#widths.push(0);
      this.#touched.push(false);
    }
    this.#range = new CompactRange();
    this.#size = 0;
    this.#storedSize = 0;
    this.#deferPartial = (options.partialTiles ?? 'append') === 'flush';
    this.#pending = [];
    this.#chain = Promise.resolve();
    this.#failure = undefined;
  }

  /**
   * Opens a tree of `size` leaves whose tiles are in `store` (size 0: a new, empty tree). Reads the
   * partial tile of each level and the O(log n) hashes of the compact range.
   *
   * @param store - where the tiles are.
   * @param size - leaves already stored, 0 ≤ size ≤ 2^53 − 1. Must not exceed what the store
   *   holds completely (e.g. the size of the last checkpoint signed after its tiles were written).
   * @param options - cache size.
   * @returns the opened tree.
   * @throws {MerkleError} `TILE_MISSING` if the store lacks a tile (or a wide enough partial tile)
   *   needed for `size`; `TILE_CORRUPT` for a tile of the wrong length; `INVALID_INTEGER` for a
   *   bad size.
   * @example
   * ```ts
   * const tree = await TiledTree.open(new MemoryTileStore());
   * ```
   */
  static async open(store: TileStore, size = 0, options: TiledTreeOptions = {}): Promise<TiledTree> {
    assertCount(size, 'size');
    const tree = new TiledTree(store, options);
    if (size === 0) {
      tree.#range = new CompactRange({ onNode: tree.#visitor(), onNodeLevelStep: TILE_HEIGHT });
      return tree;
    }
    tree.#size = size;
    tree.#storedSize = size;
    for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
      const count = shr(size, TILE_HEIGHT * level);
      if (count === 0) break;
      const width = count % TILE_WIDTH;
      if (width === 0) continue;
      const index = Math.floor(count / TILE_WIDTH);
      const data = await store.readTile(level, index, width);
      if (data === undefined || data.length < width * HASH_BYTES) {
        throw new MerkleError(
          'TILE_MISSING',
          `${tilePath(level, index, width)}: store has no tile with ≥ ${width} hashes (needed to open size ${size})`,
        );
      }
      tree.#tiles[level]!.set(data.subarray(0, width * HASH_BYTES));
      tree.#widths[level] = width;
    }
    const plan = rootPlan(size);
    const nodes = await tree.#fetchNodes(plan.levels, plan.indices);
    tree.#range = CompactRange.from(size, nodes, { onNode: tree.#visitor(), onNodeLevelStep: TILE_HEIGHT });
    return tree;
  }

  /** Leaves appended so far (in memory; the store may lag until `flush` resolves). */
  get size(): number {
    return this.#size;
  }

  /**
   * Leaves whose every tile (full and partial) is known to be in the store: a size this tree can
   * be reopened at. Equals `size` once `flush` resolves with no append since.
   */
  get storedSize(): number {
    return this.#storedSize;
  }

  /** RFC 9162 root at the current size (fresh 32 bytes; SHA-256("") when empty). */
  root(): Uint8Array {
    this.#checkUsable();
    return this.#range.root();
  }

  /**
   * Appends one leaf hash. See `appendFlat`.
   *
   * @param leafHash - 32-byte leaf hash (copied).
   * @returns resolves when the touched tiles are stored.
   * @throws {MerkleError} `INVALID_TYPE` / `INVALID_HASH_LENGTH` for a bad hash (synchronously);
   *   the store's error if a write fails.
   */
  append(leafHash: Uint8Array): Promise<void> {
    this.#checkUsable();
    assertHash(leafHash, 'leafHash');
    this.#putHashes(0, this.#size, leafHash, 1);
    this.#range.append(leafHash);
    this.#size += 1;
    return this.#commit();
  }

  /**
   * Appends leaf hashes in order. See `appendFlat`.
   *
   * @param leafHashes - 32-byte leaf hashes (copied).
   * @returns resolves when the touched tiles are stored.
   * @throws {MerkleError} as `append`; nothing is appended if an element is invalid.
   */
  appendLeafHashes(leafHashes: readonly Uint8Array[]): Promise<void> {
    this.#checkUsable();
    assertHashArray(leafHashes, 'leafHashes');
    for (let i = 0; i < leafHashes.length; i++) this.#putHashes(0, this.#size + i, leafHashes[i]!, 1);
    this.#range.appendLeafHashes(leafHashes);
    this.#size += leafHashes.length;
    return this.#commit();
  }

  /**
   * Appends the leaf hashes stored back to back in `flat` (e.g. `hashLeaves` output). Memory is
   * updated before this returns (so `size`, `root()` and proofs see the new leaves at once); the
   * returned promise resolves when every tile the call touched is stored — one write per tile,
   * after the writes of earlier calls (with `partialTiles: 'flush'`: every tile it filled).
   *
   * @param flat - `32 · count` bytes (copied).
   * @returns resolves when the touched tiles are stored.
   * @throws {MerkleError} `INVALID_HASH_LENGTH` if the length is not a multiple of 32 (synchronously);
   *   the store's error if a write fails (then the tree refuses further use).
   */
  appendFlat(flat: Uint8Array): Promise<void> {
    this.#checkUsable();
    assertBytes(flat, 'flat');
    if (flat.length % HASH_BYTES !== 0) {
      throw new MerkleError(
        'INVALID_HASH_LENGTH',
        `flat: expected a multiple of ${HASH_BYTES} bytes, got ${flat.length}`,
      );
    }
    const count = flat.length / HASH_BYTES;
    this.#putHashes(0, this.#size, flat, count);
    this.#range.appendFlat(flat);
    this.#size += count;
    return this.#commit();
  }

  /**
   * Writes the partial tiles appends deferred (`partialTiles: 'flush'`) and resolves when every
   * write issued so far is stored; then `storedSize` is at least the size at the call.
   *
   * @throws {MerkleError} the failure that made the tree unusable, if any.
   */
  async flush(): Promise<void> {
    this.#checkUsable();
    // With deferred partial tiles, this is where they go; otherwise the writes are all queued.
    await this.#commit(true);
    this.#checkUsable();
  }

  /**
   * RFC 9162 root of the first `size` leaves.
   *
   * @param size - 0 ≤ size ≤ current size.
   * @returns a fresh 32-byte root (SHA-256("") for 0).
   * @throws {MerkleError} `OUT_OF_RANGE` if size > current size; `TILE_MISSING` if the store lacks
   *   a needed tile.
   */
  async rootAt(size: number): Promise<Uint8Array> {
    this.#checkUsable();
    assertCount(size, 'size');
    this.#checkSize(size, 'size');
    if (size === 0) return emptyRoot();
    if (size === this.#size) return this.#range.root();
    const plan = rootPlan(size);
    const nodes = await this.#fetchNodes(plan.levels, plan.indices);
    let root = nodes[nodes.length - 1]!;
    for (let i = nodes.length - 2; i >= 0; i--) root = hashNode(nodes[i]!, root);
    return root;
  }

  /**
   * RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first `size` leaves,
   * from O(log n) tiles. Byte-identical to `inclusionProof(leafHashes.slice(0, size), index)`.
   *
   * @param index - 0 ≤ index < size.
   * @param size - tree size, ≤ current size.
   * @returns fresh 32-byte hashes, leaf to root.
   * @throws {MerkleError} `OUT_OF_RANGE` / `INVALID_INTEGER` for bad arguments; `TILE_MISSING` if
   *   the store lacks a needed tile.
   */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    this.#checkUsable();
    assertCount(index, 'index');
    assertCount(size, 'size');
    this.#checkSize(size, 'size');
    if (index >= size) {
      throw new MerkleError('OUT_OF_RANGE', `index: expected 0 ≤ index < ${size} (tree size), got ${index}`);
    }
    const plan = inclusionPlan(index, size);
    return assembleProof(plan, await this.#fetchNodes(plan.levels, plan.indices));
  }

  /**
   * RFC 9162 §2.1.4.1 consistency proof from size1 to size2, from O(log n) tiles.
   *
   * @param size1 - old size, 1 ≤ size1 ≤ size2.
   * @param size2 - new size, ≤ current size.
   * @returns fresh 32-byte hashes (empty when size1 = size2).
   * @throws {MerkleError} `OUT_OF_RANGE` / `INVALID_INTEGER` for bad sizes; `TILE_MISSING` if the
   *   store lacks a needed tile.
   */
  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    this.#checkUsable();
    assertCount(size1, 'size1');
    assertCount(size2, 'size2');
    this.#checkSize(size2, 'size2');
    if (size1 === 0 || size1 > size2) {
      throw new MerkleError('OUT_OF_RANGE', `size1: expected 1 ≤ size1 ≤ ${size2} (size2), got ${size1}`);
    }
    if (size1 === size2) return [];
    const plan = consistencyPlan(size1, size2);
    return assembleProof(plan, await this.#fetchNodes(plan.levels, plan.indices));
  }

  #checkUsable(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  #checkSize(size: number, field: string): void {
    if (size > this.#size) {
      throw new MerkleError(
        'OUT_OF_RANGE',
        `${field}: expected ≤ ${this.#size} (current tree size), got ${size}`,
      );
    }
  }

  /** The compact range's visitor: keeps interior nodes that sit on a tile level (8·L). */
  #visitor(): (level: number, index: number, hash: Uint8Array) => void {
    return (level, index, hash) => {
      if (level % TILE_HEIGHT === 0) this.#putHashes(level / TILE_HEIGHT, index, hash, 1);
    };
  }

  /**
   * Copies `count` consecutive hashes of tree level 8·`level`, the first with index `index`, into
   * that level's partial tile(s); a tile that fills up is queued as a full-tile write.
   */
  #putHashes(level: number, index: number, src: Uint8Array, count: number): void {
    let done = 0;
    let next = index;
    while (done < count) {
      const width = this.#widths[level]!;
      if (next % TILE_WIDTH !== width) {
        throw new MerkleError(
          'LOGIC',
          `logic error: tile level ${level} expected hash ${width} of its tile, got index ${next}`,
        );
      }
      const take = Math.min(TILE_WIDTH - width, count - done);
      const tile = this.#tiles[level]!;
      if (take === 1 && src.length === HASH_BYTES) tile.set(src, width * HASH_BYTES);
      else tile.set(src.subarray(done * HASH_BYTES, (done + take) * HASH_BYTES), width * HASH_BYTES);
      done += take;
      next += take;
      if (width + take === TILE_WIDTH) {
        const tileIndex = (next - TILE_WIDTH) / TILE_WIDTH;
        this.#pending.push({ level, index: tileIndex, width: TILE_WIDTH, data: tile });
        this.#inflight.set(tileKey(level, tileIndex), tile);
        // The full buffer now belongs to the store; start a fresh one for the next tile.
        this.#tiles[level] = new Uint8Array(FULL_TILE_BYTES);
        this.#widths[level] = 0;
        this.#touched[level] = false;
      } else {
        this.#widths[level] = width + take;
        this.#touched[level] = true;
      }
    }
  }

  /**
   * Queues this append's tile writes behind earlier ones (see the file comment); partial tiles
   * only when they are not deferred or `partials` is set (flush).
   */
  #commit(partials = !this.#deferPartial): Promise<void> {
    const writes = this.#pending;
    this.#pending = [];
    const size = this.#size;
    for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
      if (!this.#touched[level] || !partials) continue;
      this.#touched[level] = false;
      const width = this.#widths[level]!;
      // Bytes below `width` never change again, so the store may keep this view.
      writes.push({
        level,
        index: shr(size, TILE_HEIGHT * (level + 1)),
        width,
        data: this.#tiles[level]!.subarray(0, width * HASH_BYTES),
      });
    }
    if (writes.length === 0) {
      if (!partials) return this.#chain;
      return this.#chain.then(() => {
        this.#checkUsable();
        if (size > this.#storedSize) this.#storedSize = size;
      });
    }
    const store = this.#store;
    const run = this.#chain
      .then(() => {
        this.#checkUsable();
        return store.writeTiles(writes);
      })
      .then(
        () => {
          for (const w of writes)
            if (w.width === TILE_WIDTH) this.#inflight.delete(tileKey(w.level, w.index));
          if (partials && size > this.#storedSize) this.#storedSize = size;
        },
        (e: unknown) => {
          this.#failure ??=
            e instanceof MerkleError
              ? e
              : new MerkleError('STORE_FAILED', `tile store: write failed: ${String(e)}`, { cause: e });
          throw this.#failure;
        },
      );
    // The chain itself never rejects (the failure is recorded); each caller gets its own result.
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Hashes of nodes `(levels[i], indices[i])`, each complete in the current tree. */
  async #fetchNodes(levels: readonly number[], indices: readonly number[]): Promise<Uint8Array[]> {
    const out = new Array<Uint8Array>(levels.length);
    // Several nodes of one proof usually share a tile: read each tile once per call.
    const seen = new Map<string, Uint8Array>();
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      const tileLevel = Math.floor(level / TILE_HEIGHT);
      const span = 2 ** (level - tileLevel * TILE_HEIGHT);
      const first = indices[i]! * span;
      const tileIndex = Math.floor(first / TILE_WIDTH);
      const offset = first - tileIndex * TILE_WIDTH;
      const key = tileKey(tileLevel, tileIndex);
      let tile = seen.get(key);
      if (tile === undefined) {
        tile = await this.#readTile(tileLevel, tileIndex, offset + span);
        seen.set(key, tile);
      }
      out[i] =
        span === 1
          ? copyOf(tile, offset * HASH_BYTES, (offset + 1) * HASH_BYTES)
          : perfectRootInTile(tile, offset, span);
    }
    return out;
  }

  /** A tile with at least `minWidth` hashes: memory (partial, in flight, cache) before the store. */
  async #readTile(level: number, index: number, minWidth: number): Promise<Uint8Array> {
    const partialIndex = shr(this.#size, TILE_HEIGHT * (level + 1));
    if (index === partialIndex) {
      if (minWidth > this.#widths[level]!) {
        throw new MerkleError(
          'TILE_MISSING',
          `${tilePath(level, index, minWidth)}: tile holds ${this.#widths[level]} hashes, ${minWidth} needed`,
        );
      }
      return this.#tiles[level]!;
    }
    if (index > partialIndex) {
      throw new MerkleError('TILE_MISSING', `${tilePath(level, index)}: beyond tree size ${this.#size}`);
    }
    const key = tileKey(level, index);
    const memo = this.#inflight.get(key) ?? this.#cache.get(key);
    if (memo !== undefined) return memo;
    const data = await this.#store.readTile(level, index, TILE_WIDTH);
    if (data === undefined) {
      throw new MerkleError('TILE_MISSING', `${tilePath(level, index)}: store has no full tile`);
    }
    if (data.length !== FULL_TILE_BYTES) {
      throw new MerkleError(
        'TILE_CORRUPT',
        `${tilePath(level, index)}: expected ${FULL_TILE_BYTES} bytes, got ${data.length}`,
      );
    }
    if (level > 0 && this.#cacheLimit > 0) {
      if (this.#cache.size >= this.#cacheLimit) {
        // Evict the oldest insertion: upper tiles are few and reused, so FIFO is good enough.
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      this.#cache.set(key, data);
    }
    return data;
  }
}
