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

/**
 * One durable frame kept in memory by {@link RecentFrames}: its batch body and leaf hashes as
 * the writer built them (no object per record: these live for seconds, and per-record views
 * were most of what the main thread's young-generation GC had to copy and promote).
 */
export interface RecentFrame {
  readonly firstLeaf: number;
  readonly count: number;
  /** The batch body (the writer's own buffer: never handed out, only copied). */
  readonly body: Uint8Array;
  /** `count + 1` offsets of the leaves in `body`. */
  readonly offsets: Uint32Array;
  /** Leaf hashes, 32 bytes each, in leaf order. */
  readonly hashes: Uint8Array;
  readonly batchIndex: number;
  readonly blockHash: string;
  /** Bytes of the leaves. */
  readonly bytes: number;
  /** The whole buffer `body` is a view of, handed to the drop callback when the frame is dropped. */
  readonly buffer?: Uint8Array;
  /** Set when dropped: its buffer may be reused, so a reader holding the frame must stop using it. */
  dropped?: boolean;
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
 * The newest durable frames of a log as the writer built them, bounded by bytes: the search
 * indexer follows the tail of the log, and reading it back from the segment (read, CRC, AES-GCM,
 * snappy, chain hash) costs the main thread again what writing it did. Frames are pushed in leaf
 * order, contiguous; the oldest are dropped first. A budget of 0 keeps nothing.
 */
export class RecentFrames {
  private readonly maxBytes: number;
  private readonly onDrop: ((buffer: Uint8Array) => void) | undefined;
  private frames: RecentFrame[] = [];
  private head = 0;
  private bytes = 0;

  /** @param onDrop - receives the buffer of each dropped frame (the writer reuses it). */
  constructor(maxBytes: number, onDrop?: (buffer: Uint8Array) => void) {
    this.maxBytes = maxBytes;
    this.onDrop = onDrop;
  }

  /** Keeps a frame that just became durable (the next in leaf order). */
  push(frame: RecentFrame): void {
    if (frame.bytes > this.maxBytes) {
      this.clear();
      this.drop(frame);
      return;
    }
    this.frames.push(frame);
    this.bytes += frame.bytes;
    while (this.bytes > this.maxBytes) {
      const old = this.frames[this.head++]!;
      this.bytes -= old.bytes;
      this.drop(old);
    }
    // Compact now and then instead of shifting on every drop.
    if (this.head > 64 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
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

  /** Drops everything. */
  clear(): void {
    for (let i = this.head; i < this.frames.length; i++) this.drop(this.frames[i]!);
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
  }

  private drop(frame: RecentFrame): void {
    frame.dropped = true;
    if (frame.buffer !== undefined && this.onDrop !== undefined) this.onDrop(frame.buffer);
  }
}
