/**
 * RFC 9162 tree hashing for the frame loop, computing every interior node once: a frame's
 * {@link FrameTree} builds the levels over its leaf hashes (which give the batch root), and the
 * nodes of those levels that are aligned in the whole log (levels ≤ the trailing zero bits of the
 * frame's first leaf index) are handed on as they are — to the log's {@link LogTree}, possibly in
 * another thread — instead of being rehashed from the leaves. Hashes are big-endian words
 * (@sealog/merkle sha256-node.ts), a frame's levels hashed four nodes at a time (sha256-simd.ts) where the
 * runtime allows. Memory: two hashes per leaf of the largest frame, O(log n) for the log.
 *
 * Not here: comparing anything (the caller compares roots and the visited nodes with tiles).
 */

import { hash as nodeHash } from 'node:crypto';
import { HASH_WORDS, hashNodeWords, SimdHasher, wordsFromBytes } from '@sealog/merkle';
import { VerifierError } from './errors';

/** Scratch for `0x00 ‖ leaf` (RFC 9162 §2.1.1), grown to the largest leaf. */
let prefixed = new Uint8Array(1024);

/** `SHA-256(0x00 ‖ leaf)` with node:crypto, valid until the next call. */
function leafHash(leaf: Uint8Array): Uint8Array {
  if (prefixed.length < leaf.length + 1) prefixed = new Uint8Array(leaf.length + 1);
  prefixed[0] = 0;
  prefixed.set(leaf, 1);
  return nodeHash('sha256', prefixed.subarray(0, leaf.length + 1), 'buffer') as Buffer;
}

/** Number of trailing zero bits of a safe integer (`Infinity` for 0). */
function trailingZeros(n: number): number {
  if (n === 0) return Number.POSITIVE_INFINITY;
  let t = 0;
  while (n % 2 === 0) {
    n /= 2;
    t++;
  }
  return t;
}

/**
 * Called for each log-tree node at a level that is a multiple of 8 (a tile level), once: its hash
 * is `words[offset … offset + 8)`, valid during the call only.
 */
export type TileNodeVisitor = (level: number, index: number, words: Int32Array, offset: number) => void;

/** Receives one aligned node `(level, hash at words[offset …))`, valid during the call only. */
export type AlignedNodeSink = (level: number, words: Int32Array, offset: number) => void;

/** The levels of one frame's leaf hashes; reused from frame to frame. */
export class FrameTree {
  /** Four-lane node hashing (sha256-simd.ts), when the runtime has WebAssembly SIMD. */
  private readonly simd: SimdHasher | undefined;
  /** `levels[j]`: the `count >> j` nodes of level j over the frame, back to back (words). */
  private readonly levels: Int32Array[] = [new Int32Array(1024 * HASH_WORDS)];
  /** With `simd`: where each level starts in its memory (words), and the scratch after them. */
  private readonly offsets: number[] = [];
  private scratch = 0;
  private count = 0;
  private first = 0;
  /** Levels built for the current frame (0 … depth). */
  private depth = 0;
  /** Highest level whose nodes are nodes of the log tree (aligned in absolute leaf indexes). */
  private shared = 0;
  /** Two hashes for folding the root. */
  private readonly fold = new Int32Array(2 * HASH_WORDS);

  /** @param options.simd - use four-lane WebAssembly hashing when available (default true). */
  constructor(options: { readonly simd?: boolean } = {}) {
    this.simd = options.simd === false ? undefined : SimdHasher.create();
  }

  /**
   * Storage for `count` leaf hashes as words (level 0), to be filled by the caller before
   * {@link FrameTree.build} with the same `count`; valid until the next call.
   */
  leafWords(count: number): Int32Array {
    return this.layout(count, 0);
  }

  /**
   * Level 0 from the leaves themselves: their RFC 9162 leaf hashes, as {@link FrameTree.leafWords}
   * filled (four at a time in WebAssembly where available); valid until the next call.
   */
  leafWordsOf(leaves: readonly Uint8Array[]): Int32Array {
    const count = leaves.length;
    const simd = this.simd;
    if (simd === undefined) {
      const words = this.layout(count, 0);
      for (let i = 0; i < count; i++) wordsFromBytes(leafHash(leaves[i]!), 0, words, i * HASH_WORDS, 1);
      return words;
    }
    let max = 0;
    for (let i = 0; i < count; i++) max = Math.max(max, leaves[i]!.length);
    const words = this.layout(count, SimdHasher.leafScratchWords(max));
    simd.hashLeaves(leaves, 0, this.scratch);
    return words;
  }

  /** Lays out `count` leaves' levels (and `extra` scratch words after them); returns level 0. */
  private layout(count: number, extra: number): Int32Array {
    const simd = this.simd;
    if (simd === undefined) {
      if (this.levels[0]!.length < count * HASH_WORDS) this.levels[0] = new Int32Array(count * HASH_WORDS);
      return this.levels[0]!;
    }
    // All levels back to back in the WebAssembly memory: < 2 · count hashes.
    let at = 0;
    let n = count;
    for (let j = 0; ; j++) {
      this.offsets[j] = at;
      at += n * HASH_WORDS;
      if (n < 2) break;
      n = Math.floor(n / 2);
    }
    this.scratch = at;
    simd.ensure(at + extra);
    this.levels[0] = simd.words.subarray(0, count * HASH_WORDS);
    return this.levels[0];
  }

  /** Builds every level over the leaf hashes in {@link FrameTree.leafWords} for leaves `[first, first + count)`. */
  build(first: number, count: number): void {
    this.count = count;
    this.first = first;
    const simd = this.simd;
    let n = count;
    let j = 0;
    while (n >= 2) {
      const half = Math.floor(n / 2);
      j++;
      if (simd !== undefined) {
        const at = this.offsets[j]!;
        simd.hash(this.offsets[j - 1]!, at, half);
        this.levels[j] = simd.words.subarray(at, at + half * HASH_WORDS);
      } else {
        let out = this.levels[j];
        if (out === undefined || out.length < half * HASH_WORDS) {
          out = new Int32Array(Math.max(half, 1024 >> j) * HASH_WORDS);
          this.levels[j] = out;
        }
        const src = this.levels[j - 1]!;
        for (let i = 0; i < half; i++) hashNodeWords(src, 2 * i * HASH_WORDS, out, i * HASH_WORDS);
      }
      n = half;
    }
    this.depth = j;
    this.shared = Math.min(trailingZeros(first), j);
  }

  /** RFC 9162 `MTH` of the frame's leaves on their own (the batch root), as words in `out[0 … 8)`. */
  root(out: Int32Array): void {
    // The perfect subtrees, one per 1 bit of count, largest first; folded right to left.
    const f = this.fold;
    let have = false;
    let offset = this.count;
    for (let j = 0; j <= this.depth; j++) {
      const size = 2 ** j;
      if (Math.floor(this.count / size) % 2 === 0) continue;
      offset -= size;
      const lv = this.levels[j]!;
      const at = (offset / size) * HASH_WORDS;
      if (!have) {
        f.set(lv.subarray(at, at + HASH_WORDS), HASH_WORDS);
        have = true;
      } else {
        f.set(lv.subarray(at, at + HASH_WORDS), 0);
        hashNodeWords(f, 0, f, HASH_WORDS);
      }
    }
    out.set(f.subarray(HASH_WORDS, 2 * HASH_WORDS));
  }

  /**
   * Hands the frame's leaves `[from, to)` (relative) to `sink` as the largest shared nodes that
   * fit, in order; tile-level nodes inside each handed node are reported to `visit` (the log tree
   * never creates them again).
   */
  pieces(from: number, to: number, sink: AlignedNodeSink, visit: TileNodeVisitor | undefined): void {
    let p = from;
    while (p < to) {
      let l = Math.min(this.shared, trailingZeros(p));
      while (p + 2 ** l > to) l--;
      const index = p / 2 ** l;
      if (visit !== undefined) {
        for (let k = 8; k <= l; k += 8) {
          const per = 2 ** (l - k);
          const lv = this.levels[k]!;
          const absFirst = (this.first + p) / 2 ** k;
          for (let i = 0; i < per; i++) visit(k, absFirst + i, lv, (index * per + i) * HASH_WORDS);
        }
      }
      sink(l, this.levels[l]!, index * HASH_WORDS);
      p += 2 ** l;
    }
  }
}

/** The log's compact range, appended to with aligned nodes; merges report tile-level nodes. */
export class LogTree {
  /** The compact range's node hashes, largest (leftmost) first. */
  private readonly nodes: Int32Array[] = [];
  private sizeNow = 0;
  private readonly visit: TileNodeVisitor | undefined;
  private readonly pair = new Int32Array(2 * HASH_WORDS);

  constructor(visit?: TileNodeVisitor) {
    this.visit = visit;
  }

  get size(): number {
    return this.sizeNow;
  }

  /** Adds node `(level, size / 2^level)` with hash `words[offset …)`; requires `size % 2^level = 0`. */
  addAligned(level: number, words: Int32Array, offset: number): void {
    const p = this.pair;
    p.set(words.subarray(offset, offset + HASH_WORDS), HASH_WORDS);
    let lvl = level;
    let index = this.sizeNow / 2 ** level;
    while (index % 2 === 1) {
      p.set(this.nodes.pop()!, 0);
      hashNodeWords(p, 0, p, HASH_WORDS);
      lvl++;
      index = (index - 1) / 2;
      if (this.visit !== undefined && lvl % 8 === 0) this.visit(lvl, index, p, HASH_WORDS);
    }
    this.nodes.push(p.slice(HASH_WORDS, 2 * HASH_WORDS));
    this.sizeNow += 2 ** level;
  }

  /**
   * Starts the tree at `size` leaves from its compact range: the perfect subtrees of `[0, size)`,
   * largest first, as `levels[i]` with hash `words[8i … 8i + 8)` (the tree must be empty).
   */
  seed(size: number, levels: readonly number[], words: Int32Array): void {
    if (this.sizeNow !== 0) throw new VerifierError('LOGIC', 'logic error: seeding a tree that has leaves');
    let total = 0;
    for (let i = 0; i < levels.length; i++) {
      this.nodes.push(words.slice(i * HASH_WORDS, (i + 1) * HASH_WORDS));
      total += 2 ** levels[i]!;
    }
    if (total !== size)
      throw new VerifierError('LOGIC', `logic error: compact range of ${total} leaves for size ${size}`);
    this.sizeNow = size;
  }

  /** RFC 9162 root of `[0, size)` as words in `out[0 … 8)` (size ≥ 1). */
  root(out: Int32Array): void {
    const k = this.nodes.length;
    if (k === 0) throw new VerifierError('LOGIC', 'logic error: root of an empty tree');
    const p = this.pair;
    p.set(this.nodes[k - 1]!, HASH_WORDS);
    for (let j = k - 2; j >= 0; j--) {
      p.set(this.nodes[j]!, 0);
      hashNodeWords(p, 0, p, HASH_WORDS);
    }
    out.set(p.subarray(HASH_WORDS, 2 * HASH_WORDS));
  }
}
