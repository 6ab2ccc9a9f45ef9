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
