/**
 * The idempotency window of a log: `tenant ‖ event id` → the record's leaf index and leaf hash,
 * for the newest `capacity` keys (oldest forgotten first).
 *
 * Layout: nothing per key on the V8 heap. Keys are kept as 16-byte salted fingerprints
 * (key-fingerprint.ts) in a ring of slots — fingerprint, leaf index and leaf hash in three typed
 * arrays per chunk of 16,384 slots, the oldest entry at `oldest` — and found through an
 * open-addressing hash table (linear probing, a slot number per bucket, at most half full; the
 * oldest entry leaves by backward-shift deletion, so there are no tombstones). A full window of a
 * million keys is ~64 MB of flat memory that no GC visits, where a `Map` of key strings was
 * ~170 MB of objects that every major GC marked.
 *
 * Growth never stalls the writer: the ring gains a chunk at a time up to `capacity` slots (56 bytes
 * each; nothing is copied), and the table is split into shards by other bits of the fingerprint,
 * sized so that each holds ~8,192 keys when the window is full; a shard doubles (and rehashes its
 * own keys) on its own. A flat ring and table that doubled took 64 ms at 262,144 keys and 149 ms
 * at 524,288 (mostly first-touch page faults of the copies) on these machines.
 *
 * Re-adding a held key updates its result in place (it keeps its age): the log only re-adds keys
 * when a restart replays records a snapshot already holds, with the same result.
 *
 * Not here: persistence (window-journal.ts writes the entries each snapshot lacks, reading them
 * with {@link IdempotencyWindow.visitRun}), in-flight keys (the log writer tracks those until they
 * are durable).
 */
import { HASH_BYTES } from '@sealog/merkle';
import { FINGERPRINT_BYTES, KeyFingerprinter, newSalt } from './key-fingerprint';
import {
  FingerprintBuilder,
  type FingerprintColumns,
  type FingerprintCursor,
  type IdempotentResult,
} from './state-snapshot';

/** Slots per chunk of the ring (2^14: 256 KiB of fingerprints, 512 KiB of hashes). */
const CHUNK_BITS = 14;
const CHUNK_SLOTS = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SLOTS - 1;
/** Entries a shard of the table is sized for: its rehash when it doubles is this many inserts at most. */
const SHARD_ENTRIES = 1 << 13;
/** u32 words per fingerprint. */
const WORDS = FINGERPRINT_BYTES / 4;

/** See {@link IdempotencyWindow.visitRun}. */
export type RunVisitor = (
  fingerprints: Uint32Array,
  leafIndexes: Float64Array,
  hashes: Uint8Array,
  at: number,
  count: number,
) => void;

/** Keys remembered per log unless configured otherwise. */
export const DEFAULT_IDEMPOTENCY_WINDOW = 1_000_000;
/**
 * The largest window: its hashes are one typed array of 32 bytes per slot, and Node 20 caps a
 * typed array at 2^32 elements.
 */
export const MAX_IDEMPOTENCY_WINDOW: number = 2 ** 27;

/** See module doc. */
export class IdempotencyWindow {
  /** Keys remembered at most; the oldest is forgotten when one more is added. */
  readonly capacity: number;
  private readonly fingerprinter: KeyFingerprinter;
  /** Per chunk: fingerprint of slot `s` at words `(s & CHUNK_MASK) * WORDS …` of chunk `s >> CHUNK_BITS`. */
  private readonly fingerprints: Uint32Array[] = [];
  private readonly leafIndexes: Float64Array[] = [];
  private readonly hashes: Uint8Array[] = [];
  /** Slots allocated (chunks × their sizes). */
  private slots = 0;
  /** Per shard (fingerprint word 1 & `shardMask`), its buckets: slot + 1, or 0 when empty. */
  private readonly tables: Int32Array[] = [];
  /** Per shard: keys it holds. */
  private readonly shardCounts: Int32Array;
  private readonly shardMask: number;
  /** Slot of the oldest entry (the ring wraps only once it has `capacity` slots). */
  private oldest = 0;
  private count = 0;
  /** Entries ever added (not counting in-place updates): the newest has sequence `added - 1`. */
  private added = 0;
  private readonly probe = new Uint32Array(WORDS);

  /**
   * @param capacity - keys kept, ≥ 1.
   * @param salt - the fingerprints' salt (from a snapshot); a fresh random one by default.
   */
  constructor(capacity: number, salt: Uint8Array = newSalt()) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_IDEMPOTENCY_WINDOW) {
      throw new RangeError(
        `idempotency window: capacity must be an integer in 1…${MAX_IDEMPOTENCY_WINDOW}, got ${capacity}`,
      );
    }
    this.capacity = capacity;
    this.fingerprinter = new KeyFingerprinter(salt);
    let shards = 1;
    while (shards * SHARD_ENTRIES < capacity) shards *= 2;
    this.shardMask = shards - 1;
    this.shardCounts = new Int32Array(shards);
    for (let k = 0; k < shards; k++) this.tables.push(new Int32Array(16));
  }

  /**
   * A window holding the entries of `columns` (oldest first; only the newest `capacity` are kept),
   * numbered from `firstSequence` on (see {@link IdempotencyWindow.firstSequence}).
   */
  static fromColumns(columns: FingerprintColumns, capacity: number, firstSequence = 0): IdempotencyWindow {
    const w = new IdempotencyWindow(capacity, columns.salt);
    w.added = firstSequence;
    const { fingerprints, leafIndexes, hashes } = columns;
    const words = new Uint32Array(WORDS);
    const view = new DataView(fingerprints.buffer, fingerprints.byteOffset, fingerprints.byteLength);
    for (let i = 0; i < leafIndexes.length; i++) {
      for (let j = 0; j < WORDS; j++) words[j] = view.getUint32(i * FINGERPRINT_BYTES + j * 4, true);
      w.setFingerprint(words, 0, leafIndexes[i]!, hashes, i * HASH_BYTES);
    }
    if (w.added !== firstSequence + leafIndexes.length) {
      throw new Error(
        `idempotency window: ${leafIndexes.length - (w.added - firstSequence)} repeated fingerprints in ${leafIndexes.length} entries`,
      );
    }
    return w;
  }

  /** The salt of the fingerprints (stored with them in a snapshot). */
  get salt(): Uint8Array {
    return this.fingerprinter.salt;
  }

  /** Keys held. */
  get size(): number {
    return this.count;
  }

  /** Whether `key` is held. */
  has(key: string): boolean {
    this.fingerprinter.fingerprint(key, this.probe, 0);
    return this.bucketOf(this.probe[1]! & this.shardMask, this.probe, 0) >= 0;
  }

  /** The result remembered for `key` (a fresh copy of its hash), if held. */
  get(key: string): IdempotentResult | undefined {
    this.fingerprinter.fingerprint(key, this.probe, 0);
    return this.getFingerprint(this.probe, 0);
  }

  /** Like {@link IdempotencyWindow.get}, for a key whose fingerprint (under {@link salt}) is `words[at …]`. */
  getFingerprint(words: Uint32Array, at: number): IdempotentResult | undefined {
    const shard = words[at + 1]! & this.shardMask;
    const bucket = this.bucketOf(shard, words, at);
    if (bucket < 0) return undefined;
    const slot = this.tables[shard]![bucket]! - 1;
    const c = slot >>> CHUNK_BITS;
    const o = slot & CHUNK_MASK;
    return {
      leafIndex: this.leafIndexes[c]![o]!,
      leafHash: this.hashes[c]!.slice(o * HASH_BYTES, (o + 1) * HASH_BYTES),
    };
  }

  /**
   * Remembers `key` → (`leafIndex`, the 32 bytes of `hash` at `offset`) as the newest key, or
   * updates a held key in place; forgets the oldest key beyond `capacity`.
   */
  set(key: string, leafIndex: number, hash: Uint8Array, offset = 0): void {
    this.fingerprinter.fingerprint(key, this.probe, 0);
    this.setFingerprint(this.probe, 0, leafIndex, hash, offset);
  }

  /**
   * Sequence number of the oldest entry held. Entries are numbered in the order they were first
   * added (from the `firstSequence` of {@link IdempotencyWindow.fromColumns}); the window holds
   * `firstSequence … endSequence - 1`.
   */
  get firstSequence(): number {
    return this.added - this.count;
  }

  /** Sequence number the next new entry gets. */
  get endSequence(): number {
    return this.added;
  }

  /**
   * Calls `visit` with the held entries from sequence `seq` on that lie in one run of the ring's
   * slots, at most `max` of them: the ring's arrays of that chunk and the run's first slot in them
   * (entry `i` of the run: fingerprint words `(at + i) * 4 …`, `leafIndexes[at + i]`, hash bytes
   * `(at + i) * 32 …`). The arrays are the window's own: valid until it next changes.
   *
   * @returns the entries visited (0 when `seq` is not held).
   */
  visitRun(seq: number, max: number, visit: RunVisitor): number {
    const first = this.added - this.count;
    if (seq < first || seq >= this.added || max <= 0) return 0;
    let slot = this.oldest + (seq - first);
    if (slot >= this.slots) slot -= this.slots;
    const c = slot >>> CHUNK_BITS;
    const o = slot & CHUNK_MASK;
    const run = Math.min(max, this.added - seq, this.leafIndexes[c]!.length - o);
    visit(this.fingerprints[c]!, this.leafIndexes[c]!, this.hashes[c]!, o, run);
    return run;
  }

  /**
   * A cursor adding the entries held now, oldest first, to a snapshot without an object per entry
   * (copied as ranges). Keys forgotten between calls are skipped; keys added after this call are
   * not added (a restart replays their records), so a snapshot holds at most {@link size} entries.
   */
  snapshotCursor(): FingerprintCursor {
    let next = this.added - this.count;
    const end = this.added;
    return (sink, max) => {
      if (next < this.firstSequence) next = this.firstSequence;
      let left = Math.min(max, end - next);
      // Runs of consecutive slots within a chunk (the ring may wrap): copied as ranges.
      while (left > 0) {
        const run = this.visitRun(next, left, (fps, idx, hashes, at, count) =>
          sink.addRange(fps, idx, hashes, at, count),
        );
        next += run;
        left -= run;
      }
      return next < end;
    };
  }

  /** Every held entry, oldest first (views of a fresh builder's arrays). */
  columns(): FingerprintColumns {
    const sink = new FingerprintBuilder(this.count);
    this.snapshotCursor()(sink, Number.POSITIVE_INFINITY);
    return sink.columns(this.salt);
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

  /** Like {@link IdempotencyWindow.set}, for a key whose fingerprint (under {@link salt}) is `words[at …]`. */
  setFingerprint(words: Uint32Array, at: number, leafIndex: number, hash: Uint8Array, offset: number): void {
    const shard = words[at + 1]! & this.shardMask;
    const held = this.bucketOf(shard, words, at);
    let slot: number;
    if (held >= 0) {
      slot = this.tables[shard]![held]! - 1;
    } else {
      if (this.count === this.capacity) {
        // Full: the oldest key gives up its slot.
        slot = this.oldest;
        const oldFps = this.fingerprints[slot >>> CHUNK_BITS]!;
        const oldAt = (slot & CHUNK_MASK) * WORDS;
        const oldShard = oldFps[oldAt + 1]! & this.shardMask;
        this.removeBucket(oldShard, this.bucketOf(oldShard, oldFps, oldAt));
        this.oldest = slot + 1 === this.capacity ? 0 : slot + 1;
      } else {
        if (this.count === this.slots) this.addChunk();
        // Not full yet: nothing was forgotten, the ring starts at slot 0.
        slot = this.count;
        this.count++;
      }
      const fps = this.fingerprints[slot >>> CHUNK_BITS]!;
      const s = (slot & CHUNK_MASK) * WORDS;
      fps[s] = words[at]!;
      fps[s + 1] = words[at + 1]!;
      fps[s + 2] = words[at + 2]!;
      fps[s + 3] = words[at + 3]!;
      if (++this.shardCounts[shard]! * 2 > this.tables[shard]!.length) this.growShard(shard);
      this.insertBucket(this.tables[shard]!, slot);
      this.added++;
    }
    const o = slot & CHUNK_MASK;
    this.leafIndexes[slot >>> CHUNK_BITS]![o] = leafIndex;
    const hashes = this.hashes[slot >>> CHUNK_BITS]!;
    const h = o * HASH_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) hashes[h + j] = hash[offset + j]!;
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

  /** Allocates the ring's next chunk (the last one only as large as `capacity` needs). */
  private addChunk(): void {
    const n = Math.min(CHUNK_SLOTS, this.capacity - this.slots);
    this.fingerprints.push(new Uint32Array(n * WORDS));
    this.leafIndexes.push(new Float64Array(n));
    this.hashes.push(new Uint8Array(n * HASH_BYTES));
    this.slots += n;
  }
}
