/**
 * RFC 9162 tree hashing for the frame loop, computing every interior node once: a frame's
 * {@link FrameTree} builds the levels over its leaf hashes (which give the batch root), and the
 * nodes of those levels that are aligned in the whole log (levels ≤ the trailing zero bits of the
 * frame's first leaf index) are appended as they are to the log's {@link LogTree} instead of being
 * rehashed from the leaves. Memory: two hashes per leaf of the largest frame, O(log n) for the log.
 *
 * Not here: comparing anything (the caller compares roots and the visited nodes with tiles).
 */
import { hash as nodeHash } from 'node:crypto';

const HASH_BYTES = 32;
/** `0x01 ‖ left ‖ right` (RFC 9162 interior node). */
const scratch = Buffer.alloc(1 + 2 * HASH_BYTES);
scratch[0] = 1;

/** `SHA-256(0x01 ‖ src[so … so + 64))` written to `dst[dOff … dOff + 32)`. */
function pairInto(src: Uint8Array, so: number, dst: Uint8Array, dOff: number): void {
  for (let j = 0; j < 2 * HASH_BYTES; j++) scratch[1 + j] = src[so + j]!;
  dst.set(nodeHash('sha256', scratch, 'buffer') as Buffer, dOff);
}

/** A fresh `SHA-256(0x01 ‖ left ‖ right)`. */
function node(left: Uint8Array, lo: number, right: Uint8Array, ro: number): Uint8Array {
  for (let j = 0; j < HASH_BYTES; j++) {
    scratch[1 + j] = left[lo + j]!;
    scratch[1 + HASH_BYTES + j] = right[ro + j]!;
  }
  const d = nodeHash('sha256', scratch, 'buffer') as Buffer;
  return new Uint8Array(d.buffer, d.byteOffset, HASH_BYTES);
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

/** Called for each log-tree node at a level that is a multiple of 8 (a tile level), once. */
export type TileNodeVisitor = (level: number, index: number, hash: Uint8Array) => void;

/** The levels of one frame's leaf hashes; reused from frame to frame. */
export class FrameTree {
  /** `levels[j]`: the `count >> j` nodes of level j over the frame, back to back. */
  private levels: Uint8Array[] = [];
  private count = 0;
  private first = 0;
  /** Highest level whose nodes are nodes of the log tree (aligned in absolute leaf indexes). */
  private shared = 0;

  /**
   * Builds every level over `leafHashes` (`count × 32` bytes, not retained beyond the next build
   * unless it is the caller's buffer) for leaves `[first, first + count)`.
   */
  build(leafHashes: Uint8Array, first: number, count: number): void {
    this.count = count;
    this.first = first;
    this.levels[0] = leafHashes;
    let n = count;
    let j = 0;
    while (n >= 2) {
      const half = Math.floor(n / 2);
      j++;
      let out = this.levels[j];
      if (out === undefined || out.length < half * HASH_BYTES) {
        out = new Uint8Array(Math.max(half, 1024 >> j) * HASH_BYTES);
        this.levels[j] = out;
      }
      const src = this.levels[j - 1]!;
      for (let i = 0; i < half; i++) pairInto(src, 2 * i * HASH_BYTES, out, i * HASH_BYTES);
      n = half;
    }
    this.shared = Math.min(trailingZeros(first), j);
  }

  /** RFC 9162 `MTH` of the frame's leaves on their own (the batch root). */
  root(): Uint8Array {
    // The perfect subtrees, one per 1 bit of count, largest first; folded right to left.
    const parts: { level: number; index: number }[] = [];
    let offset = 0;
    for (let j = this.levels.length - 1; j >= 0; j--) {
      const size = 2 ** j;
      if (Math.floor(this.count / size) % 2 === 1) {
        parts.push({ level: j, index: offset / size });
        offset += size;
      }
    }
    let last = parts[parts.length - 1]!;
    let r = this.levels[last.level]!.subarray(last.index * HASH_BYTES, (last.index + 1) * HASH_BYTES);
    r = new Uint8Array(r);
    for (let k = parts.length - 2; k >= 0; k--) {
      last = parts[k]!;
      r = node(this.levels[last.level]!, last.index * HASH_BYTES, r, 0);
    }
    return r;
  }

  /**
   * Appends the frame's leaves `[from, to)` (relative) to `tree`, as the largest shared nodes
   * that fit; tile-level nodes inside appended nodes are reported to `visit`.
   */
  appendTo(tree: LogTree, from: number, to: number, visit: TileNodeVisitor | undefined): void {
    let p = from;
    while (p < to) {
      let l = Math.min(this.shared, trailingZeros(p));
      while (p + 2 ** l > to) l--;
      const index = p / 2 ** l;
      const h = this.levels[l]!.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
      if (visit !== undefined) {
        // Tile-level nodes at or below l inside this node are never created again by the log tree.
        for (let k = 8; k <= l; k += 8) {
          const per = 2 ** (l - k);
          const lv = this.levels[k]!;
          const absFirst = (this.first + p) / 2 ** k;
          for (let i = 0; i < per; i++) {
            const at = (index * per + i) * HASH_BYTES;
            visit(k, absFirst + i, lv.subarray(at, at + HASH_BYTES));
          }
        }
      }
      tree.addAligned(l, h);
      p += 2 ** l;
    }
  }
}

/** The log's compact range, appended to with aligned nodes; merges report tile-level nodes. */
export class LogTree {
  private readonly nodes: Uint8Array[] = [];
  private sizeNow = 0;
  private readonly visit: TileNodeVisitor | undefined;

  constructor(visit?: TileNodeVisitor) {
    this.visit = visit;
  }

  get size(): number {
    return this.sizeNow;
  }

  /** Adds node `(level, size / 2^level)`; requires `size % 2^level = 0`. `hash` is copied. */
  addAligned(level: number, hash: Uint8Array): void {
    let h: Uint8Array = new Uint8Array(hash);
    let lvl = level;
    let index = this.sizeNow / 2 ** level;
    while (index % 2 === 1) {
      h = node(this.nodes.pop()!, 0, h, 0);
      lvl++;
      index = (index - 1) / 2;
      if (this.visit !== undefined && lvl % 8 === 0) this.visit(lvl, index, h);
    }
    this.nodes.push(h);
    this.sizeNow += 2 ** level;
  }

  /** RFC 9162 root of `[0, size)` (size ≥ 1). */
  root(): Uint8Array {
    const k = this.nodes.length;
    if (k === 0) return new Uint8Array(nodeHash('sha256', new Uint8Array(0), 'buffer') as Buffer);
    let r = this.nodes[k - 1]!;
    if (k === 1) return new Uint8Array(r);
    for (let j = k - 2; j >= 0; j--) r = node(this.nodes[j]!, 0, r, 0);
    return r;
  }
}
