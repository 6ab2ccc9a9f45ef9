/**
 * Derived writer state that must survive restarts without rescanning the log: the head of every
 * entity chain (leaf index + leaf hash of the newest record per `(tenant, resource.type,
 * resource.id)`) and the idempotency window (fingerprints of event ids → their original results).
 *
 * Written atomically (temp + fsync + rename + fsync(dir)) as `state.snapshot` in the log directory,
 * covering the first `size` leaves; on restart the frames after `size` are replayed, so restart
 * cost is bounded by the snapshot interval, not the log size.
 *
 * Layout (version 4, docs/FORMAT.md): entity heads as columns — key text blocks, leaf indexes
 * (f64 LE) and 32-byte hashes — so that encoding costs a few memcpys per entry instead of a msgpack
 * tuple (version 1, still read: ~0.8 µs per entry); the idempotency window by reference: the range
 * of entries its own files hold (window-journal.ts), which each snapshot extends by the entries
 * added since the previous one instead of rewriting up to a million of them. Versions 1–3 held
 * the window itself (1 and 2 its keys as text: reading them fingerprints the keys under a fresh
 * salt; 3 its fingerprint columns) and are still read.
 *
 * Memory: both maps are in memory (entity heads: one entry per entity; idempotency: a bounded
 * window, oldest dropped first). A later issue moves them into an embedded store.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@sealog/crypto-envelope';
import { pack, unpack } from 'msgpackr';
import { EntityFingerprinter, type HeadColumns } from './entity-heads';
import { IdempotencyWindow } from './idempotency-window';
import { FINGERPRINT_BYTES, KeyFingerprinter, newSalt, SALT_BYTES } from './key-fingerprint';
import { readWindowFiles, WindowJournal, type WindowRef } from './window-journal';

/** File name of the snapshot. */
export const SNAPSHOT_FILE = 'state.snapshot';
/** The snapshot is flushed every this many bytes while written (see `writeFileAtomic`). */
const SNAPSHOT_SYNC_BYTES = 1 << 20;
/**
 * Version written; versions 1 (tuples), 2 (key text for the window) and 3 (the window's columns in
 * the snapshot) are still read.
 */
const SNAPSHOT_VERSION = 5;
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

/**
 * What a snapshot holds: the entity heads as fingerprint columns (under the window's salt), and
 * the idempotency window.
 */
export interface StateSnapshot {
  readonly size: number;
  readonly heads: HeadColumns;
  readonly idempotency: FingerprintColumns;
}

/** One map of a snapshot as columns: entry `i` is `keys[i]`, `leafIndexes[i]`, hash `i` of `hashes`. */
export interface SnapshotColumns {
  readonly keys: readonly string[];
  readonly leafIndexes: Float64Array;
  /** `keys.length` × 32 bytes. */
  readonly hashes: Uint8Array;
}

/**
 * The idempotency window as columns: entry `i` is the fingerprint at bytes `i * 16 …` (the first
 * 16 bytes of SHA-256(salt ‖ key), see key-fingerprint.ts), `leafIndexes[i]`, hash `i` of `hashes`.
 */
export interface FingerprintColumns {
  /** 16 bytes. */
  readonly salt: Uint8Array;
  /** entries × 16 bytes. */
  readonly fingerprints: Uint8Array;
  readonly leafIndexes: Float64Array;
  /** entries × 32 bytes. */
  readonly hashes: Uint8Array;
}

/** A snapshot as read from disk, column-wise. */
export interface SnapshotFile extends StateSnapshot {
  /** Versions 4 and 5: the window files' range the window was read from (its entries are numbered from `window.first`). */
  readonly window?: WindowRef;
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
  if (version === SNAPSHOT_VERSION) {
    const ref = windowRefOf(value[3]);
    return { size, heads: headColumnsOf(value[2]), idempotency: readWindowFiles(dir, ref), window: ref };
  }
  // Versions 1-4 hold the heads' keys as text: fingerprinted here under the window's salt.
  let keyed: SnapshotColumns;
  let idempotency: FingerprintColumns;
  let window: WindowRef | undefined;
  if (version === 1) {
    keyed = columnsOfTuples(value[2] as [string, number, Uint8Array][]);
    idempotency = fingerprintsOfKeys(columnsOfTuples(value[3] as [string, number, Uint8Array][]));
  } else if (version === 2) {
    keyed = columnsOfSection(value[2] as StoredSection, 'heads');
    idempotency = fingerprintsOfKeys(columnsOfSection(value[3] as StoredSection, 'idempotency'));
  } else if (version === 3) {
    const stored = value[3];
    if (!Array.isArray(stored) || stored.length !== 4 || !stored.every((c) => c instanceof Uint8Array)) {
      throw new Error('state snapshot: idempotency: expected an array of 4 byte strings');
    }
    keyed = columnsOfSection(value[2] as StoredSection, 'heads');
    idempotency = fingerprintColumnsOf(stored as StoredFingerprints);
  } else if (version === 4) {
    window = windowRefOf(value[3]);
    keyed = columnsOfSection(value[2] as StoredSection, 'heads');
    idempotency = readWindowFiles(dir, window);
  } else {
    throw new Error(`state snapshot: unsupported version ${version}`);
  }
  const heads = headsOfKeys(keyed, idempotency.salt);
  return window === undefined ? { size, heads, idempotency } : { size, heads, idempotency, window };
}

/** Key columns of entity heads (versions 1-4) fingerprinted as entity keys under `salt`. */
function headsOfKeys(columns: SnapshotColumns, salt: Uint8Array): HeadColumns {
  const n = columns.keys.length;
  const words = new Uint32Array(n * (FINGERPRINT_BYTES / 4));
  new EntityFingerprinter(salt).fingerprintMany(n, (i) => columns.keys[i]!, words);
  checkLittleEndian();
  return {
    fingerprints: new Uint8Array(words.buffer),
    leafIndexes: columns.leafIndexes,
    hashes: columns.hashes,
  };
}

/** Version 5 heads: `[fingerprints, leaf_indexes, leaf_hashes]`, bin 16·n, 8·n and 32·n bytes. */
function headColumnsOf(value: unknown): HeadColumns {
  if (!Array.isArray(value) || value.length !== 3 || !value.every((c) => c instanceof Uint8Array)) {
    throw new Error('state snapshot: heads: expected an array of 3 byte strings');
  }
  checkLittleEndian();
  const [fingerprints, indexBytes, hashBytes] = value as [Uint8Array, Uint8Array, Uint8Array];
  const n = indexBytes.length / 8;
  if (
    !Number.isInteger(n) ||
    fingerprints.length !== n * FINGERPRINT_BYTES ||
    hashBytes.length !== n * HASH_BYTES
  ) {
    throw new Error(
      `state snapshot: heads: ${fingerprints.length} fingerprint, ${indexBytes.length} index and ${hashBytes.length} hash bytes do not describe the same entries`,
    );
  }
  const leafIndexes = new Float64Array(aligned(indexBytes));
  for (let i = 0; i < n; i++) {
    if (!Number.isSafeInteger(leafIndexes[i]) || leafIndexes[i]! < 0) {
      throw new Error(`state snapshot: heads: entry ${i} has leaf index ${leafIndexes[i]}`);
    }
  }
  return {
    fingerprints: new Uint8Array(fingerprints),
    leafIndexes,
    hashes: new Uint8Array(aligned(hashBytes)),
  };
}

/** The window reference of a version 4 snapshot: `[salt, first, end, entries per file]`. */
function windowRefOf(value: unknown): WindowRef {
  if (
    !Array.isArray(value) ||
    value.length !== 4 ||
    !(value[0] instanceof Uint8Array) ||
    value[0].length !== SALT_BYTES ||
    !value.slice(1).every((n) => Number.isSafeInteger(n) && (n as number) >= 0) ||
    (value[1] as number) > (value[2] as number) ||
    (value[3] as number) < 1
  ) {
    throw new Error(
      'state snapshot: idempotency: expected [16-byte salt, first, end ≥ first, entries per file ≥ 1]',
    );
  }
  return { salt: new Uint8Array(value[0]), first: value[1], end: value[2], entriesPerFile: value[3] };
}

/** Idempotency key columns (versions 1 and 2) fingerprinted under `salt` (a fresh one by default). */
function fingerprintsOfKeys(columns: SnapshotColumns, salt: Uint8Array = newSalt()): FingerprintColumns {
  const fingerprinter = new KeyFingerprinter(salt);
  const n = columns.keys.length;
  const words = new Uint32Array(n * (FINGERPRINT_BYTES / 4));
  for (let i = 0; i < n; i++) fingerprinter.fingerprint(columns.keys[i]!, words, i * (FINGERPRINT_BYTES / 4));
  checkLittleEndian();
  return {
    salt: fingerprinter.salt,
    fingerprints: new Uint8Array(words.buffer),
    leafIndexes: columns.leafIndexes,
    hashes: columns.hashes,
  };
}

/** The window as stored: salt, fingerprints, leaf indexes (f64 LE), hashes. */
type StoredFingerprints = [Uint8Array, Uint8Array, Uint8Array, Uint8Array];

function fingerprintColumnsOf(section: StoredFingerprints): FingerprintColumns {
  checkLittleEndian();
  const [salt, fingerprints, indexBytes, hashBytes] = section;
  const n = indexBytes.length / 8;
  if (
    salt.length !== SALT_BYTES ||
    !Number.isInteger(n) ||
    fingerprints.length !== n * FINGERPRINT_BYTES ||
    hashBytes.length !== n * HASH_BYTES
  ) {
    throw new Error(
      `state snapshot: idempotency: ${salt.length} salt, ${fingerprints.length} fingerprint, ${indexBytes.length} index and ${hashBytes.length} hash bytes do not describe one window`,
    );
  }
  return {
    salt: new Uint8Array(salt),
    fingerprints: new Uint8Array(fingerprints),
    leafIndexes: new Float64Array(aligned(indexBytes)),
    hashes: new Uint8Array(aligned(hashBytes)),
  };
}

/** Reads the snapshot of the log at `dir`, or `undefined` when there is none (tools, tests). */
export function readSnapshot(dir: string): StateSnapshot | undefined {
  const file = readSnapshotColumns(dir);
  return file === undefined
    ? undefined
    : { size: file.size, heads: file.heads, idempotency: file.idempotency };
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

/** Collects idempotency entries column-wise (the arrays grow by doubling). */
export class FingerprintBuilder {
  private fingerprints: Uint32Array;
  private leafIndexes: Float64Array;
  private hashes: Uint8Array;
  private count = 0;

  /** @param expected - entries to make room for at once (more still fit: the arrays grow). */
  constructor(expected = 1024) {
    const n = Math.max(16, expected);
    // Not zero-filled (only entries added are ever read): for a full window that is ~56 MB the
    // snapshot would otherwise clear in one synchronous stretch; pages are touched slice by slice.
    this.fingerprints = new Uint32Array(uninitialized(n * FINGERPRINT_BYTES));
    this.leafIndexes = new Float64Array(uninitialized(n * 8));
    this.hashes = new Uint8Array(uninitialized(n * HASH_BYTES));
  }

  /** Entries added. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds entries `from … from + count - 1` of columns laid out like this builder's (four u32 per
   * fingerprint, one f64 per leaf index, 32 bytes per hash) with three copies.
   */
  addRange(
    fingerprints: Uint32Array,
    leafIndexes: Float64Array,
    hashes: Uint8Array,
    from: number,
    count: number,
  ): void {
    const i = this.count;
    while (i + count > this.leafIndexes.length) this.grow();
    const words = FINGERPRINT_BYTES / 4;
    this.fingerprints.set(fingerprints.subarray(from * words, (from + count) * words), i * words);
    this.leafIndexes.set(leafIndexes.subarray(from, from + count), i);
    this.hashes.set(hashes.subarray(from * HASH_BYTES, (from + count) * HASH_BYTES), i * HASH_BYTES);
    this.count = i + count;
  }

  /** Everything added (views of this builder's arrays). */
  headColumns(): HeadColumns {
    checkLittleEndian();
    const n = this.count;
    return {
      fingerprints: new Uint8Array(this.fingerprints.buffer, 0, n * FINGERPRINT_BYTES),
      leafIndexes: this.leafIndexes.subarray(0, n),
      hashes: this.hashes.subarray(0, n * HASH_BYTES),
    };
  }

  /** Everything added, under `salt` (views of this builder's arrays). */
  columns(salt: Uint8Array): FingerprintColumns {
    return { salt, ...this.headColumns() };
  }

  private grow(): void {
    const n = this.leafIndexes.length * 2;
    this.fingerprints = grown(this.fingerprints, n * (FINGERPRINT_BYTES / 4));
    this.leafIndexes = grown(this.leafIndexes, n);
    this.hashes = grown(this.hashes, n * HASH_BYTES);
  }
}

/** A fresh, not zero-filled ArrayBuffer of `bytes` bytes (its own, offset 0: any alignment works). */
function uninitialized(bytes: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
}

/** A copy of `array` with room for `length` elements (the rest zero). */
export function grown<T extends Uint8Array | Uint32Array | Float64Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}

/**
 * Adds up to `max` entries to `sink`; returns `false` once every entry was added. The writer's
 * tables keep changing between calls: each cursor defines what it then adds.
 */
export type FingerprintCursor = (sink: FingerprintBuilder, max: number) => boolean;

/** A cursor over entity heads given as columns (tests, tools). */
export function headsCursorOf(columns: HeadColumns): FingerprintCursor {
  let next = 0;
  const words = new Uint32Array(
    columns.fingerprints.buffer.slice(
      columns.fingerprints.byteOffset,
      columns.fingerprints.byteOffset + columns.fingerprints.byteLength,
    ),
  );
  return (sink, max) => {
    const n = Math.min(max, columns.leafIndexes.length - next);
    sink.addRange(words, columns.leafIndexes, columns.hashes, next, n);
    next += n;
    return next < columns.leafIndexes.length;
  };
}

/** What {@link encodeSnapshotSliced} packs: entity heads are read lazily, slice by slice. */
export interface SnapshotSource {
  readonly size: number;
  /** Entity heads (fingerprints under the window's salt). */
  readonly heads: FingerprintCursor;
  /**
   * The idempotency window's range in its files, or a function writing them and returning it
   * (called once the heads are packed; its time is not counted as busy: it mostly waits for I/O).
   */
  readonly window: WindowRef | (() => Promise<WindowRef>);
}

/** Entries packed per slice by {@link encodeSnapshotSliced}. */
export const SNAPSHOT_SLICE_ENTRIES = 2048;

/**
 * Encodes a snapshot, `sliceEntries` entries at a time, yielding to the event loop between
 * slices (the writer's thread keeps sequencing appends meanwhile).
 *
 * @returns the encoding as parts to write in order, the time spent encoding on this thread (ms,
 * yields excluded), and the window range it names.
 */
export async function encodeSnapshotSliced(
  source: SnapshotSource,
  sliceEntries: number = SNAPSHOT_SLICE_ENTRIES,
): Promise<{ parts: Uint8Array[]; busyMs: number; window: WindowRef }> {
  let busyMs = 0;
  let t0 = performance.now();
  const parts: Uint8Array[] = [new Uint8Array([0x94]), pack(SNAPSHOT_VERSION), pack(source.size)];
  const pause = async (): Promise<void> => {
    busyMs += performance.now() - t0;
    await new Promise<void>((resolve) => setImmediate(resolve));
    t0 = performance.now();
  };
  const heads = new FingerprintBuilder();
  // Fixed-size entries, copied as ranges: slices 8× longer than a slice of key text used to be.
  while (source.heads(heads, sliceEntries * 8)) await pause();
  const h = heads.headColumns();
  parts.push(new Uint8Array([0x93]));
  for (const bytes of [
    h.fingerprints,
    new Uint8Array(h.leafIndexes.buffer, h.leafIndexes.byteOffset, h.leafIndexes.byteLength),
    h.hashes,
  ]) {
    parts.push(header32(0xc6, bytes.length), bytes);
  }
  let ref = source.window;
  if (typeof ref === 'function') {
    busyMs += performance.now() - t0;
    ref = await ref();
    t0 = performance.now();
  }
  const { salt, first, end, entriesPerFile } = ref;
  parts.push(pack([salt, first, end, entriesPerFile]));
  busyMs += performance.now() - t0;
  return { parts, busyMs, window: ref };
}

/** msgpack header of a bin32 (0xc6) or array32 (0xdd) of `n` bytes or items. */
function header32(type: number, n: number): Uint8Array {
  const h = new Uint8Array(5);
  h[0] = type;
  new DataView(h.buffer).setUint32(1, n);
  return h;
}

/** Writes an encoded snapshot (bytes, or parts in order) atomically (temp + fsync + rename + fsync(dir)). */
export async function writeSnapshotBytes(
  dir: string,
  bytes: Uint8Array | readonly Uint8Array[],
): Promise<void> {
  await writeFileAtomic(join(dir, SNAPSHOT_FILE), bytes, { syncEveryBytes: SNAPSHOT_SYNC_BYTES });
}

/**
 * Writes a snapshot of a whole state: the window into fresh window files (any others in `dir` are
 * deleted), then the snapshot naming them.
 */
export async function writeSnapshot(
  dir: string,
  snapshot: StateSnapshot,
  entriesPerFile?: number,
): Promise<void> {
  const n = snapshot.idempotency.leafIndexes.length;
  const window = IdempotencyWindow.fromColumns(snapshot.idempotency, Math.max(1, n));
  const journal = new WindowJournal(dir, window.salt, undefined, entriesPerFile);
  const { parts } = await encodeSnapshotSliced(
    {
      size: snapshot.size,
      heads: headsCursorOf(snapshot.heads),
      window: () => journal.write(window, window.firstSequence, window.endSequence),
    },
    Number.POSITIVE_INFINITY,
  );
  await writeSnapshotBytes(dir, parts);
}
