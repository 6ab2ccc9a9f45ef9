/**
 * Compact range (a.k.a. Merkle frontier): the state needed to extend an RFC 9162 tree and compute
 * its root in O(log n) memory — the roots of the perfect subtrees that cover leaves `[0, size)`,
 * one per 1 bit of `size`, largest (leftmost) first.
 *
 * Every interior node is hashed exactly once, when its right child arrives, and can be reported to
 * an `onNode` visitor (level, index, hash) so a store can persist tree hashes as they appear (see
 * `TiledTree`). Leaves are not reported: they are what the caller appended.
 *
 * Not here: proofs (they need hashes of completed subtrees the range has already forgotten; see
 * `TiledTree`), persistence (serialise with `toJSON`, restore with `CompactRange.from`).
 *
 * Buffers: appended leaf hashes are copied when retained, so callers may reuse their buffers at
 * once. Hashes handed to `onNode` and returned by `root()` are fresh; the visitor may keep them but
 * must not modify them (the range keeps the same buffer as internal state).
 */
import { MerkleError } from './errors';
import { hashNodeOfBytes, hashPairsOfBytes } from './fast-root';
import { emptyRoot, hashNode, hashPairAt } from './hashing';
import { popCount } from './node-plan';
import {
  assertArray,
  assertBytes,
  assertCount,
  assertHash,
  assertHashArray,
  copyOf,
  HASH_BYTES,
} from './validate';

/**
 * Receives each interior node as it is created: `level` ≥ 1 (leaves are level 0), `index` within
 * that level (node covers leaves `[index·2^level, (index+1)·2^level)`), and its 32-byte hash.
 * Called synchronously, children before parents, each node once.
 */
export type NodeVisitor = (level: number, index: number, hash: Uint8Array) => void;

/** Options fixed for the life of a compact range. */
export interface CompactRangeOptions {
  /** Called for every interior node created by an append; see `NodeVisitor`. */
  readonly onNode?: NodeVisitor;
  /**
   * Call `onNode` only for nodes whose level is a multiple of this (default 1: every level); e.g.
   * 8 for a store of C2SP tiles, which keeps only levels 8, 16, … of the interior nodes. Bulk
   * appends then make no per-node view for the levels skipped.
   */
  readonly onNodeLevelStep?: number;
}

/** JSON form of a compact range: its size and its subtree roots as lowercase hex, largest first. */
export interface CompactRangeJSON {
  readonly size: number;
  readonly hashes: string[];
}

const HEX_HASH = /^[0-9a-f]{64}$/i;

/** From this many leaves `appendFlat` hashes level by level in bulk (SIMD lanes). */
const BULK_MIN_LEAVES = 16;

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/**
 * Incrementally built RFC 9162 tree over leaves `[0, size)`, holding O(log size) hashes.
 *
 * @example
 * ```ts
 * const range = new CompactRange({ onNode: (level, index, hash) => store.put(level, index, hash) });
 * range.appendFlat(hashLeaves(batchBytes, offsets));
 * const root = range.root();
 * ```
 */
export class CompactRange {
  #size: number;
  // Perfect subtree roots covering [0, size), largest first: one per 1 bit of size.
  readonly #nodes: Uint8Array[];
  readonly #onNode: NodeVisitor | undefined;
  readonly #levelStep: number;

  /**
   * Creates an empty range (size 0).
   *
   * @param options - `onNode` visitor (and the levels it sees), fixed for the range's life.
   * @throws {MerkleError} `INVALID_INTEGER` when `onNodeLevelStep` is not an integer ≥ 1.
   */
  constructor(options: CompactRangeOptions = {}) {
    this.#size = 0;
    this.#nodes = [];
    const step = options.onNodeLevelStep ?? 1;
    if (!Number.isSafeInteger(step) || step < 1) {
      throw new MerkleError('INVALID_INTEGER', `onNodeLevelStep: expected an integer ≥ 1, got ${step}`);
    }
    this.#levelStep = step;
    const visit = options.onNode;
    this.#onNode =
      visit === undefined || step === 1
        ? visit
        : (level, index, hash) => {
            if (level % step === 0) visit(level, index, hash);
          };
  }

  /**
   * Restores a range from its size and subtree roots (as produced by `toJSON` or `hashes`).
   *
   * @param size - number of leaves, 0 ≤ size ≤ 2^53 − 1.
   * @param hashes - one 32-byte hash (bytes or 64 hex digits) per 1 bit of `size`, largest first.
   * @param options - `onNode` visitor for later appends.
   * @returns a new range; the hashes are copied.
   * @throws {MerkleError} `INVALID_INTEGER` for a bad size; `INVALID_STATE` if the number of hashes
   *   does not match `size` or a string is not 64 hex digits; `INVALID_TYPE` /
   *   `INVALID_HASH_LENGTH` for a bad element.
   * @example
   * ```ts
   * const saved = JSON.parse(text) as CompactRangeJSON;
   * const range = CompactRange.from(saved.size, saved.hashes);
   * ```
   */
  static from(
    size: number,
    hashes: readonly (Uint8Array | string)[],
    options: CompactRangeOptions = {},
  ): CompactRange {
    assertCount(size, 'size');
    assertArray(hashes, 'hashes');
    const expected = popCount(size);
    if (hashes.length !== expected) {
      throw new MerkleError(
        'INVALID_STATE',
        `hashes: expected ${expected} (one per 1 bit of size ${size}), got ${hashes.length}`,
      );
    }
    const range = new CompactRange(options);
    for (let i = 0; i < hashes.length; i++) {
      const h = hashes[i];
      if (typeof h === 'string') {
        if (!HEX_HASH.test(h)) {
          throw new MerkleError(
            'INVALID_STATE',
            `hashes[${i}]: expected 64 hex digits, got ${JSON.stringify(h)}`,
          );
        }
        range.#nodes.push(new Uint8Array(Buffer.from(h, 'hex')));
      } else {
        assertHash(h, `hashes[${i}]`);
        range.#nodes.push(copyOf(h));
      }
    }
    range.#size = size;
    return range;
  }

  /** Number of leaves appended so far, 0 ≤ size ≤ 2^53 − 1. */
  get size(): number {
    return this.#size;
  }

  /** Copies of the subtree roots covering `[0, size)`, largest first (one per 1 bit of size). */
  get hashes(): Uint8Array[] {
    const out = new Array<Uint8Array>(this.#nodes.length);
    for (let i = 0; i < out.length; i++) out[i] = copyOf(this.#nodes[i]!);
    return out;
  }

  /**
   * Appends one leaf hash.
   *
   * @param leafHash - 32-byte leaf hash; copied if retained.
   * @throws {MerkleError} `INVALID_TYPE` / `INVALID_HASH_LENGTH` for a bad hash; `OUT_OF_RANGE` if
   *   the size would pass 2^53 − 1.
   */
  append(leafHash: Uint8Array): void {
    assertHash(leafHash, 'leafHash');
    this.#checkGrowth(1);
    // At an odd size the new leaf merges at once and is never retained, so no copy is needed.
    this.#addAligned(0, this.#size % 2 === 1 ? leafHash : copyOf(leafHash));
  }

  /**
   * Appends many leaf hashes, in order. Pairs of leaves are hashed directly (no per-leaf copy).
   *
   * @param leafHashes - 32-byte leaf hashes; copied if retained.
   * @throws {MerkleError} as `append`; nothing is appended if any element is invalid.
   */
  appendLeafHashes(leafHashes: readonly Uint8Array[]): void {
    assertHashArray(leafHashes, 'leafHashes');
    const n = leafHashes.length;
    this.#checkGrowth(n);
    let i = 0;
    if (n > 0 && this.#size % 2 === 1) {
      this.#addAligned(0, leafHashes[0]!);
      i = 1;
    }
    const visit = this.#onNode;
    for (; i + 1 < n; i += 2) {
      const h = hashNode(leafHashes[i]!, leafHashes[i + 1]!);
      if (visit !== undefined) visit(1, this.#size / 2, h);
      this.#addAligned(1, h);
    }
    if (i < n) this.#addAligned(0, copyOf(leafHashes[i]!));
  }

  /**
   * Appends the leaf hashes stored back to back in `flat` (e.g. the output of `hashLeaves`).
   * Pairs of adjacent leaves are hashed straight from `flat`; `flat` is not retained.
   *
   * @param flat - `32 · count` bytes: `count` leaf hashes in leaf order.
   * @throws {MerkleError} `INVALID_TYPE` if not a `Uint8Array`; `INVALID_HASH_LENGTH` if its length
   *   is not a multiple of 32; `OUT_OF_RANGE` if the size would pass 2^53 − 1.
   */
  appendFlat(flat: Uint8Array): void {
    assertBytes(flat, 'flat');
    if (flat.length % HASH_BYTES !== 0) {
      throw new MerkleError(
        'INVALID_HASH_LENGTH',
        `flat: expected a multiple of ${HASH_BYTES} bytes, got ${flat.length}`,
      );
    }
    const n = flat.length / HASH_BYTES;
    this.#checkGrowth(n);
    if (n >= BULK_MIN_LEAVES) {
      this.#appendBulk(flat, n);
      return;
    }
    let i = 0;
    if (n > 0 && this.#size % 2 === 1) {
      this.#addAligned(0, flat.subarray(0, HASH_BYTES));
      i = 1;
    }
    const visit = this.#onNode;
    for (; i + 1 < n; i += 2) {
      const h = hashPairAt(flat, i * HASH_BYTES);
      if (visit !== undefined) visit(1, this.#size / 2, h);
      this.#addAligned(1, h);
    }
    if (i < n) this.#addAligned(0, copyOf(flat, i * HASH_BYTES, (i + 1) * HASH_BYTES));
  }

  /**
   * RFC 9162 §2.1.1 root of the tree of the leaves appended so far.
   *
   * @returns a fresh 32-byte hash; for size 0, SHA-256 of the empty string.
   */
  root(): Uint8Array {
    const nodes = this.#nodes;
    const k = nodes.length;
    if (k === 0) return emptyRoot();
    let r = nodes[k - 1]!;
    if (k === 1) return copyOf(r);
    for (let j = k - 2; j >= 0; j--) r = hashNode(nodes[j]!, r);
    return r;
  }

  /**
   * An independent copy of this range.
   *
   * @param options - visitor of the copy (the original's visitor is not inherited).
   */
  clone(options: CompactRangeOptions = {}): CompactRange {
    return CompactRange.from(this.#size, this.#nodes, options);
  }

  /** JSON form, restored by `CompactRange.from(json.size, json.hashes)`. */
  toJSON(): CompactRangeJSON {
    const hashes = new Array<string>(this.#nodes.length);
    for (let i = 0; i < hashes.length; i++) hashes[i] = toHex(this.#nodes[i]!);
    return { size: this.#size, hashes };
  }

  #checkGrowth(count: number): void {
    if (this.#size + count > Number.MAX_SAFE_INTEGER) {
      throw new MerkleError(
        'OUT_OF_RANGE',
        `size: appending ${count} leaves to ${this.#size} would pass 2^53-1 (Number.MAX_SAFE_INTEGER)`,
      );
    }
  }

  /**
   * Appends `n` leaf hashes level by level: the new nodes of level L are exactly the indices
   * `[size >> L, (size + n) >> L)`, so each level is one run, paired in bulk (fast-root.ts, SIMD
   * lanes), except a run starting at an odd index, whose first node merges with the retained
   * subtree of that level. What is left unpaired at a level is the new retained subtree there.
   */
  #appendBulk(flat: Uint8Array, n: number): void {
    const size = this.#size;
    const end = size + n;
    const visit = this.#onNode;
    // Retained subtrees by level (bit L of size), from the largest-first list.
    const old: Uint8Array[] = [];
    let k = this.#nodes.length - 1;
    for (let level = 0, s = size; s > 0; level++, s = Math.floor(s / 2)) {
      if (s % 2 === 1) old[level] = this.#nodes[k--]!;
    }
    // One buffer for every level's new nodes, and first a copy of a leftover leaf (the caller's
    // buffer is not retained): one allocation per call, not one per level and per node.
    let total = 1;
    for (let a = size, m = n; m > 0; a = Math.floor(a / 2)) {
      m = Math.floor((a + m) / 2) - Math.floor(a / 2);
      total += m;
    }
    const all = new Uint8Array(total * HASH_BYTES);
    let at = HASH_BYTES;
    const kept: Uint8Array[] = [];
    let run = flat;
    let a = size; // index of run[0] at this level
    let m = n; // nodes in the run
    let level = 0;
    for (; m > 0; level++) {
      const outCount = Math.floor((a + m) / 2) - Math.floor(a / 2);
      const out = all.subarray(at, at + outCount * HASH_BYTES);
      at += outCount * HASH_BYTES;
      let i = 0;
      let o = 0;
      if (a % 2 === 1) {
        hashNodeOfBytes(old[level]!, run, 0, out, 0);
        i = 1;
        o = 1;
      }
      const pairs = Math.floor((m - i) / 2);
      hashPairsOfBytes(run, i * HASH_BYTES, pairs, out, o * HASH_BYTES);
      if ((m - i) % 2 === 1) {
        if (level === 0) all.set(run.subarray((m - 1) * HASH_BYTES, m * HASH_BYTES), 0);
        kept[level] =
          level === 0 ? all.subarray(0, HASH_BYTES) : run.subarray((m - 1) * HASH_BYTES, m * HASH_BYTES);
      }
      const first = Math.floor(a / 2);
      if (visit !== undefined && (level + 1) % this.#levelStep === 0) {
        for (let j = 0; j < outCount; j++)
          visit(level + 1, first + j, out.subarray(j * HASH_BYTES, (j + 1) * HASH_BYTES));
      }
      run = out;
      a = first;
      m = outCount;
    }
    // Below `level` the retained subtrees are the leftovers; from `level` up, nothing changed.
    const nodes: Uint8Array[] = [];
    for (let l = 0, s = end; s > 0; l++, s = Math.floor(s / 2)) {
      if (s % 2 === 1) nodes.push(l < level ? kept[l]! : old[l]!);
    }
    nodes.reverse();
    this.#nodes.length = 0;
    for (const h of nodes) this.#nodes.push(h);
    this.#size = end;
  }

  /**
   * Adds the node `(level, size / 2^level)` — the next 2^level leaves — merging it with the
   * subtrees to its left while the merged node is a right child. Requires size % 2^level = 0.
   * The node at `level` itself must already have been reported to the visitor if level ≥ 1.
   */
  #addAligned(level: number, hash: Uint8Array): void {
    const nodes = this.#nodes;
    const visit = this.#onNode;
    let h = hash;
    let lvl = level;
    let index = this.#size / 2 ** level;
    // An odd index is a right child; its left sibling is the smallest retained subtree.
    while (index % 2 === 1) {
      h = hashNode(nodes.pop()!, h);
      lvl++;
      index = (index - 1) / 2;
      if (visit !== undefined) visit(lvl, index, h);
    }
    nodes.push(h);
    this.#size += 2 ** level;
  }
}
