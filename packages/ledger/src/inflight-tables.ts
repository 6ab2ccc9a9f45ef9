/**
 * Lookup tables for what is in flight on the append path — idempotency keys until their record is
 * durable, worker requests until answered — where every entry is added and removed within
 * milliseconds, thousands of times a second, for the life of the process.
 *
 * A `Map` is the wrong shape for that in V8 (Node 20), measured on bench:audit's paced phase: a
 * `Map` rehashes its table as entries come and go, and once the table has been promoted to the old
 * generation every new table is allocated there too, and the obsolete table keeps a pointer to its
 * successor (for live iterators) and its entries as they were. So the writer's in-flight key map
 * alone put ~11 MB/s into the old generation (a mark-compact every 1–2 s) and, through the chain of
 * dead tables, kept every in-flight record — queue item, prepared record, pending append, results —
 * reachable from old space until the next mark-compact: the main thread's young-generation GCs
 * copied and promoted ~2.2 MB each time (8–13 ms pauses) where the records really alive were a few
 * hundred kilobytes.
 *
 * These tables allocate only when they grow (doubling; they keep their size), and clear a slot when
 * its entry leaves, so nothing dead stays reachable from them.
 */

import { randomBytes } from 'node:crypto';

/** Smallest table (a power of two). */
const MIN_CAPACITY = 64;
/**
 * Largest {@link IdTable} slot array: past it, an old id still held when a new one needs its slot
 * moves to a side map (a request answered very late must not grow the table to the id spread).
 */
const MAX_ID_SLOTS = 1 << 16;

/**
 * String key → value, open addressing with linear probing (at most half full) and backward-shift
 * deletion (no tombstones). Keys are hashed here (seeded FNV-1a, see {@link hashKey}), not interned.
 */
export class KeyTable<V> {
  private keys: (string | undefined)[];
  private values: (V | undefined)[];
  private hashes: Int32Array;
  private mask: number;
  private count = 0;

  constructor() {
    this.keys = new Array<string | undefined>(MIN_CAPACITY).fill(undefined);
    this.values = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
    this.hashes = new Int32Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const b = this.find(key, hashKey(key));
    return b < 0 ? undefined : this.values[b];
  }

  /** Adds `key` or replaces its value. */
  set(key: string, value: V): void {
    const h = hashKey(key);
    const at = this.find(key, h);
    if (at >= 0) {
      this.values[at] = value;
      return;
    }
    if ((this.count + 1) * 2 > this.keys.length) this.resize(this.keys.length * 2);
    this.place(key, value, h);
    this.count++;
  }

  /** Puts a key that is not held into the first free bucket of its probe run. */
  private place(key: string, value: V | undefined, h: number): void {
    let b = h & this.mask;
    while (this.keys[b] !== undefined) b = (b + 1) & this.mask;
    this.keys[b] = key;
    this.values[b] = value;
    this.hashes[b] = h;
  }

  /** Removes `key`; `true` when it was held. */
  delete(key: string): boolean {
    let hole = this.find(key, hashKey(key));
    if (hole < 0) return false;
    const mask = this.mask;
    // Backward shift: pull later entries of the probe run into the hole unless their home bucket
    // lies cyclically after the hole (then they are already as close to home as they can be).
    for (let j = (hole + 1) & mask; this.keys[j] !== undefined; j = (j + 1) & mask) {
      const home = this.hashes[j]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.keys[hole] = this.keys[j];
      this.values[hole] = this.values[j];
      this.hashes[hole] = this.hashes[j]!;
      hole = j;
    }
    this.keys[hole] = undefined;
    this.values[hole] = undefined;
    this.count--;
    return true;
  }

  /** Bucket of `key`, or -1. */
  private find(key: string, h: number): number {
    const mask = this.mask;
    for (let b = h & mask; ; b = (b + 1) & mask) {
      const k = this.keys[b];
      if (k === undefined) return -1;
      if (this.hashes[b] === h && k === key) return b;
    }
  }

  private resize(capacity: number): void {
    const keys = this.keys;
    const values = this.values;
    const hashes = this.hashes;
    this.keys = new Array<string | undefined>(capacity).fill(undefined);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k !== undefined) this.place(k, values[i], hashes[i]!);
    }
  }
}

/**
 * Per-process seed of {@link hashKey}: keys carry client-chosen event ids, and an unseeded hash
 * would let a client pick ids that all land in one probe run (each operation then walks it).
 */
const HASH_SEED: number = randomBytes(4).readInt32LE(0);

/**
 * FNV-1a over the UTF-16 code units of `key` from a random basis, then murmur3's finalizer (FNV's
 * low bits, which pick the bucket, depend only on the low bits of the input), as a signed int32
 * like `hashes`. Exported for tests.
 */
export function hashKey(key: string): number {
  let h = (0x811c9dc5 ^ HASH_SEED) | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Request id → value for ids handed out in increasing order (0, 1, 2, …) and answered roughly in
 * that order: slot `id mod capacity`, no hashing; the table doubles when a new id would land on a
 * slot still held by an older one, up to {@link MAX_ID_SLOTS} slots; beyond that the older id
 * moves to a small side map (stragglers are rare: one worker answers in order).
 */
export class IdTable<V> {
  private ids: Float64Array;
  private values: (V | undefined)[];
  private count = 0;
  private stragglers: Map<number, V> | undefined;

  constructor() {
    this.ids = new Float64Array(MIN_CAPACITY).fill(-1);
    this.values = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  get(id: number): V | undefined {
    if (!Number.isSafeInteger(id) || id < 0) return undefined;
    const s = id % this.ids.length;
    if (this.ids[s] === id) return this.values[s];
    return this.stragglers?.get(id);
  }

  /**
   * Adds request `id` (a non-negative safe integer, not held already).
   * @throws {RangeError} for a negative, fractional or held id.
   */
  set(id: number, value: V): void {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`id table: bad id ${id}`);
    if (this.ids[id % this.ids.length] === id || this.stragglers?.has(id) === true) {
      throw new RangeError(`id table: id ${id} already held`);
    }
    for (;;) {
      const s = id % this.ids.length;
      const held = this.ids[s]!;
      if (held === -1) break;
      if (this.ids.length < MAX_ID_SLOTS) {
        this.resize(this.ids.length * 2);
        continue;
      }
      // Full size: the id in the way moves aside.
      this.stragglers ??= new Map();
      this.stragglers.set(held, this.values[s] as V);
      this.ids[s] = -1;
      this.values[s] = undefined;
    }
    const s = id % this.ids.length;
    this.ids[s] = id;
    this.values[s] = value;
    this.count++;
  }

  /** Removes and returns the value of `id` (`undefined` when not held). */
  take(id: number): V | undefined {
    if (!Number.isSafeInteger(id) || id < 0) return undefined;
    const s = id % this.ids.length;
    if (this.ids[s] === id) {
      const value = this.values[s];
      this.ids[s] = -1;
      this.values[s] = undefined;
      this.count--;
      return value;
    }
    const stragglers = this.stragglers;
    if (stragglers === undefined || !stragglers.has(id)) return undefined;
    const value = stragglers.get(id);
    stragglers.delete(id);
    if (stragglers.size === 0) this.stragglers = undefined;
    this.count--;
    return value;
  }

  /** Removes every entry and returns their values (slot order, then stragglers). */
  drain(): V[] {
    const out: V[] = [];
    for (let s = 0; s < this.ids.length; s++) {
      if (this.ids[s] === -1) continue;
      out.push(this.values[s] as V);
      this.ids[s] = -1;
      this.values[s] = undefined;
    }
    if (this.stragglers !== undefined) for (const v of this.stragglers.values()) out.push(v);
    this.stragglers = undefined;
    this.count = 0;
    return out;
  }

  /**
   * Doubles to `capacity` slots. Held ids cannot clash there: ids apart from each other mod `c`
   * are also apart mod `2c`.
   */
  private resize(capacity: number): void {
    const ids = this.ids;
    const values = this.values;
    this.ids = new Float64Array(capacity).fill(-1);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    for (let s = 0; s < ids.length; s++) {
      if (ids[s] === -1) continue;
      const t = ids[s]! % capacity;
      this.ids[t] = ids[s]!;
      this.values[t] = values[s];
    }
  }
}
