/**
 * The idempotency window of a log: `tenant ‖ event id` → the record's leaf index and leaf hash,
 * for the newest `capacity` keys (oldest forgotten first).
 *
 * Layout: a `Map` from key to a slot number (a small integer), and the slots' leaf indexes and
 * leaf hashes in two typed arrays. A window of a million keys is then a million strings plus flat
 * memory — not a million result objects and hash views that every major GC must visit (measured:
 * with the object-per-key map the main thread's GC work made paced p99 latency ~1.5–2× longer).
 * The arrays grow by doubling up to `capacity` slots (40 bytes each).
 *
 * Not here: persistence (state-snapshot.ts writes what {@link IdempotencyWindow.snapshotCursor}
 * adds), in-flight keys (the log writer tracks those until they are durable).
 */
import { HASH_BYTES } from '@sealog/merkle';
import { grown, type IdempotentResult, type SnapshotColumns, type SnapshotCursor } from './state-snapshot';

const INITIAL_SLOTS = 1024;

/** Keys remembered per log unless configured otherwise. */
export const DEFAULT_IDEMPOTENCY_WINDOW = 1_000_000;

/** See module doc. */
export class IdempotencyWindow {
  /** Keys remembered at most; the oldest is forgotten when one more is added. */
  readonly capacity: number;
  /** Key → slot, in the order keys were (re)added: the first key is the oldest. */
  private readonly slots = new Map<string, number>();
  private leafIndexes: Float64Array;
  private hashes: Uint8Array;

  /** @param capacity - keys kept, ≥ 1. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`idempotency window: capacity must be an integer ≥ 1, got ${capacity}`);
    }
    this.capacity = capacity;
    const slots = Math.min(capacity, INITIAL_SLOTS);
    this.leafIndexes = new Float64Array(slots);
    this.hashes = new Uint8Array(slots * HASH_BYTES);
  }

  /** A window holding the entries of `columns` (oldest first; only the newest `capacity` are kept). */
  static fromColumns(columns: SnapshotColumns, capacity: number): IdempotencyWindow {
    const w = new IdempotencyWindow(capacity);
    const { keys, leafIndexes, hashes } = columns;
    for (let i = 0; i < keys.length; i++) w.set(keys[i]!, leafIndexes[i]!, hashes, i * HASH_BYTES);
    return w;
  }

  /** Keys held. */
  get size(): number {
    return this.slots.size;
  }

  /** Whether `key` is held. */
  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** The result remembered for `key` (a fresh copy of its hash), if held. */
  get(key: string): IdempotentResult | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.resultAt(slot);
  }

  /**
   * Remembers `key` → (`leafIndex`, the 32 bytes of `hash` at `offset`), as the newest key (a held
   * key moves to the newest place); forgets the oldest key beyond `capacity`.
   */
  set(key: string, leafIndex: number, hash: Uint8Array, offset = 0): void {
    let slot = this.slots.get(key);
    if (slot !== undefined) {
      this.slots.delete(key);
    } else if (this.slots.size < this.capacity) {
      slot = this.slots.size;
      if (slot === this.leafIndexes.length) this.grow();
    } else {
      // Full: the oldest key gives up its slot.
      const oldest = this.slots.entries().next().value as [string, number];
      this.slots.delete(oldest[0]);
      slot = oldest[1];
    }
    this.slots.set(key, slot);
    this.leafIndexes[slot] = leafIndex;
    this.hashes.set(hash.subarray(offset, offset + HASH_BYTES), slot * HASH_BYTES);
  }

  /** Held keys and their results, oldest first (fresh objects; keys added meanwhile may appear). */
  *entries(): Generator<[string, IdempotentResult]> {
    for (const [key, slot] of this.slots) yield [key, this.resultAt(slot)];
  }

  /**
   * A cursor adding the held entries, oldest first, to a snapshot without an object per entry.
   * Keys added between calls may be added too (they are the newest); keys forgotten meanwhile are
   * skipped.
   */
  snapshotCursor(): SnapshotCursor {
    const it = this.slots.entries();
    return (sink, max) => {
      for (let n = 0; n < max; n++) {
        const r = it.next();
        if (r.done === true) return false;
        const slot = r.value[1];
        sink.add(r.value[0], this.leafIndexes[slot]!, this.hashes, slot * HASH_BYTES);
      }
      return true;
    };
  }

  [Symbol.iterator](): Generator<[string, IdempotentResult]> {
    return this.entries();
  }

  private resultAt(slot: number): IdempotentResult {
    return {
      leafIndex: this.leafIndexes[slot]!,
      leafHash: this.hashes.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES),
    };
  }

  private grow(): void {
    const slots = Math.min(this.capacity, this.leafIndexes.length * 2);
    this.leafIndexes = grown(this.leafIndexes, slots);
    this.hashes = grown(this.hashes, slots * HASH_BYTES);
  }
}
