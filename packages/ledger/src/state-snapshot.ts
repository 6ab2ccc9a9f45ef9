/**
 * Derived writer state that must survive restarts without rescanning the log: the head of every
 * entity chain (leaf index + leaf hash of the newest record per `(tenant, resource.type,
 * resource.id)`) and the idempotency window (client event ids → their original results).
 *
 * Written atomically (temp + fsync + rename + fsync(dir)) as `state.snapshot` in the log directory,
 * covering the first `size` leaves; on restart the frames after `size` are replayed, so restart
 * cost is bounded by the snapshot interval, not the log size.
 *
 * Layout (version 2): each of the two maps is stored as columns — the keys as one msgpack array of
 * strings, the leaf indexes as one byte string of u64 little-endian, the leaf hashes as one byte
 * string of 32-byte hashes — so that encoding costs a string copy and two memcpys per entry
 * instead of a msgpack tuple (version 1, still read: ~0.8 µs per entry, which at a window of a
 * million keys held the writer's thread for ~1 s per snapshot).
 *
 * Memory: both maps are in memory (entity heads: one entry per entity; idempotency: a bounded
 * window, oldest dropped first). A later issue moves them into an embedded store.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@sealog/crypto-envelope';
import { pack, unpack } from 'msgpackr';

/** File name of the snapshot. */
export const SNAPSHOT_FILE = 'state.snapshot';
/** The snapshot is flushed every this many bytes while written (see `writeFileAtomic`). */
const SNAPSHOT_SYNC_BYTES = 1 << 20;
/** Version written; version 1 (tuples) is still read. */
const SNAPSHOT_VERSION = 2;
const HASH_BYTES = 32;

/** Head of one entity chain. */
export interface EntityHead {
  leafIndex: number;
  leafHash: Uint8Array;
}

/** A remembered result for an idempotency key. */
export interface IdempotentResult {
  readonly leafIndex: number;
  readonly leafHash: Uint8Array;
}

/** What a snapshot holds, as maps (convenient; restart reads {@link SnapshotColumns}). */
export interface StateSnapshot {
  readonly size: number;
  readonly heads: Map<string, EntityHead>;
  readonly idempotency: Map<string, IdempotentResult>;
}

/** One map of a snapshot as columns: entry `i` is `keys[i]`, `leafIndexes[i]`, hash `i` of `hashes`. */
export interface SnapshotColumns {
  readonly keys: readonly string[];
  readonly leafIndexes: Float64Array;
  /** `keys.length` × 32 bytes. */
  readonly hashes: Uint8Array;
}

/** A snapshot as read from disk, column-wise. */
export interface SnapshotFile {
  readonly size: number;
  readonly heads: SnapshotColumns;
  readonly idempotency: SnapshotColumns;
}

/** Reads the snapshot of the log at `dir` column-wise, or `undefined` when there is none. */
export function readSnapshotColumns(dir: string): SnapshotFile | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, SNAPSHOT_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const value = unpack(bytes) as [number, number, unknown, unknown];
  const [version, size] = value;
  if (version === 1) {
    return {
      size,
      heads: columnsOfTuples(value[2] as [string, number, Uint8Array][]),
      idempotency: columnsOfTuples(value[3] as [string, number, Uint8Array][]),
    };
  }
  if (version !== SNAPSHOT_VERSION) throw new Error(`state snapshot: unsupported version ${version}`);
  return {
    size,
    heads: columnsOfSection(value[2] as StoredSection, 'heads'),
    idempotency: columnsOfSection(value[3] as StoredSection, 'idempotency'),
  };
}

/** Reads the snapshot of the log at `dir` as maps, or `undefined` when there is none. */
export function readSnapshot(dir: string): StateSnapshot | undefined {
  const file = readSnapshotColumns(dir);
  if (file === undefined) return undefined;
  const toMap = (c: SnapshotColumns): Map<string, EntityHead> => {
    const map = new Map<string, EntityHead>();
    for (let i = 0; i < c.keys.length; i++) {
      map.set(c.keys[i]!, {
        leafIndex: c.leafIndexes[i]!,
        leafHash: c.hashes.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES),
      });
    }
    return map;
  };
  return { size: file.size, heads: toMap(file.heads), idempotency: toMap(file.idempotency) };
}

function columnsOfTuples(tuples: [string, number, Uint8Array][]): SnapshotColumns {
  const b = new ColumnBuilder();
  for (const [k, leafIndex, leafHash] of tuples) b.add(k, leafIndex, leafHash, 0);
  return b.columns();
}

/** Key text encodings of a block (docs/FORMAT.md). */
const LATIN1 = 1;
const UTF16LE = 2;

/** A section as stored: key lengths (u32 LE, UTF-16 code units), key blocks, leaf indexes (f64 LE), hashes. */
type StoredSection = [Uint8Array, [number, Uint8Array][], Uint8Array, Uint8Array];

function checkLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('state snapshot: only little-endian platforms are supported');
}

/** An aligned copy of `bytes` (msgpack byte strings may start at any offset). */
function aligned(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer as ArrayBuffer;
}

function columnsOfSection(section: StoredSection, what: string): SnapshotColumns {
  checkLittleEndian();
  const [lengthBytes, blocks, indexBytes, hashBytes] = section;
  const n = lengthBytes.length / 4;
  if (!Number.isInteger(n) || indexBytes.length !== n * 8 || hashBytes.length !== n * HASH_BYTES) {
    throw new Error(
      `state snapshot: ${what}: ${lengthBytes.length} length, ${indexBytes.length} index and ${hashBytes.length} hash bytes do not describe the same number of entries`,
    );
  }
  const lengths = new Uint32Array(aligned(lengthBytes));
  const keys: string[] = new Array(n);
  let k = 0;
  for (const [encoding, bytes] of blocks) {
    if (encoding !== LATIN1 && encoding !== UTF16LE) {
      throw new Error(`state snapshot: ${what}: unknown key encoding ${encoding}`);
    }
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(
      encoding === LATIN1 ? 'latin1' : 'utf16le',
    );
    let at = 0;
    // Empty keys belong to any block (they read the same); the last block takes the rest.
    while (at < text.length || (k < n && lengths[k] === 0)) {
      if (k === n) throw new Error(`state snapshot: ${what}: more key text than keys`);
      const end = at + lengths[k]!;
      if (end > text.length) throw new Error(`state snapshot: ${what}: key ${k} runs past its block`);
      keys[k++] = text.slice(at, end);
      at = end;
    }
  }
  if (k !== n) throw new Error(`state snapshot: ${what}: ${n} keys expected, ${k} found`);
  return {
    keys,
    leafIndexes: new Float64Array(aligned(indexBytes)),
    hashes: new Uint8Array(aligned(hashBytes)),
  };
}

/**
 * Collects entries column-wise (the arrays grow by doubling); keys are joined into text blocks, one
 * per {@link ColumnBuilder.endBlock}.
 */
export class ColumnBuilder {
  private lengths = new Uint32Array(1024);
  private leafIndexes = new Float64Array(1024);
  private hashes = new Uint8Array(1024 * HASH_BYTES);
  private count = 0;
  private pending: string[] = [];
  private readonly blocks: [number, Uint8Array][] = [];

  /** Entries added. */
  get size(): number {
    return this.count;
  }

  /** Adds `key` → (`leafIndex`, the 32 bytes of `hash` at `offset`). */
  add(key: string, leafIndex: number, hash: Uint8Array, offset: number): void {
    const i = this.count;
    if (i === this.lengths.length) this.grow();
    this.pending.push(key);
    this.lengths[i] = key.length;
    this.leafIndexes[i] = leafIndex;
    const hashes = this.hashes;
    const at = i * HASH_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) hashes[at + j] = hash[offset + j]!;
    this.count = i + 1;
  }

  /** Joins the keys added since the last block into one block of text. */
  endBlock(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    // ASCII (every key the ledger makes from validated ids) is stored one byte per character.
    const ascii = Buffer.byteLength(text, 'utf8') === text.length;
    this.blocks.push(ascii ? [LATIN1, Buffer.from(text, 'latin1')] : [UTF16LE, Buffer.from(text, 'utf16le')]);
  }

  /** The section as stored (after a last {@link ColumnBuilder.endBlock}). */
  section(): StoredSection {
    checkLittleEndian();
    this.endBlock();
    const n = this.count;
    return [
      new Uint8Array(this.lengths.buffer, 0, n * 4),
      this.blocks,
      new Uint8Array(this.leafIndexes.buffer, 0, n * 8),
      this.hashes.subarray(0, n * HASH_BYTES),
    ];
  }

  /** Everything added, as read back. */
  columns(): SnapshotColumns {
    return columnsOfSection(this.section(), 'columns');
  }

  private grow(): void {
    const n = this.lengths.length * 2;
    this.lengths = grown(this.lengths, n);
    this.leafIndexes = grown(this.leafIndexes, n);
    this.hashes = grown(this.hashes, n * HASH_BYTES);
  }
}

/** A copy of `array` with room for `length` elements (the rest zero). */
export function grown<T extends Uint8Array | Uint32Array | Float64Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}

/**
 * Adds up to `max` entries of one map to `sink`; returns `false` once every entry was added. The
 * writer's maps keep changing between calls: each cursor defines what it then adds.
 */
export type SnapshotCursor = (sink: ColumnBuilder, max: number) => boolean;

/** A cursor over `[key, result]` pairs. */
export function cursorOf(entries: Iterable<[string, IdempotentResult]>): SnapshotCursor {
  const it = entries[Symbol.iterator]();
  return (sink, max) => {
    for (let n = 0; n < max; n++) {
      const r = it.next();
      if (r.done === true) return false;
      sink.add(r.value[0], r.value[1].leafIndex, r.value[1].leafHash, 0);
    }
    return true;
  };
}

/** What {@link encodeSnapshotSliced} packs: entries are read lazily, slice by slice. */
export interface SnapshotSource {
  readonly size: number;
  readonly heads: SnapshotCursor;
  readonly idempotency: SnapshotCursor;
}

/** Entries packed per slice by {@link encodeSnapshotSliced}. */
export const SNAPSHOT_SLICE_ENTRIES = 2048;

/**
 * Encodes a snapshot, `sliceEntries` entries at a time, yielding to the event loop between
 * slices (the writer's thread keeps sequencing appends meanwhile).
 *
 * @returns the encoding as parts to write in order, and the time spent encoding on this thread
 * (ms, yields excluded).
 */
export async function encodeSnapshotSliced(
  source: SnapshotSource,
  sliceEntries: number = SNAPSHOT_SLICE_ENTRIES,
): Promise<{ parts: Uint8Array[]; busyMs: number }> {
  let busyMs = 0;
  let t0 = performance.now();
  const parts: Uint8Array[] = [new Uint8Array([0x94]), pack(SNAPSHOT_VERSION), pack(source.size)];
  for (const cursor of [source.heads, source.idempotency]) {
    const sink = new ColumnBuilder();
    for (;;) {
      const more = cursor(sink, sliceEntries);
      sink.endBlock();
      if (!more) break;
      busyMs += performance.now() - t0;
      await new Promise<void>((resolve) => setImmediate(resolve));
      t0 = performance.now();
    }
    pushSection(parts, sink.section());
  }
  busyMs += performance.now() - t0;
  return { parts, busyMs };
}

/**
 * Appends the msgpack encoding of `section` to `parts` with the columns as they are (no copy into
 * one buffer: a window of a million keys has ~90 MB of columns). Headers are array32/bin32.
 */
function pushSection(parts: Uint8Array[], [lengths, blocks, leafIndexes, hashes]: StoredSection): void {
  const header = (type: number, n: number): Uint8Array => {
    const h = new Uint8Array(5);
    h[0] = type;
    new DataView(h.buffer).setUint32(1, n);
    return h;
  };
  const bin = (bytes: Uint8Array): void => {
    parts.push(header(0xc6, bytes.length), bytes);
  };
  parts.push(new Uint8Array([0x94]));
  bin(lengths);
  parts.push(header(0xdd, blocks.length));
  for (const [encoding, text] of blocks) {
    parts.push(new Uint8Array([0x92, encoding]));
    bin(text);
  }
  bin(leafIndexes);
  bin(hashes);
}

/** Encodes a snapshot in one piece (synchronous, O(entries)). */
export function encodeSnapshot(snapshot: StateSnapshot): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x94]), pack(SNAPSHOT_VERSION), pack(snapshot.size)];
  for (const map of [snapshot.heads, snapshot.idempotency]) {
    const b = new ColumnBuilder();
    cursorOf(map)(b, Number.POSITIVE_INFINITY);
    pushSection(parts, b.section());
  }
  return Buffer.concat(parts);
}

/** Writes an encoded snapshot (bytes, or parts in order) atomically (temp + fsync + rename + fsync(dir)). */
export async function writeSnapshotBytes(
  dir: string,
  bytes: Uint8Array | readonly Uint8Array[],
): Promise<void> {
  await writeFileAtomic(join(dir, SNAPSHOT_FILE), bytes, { syncEveryBytes: SNAPSHOT_SYNC_BYTES });
}

/** Writes a snapshot atomically. */
export async function writeSnapshot(dir: string, snapshot: StateSnapshot): Promise<void> {
  await writeSnapshotBytes(dir, encodeSnapshot(snapshot));
}
