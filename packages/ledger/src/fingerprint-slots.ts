/**
 * Slots of (16-byte key fingerprint, leaf index, leaf hash) off the V8 heap, found by fingerprint:
 * the storage shared by the idempotency window (a ring of the newest keys) and the entity heads
 * (one slot per entity, never freed).
 *
 * Slots live in chunks of 16,384 — fingerprint, leaf index and leaf hash in three typed arrays per
 * chunk — so growing never copies; the index is an open-addressing hash table (linear probing, a
 * slot number per bucket, at most half full, backward-shift deletion: no tombstones) split into
 * shards by other bits of the fingerprint, each sized for ~8,192 keys at the expected size and
 * doubling (rehashing its own keys) on its own, so that no insert pauses for long. A flat table
 * that doubled took 64 ms at 262,144 keys and 149 ms at 524,288 on these machines.
 */
import { HASH_BYTES } from '@sealog/merkle';
import { FINGERPRINT_BYTES } from './key-fingerprint';

/** Slots per chunk (2^14: 256 KiB of fingerprints, 512 KiB of hashes). */
export const CHUNK_BITS = 14;
export const CHUNK_SLOTS: number = 1 << CHUNK_BITS;
export const CHUNK_MASK: number = CHUNK_SLOTS - 1;
/** Entries a shard is sized for: its rehash when it doubles is this many inserts at most. */
const SHARD_ENTRIES = 1 << 13;
/** u32 words per fingerprint. */
export const WORDS: number = FINGERPRINT_BYTES / 4;

/** Callback of {@link FingerprintSlots.visitSlots}. */
export type RunVisitor = (
  fingerprints: Uint32Array,
  leafIndexes: Float64Array,
  hashes: Uint8Array,
  at: number,
  count: number,
) => void;

/** See module doc. Subclasses decide which slot holds what. */
export class FingerprintSlots {
  /** Per chunk: fingerprint of slot `s` at words `(s & CHUNK_MASK) * WORDS …` of chunk `s >> CHUNK_BITS`. */
  protected readonly fingerprints: Uint32Array[] = [];
  protected readonly leafIndexes: Float64Array[] = [];
  protected readonly hashes: Uint8Array[] = [];
  /** Slots allocated (chunks × their sizes). */
  protected slots = 0;
  /** Per shard (fingerprint word 1 & `shardMask`), its buckets: slot + 1, or 0 when empty. */
  private readonly tables: Int32Array[] = [];
  /** Per shard: keys it holds. */
  private readonly shardCounts: Int32Array;
  private readonly shardMask: number;

  /** @param expected - keys the index is sized for (more fit: shards then grow beyond ~8,192). */
  constructor(expected: number) {
    let shards = 1;
    while (shards * SHARD_ENTRIES < expected) shards *= 2;
    this.shardMask = shards - 1;
    this.shardCounts = new Int32Array(shards);
    for (let k = 0; k < shards; k++) this.tables.push(new Int32Array(16));
  }

  /** The slot indexed under the fingerprint at `words[at …]`, or -1. */
  protected find(words: Uint32Array, at: number): number {
    const shard = words[at + 1]! & this.shardMask;
    const bucket = this.bucketOf(shard, words, at);
    return bucket < 0 ? -1 : this.tables[shard]![bucket]! - 1;
  }

  /** Writes the fingerprint at `words[at …]` into `slot` and indexes it (it must not be indexed yet). */
  protected index(slot: number, words: Uint32Array, at: number): void {
    const fps = this.fingerprints[slot >>> CHUNK_BITS]!;
    const s = (slot & CHUNK_MASK) * WORDS;
    fps[s] = words[at]!;
    fps[s + 1] = words[at + 1]!;
    fps[s + 2] = words[at + 2]!;
    fps[s + 3] = words[at + 3]!;
    const shard = words[at + 1]! & this.shardMask;
    if (++this.shardCounts[shard]! * 2 > this.tables[shard]!.length) this.growShard(shard);
    this.insertBucket(this.tables[shard]!, slot);
  }

  /** Removes `slot`'s fingerprint from the index (the slot may then be reused). */
  protected unindex(slot: number): void {
    const fps = this.fingerprints[slot >>> CHUNK_BITS]!;
    const at = (slot & CHUNK_MASK) * WORDS;
    const shard = fps[at + 1]! & this.shardMask;
    this.removeBucket(shard, this.bucketOf(shard, fps, at));
  }

  /** Allocates the next chunk, of `n` ≤ {@link CHUNK_SLOTS} slots. */
  protected addChunk(n: number): void {
    this.fingerprints.push(new Uint32Array(n * WORDS));
    this.leafIndexes.push(new Float64Array(n));
    this.hashes.push(new Uint8Array(n * HASH_BYTES));
    this.slots += n;
  }

  /**
   * Calls `visit` with the slots `slot …` that lie in one chunk, at most `max` of them: the chunk's
   * arrays and the first slot's index in them. The arrays are this table's own.
   * @returns the slots visited.
   */
  protected visitSlots(slot: number, max: number, visit: RunVisitor): number {
    const c = slot >>> CHUNK_BITS;
    const o = slot & CHUNK_MASK;
    const run = Math.min(max, this.leafIndexes[c]!.length - o);
    visit(this.fingerprints[c]!, this.leafIndexes[c]!, this.hashes[c]!, o, run);
    return run;
  }

  /** Bucket of shard `shard` holding the fingerprint at `words[at…]`, or -1. */
  private bucketOf(shard: number, words: Uint32Array, at: number): number {
    const table = this.tables[shard]!;
    const mask = table.length - 1;
    const w0 = words[at]!;
    for (let b = w0 & mask; ; b = (b + 1) & mask) {
      const v = table[b]!;
      if (v === 0) return -1;
      const slot = v - 1;
      const fps = this.fingerprints[slot >>> CHUNK_BITS]!;
      const s = (slot & CHUNK_MASK) * WORDS;
      if (
        fps[s] === w0 &&
        fps[s + 1] === words[at + 1] &&
        fps[s + 2] === words[at + 2] &&
        fps[s + 3] === words[at + 3]
      ) {
        return b;
      }
    }
  }

  /** Puts `slot` in the first empty bucket of its probe run in `table`. */
  private insertBucket(table: Int32Array, slot: number): void {
    const mask = table.length - 1;
    let b = this.fingerprints[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * WORDS]! & mask;
    while (table[b] !== 0) b = (b + 1) & mask;
    table[b] = slot + 1;
  }

  /** Empties bucket `b` of shard `shard`, moving later entries of its probe run back (no tombstones). */
  private removeBucket(shard: number, b: number): void {
    const table = this.tables[shard]!;
    const mask = table.length - 1;
    this.shardCounts[shard]!--;
    let hole = b;
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const slot = table[j]! - 1;
      const home = this.fingerprints[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * WORDS]! & mask;
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
  }

  /** Doubles shard `shard`'s table (its keys only are rehashed). */
  private growShard(shard: number): void {
    const old = this.tables[shard]!;
    const table = new Int32Array(old.length * 2);
    for (let b = 0; b < old.length; b++) if (old[b] !== 0) this.insertBucket(table, old[b]! - 1);
    this.tables[shard] = table;
  }
}
