/**
 * A byte-bounded LRU of records already read back (leaf bytes, leaf hash, batch index, block
 * hash), so a hot resource history or a repeated search does not decrypt the same frames again.
 * Stored leaves never change (erasure shreds keys, not leaves), so entries never go stale; the
 * cache holds ciphertext-level data only: personal fields stay sealed inside the leaf bytes.
 */

/** What a cached read keeps of a record (the decoded record is rebuilt per read: callers own it). */
export interface CachedLeaf {
  /** A private copy of the stored leaf bytes (not a view into a frame). */
  readonly leaf: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly batchIndex: number;
  readonly blockHash: string;
}

/** Bookkeeping bytes counted per entry on top of the leaf (hashes, strings, map slot). */
const ENTRY_OVERHEAD_BYTES = 200;

/** See module doc. A budget of 0 disables the cache. */
export class ReadCache {
  private readonly maxBytes: number;
  private readonly entries = new Map<number, CachedLeaf>();
  private bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** The cached read of `leafIndex`, marked most recently used. */
  get(leafIndex: number): CachedLeaf | undefined {
    const hit = this.entries.get(leafIndex);
    if (hit !== undefined) {
      this.entries.delete(leafIndex);
      this.entries.set(leafIndex, hit);
    }
    return hit;
  }

  /** Remembers a read, evicting the least recently used entries beyond the budget. */
  set(leafIndex: number, entry: CachedLeaf): void {
    const size = entry.leaf.byteLength + ENTRY_OVERHEAD_BYTES;
    if (size > this.maxBytes) return;
    const old = this.entries.get(leafIndex);
    if (old !== undefined) {
      this.bytes -= old.leaf.byteLength + ENTRY_OVERHEAD_BYTES;
      this.entries.delete(leafIndex);
    }
    this.entries.set(leafIndex, entry);
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const [k, v] = this.entries.entries().next().value as [number, CachedLeaf];
      this.entries.delete(k);
      this.bytes -= v.leaf.byteLength + ENTRY_OVERHEAD_BYTES;
    }
  }

  /** Entries and bytes held (for metrics and tests). */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  /** Drops everything (e.g. when segments are deleted). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}

/** A durable frame's leaves as the writer numbered them: leaf `i` is `body[offsets[i] … offsets[i + 1])`. */
interface FrameParts {
  readonly firstLeaf: number;
  readonly count: number;
  readonly body: Uint8Array;
  /** `count + 1` offsets of the leaves in `body`. */
  readonly offsets: Uint32Array;
  /** Leaf hashes, 32 bytes each, in leaf order. */
  readonly hashes: Uint8Array;
  readonly batchIndex: number;
  readonly blockHash: string;
}

/**
 * One durable frame kept in memory by {@link RecentFrames}, copied into its ring: `body` holds
 * the leaves back to back (the first offset is 0), never handed out, only copied (no object per
 * record, and no buffer of its own).
 */
export interface RecentFrame extends FrameParts {
  /** Bytes of the leaves. */
  readonly bytes: number;
  /** Set when dropped: its part of the ring may be rewritten, so a reader holding it must stop. */
  dropped?: boolean;
}

/** A frame handed to {@link RecentFrames.push}, in the writer's own buffers (copied there). */
export interface FrameToKeep extends FrameParts {
  /** The whole buffer `body` is a view of: handed back to `onRelease` once copied. */
  readonly buffer?: Uint8Array;
}

/** A fresh copy of leaf `i` of a kept frame. */
export function copyLeaf(f: RecentFrame, i: number): Buffer {
  return Buffer.from(f.body.subarray(f.offsets[i]!, f.offsets[i + 1]!));
}

/** A fresh copy of the leaf hash of leaf `i` of a kept frame. */
export function copyLeafHash(f: RecentFrame, i: number): Buffer {
  return Buffer.from(f.hashes.subarray(i * 32, (i + 1) * 32));
}

/**
 * The newest durable frames of a log as the writer built them, bounded by bytes (leaves, their
 * offsets and hashes, as held): the search
 * indexer follows the tail of the log, and reading it back from the segment (read, CRC, AES-GCM,
 * snappy, chain hash) costs the main thread again what writing it did. Frames are pushed in leaf
 * order, contiguous; the oldest are dropped first. A budget of 0 keeps nothing.
 *
 * Each frame is copied into one ring buffer allocated once (offsets, leaves, hashes), and the
 * writer's buffer goes back to it at once. Why: kept for about a second, each frame's own buffers
 * outlived two young-generation GCs and died in the old generation, where only a full GC frees
 * them — and V8 counts their bytes as external memory growth, which starts full GCs. At 21,000
 * audit events/s that was ~12 MB/s of dead buffers and a mark-compact every ~1.5 s; the copy costs
 * a `memcpy` of the same bytes.
 */
export class RecentFrames {
  private readonly maxBytes: number;
  private readonly onRelease: ((buffer: Uint8Array) => void) | undefined;
  /** Offsets, leaves and hashes of the kept frames, written round; allocated at the first push. */
  private ring: Uint8Array | undefined;
  /** Where the next frame goes in the ring (a multiple of 4). */
  private writeAt = 0;
  private frames: RecentFrame[] = [];
  /** Ring position of each kept frame's region: `[start, end)`, in `frames` order. */
  private regions: number[] = [];
  private head = 0;
  /** Ring bytes of the kept frames. */
  private bytes = 0;

  /** @param onRelease - receives the writer's buffer of each pushed frame once copied (for reuse). */
  constructor(maxBytes: number, onRelease?: (buffer: Uint8Array) => void) {
    this.maxBytes = maxBytes;
    this.onRelease = onRelease;
  }

  /** Keeps a copy of a frame that just became durable (the next in leaf order). */
  push(frame: FrameToKeep): void {
    const { count, offsets } = frame;
    const first = offsets[0]!;
    const bytes = offsets[count]! - first;
    const offsetBytes = 4 * (count + 1);
    // Offsets first (4-byte aligned), then the leaves, then the hashes, rounded up to 4.
    const size = (offsetBytes + bytes + 32 * count + 3) & ~3;
    // The budget counts what the ring holds of the frame, offsets and hashes included.
    const capacity = this.maxBytes;
    if (size > capacity) {
      this.clear();
      this.release(frame);
      return;
    }
    this.ring ??= new Uint8Array(capacity);
    // Ring order is age order: [0, writeAt) holds this lap's frames, [writeAt, capacity) the
    // older ones of the lap before. A frame that does not fit before the end starts a new lap at
    // 0 and gives up the rest of the ring.
    let start = this.writeAt;
    let abandonFrom = capacity;
    if (start + size > capacity) {
      abandonFrom = start;
      start = 0;
    }
    const end = start + size;
    // Make room, oldest first: the byte budget, and every frame in the bytes this one takes.
    while (this.head < this.frames.length) {
      const r = 2 * this.head;
      const overlaps =
        (this.regions[r]! < end && start < this.regions[r + 1]!) || this.regions[r + 1]! > abandonFrom;
      if (!overlaps && this.bytes + size <= capacity) break;
      this.bytes -= this.regions[r + 1]! - this.regions[r]!;
      const old = this.frames[this.head++]!;
      old.dropped = true;
    }
    const ring = this.ring;
    const kept = new Uint32Array(ring.buffer, ring.byteOffset + start, count + 1);
    for (let i = 0; i <= count; i++) kept[i] = offsets[i]! - first;
    const leavesAt = start + offsetBytes;
    ring.set(frame.body.subarray(first, first + bytes), leavesAt);
    const hashesAt = leavesAt + bytes;
    ring.set(frame.hashes.subarray(0, 32 * count), hashesAt);
    this.frames.push({
      firstLeaf: frame.firstLeaf,
      count,
      body: ring.subarray(leavesAt, hashesAt),
      offsets: kept,
      hashes: ring.subarray(hashesAt, hashesAt + 32 * count),
      batchIndex: frame.batchIndex,
      blockHash: frame.blockHash,
      bytes,
    });
    this.regions.push(start, end);
    this.bytes += size;
    this.writeAt = end;
    this.release(frame);
    // Compact now and then instead of shifting on every drop.
    if (this.head > 64 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.regions = this.regions.slice(2 * this.head);
      this.head = 0;
    }
  }
  /** First leaf held, or `undefined` when empty. */
  get firstLeaf(): number | undefined {
    return this.frames[this.head]?.firstLeaf;
  }

  /** The frame holding `leafIndex`, if it is still kept. */
  frameOf(leafIndex: number): RecentFrame | undefined {
    let lo = this.head;
    let hi = this.frames.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = this.frames[mid]!;
      if (leafIndex < f.firstLeaf) hi = mid - 1;
      else if (leafIndex >= f.firstLeaf + f.count) lo = mid + 1;
      else return f;
    }
    return undefined;
  }

  /** A cache entry for `leafIndex` (fresh copies of the bytes), if its frame is still kept. */
  get(leafIndex: number): CachedLeaf | undefined {
    const f = this.frameOf(leafIndex);
    if (f === undefined) return undefined;
    const i = leafIndex - f.firstLeaf;
    return {
      leaf: copyLeaf(f, i),
      leafHash: copyLeafHash(f, i),
      batchIndex: f.batchIndex,
      blockHash: f.blockHash,
    };
  }

  /** Drops everything (the ring stays allocated). */
  clear(): void {
    for (let i = this.head; i < this.frames.length; i++) this.frames[i]!.dropped = true;
    this.frames = [];
    this.regions = [];
    this.head = 0;
    this.bytes = 0;
    this.writeAt = 0;
  }

  private release(frame: FrameToKeep): void {
    if (frame.buffer !== undefined && this.onRelease !== undefined) this.onRelease(frame.buffer);
  }
}
