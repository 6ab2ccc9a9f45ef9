/**
 * The idempotency window of a log: `tenant ‖ event id` → the record's leaf index and leaf hash,
 * for the newest `capacity` keys (oldest forgotten first).
 *
 * Layout: nothing per key on the V8 heap. Keys are kept as 16-byte salted fingerprints
 * (key-fingerprint.ts) in a ring of slots (fingerprint-slots.ts: three typed arrays per chunk of
 * 16,384 slots, found through a sharded open-addressing table), the oldest entry at `oldest`; the
 * oldest leaves the table by backward-shift deletion. A full window of a million keys is ~64 MB
 * of flat memory that no GC visits, where a `Map` of key strings was ~170 MB of objects that every
 * major GC marked. The ring gains a chunk at a time up to `capacity` slots (nothing is copied).

 * Re-adding a held key updates its result in place (it keeps its age): the log only re-adds keys
 * when a restart replays records a snapshot already holds, with the same result.
 *
 * Not here: persistence (window-journal.ts writes the entries each snapshot lacks, reading them
 * with {@link IdempotencyWindow.visitRun}), in-flight keys (the log writer tracks those until they
 * are durable).
 */
import { HASH_BYTES } from '@sealog/merkle';
import {
  CHUNK_BITS,
  CHUNK_MASK,
  CHUNK_SLOTS,
  FingerprintSlots,
  type RunVisitor,
  WORDS,
} from './fingerprint-slots';
import { FINGERPRINT_BYTES, KeyFingerprinter, newSalt } from './key-fingerprint';
import {
  FingerprintBuilder,
  type FingerprintColumns,
  type FingerprintCursor,
  type IdempotentResult,
} from './state-snapshot';

export type { RunVisitor } from './fingerprint-slots';

/** Keys remembered per log unless configured otherwise. */
export const DEFAULT_IDEMPOTENCY_WINDOW = 1_000_000;
/**
 * The largest window: its hashes are one typed array of 32 bytes per slot, and Node 20 caps a
 * typed array at 2^32 elements.
 */
export const MAX_IDEMPOTENCY_WINDOW: number = 2 ** 27;

/** See module doc. */
export class IdempotencyWindow extends FingerprintSlots {
  /** Keys remembered at most; the oldest is forgotten when one more is added. */
  readonly capacity: number;
  private readonly fingerprinter: KeyFingerprinter;
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
    super(capacity);
    this.capacity = capacity;
    this.fingerprinter = new KeyFingerprinter(salt);
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
    return this.find(this.probe, 0) >= 0;
  }

  /** The result remembered for `key` (a fresh copy of its hash), if held. */
  get(key: string): IdempotentResult | undefined {
    this.fingerprinter.fingerprint(key, this.probe, 0);
    return this.getFingerprint(this.probe, 0);
  }

  /** Like {@link IdempotencyWindow.get}, for a key whose fingerprint (under {@link salt}) is `words[at …]`. */
  getFingerprint(words: Uint32Array, at: number): IdempotentResult | undefined {
    const slot = this.find(words, at);
    if (slot < 0) return undefined;
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
    return this.visitSlots(slot, Math.min(max, this.added - seq), visit);
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

  /** Like {@link IdempotencyWindow.set}, for a key whose fingerprint (under {@link salt}) is `words[at …]`. */
  setFingerprint(words: Uint32Array, at: number, leafIndex: number, hash: Uint8Array, offset: number): void {
    let slot = this.find(words, at);
    if (slot < 0) {
      if (this.count === this.capacity) {
        // Full: the oldest key gives up its slot.
        slot = this.oldest;
        this.unindex(slot);
        this.oldest = slot + 1 === this.capacity ? 0 : slot + 1;
      } else {
        // Not full yet: nothing was forgotten, the ring starts at slot 0.
        if (this.count === this.slots) this.addChunk(Math.min(CHUNK_SLOTS, this.capacity - this.slots));
        slot = this.count;
        this.count++;
      }
      this.index(slot, words, at);
      this.added++;
    }
    const o = slot & CHUNK_MASK;
    this.leafIndexes[slot >>> CHUNK_BITS]![o] = leafIndex;
    const hashes = this.hashes[slot >>> CHUNK_BITS]!;
    const h = o * HASH_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) hashes[h + j] = hash[offset + j]!;
  }
}
