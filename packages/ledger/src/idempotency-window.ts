/**
 * The idempotency window of a log: `tenant ‖ event id` → the record's leaf index and leaf hash,
 * for the newest `capacity` keys (oldest forgotten first).
 *
 * Layout: nothing per key on the V8 heap. Keys are kept as 16-byte salted fingerprints
 * (key-fingerprint.ts) in a ring of slots — fingerprint, leaf index and leaf hash in three typed
 * arrays, the oldest entry at `oldest` — and found through an open-addressing hash table (linear
 * probing, a slot number per bucket, at most half full; the oldest entry leaves by backward-shift
 * deletion, so there are no tombstones). A full window of a million keys is ~64 MB of flat memory
 * that no GC visits, where a `Map` of key strings was ~170 MB of objects that every major GC marked.
 * The ring grows by doubling up to `capacity` slots (56 bytes each, plus 4–8 bytes of table).
 *
 * Re-adding a held key updates its result in place (it keeps its age): the log only re-adds keys
 * when a restart replays records a snapshot already holds, with the same result.
 *
 * Not here: persistence (state-snapshot.ts writes what {@link IdempotencyWindow.snapshotCursor}
 * adds), in-flight keys (the log writer tracks those until they are durable).
 */
import { HASH_BYTES } from '@sealog/merkle';
import { FINGERPRINT_BYTES, KeyFingerprinter, newSalt } from './key-fingerprint';
import {
  FingerprintBuilder,
  type FingerprintColumns,
  type FingerprintCursor,
  grown,
  type IdempotentResult,
} from './state-snapshot';

const INITIAL_SLOTS = 1024;
/** u32 words per fingerprint. */
const WORDS = FINGERPRINT_BYTES / 4;

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
  /** Fingerprint of slot `s` at words `s * WORDS …`. */
  private fingerprints: Uint32Array;
  private leafIndexes: Float64Array;
  private hashes: Uint8Array;
  /** Buckets: slot + 1, or 0 when empty. */
  private table: Int32Array;
  private mask: number;
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
    const slots = Math.min(capacity, INITIAL_SLOTS);
    this.fingerprints = new Uint32Array(slots * WORDS);
    this.leafIndexes = new Float64Array(slots);
    this.hashes = new Uint8Array(slots * HASH_BYTES);
    this.table = new Int32Array(tableSizeFor(slots));
    this.mask = this.table.length - 1;
  }

  /** A window holding the entries of `columns` (oldest first; only the newest `capacity` are kept). */
  static fromColumns(columns: FingerprintColumns, capacity: number): IdempotencyWindow {
    const w = new IdempotencyWindow(capacity, columns.salt);
    const { fingerprints, leafIndexes, hashes } = columns;
    const words = new Uint32Array(WORDS);
    const view = new DataView(fingerprints.buffer, fingerprints.byteOffset, fingerprints.byteLength);
    for (let i = 0; i < leafIndexes.length; i++) {
      for (let j = 0; j < WORDS; j++) words[j] = view.getUint32(i * FINGERPRINT_BYTES + j * 4, true);
      w.setFingerprint(words, 0, leafIndexes[i]!, hashes, i * HASH_BYTES);
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
    return this.bucketOf(this.probe, 0) >= 0;
  }

  /** The result remembered for `key` (a fresh copy of its hash), if held. */
  get(key: string): IdempotentResult | undefined {
    this.fingerprinter.fingerprint(key, this.probe, 0);
    return this.getFingerprint(this.probe, 0);
  }

  /** Like {@link IdempotencyWindow.get}, for a key whose fingerprint (under {@link salt}) is `words[at …]`. */
  getFingerprint(words: Uint32Array, at: number): IdempotentResult | undefined {
    const bucket = this.bucketOf(words, at);
    if (bucket < 0) return undefined;
    const slot = this.table[bucket]! - 1;
    return {
      leafIndex: this.leafIndexes[slot]!,
      leafHash: this.hashes.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES),
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
   * A cursor adding the entries held now, oldest first, to a snapshot without an object per entry
   * (copied as ranges). Keys forgotten between calls are skipped; keys added after this call are
   * not added (a restart replays their records), so a snapshot holds at most {@link size} entries.
   */
  snapshotCursor(): FingerprintCursor {
    let next = this.added - this.count;
    const end = this.added;
    return (sink, max) => {
      const first = this.added - this.count;
      if (next < first) next = first;
      const slots = this.leafIndexes.length;
      let left = Math.min(max, end - next);
      // At most two runs of consecutive slots (the ring may wrap): copied as ranges.
      while (left > 0) {
        let slot = this.oldest + (next - first);
        if (slot >= slots) slot -= slots;
        const run = Math.min(left, slots - slot);
        sink.addRange(this.fingerprints, this.leafIndexes, this.hashes, slot, run);
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

  /** Bucket holding the fingerprint at `words[at…]`, or -1. */
  private bucketOf(words: Uint32Array, at: number): number {
    const fps = this.fingerprints;
    const table = this.table;
    const mask = this.mask;
    const w0 = words[at]!;
    for (let b = w0 & mask; ; b = (b + 1) & mask) {
      const v = table[b]!;
      if (v === 0) return -1;
      const s = (v - 1) * WORDS;
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
    const held = this.bucketOf(words, at);
    let slot: number;
    if (held >= 0) {
      slot = this.table[held]! - 1;
    } else {
      if (this.count === this.capacity) {
        // Full: the oldest key gives up its slot.
        slot = this.oldest;
        this.removeBucket(this.bucketOf(this.fingerprints, slot * WORDS));
        this.oldest = slot + 1 === this.capacity ? 0 : slot + 1;
      } else {
        if (this.count === this.leafIndexes.length) this.grow();
        // Not full yet: nothing was forgotten, the ring starts at slot 0.
        slot = this.count;
        this.count++;
      }
      const fps = this.fingerprints;
      const s = slot * WORDS;
      fps[s] = words[at]!;
      fps[s + 1] = words[at + 1]!;
      fps[s + 2] = words[at + 2]!;
      fps[s + 3] = words[at + 3]!;
      this.insertBucket(slot);
      this.added++;
    }
    this.leafIndexes[slot] = leafIndex;
    const hashes = this.hashes;
    const h = slot * HASH_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) hashes[h + j] = hash[offset + j]!;
  }

  private insertBucket(slot: number): void {
    const table = this.table;
    const mask = this.mask;
    let b = this.fingerprints[slot * WORDS]! & mask;
    while (table[b] !== 0) b = (b + 1) & mask;
    table[b] = slot + 1;
  }

  /** Empties bucket `b`, moving later entries of its probe run back (no tombstones). */
  private removeBucket(b: number): void {
    const table = this.table;
    const mask = this.mask;
    const fps = this.fingerprints;
    let hole = b;
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = fps[(table[j]! - 1) * WORDS]! & mask;
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
  }

  private grow(): void {
    const slots = Math.min(this.capacity, this.leafIndexes.length * 2);
    this.fingerprints = grown(this.fingerprints, slots * WORDS);
    this.leafIndexes = grown(this.leafIndexes, slots);
    this.hashes = grown(this.hashes, slots * HASH_BYTES);
    this.table = new Int32Array(tableSizeFor(slots));
    this.mask = this.table.length - 1;
    for (let s = 0; s < this.count; s++) this.insertBucket(s);
  }
}

/** The smallest power of two ≥ 2 × `slots` (the table is at most half full). */
function tableSizeFor(slots: number): number {
  let n = 16;
  while (n < slots * 2) n *= 2;
  return n;
}
