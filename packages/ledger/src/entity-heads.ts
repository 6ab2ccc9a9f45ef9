/**
 * The entity heads of a log: per entity `(tenant, resource.type, resource.id)`, the leaf index and
 * leaf hash of its newest record — what the next record of the entity links to (seed 002).
 *
 * Off the V8 heap, like the idempotency window (fingerprint-slots.ts): an entity is its key's
 * 16-byte salted fingerprint in a slot that it keeps for good; slots grow a chunk of 16,384 at a
 * time. Fingerprint = the first 16 bytes of SHA-256(0x00 ‖ salt ‖ UTF-8(key)) under the log's
 * window salt — an RFC 9162 leaf hash of `salt ‖ key`, so that a frame's keys are hashed together
 * through the SIMD lanes of `@sealog/merkle`'s `hashLeaves` (~0.3 µs a key instead of ~1 µs for
 * one node:crypto call each). A `Map` of key strings to head objects cost
 * ~420 bytes of heap per entity, all of which every major GC marked — at a million entities,
 * a few hundred MB to mark.
 *
 * A head's leaf hash is known only once its record's frame comes back from the finisher: until
 * then the slot holds the new leaf index and the previous record's hash. The writer knows which
 * leaf indexes are pending (every leaf below its `hashesKnownBelow` has its hash) and fills the
 * hash in when the frame returns ({@link EntityHeads.setHash}).
 */
import { HASH_BYTES, hashLeaves } from '@sealog/merkle';
import { CHUNK_BITS, CHUNK_MASK, CHUNK_SLOTS, FingerprintSlots, WORDS } from './fingerprint-slots';
import { FINGERPRINT_BYTES, SALT_BYTES, SaltedBatchHasher } from './key-fingerprint';
import type { EntityHead, FingerprintBuilder } from './state-snapshot';

/** Entities the index is sized for at first (its shards grow beyond; nothing is preallocated). */
const EXPECTED_ENTITIES = 1 << 20;

/** Entity heads as columns: entry `i` is fingerprint bytes `i * 16 …`, `leafIndexes[i]`, hash `i`. */
export interface HeadColumns {
  /** entries × 16 bytes. */
  readonly fingerprints: Uint8Array;
  readonly leafIndexes: Float64Array;
  /** entries × 32 bytes. */
  readonly hashes: Uint8Array;
}

/** Entity-key fingerprints, many at a time (see module doc). */
export class EntityFingerprinter extends SaltedBatchHasher {
  /** @param salt - {@link SALT_BYTES} bytes. */
  constructor(salt: Uint8Array) {
    super(salt, hashLeaves, 'entity fingerprint');
  }

  /** Fingerprints one key into `out` at `at`. */
  fingerprint(key: string, out: Uint32Array, at: number): void {
    this.fingerprintMany(1, () => key, out, at);
  }
}

/** See module doc. */
export class EntityHeads extends FingerprintSlots {
  private readonly fingerprinter: EntityFingerprinter;
  private count = 0;
  private readonly probe = new Uint32Array(WORDS);

  /** @param salt - the fingerprints' salt (the log's idempotency window's). */
  constructor(salt: Uint8Array) {
    super(EXPECTED_ENTITIES);
    this.fingerprinter = new EntityFingerprinter(salt);
  }

  /** Heads of `columns` (fingerprints under `salt`). */
  static fromColumns(columns: HeadColumns, salt: Uint8Array): EntityHeads {
    const heads = new EntityHeads(salt);
    const { fingerprints, leafIndexes, hashes } = columns;
    const words = new Uint32Array(WORDS);
    const view = new DataView(fingerprints.buffer, fingerprints.byteOffset, fingerprints.byteLength);
    for (let i = 0; i < leafIndexes.length; i++) {
      for (let j = 0; j < WORDS; j++) words[j] = view.getUint32(i * FINGERPRINT_BYTES + j * 4, true);
      let slot = heads.find(words, 0);
      if (slot < 0) slot = heads.add(words, 0);
      heads.setLeafIndex(slot, leafIndexes[i]!);
      heads.setHash(slot, hashes, i * HASH_BYTES);
    }
    return heads;
  }

  /** The salt of the fingerprints. */
  get salt(): Uint8Array {
    return this.fingerprinter.salt;
  }

  /** Entities held. */
  get size(): number {
    return this.count;
  }

  /** Writes the fingerprint of entity key `key` (see `entityKeyOf`) as four words into `out` at `at`. */
  fingerprint(key: string, out: Uint32Array, at: number): void {
    this.fingerprinter.fingerprint(key, out, at);
  }

  /** Fingerprints of the entity keys `key(0) … key(n - 1)`, four words each, into `out` at `at`. */
  fingerprintMany(n: number, key: (i: number) => string, out: Uint32Array, at = 0): void {
    this.fingerprinter.fingerprintMany(n, key, out, at);
  }

  /**
   * Like {@link EntityHeads.fingerprintMany} for keys given as their parts (`tenant`, `type`,
   * `id` → `entityKeyOf(…)`), written straight into the hash input: the same fingerprints.
   */
  fingerprintManyParts(n: number, parts: readonly ((i: number) => string)[], out: Uint32Array, at = 0): void {
    this.fingerprinter.fingerprintManyJoined(n, parts, out, at);
  }

  /** The slot of the entity whose key fingerprint is `words[at …]`, or -1. */
  slotOf(words: Uint32Array, at: number): number {
    return this.find(words, at);
  }

  /** A slot for a new entity whose key fingerprint is `words[at …]` (leaf index -1 until set). */
  add(words: Uint32Array, at: number): number {
    if (this.count === this.slots) this.addChunk(CHUNK_SLOTS);
    const slot = this.count++;
    this.index(slot, words, at);
    this.leafIndexes[slot >>> CHUNK_BITS]![slot & CHUNK_MASK] = -1;
    return slot;
  }

  /** The slot of entity key `key`, added when new. */
  slotForKey(key: string): number {
    this.fingerprinter.fingerprint(key, this.probe, 0);
    const slot = this.find(this.probe, 0);
    return slot >= 0 ? slot : this.add(this.probe, 0);
  }

  leafIndexAt(slot: number): number {
    return this.leafIndexes[slot >>> CHUNK_BITS]![slot & CHUNK_MASK]!;
  }

  setLeafIndex(slot: number, leafIndex: number): void {
    this.leafIndexes[slot >>> CHUNK_BITS]![slot & CHUNK_MASK] = leafIndex;
  }

  /** Sets `slot`'s hash to the 32 bytes of `from` at `offset`. */
  setHash(slot: number, from: Uint8Array, offset: number): void {
    const hashes = this.hashes[slot >>> CHUNK_BITS]!;
    const h = (slot & CHUNK_MASK) * HASH_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) hashes[h + j] = from[offset + j]!;
  }

  /** Copies `slot`'s hash into `out` at `offset`. */
  copyHash(slot: number, out: Uint8Array, offset: number): void {
    const hashes = this.hashes[slot >>> CHUNK_BITS]!;
    const h = (slot & CHUNK_MASK) * HASH_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) out[offset + j] = hashes[h + j]!;
  }

  /** The head of entity key `key` (a copy), if held (tests, tools). */
  get(key: string): EntityHead | undefined {
    this.fingerprinter.fingerprint(key, this.probe, 0);
    const slot = this.find(this.probe, 0);
    if (slot < 0) return undefined;
    const leafHash = new Uint8Array(HASH_BYTES);
    this.copyHash(slot, leafHash, 0);
    return { leafIndex: this.leafIndexAt(slot), leafHash };
  }

  /**
   * Adds the heads of slots `from …` (at most `max` slots visited) to `sink`, leaving out those
   * whose leaf index is not below `knownBelow` (their hash is not known yet) or not set.
   * @returns the next slot to visit ({@link size} once all were).
   */
  copyKnown(sink: FingerprintBuilder, from: number, max: number, knownBelow: number): number {
    let slot = from;
    const end = Math.min(this.count, from + max);
    while (slot < end) {
      slot += this.visitSlots(slot, end - slot, (fps, idx, hashes, at, n) => {
        // Runs of known heads, copied as ranges.
        let i = 0;
        while (i < n) {
          while (i < n && !(idx[at + i]! >= 0 && idx[at + i]! < knownBelow)) i++;
          const start = i;
          while (i < n && idx[at + i]! >= 0 && idx[at + i]! < knownBelow) i++;
          if (i > start) sink.addRange(fps, idx, hashes, at + start, i - start);
        }
      });
    }
    return slot;
  }
}
