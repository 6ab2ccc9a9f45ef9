/**
 * One log: its queue, its single sequencer/writer, its segment store, Merkle tree, checkpoints
 * and derived state. The only place that decides leaf order and frame order for this log.
 *
 * Write path per batch (docs/RECOVERY.md): dequeue ≤ N prepared records or wait ≤ T ms →
 * assign consecutive leaf indexes and entity links → assemble each record into the batch body
 * (an entity link to a record whose frame is still being finished gets its hash from the
 * finisher) → [frame finisher, in the ledger's worker by default: leaf hashes → batch root →
 * snappy → nonce → frame header (AAD) → AES-256-GCM → chain hash] → segment append, in batch
 * order. While a frame is being finished the writer already builds the next batch. When the segment store reports the
 * frame durable: tree append (tiles), callers resolved. Checkpoints are signed on a timer over
 * the durable tree.
 *
 * Not here: validation, personal-data sealing (record-prep.ts), routing events to logs (ledger.ts).
 */
import { hash as nodeHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  assembleRecordInto,
  BatchBodyBuilder,
  decodeRecord,
  type EntityLink,
  LOG_ID_BYTES,
  maxAssembledRecordLength,
  type StoredRecord,
} from '@sealog/codec';
import {
  type Checkpoint,
  formatIntegrity,
  type Keyring,
  type NoteSigner,
  NoteVerifier,
  signCheckpoint,
  writeFileAtomic,
} from '@sealog/crypto-envelope';
import { FileTileStore, HASH_BYTES, hashLeaf, TiledTree } from '@sealog/merkle';
import { type BatchQueue, createBatchQueue, type Lane } from '@sealog/queue';
import {
  type Durability,
  type FrameLocation,
  type FrameRead,
  openSegmentStore,
  type SegmentStore,
} from '@sealog/segment-store';
import { GENESIS_CHAIN, nextChainHash } from './chain-hash';
import { CheckpointLog } from './checkpoint-log';
import { DataKeys } from './data-keys';
import { EntityHeads } from './entity-heads';
import { LedgerError } from './errors';
import { type FrameFinisher, InThreadFinisher } from './frame-finish';
import { openStoredFrame, scratchFor } from './frame-reader';
import { DEFAULT_IDEMPOTENCY_WINDOW, IdempotencyWindow } from './idempotency-window';
import { KeyTable } from './inflight-tables';
import { FINGERPRINT_BYTES, idempotencyKey } from './key-fingerprint';
import { type CachedLeaf, copyLeaf, copyLeafHash, ReadCache, RecentFrames } from './read-cache';
import { entityKeyOf, type PreparedRecord, type PreparedRecords, preparedColumns } from './record-prep';
import {
  encodeSnapshotSliced,
  type FingerprintCursor,
  readSnapshotColumns,
  SNAPSHOT_FILE,
  SNAPSHOT_SLICE_ENTRIES,
  writeSnapshotBytes,
} from './state-snapshot';
import { WindowJournal } from './window-journal';
import type { WorkerPreparer } from './worker-preparer';

/** The largest value of `values`, or -1 when empty. */
function maxOf(values: Float64Array): number {
  let max = -1;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max;
}

/** Lets the event loop run (between the slices of a snapshot). */
const yieldToLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Version of the integrity string's algorithm field: RFC 9162 SHA-256 leaf hash, format 1. */
export const INTEGRITY_ALGO_VERSION = 'rfc9162.v1';
/** Extension line prefix carrying the chain hash in checkpoints. */
export const CHAIN_EXTENSION_PREFIX = 'sealog-chain ';
/**
 * Snapshots are at least this many times their own cost on this thread apart, so they take ≤ 2%
 * of it (heads of a million entities: ~0.1–0.2 s of copying, so at most every 5–10 s).
 */
const SNAPSHOT_MAX_DUTY = 50;
/** Frame reads kept in flight by `readMany` while earlier frames are opened. */
const READ_AHEAD_FRAMES = 8;
/** Chain hashes of frames read back kept in memory (~100 B each). */
const BLOCK_HASHES_KEPT = 100_000;

/** Tuning of one log writer (all have defaults). */
export interface LogWriterOptions {
  /** Records per batch, 1..65536 (default 2048). */
  readonly batchMaxRecords?: number;
  /** Longest wait to fill a batch, ms (default 2). */
  readonly batchMaxWaitMs?: number;
  /**
   * Bytes of recently read records kept for repeated reads (default 32 MiB; 0 disables). Holds
   * stored leaf bytes only: personal fields stay sealed in them.
   */
  readonly readCacheBytes?: number;
  /**
   * Bytes of the newest durable frames kept as written (default 16 MiB; 0 disables), so followers
   * of the log's tail (the search indexer) and reads of fresh records skip the segments. Counts
   * the leaves with their offsets and hashes (~36 bytes per record); one buffer of this size is
   * allocated at the first frame and reused (see `RecentFrames`).
   */
  readonly recentFramesBytes?: number;
  /** Queue capacity in records (default 65536). */
  readonly queueMaxRecords?: number;
  /** Queue capacity in bytes of record bodies (default 64 MiB). */
  readonly queueMaxBytes?: number;
  /** Frame bytes allowed between "built" and "durable" before the writer waits (default 32 MiB). */
  readonly maxInflightBytes?: number;
  /** Segment rotation size in bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Durability of frames (default group commit). */
  readonly durability?: Durability;
  /** Sign a checkpoint at most this often when the tree grew, ms (default 1000). */
  readonly checkpointIntervalMs?: number;
  /**
   * Write the state snapshot at most this often, ms (default 10000); further apart when it is
   * expensive (≥ 50× the time the last one held the thread).
   */
  readonly snapshotIntervalMs?: number;
  /**
   * Snapshot entries copied between two yields to the event loop, ×8 (default 2048: 16,384 entity
   * heads; the snapshot is copied while appends go on).
   */
  readonly snapshotSliceEntries?: number;
  /** Idempotency keys remembered per log (default 1,000,000). */
  readonly idempotencyWindow?: number;
  /** Compress batch bodies (default true). */
  readonly compress?: boolean;
}

/** One stored record's acknowledgement. */
export interface AppendResult {
  readonly event_id: string;
  readonly status: 'stored' | 'duplicate' | 'accepted';
  readonly log_id: string;
  /** Absent only for `accepted`. */
  readonly leaf_index?: number;
  /** Hex RFC 9162 leaf hash (`verification_hash`); absent only for `accepted`. */
  readonly leaf_hash?: string;
  /** `keySetId::keyId::algoVersion::hashHex`; absent only for `accepted`. */
  readonly integrity?: string;
}

/** A record read back by position. */
export interface ReadRecord {
  readonly logId: string;
  readonly leafIndex: number;
  /** The exact stored leaf bytes. */
  readonly leaf: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly record: StoredRecord;
  readonly batchIndex: number;
  /** Chain hash of the frame holding the record (`block_hash`), hex. */
  readonly blockHash: string;
}

/**
 * The records of one {@link LogWriter.enqueue} call: one promise for all of them (not one per
 * record: at small appends the per-record promise, its two closures and its catch handler were a
 * tenth of the writer thread's allocation), settled once the last is durable or on the first
 * failure.
 */
class PendingAppend {
  readonly records: PreparedRecords;
  /**
   * Per record: its idempotency key, registered as in flight (so that a concurrent append of the
   * same id waits for this one) and entered in the window when durable; or `undefined`: then the
   * record enters the window only by its prepared fingerprint
   * (`PreparedRecords.keyFingerprints`), if it has one.
   */
  readonly idemKeys: readonly (string | undefined)[];
  readonly results: AppendResult[];
  readonly promise: Promise<AppendResult[]>;
  remaining: number;
  private resolveAll!: (results: AppendResult[]) => void;
  private rejectAll!: (error: Error) => void;

  constructor(records: PreparedRecords, idemKeys: readonly (string | undefined)[]) {
    const count = records.count;
    this.records = records;
    this.idemKeys = idemKeys;
    this.results = new Array(count);
    this.remaining = count;
    this.promise = new Promise<AppendResult[]>((resolve, reject) => {
      this.resolveAll = resolve;
      this.rejectAll = reject;
    });
    // Unobserved rejections (wait=accepted callers) must not crash the process.
    this.promise.catch(() => {});
    if (count === 0) this.resolveAll(this.results);
  }

  /** Record `index` is durable with `result`. */
  settle(index: number, result: AppendResult): void {
    this.results[index] = result;
    if (--this.remaining === 0) this.resolveAll(this.results);
  }

  /** Fails the whole call (a no-op once settled). */
  fail(error: Error): void {
    this.rejectAll(error);
  }
}

/** A record in the queue: its call and its position there (two words: see `PreparedRecords`). */
interface QueueItem {
  readonly append: PendingAppend;
  readonly index: number;
}

/** Record `item`'s body length. */
function bodyLength(item: QueueItem): number {
  const at = item.append.records.bodyAt;
  return at[2 * item.index + 1]! - at[2 * item.index]!;
}

interface InflightFrame {
  readonly firstLeaf: number;
  readonly bytes: number;
  readonly done: Promise<void>;
}

/** Body buffers kept for reuse per log, and the smallest worth keeping. */
const BODY_POOL_BUFFERS = 4;
const BODY_POOL_MIN_BYTES = 256 * 1024;

/** Placeholder written for an entity-link hash the finisher fills in. */
const PENDING_HASH = new Uint8Array(HASH_BYTES);

/** Identity of a log, stored in `log.json`. */
export interface LogIdentity {
  readonly log_id: string;
  readonly origin: string;
  readonly public_key: string;
}

/** See module doc. Create with {@link LogWriter.open}. */
export class LogWriter {
  readonly logId: string;
  readonly origin: string;
  readonly dir: string;
  readonly verifierKey: string;
  private readonly logIdBytes: Uint8Array;
  private readonly signer: NoteSigner;
  private readonly verifier: NoteVerifier;
  private readonly integrityKeyId: string;
  /** `keySetId::keyId::algoVersion::` of this log's integrity strings. */
  private readonly integrityPrefix: string;
  private readonly store: SegmentStore;
  private readonly keys: DataKeys;
  private readonly checkpoints: CheckpointLog;
  private readonly tree: TiledTree;
  private readonly tiles: FileTileStore;
  private readonly queue: BatchQueue<QueueItem>;
  private readonly lanes = new Map<string, Lane<QueueItem>>();
  private readonly heads: EntityHeads;
  /** Scratch for the fingerprints of a frame's entity keys, four words each. */
  private entityWords = new Uint32Array(4096);
  private readonly idempotency: IdempotencyWindow;
  /** The idempotency window's files (each snapshot adds the entries they lack). */
  private readonly windowJournal: WindowJournal;
  /**
   * Idempotency keys accepted but not yet durable → their queue item (a repeat waits for the
   * first). Not a `Map`: see inflight-tables.ts.
   */
  private readonly pendingIdem = new KeyTable<QueueItem>();
  private readonly batchMaxRecords: number;
  private readonly batchMaxWaitMs: number;
  private readonly maxInflightBytes: number;
  private readonly checkpointIntervalMs: number;
  private readonly snapshotIntervalMs: number;
  private readonly snapshotSliceEntries: number;
  private readonly compress: boolean;
  private readonly readCache: ReadCache;
  /** The newest durable frames as built (the indexer's tail reads skip the segments). */
  private readonly recent: RecentFrames;
  /** Batch index → chain hash hex of frames read back (FIFO, {@link BLOCK_HASHES_KEPT}). */
  private readonly blockHashes = new Map<number, string>();
  private readonly finisher: FrameFinisher;
  private nextLeaf: number;
  private nextBatch: number;
  /** Batch index of the next frame to append (frames reach the store strictly in order). */
  private nextAppend: number;
  /** Reused entity links for writeBatch (see there). */
  private readonly linkScratch = { leafIndex: 0, leafHash: new Uint8Array(HASH_BYTES) };
  private readonly pendingLinkScratch = { leafIndex: 0, leafHash: PENDING_HASH };
  /** Every leaf hash below this leaf index is known here (frames came back from the finisher). */
  private hashesKnownBelow: number;
  /**
   * Batch body buffers of frames no longer kept in memory, reused for new batches: a fresh
   * multi-MiB buffer costs a page fault per 4 KiB on first touch (most of the assembly time).
   */
  private readonly bodyPool: Uint8Array[] = [];
  /** Chain hash and batch index of the newest durable frame (for checkpoints). */
  private durableChain: { batchIndex: number; chain: Uint8Array } | undefined;
  private inflight: InflightFrame[] = [];
  private inflightBytes = 0;
  private writerDone: Promise<void> = Promise.resolve();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointing: Promise<void> | undefined;
  private lastSnapshotAt = 0;
  private lastSnapshotSize = 0;
  /** How long the last snapshot held this thread (building + packing), ms. */
  private lastSnapshotCostMs = 0;
  private failure: Error | undefined;
  private closed = false;
  private appended = 0;

  private constructor(init: {
    logId: string;
    origin: string;
    dir: string;
    signer: NoteSigner;
    store: SegmentStore;
    keys: DataKeys;
    checkpoints: CheckpointLog;
    tree: TiledTree;
    tiles: FileTileStore;
    heads: EntityHeads;
    idempotency: IdempotencyWindow;
    windowJournal: WindowJournal;
    nextLeaf: number;
    nextBatch: number;
    chain: Uint8Array;
    worker: WorkerPreparer | undefined;
    options: LogWriterOptions;
  }) {
    const o = init.options;
    this.logId = init.logId;
    this.origin = init.origin;
    this.dir = init.dir;
    this.signer = init.signer;
    this.verifierKey = init.signer.verifierKey;
    this.verifier = NoteVerifier.parse(init.signer.verifierKey);
    this.integrityKeyId = this.verifierKey.split('+')[1] ?? 'unknown';
    // Validated once here (the hash part is always our own lowercase hex).
    this.integrityPrefix = formatIntegrity({
      keySetId: this.logId,
      keyId: this.integrityKeyId,
      algoVersion: INTEGRITY_ALGO_VERSION,
      hashHex: '00'.repeat(HASH_BYTES),
    }).slice(0, -2 * HASH_BYTES);
    this.logIdBytes = logIdBytes(init.logId);
    this.store = init.store;
    this.keys = init.keys;
    this.checkpoints = init.checkpoints;
    this.tree = init.tree;
    this.tiles = init.tiles;
    this.heads = init.heads;
    this.idempotency = init.idempotency;
    this.windowJournal = init.windowJournal;
    this.nextLeaf = init.nextLeaf;
    this.nextBatch = init.nextBatch;
    this.nextAppend = init.nextBatch;
    this.hashesKnownBelow = init.nextLeaf;
    const keys = init.keys;
    this.finisher =
      init.worker === undefined
        ? new InThreadFinisher(() => keys.sealer(), init.chain)
        : init.worker.frameFinisher(init.chain, () => keys.sealingKey());
    this.durableChain =
      init.nextBatch > 0 ? { batchIndex: init.nextBatch - 1, chain: init.chain } : undefined;
    this.batchMaxRecords = o.batchMaxRecords ?? 2048;
    this.batchMaxWaitMs = o.batchMaxWaitMs ?? 2;
    this.maxInflightBytes = o.maxInflightBytes ?? 32 * 1024 * 1024;
    this.checkpointIntervalMs = o.checkpointIntervalMs ?? 1000;
    this.snapshotIntervalMs = o.snapshotIntervalMs ?? 10_000;
    this.snapshotSliceEntries = o.snapshotSliceEntries ?? SNAPSHOT_SLICE_ENTRIES;
    this.compress = o.compress ?? true;
    this.readCache = new ReadCache(o.readCacheBytes ?? 32 * 1024 * 1024);
    this.recent = new RecentFrames(o.recentFramesBytes ?? 16 * 1024 * 1024, (buffer) => this.recycle(buffer));
    this.lastSnapshotSize = init.nextLeaf;
    this.lastSnapshotAt = Date.now();
    this.queue = createBatchQueue<QueueItem>({
      maxItems: o.queueMaxRecords ?? 65_536,
      maxBytes: o.queueMaxBytes ?? 64 * 1024 * 1024,
      sizeOf: bodyLength,
    });
  }

  /**
   * Opens (creating on first use) the log at `<dataDir>/logs/<logId>`, recovers it and starts its
   * writer. Refuses to start when the recovered tree does not match the last signed checkpoint.
   *
   * @throws {LedgerError} `CHECKPOINT_MISMATCH`, `CORRUPT`, `KEY_MISSING`; segment-store errors.
   */
  static async open(args: {
    dataDir: string;
    logId: string;
    origin: string;
    signer: NoteSigner;
    keyring: Keyring;
    options: LogWriterOptions;
    /** The ledger's worker: finishes this log's frames there (default: on this thread). */
    worker?: WorkerPreparer;
  }): Promise<LogWriter> {
    const { logId, origin, signer, keyring, options } = args;
    const dir = join(args.dataDir, 'logs', logId);
    mkdirSync(dir, { recursive: true });
    const durable = (options.durability?.mode ?? 'group') !== 'none';
    const identity: LogIdentity = { log_id: logId, origin, public_key: signer.verifierKey };
    const identityText = `${JSON.stringify(identity, null, 2)}\n`;
    const identityPath = join(dir, 'log.json');
    // Rewritten only when it changes, atomically: verifiers read the public key from it.
    if (!existsSync(identityPath) || readFileSync(identityPath, 'utf8') !== identityText) {
      await writeFileAtomic(identityPath, Buffer.from(identityText, 'utf8'));
    }
    const keys = DataKeys.open(dir, keyring, durable);
    const verifier = NoteVerifier.parse(signer.verifierKey);
    const checkpoints = CheckpointLog.open(dir, verifier, durable);
    const store = await openSegmentStore({
      dir,
      logId,
      durability: options.durability ?? { mode: 'group' },
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      segmentMeta: () => Buffer.from(keys.currentKeyIdHex ?? '', 'utf8'),
    });

    // Where the durable log ends: the last frame's header.
    let nextLeaf = 0;
    let nextBatch = 0;
    let chain = GENESIS_CHAIN;
    const last = await store.locate(store.recovery.lastKey);
    if (store.recovery.lastKey >= 0 && last !== undefined) {
      const frame = await store.readFrame(last.segment, last.offset);
      const opened = openStoredFrame(frame.payload, keys);
      nextLeaf = opened.header.firstLeafIndex + opened.header.recordCount;
      nextBatch = opened.header.batchIndex + 1;
      chain = nextChainHash(opened.header.prevChainHash, opened.header.batchRoot, frame.payload);
    }

    // Tree: tiles are trusted up to the last checkpoint; frames after it are replayed.
    const checkpoint = checkpoints.latest?.checkpoint;
    const treeFrom = Math.min(checkpoint?.size ?? 0, nextLeaf);
    if (checkpoint !== undefined && checkpoint.size > nextLeaf) {
      throw new LedgerError(
        'CHECKPOINT_MISMATCH',
        `log ${logId}: the last checkpoint covers ${checkpoint.size} leaves but the segments hold only ${nextLeaf} — data was lost or rolled back; refusing to start`,
      );
    }
    const tiles = new FileTileStore(join(dir, 'tiles'), { fsync: false });
    let tree = await openTreeAt(tiles, treeFrom);
    if (checkpoint !== undefined && checkpoint.size > 0) {
      let root: Uint8Array | undefined;
      try {
        root = tree.root();
      } catch {
        root = undefined;
      }
      if (root === undefined || !Buffer.from(root).equals(Buffer.from(checkpoint.rootHash))) {
        // Tiles lost (e.g. power loss before the page cache reached disk): rebuild from the log.
        tree = await openTreeAt(tiles, 0, true);
      }
    }

    const snapshot = readSnapshotColumns(dir);
    // Heads and window entries may name records past the snapshot's size (durable when it was
    // written): all must be in the log, or the snapshot is of no use (replay from the start).
    const useSnapshot =
      snapshot !== undefined &&
      snapshot.size <= nextLeaf &&
      maxOf(snapshot.heads.leafIndexes) < nextLeaf &&
      maxOf(snapshot.idempotency.leafIndexes) < nextLeaf;
    const capacity = options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW;
    let idempotency: IdempotencyWindow;
    let heads: EntityHeads;
    if (useSnapshot) {
      idempotency = IdempotencyWindow.fromColumns(snapshot.idempotency, capacity, snapshot.window?.first);
      heads = EntityHeads.fromColumns(snapshot.heads, idempotency.salt);
    } else {
      // A snapshot beyond the log (its end was lost) is of no use: it goes before the window
      // files it names do.
      if (snapshot !== undefined) unlinkSync(join(dir, SNAPSHOT_FILE));
      idempotency = new IdempotencyWindow(capacity);
      heads = new EntityHeads(idempotency.salt);
    }
    const windowJournal = new WindowJournal(dir, idempotency.salt, useSnapshot ? snapshot.window : undefined);

    // Replay frames after what the tree and the snapshot cover (bounded by the checkpoint and
    // snapshot intervals, not by the log size).
    const snapshotSize = useSnapshot ? snapshot.size : 0;
    const replayFrom = Math.min(tree.size, snapshotSize);
    if (replayFrom < nextLeaf) {
      const start = await store.locate(replayFrom);
      for (const seg of await store.listSegments()) {
        if (start !== undefined && seg.number < start.segment) continue;
        const fromOffset = start !== undefined && seg.number === start.segment ? start.offset : 0;
        for await (const f of store.iterateFrames(seg.number, fromOffset)) {
          if (start !== undefined && f.key < start.key) continue;
          const opened = openStoredFrame(f.payload, keys);
          const first = opened.header.firstLeafIndex;
          const hashes: Uint8Array[] = [];
          for (let i = 0; i < opened.leaves.length; i++) {
            const leafIndex = first + i;
            const leaf = opened.leaves[i]!;
            const leafHash = hashLeaf(leaf);
            if (leafIndex >= tree.size) hashes.push(leafHash);
            if (leafIndex >= snapshotSize) {
              const rec = decodeRecord(leaf);
              const slot = heads.slotForKey(entityKeyOf(rec.tenant_id, rec.resource.type, rec.resource.id));
              heads.setLeafIndex(slot, leafIndex);
              heads.setHash(slot, leafHash, 0);
              idempotency.set(idempotencyKey(rec.tenant_id, rec.event_id), leafIndex, leafHash);
            }
          }
          if (hashes.length > 0) await tree.appendLeafHashes(hashes);
        }
      }
      await tree.flush();
    }
    if (tree.size !== nextLeaf) {
      throw new LedgerError(
        'CORRUPT',
        `log ${logId}: rebuilt tree has ${tree.size} leaves, segments hold ${nextLeaf}`,
      );
    }
    if (checkpoint !== undefined) {
      const root = await tree.rootAt(checkpoint.size);
      if (!Buffer.from(root).equals(Buffer.from(checkpoint.rootHash))) {
        throw new LedgerError(
          'CHECKPOINT_MISMATCH',
          `log ${logId}: the tree rebuilt from the segments has root ${hex(root)} at size ${checkpoint.size}, but the last signed checkpoint says ${hex(checkpoint.rootHash)} — the log was modified; refusing to start`,
        );
      }
    }

    // Nonce rule: never resume sealing under a key that sealed before this start.
    keys.rotate();
    const writer = new LogWriter({
      logId,
      origin,
      dir,
      signer,
      store,
      keys,
      checkpoints,
      tree,
      tiles,
      heads,
      idempotency,
      windowJournal,
      nextLeaf,
      nextBatch,
      chain,
      worker: args.worker,
      options,
    });
    writer.start();
    return writer;
  }

  /** Leaves durable in the tree. */
  get treeSize(): number {
    return this.tree.size;
  }

  /** Records appended (acknowledged durable) since open. */
  get appendedRecords(): number {
    return this.appended;
  }

  private start(): void {
    this.writerDone = this.runWriter();
    this.checkpointTimer = setInterval(() => {
      void this.checkpoint().catch(() => {});
    }, this.checkpointIntervalMs);
    this.checkpointTimer.unref();
  }

  /** The lane of one producer (fairness between producers is per lane). */
  private lane(producer: string): Lane<QueueItem> {
    let lane = this.lanes.get(producer);
    if (lane === undefined) {
      lane = this.queue.lane(producer);
      this.lanes.set(producer, lane);
    }
    return lane;
  }

  /**
   * Looks up an idempotency key: the original result when known (durable or in flight).
   */
  duplicateOf(
    tenantId: string,
    eventId: string,
    fingerprint?: { readonly words: Uint32Array; readonly at: number },
  ): Promise<AppendResult> | AppendResult | undefined {
    const key = idempotencyKey(tenantId, eventId);
    const pending = this.pendingIdem.get(key);
    if (pending !== undefined) {
      return pending.append.promise.then((r) => ({ ...r[pending.index]!, status: 'duplicate' as const }));
    }
    const done =
      fingerprint === undefined
        ? this.idempotency.get(key)
        : this.idempotency.getFingerprint(fingerprint.words, fingerprint.at);
    if (done === undefined) return undefined;
    return this.result(eventId, done.leafIndex, done.leafHash, 'duplicate');
  }

  /**
   * Enqueues prepared records (all or nothing), as columns or one object per record (copied into
   * columns). Resolves once they are accepted, with `durable`: a promise of their results (in
   * order) that resolves when all of them are durable. `idemKeys[i]` is record i's idempotency
   * key, or `undefined` (see `PendingAppend.idemKeys`); an empty `idemKeys` means none has one.
   * With `onFull: 'reject'` a full queue throws `BACKPRESSURE` instead of waiting.
   * @throws {LedgerError} `BAD_ARGUMENT` when `idemKeys` is neither empty nor one per record, or a
   *   record's body lies outside `bytes`; `BACKPRESSURE`, `CLOSED`, `FAILED`.
   */
  async enqueue(
    records: PreparedRecords | readonly PreparedRecord[],
    idemKeys: readonly (string | undefined)[],
    options: { producer?: string; onFull?: 'wait' | 'reject'; signal?: AbortSignal } = {},
  ): Promise<{ durable: Promise<AppendResult[]> }> {
    if (this.failure !== undefined) throw this.failedError();
    if (this.closed) throw new LedgerError('CLOSED', `log ${this.logId} is closed`);
    const columns = isColumns(records) ? records : preparedColumns(records);
    checkColumns(columns, idemKeys.length);
    const append = new PendingAppend(columns, idemKeys);
    const items: QueueItem[] = new Array(columns.count);
    for (let i = 0; i < items.length; i++) items[i] = { append, index: i };
    const lane = this.lane(options.producer ?? 'default');
    // Register idempotency keys before any await: a concurrent append of the same id must see
    // this one in flight (and wait for its result) instead of storing a second copy.
    for (let i = 0; i < items.length; i++) {
      const key = idemKeys[i];
      if (key !== undefined) this.pendingIdem.set(key, items[i]!);
    }
    try {
      if (options.onFull === 'reject') {
        if (lane.tryEnqueue(items) === 'full') {
          throw new LedgerError(
            'BACKPRESSURE',
            `log ${this.logId}: queue full (${this.queue.size} records waiting)`,
          );
        }
      } else {
        await lane.enqueue(items, options.signal === undefined ? {} : { signal: options.signal });
      }
    } catch (error) {
      const err =
        error instanceof LedgerError
          ? error
          : new LedgerError('CLOSED', `log ${this.logId}: not accepted: ${(error as Error).message}`, {
              cause: error,
            });
      for (let i = 0; i < items.length; i++) {
        const key = idemKeys[i];
        if (key !== undefined && this.pendingIdem.get(key) === items[i]) this.pendingIdem.delete(key);
      }
      append.fail(err);
      throw err;
    }
    return { durable: append.promise };
  }

  private result(
    eventId: string,
    leafIndex: number,
    leafHash: Uint8Array | string,
    status: 'stored' | 'duplicate',
  ): AppendResult {
    const hashHex = typeof leafHash === 'string' ? leafHash : hex(leafHash);
    return {
      event_id: eventId,
      status,
      log_id: this.logId,
      leaf_index: leafIndex,
      leaf_hash: hashHex,
      integrity: this.integrityOf(hashHex),
    };
  }

  /**
   * Fingerprints entity keys (`entityKeyOf`) under this log's salt, four words each into `out`
   * from `at`: `PreparedRecords.entityFingerprints`.
   */
  fingerprintEntities(n: number, key: (i: number) => string, out: Uint32Array, at = 0): void {
    this.heads.fingerprintMany(n, key, out, at);
  }

  /**
   * {@link LogWriter.fingerprintEntities} for entity keys given as parts — `[tenant, type, id]`
   * accessors, joined as `entityKeyOf` joins them — without a key string per record.
   */
  fingerprintEntityParts(
    n: number,
    parts: readonly ((i: number) => string)[],
    out: Uint32Array,
    at = 0,
  ): void {
    this.heads.fingerprintManyParts(n, parts, out, at);
  }

  /** The `integrity` string of a record with this leaf hash (hex) in this log. */
  integrityOf(leafHashHex: string): string {
    return this.integrityPrefix + leafHashHex;
  }

  /** The writer loop: the single sequencer of this log. */
  private async runWriter(): Promise<void> {
    for (;;) {
      const batch = await this.queue.dequeue({
        maxItems: this.batchMaxRecords,
        maxWaitMs: this.batchMaxWaitMs,
      });
      if (batch === null) break;
      if (this.failure !== undefined) {
        for (const item of batch) item.append.fail(this.failedError());
        continue;
      }
      try {
        this.writeBatch(batch);
      } catch (error) {
        this.fail(error);
        for (const item of batch) item.append.fail(this.failedError());
        continue;
      }
      // Bound memory between "built" and "durable": wait for the oldest frames.
      while (this.inflightBytes > this.maxInflightBytes && this.inflight.length > 0) {
        await this.inflight[0]!.done;
      }
    }
    while (this.inflight.length > 0) await this.inflight[0]!.done;
  }

  /** Builds and appends one frame from a batch (synchronous up to the segment append). */
  private writeBatch(batch: QueueItem[]): void {
    const count = batch.length;
    const firstLeaf = this.nextLeaf;
    let bound = 0;
    for (let i = 0; i < count; i++) bound += maxAssembledRecordLength(bodyLength(batch[i]!));
    // Leaves are assembled straight into the batch body, once; the finisher hashes them.
    const body = new BatchBodyBuilder(count, bound, this.reusableBody(count, bound));
    const patches: number[] = [];
    // Each record's entity slot: its hash is filled in when the frame comes back.
    const slots = new Int32Array(count);
    let minT = Number.POSITIVE_INFINITY;
    let maxT = 0;
    const heads = this.heads;
    const knownBelow = this.hashesKnownBelow;
    // Entity-key fingerprints: made when the call was staged, or else the frame's keys hashed
    // together here (not in the prepare worker: that thread is the one saturated appends wait
    // for; hashed there, they ran at 0.94x in 7 alternated pairs).
    if (this.entityWords.length < count * 4) this.entityWords = new Uint32Array(count * 8);
    const frameWords = this.entityWords;
    let unfingerprinted = 0;
    for (let i = 0; i < count; i++)
      if (batch[i]!.append.records.entityFingerprints === undefined) unfingerprinted++;
    if (unfingerprinted > 0) {
      heads.fingerprintMany(
        count,
        (i) => batch[i]!.append.records.entityKeys[batch[i]!.index] ?? '',
        frameWords,
      );
    }
    for (let i = 0; i < count; i++) {
      const item = batch[i]!;
      const records = item.append.records;
      const at = 2 * item.index;
      const bodyStart = records.bodyAt[at]!;
      const bodyEnd = records.bodyAt[at + 1]!;
      const staged = records.entityFingerprints;
      const words = staged ?? frameWords;
      const wordsAt = staged === undefined ? i * 4 : item.index * 4;
      let slot = heads.slotOf(words, wordsAt);
      let prev: EntityLink | null = null;
      let pendingLeaf = -1;
      if (slot < 0) {
        slot = heads.add(words, wordsAt);
      } else {
        const leafIndex = heads.leafIndexAt(slot);
        // Scratch links: assembleRecord copies the link into the body at once.
        if (leafIndex < knownBelow) {
          const link = this.linkScratch;
          link.leafIndex = leafIndex;
          heads.copyHash(slot, link.leafHash, 0);
          prev = link;
        } else {
          // Its frame is still being finished: the finisher fills the hash in.
          this.pendingLinkScratch.leafIndex = leafIndex;
          prev = this.pendingLinkScratch;
          pendingLeaf = leafIndex;
        }
      }
      const recordBody = records.bytes.subarray(bodyStart, bodyEnd);
      const length = assembleRecordInto(prev, recordBody, body.bytes, body.nextOffset);
      body.commit(length);
      if (pendingLeaf >= 0) {
        // The link's hash bytes end where the body starts.
        patches.push(body.offsets[i + 1]! - (bodyEnd - bodyStart) - HASH_BYTES, pendingLeaf);
      }
      heads.setLeafIndex(slot, firstLeaf + i);
      slots[i] = slot;
      const occurredAt = records.occurredAt[item.index]!;
      if (occurredAt < minT) minT = occurredAt;
      if (occurredAt > maxT) maxT = occurredAt;
    }
    const plain = body.finish();
    const plainBytes = plain.length;
    const batchIndex = this.nextBatch;
    // Numbering is advanced before the frame exists: a failed frame or append fails the whole
    // log (restart recovers from what is durable), so numbers are never reused within a process.
    this.nextLeaf += count;
    this.nextBatch += 1;
    const done = this.finisher
      .finish({
        logId: this.logIdBytes,
        batchIndex,
        firstLeafIndex: firstLeaf,
        recordCount: count,
        minOccurredAt: minT,
        maxOccurredAt: maxT,
        plain,
        offsets: body.offsets,
        patches: new Float64Array(patches),
        knownBelow: this.hashesKnownBelow,
        compress: this.compress,
      })
      .then(({ frame, chain, hashes: flat, plain: back }) => {
        if (batchIndex !== this.nextAppend) {
          throw new LedgerError(
            'CORRUPT',
            `log ${this.logId}: logic error: frame ${batchIndex} finished out of order (expected ${this.nextAppend})`,
          );
        }
        this.nextAppend++;
        // The body may have gone to the worker and come back: the leaves are views of what came back.
        const bytes = back ?? plain;
        for (let i = 0; i < count; i++) {
          // Unless a later record of the entity replaced this one meanwhile.
          if (heads.leafIndexAt(slots[i]!) === firstLeaf + i) heads.setHash(slots[i]!, flat, i * HASH_BYTES);
        }
        this.hashesKnownBelow = firstLeaf + count;
        return this.store.append(frame, firstLeaf).then(() => {
          // Written: the frame's buffer is the finisher's again.
          this.finisher.recycle(frame);
          return this.onDurable(batch, firstLeaf, flat, batchIndex, chain, bytes, body.offsets);
        });
      })
      .catch((error: unknown) => {
        // Rejecting an already-resolved item is a no-op, so this settles exactly the rest.
        this.fail(error);
        for (const item of batch) item.append.fail(this.failedError());
      });
    const entry: InflightFrame = { firstLeaf, bytes: plainBytes, done };
    this.inflight.push(entry);
    this.inflightBytes += entry.bytes;
    void done.finally(() => {
      const i = this.inflight.indexOf(entry);
      if (i >= 0) this.inflight.splice(i, 1);
      this.inflightBytes -= entry.bytes;
    });
  }

  /** A frame is durable: grow the tree (in order), acknowledge its records. */
  private async onDurable(
    batch: QueueItem[],
    firstLeaf: number,
    flatHashes: Uint8Array,
    batchIndex: number,
    chain: Uint8Array,
    body: Uint8Array,
    offsets: Uint32Array,
  ): Promise<void> {
    // Segment appends resolve in append order, so tree appends happen in leaf order.
    const grown = this.tree.appendFlat(flatHashes);
    this.durableChain = { batchIndex, chain };
    const count = batch.length;
    const buffer = new Uint8Array(body.buffer, 0, body.buffer.byteLength);
    this.recent.push({
      firstLeaf,
      count,
      body,
      offsets,
      hashes: flatHashes,
      batchIndex,
      blockHash: hex(chain),
      buffer,
    });
    const hexOf = Buffer.from(flatHashes.buffer, flatHashes.byteOffset, flatHashes.length);
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      const append = item.append;
      const j = item.index;
      const leafIndex = firstLeaf + i;
      const r = this.result(
        append.records.eventIds[j]!,
        leafIndex,
        hexOf.toString('hex', i * HASH_BYTES, (i + 1) * HASH_BYTES),
        'stored',
      );
      const fps = append.records.keyFingerprints;
      const idemKey = append.idemKeys[j];
      if (fps !== undefined) {
        this.idempotency.setFingerprint(fps, FINGERPRINT_WORDS * j, leafIndex, flatHashes, i * HASH_BYTES);
      } else if (idemKey !== undefined) {
        this.idempotency.set(idemKey, leafIndex, flatHashes, i * HASH_BYTES);
      }
      if (idemKey !== undefined) this.pendingIdem.delete(idemKey);
      append.settle(j, r);
    }
    this.appended += batch.length;
    await grown;
  }

  /** A pooled body buffer large enough for this batch, or `undefined` (then a fresh one). */
  private reusableBody(count: number, leafBytes: number): Uint8Array | undefined {
    const need = 4 * (count + 1) + leafBytes;
    const pool = this.bodyPool;
    for (let i = 0; i < pool.length; i++) {
      if (pool[i]!.length >= need) return pool.splice(i, 1)[0];
    }
    // Room to grow: the next batches of a steady workload then fit the same buffer.
    return pool.length > 0 || need < BODY_POOL_MIN_BYTES ? undefined : new Uint8Array(need + (need >> 3));
  }

  /** Takes back the body buffer of a frame dropped from memory. */
  private recycle(buffer: Uint8Array): void {
    if (this.bodyPool.length < BODY_POOL_BUFFERS && buffer.length >= BODY_POOL_MIN_BYTES)
      this.bodyPool.push(buffer);
  }

  /**
   * Signs a checkpoint of the durable tree if it grew since the last one, appends it to the
   * checkpoint file (fsync'd), and writes the state snapshot when due (`force`: now, as at close).
   * Safe to call any time.
   */
  async checkpoint(force = false): Promise<void> {
    while (this.checkpointing !== undefined) await this.checkpointing;
    this.checkpointing = (async () => {
      // One synchronous stretch fixes what this checkpoint and snapshot describe: size, root and
      // chain hash of the same frames (onDurable updates the tree and the chain together), the
      // flush that queues every tile of that size (a restart reopens the tree at the signed
      // size), and the size a restart from the snapshot replays from. Frames that become durable
      // meanwhile belong to the next checkpoint.
      const size = this.tree.size;
      const latest = this.checkpoints.latest?.checkpoint;
      let note: { text: string; checkpoint: Checkpoint } | undefined;
      if (size > 0 && (latest === undefined || latest.size < size)) {
        const chain = this.durableChain;
        const extensions =
          chain === undefined
            ? []
            : [`${CHAIN_EXTENSION_PREFIX}${chain.batchIndex} ${Buffer.from(chain.chain).toString('base64')}`];
        const checkpoint = { origin: this.origin, size, rootHash: this.tree.root(), extensions };
        note = { text: signCheckpoint(checkpoint, this.signer), checkpoint };
      }
      const flushed = this.tree.flush();
      const now = Date.now();
      // The snapshot's heads are copied on this thread, in slices with yields between them
      // (O(entities) in all): space snapshots so that this work takes at most 1/SNAPSHOT_MAX_DUTY
      // of the thread, at the price of longer replays.
      const interval = Math.max(this.snapshotIntervalMs, this.lastSnapshotCostMs * SNAPSHOT_MAX_DUTY);
      // Never after a failure: a batch that failed while being sequenced may have left entity
      // heads naming records that will never exist (restart recovers from the last snapshot).
      const snapshot =
        this.failure === undefined &&
        (force || (now - this.lastSnapshotAt >= interval && size > this.lastSnapshotSize));
      let encoded: Awaited<ReturnType<typeof encodeSnapshotSliced>> | undefined;
      await flushed;
      // Tiles first, then the checkpoint (its append + fsync run on the libuv pool).
      if (note !== undefined) await this.checkpoints.append(note.text, note.checkpoint);
      if (snapshot) {
        const window = this.idempotency;
        encoded = await encodeSnapshotSliced(
          {
            size,
            // The heads as they are while being copied (each at least as new as at `size`),
            // less those whose record's hash is not known yet.
            heads: this.knownHeads(),
            window: async () => {
              // Replay restarts at `size`: every record a copied head names, and every record
              // whose head was left out, must be durable before the snapshot is. Then the window:
              // its entries join in onDurable (durable records only) and leave oldest first, so
              // the ones held now are a valid window (replay after `size` re-adds them or
              // rewrites the same results); only those its files lack are written.
              await this.durableUpTo(this.nextLeaf);
              return this.windowJournal.write(window, window.firstSequence, window.endSequence, yieldToLoop);
            },
          },
          this.snapshotSliceEntries,
        );
      }
      if (encoded === undefined || this.failure !== undefined) return;
      this.lastSnapshotCostMs = encoded.busyMs;
      await writeSnapshotBytes(this.dir, encoded.parts);
      await this.windowJournal.prune(encoded.window.first);
      this.lastSnapshotAt = now;
      this.lastSnapshotSize = size;
    })();
    try {
      await this.checkpointing;
    } finally {
      this.checkpointing = undefined;
    }
  }

  /** A cursor over the entity heads whose records' hashes are known, slot after slot. */
  private knownHeads(): FingerprintCursor {
    let next = 0;
    return (sink, max) => {
      next = this.heads.copyKnown(sink, next, max, this.hashesKnownBelow);
      return next < this.heads.size;
    };
  }

  /** Resolves once the durable tree holds `size` leaves. */
  private async durableUpTo(size: number): Promise<void> {
    while (this.tree.size < size) {
      if (this.failure !== undefined) throw this.failedError();
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
  }

  /** The latest signed checkpoint note, or `undefined` before the first. */
  latestCheckpoint(): string | undefined {
    return this.checkpoints.latest?.note;
  }

  /** Verifier used to open this log's checkpoints. */
  get noteVerifier(): NoteVerifier {
    return this.verifier;
  }

  /**
   * Reads the record at `leafIndex` (decrypts one frame).
   * @throws {LedgerError} `NOT_FOUND` beyond the durable tree; `CORRUPT` when the frame or leaf
   *   does not check.
   */
  async read(leafIndex: number): Promise<ReadRecord> {
    const [record] = await this.readMany([leafIndex]);
    return record!;
  }

  /**
   * Reads several records by leaf index. Each frame they share is read and decrypted once; frames
   * are read ahead ({@link READ_AHEAD_FRAMES} file reads in flight while the main thread opens the
   * previous ones); recently read records come from a byte-bounded cache (`readCacheBytes`).
   * Returns them in the order asked; duplicates allowed. Every returned object is fresh.
   * @throws {LedgerError} `NOT_FOUND` for any index beyond the durable tree; `CORRUPT`.
   */
  async readMany(leafIndexes: readonly number[]): Promise<ReadRecord[]> {
    for (const leafIndex of leafIndexes) {
      if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= this.tree.size) {
        throw new LedgerError(
          'NOT_FOUND',
          `log ${this.logId}: no durable leaf ${leafIndex} (tree size ${this.tree.size})`,
        );
      }
    }
    const found = new Map<number, CachedLeaf>();
    const missing: number[] = [];
    for (const leafIndex of leafIndexes) {
      if (found.has(leafIndex)) continue;
      const hit = this.readCache.get(leafIndex) ?? this.recent.get(leafIndex);
      if (hit !== undefined) found.set(leafIndex, hit);
      else missing.push(leafIndex);
    }
    if (missing.length > 0) await this.readFrames(missing, found);
    return leafIndexes.map((leafIndex) => {
      const c = found.get(leafIndex)!;
      // Copies (Buffer.from copies; Buffer#slice would not): the decoded record's byte fields are
      // views into `leaf`, and nothing a caller does may reach the cache.
      const leaf = Buffer.from(c.leaf);
      return {
        logId: this.logId,
        leafIndex,
        leaf,
        leafHash: Buffer.from(c.leafHash),
        record: decodeRecord(leaf),
        batchIndex: c.batchIndex,
        blockHash: c.blockHash,
      };
    });
  }

  /**
   * The chain hash of a frame (hex), remembered per batch index: hashing a whole frame costs more
   * than the rest of a cached read. A frame's chain hash never changes once written.
   */
  private blockHashOf(
    batchIndex: number,
    payload: Uint8Array,
    header: { prevChainHash: Uint8Array; batchRoot: Uint8Array },
  ): string {
    let h = this.blockHashes.get(batchIndex);
    if (h === undefined) {
      h = hex(nextChainHash(header.prevChainHash, header.batchRoot, payload));
      if (this.blockHashes.size >= BLOCK_HASHES_KEPT) {
        this.blockHashes.delete(this.blockHashes.keys().next().value as number);
      }
      this.blockHashes.set(batchIndex, h);
    }
    return h;
  }

  /** Reads the frames holding `leaves` (unique), filling `into` and the read cache. */
  private async readFrames(leaves: number[], into: Map<number, CachedLeaf>): Promise<void> {
    leaves.sort((a, b) => a - b);
    // One location per frame, with the leaves wanted from it.
    const frames: { at: FrameLocation; wanted: number[] }[] = [];
    for (const leafIndex of leaves) {
      const last = frames[frames.length - 1];
      const at = await this.store.locate(leafIndex);
      if (at === undefined)
        throw new LedgerError('NOT_FOUND', `log ${this.logId}: leaf ${leafIndex} not in any frame`);
      if (last !== undefined && last.at.segment === at.segment && last.at.offset === at.offset) {
        last.wanted.push(leafIndex);
      } else {
        frames.push({ at, wanted: [leafIndex] });
      }
    }
    const reads: Promise<FrameRead>[] = [];
    const startRead = (i: number): void => {
      const f = frames[i];
      if (f === undefined) return;
      const read = this.store.readFrame(f.at.segment, f.at.offset, f.at.bytes);
      read.catch(() => {}); // Awaited below in order; avoid an unhandled rejection meanwhile.
      reads[i] = read;
    };
    for (let i = 0; i < READ_AHEAD_FRAMES; i++) startRead(i);
    let scratch: Uint8Array | undefined;
    for (let i = 0; i < frames.length; i++) {
      const raw = await reads[i]!;
      startRead(i + READ_AHEAD_FRAMES);
      scratch = scratchFor(raw.payload, scratch);
      const frame = openStoredFrame(raw.payload, this.keys, scratch);
      const blockHash = this.blockHashOf(frame.header.batchIndex, raw.payload, frame.header);
      for (const leafIndex of frames[i]!.wanted) {
        const view = frame.leaves[leafIndex - frame.header.firstLeafIndex];
        if (view === undefined) {
          throw new LedgerError(
            'CORRUPT',
            `log ${this.logId}: frame ${frame.header.batchIndex} does not hold leaf ${leafIndex}`,
          );
        }
        // A private copy: a view would keep the whole decompressed frame alive.
        const leaf = Buffer.from(view);
        const entry: CachedLeaf = {
          leaf,
          leafHash: hashLeaf(leaf),
          batchIndex: frame.header.batchIndex,
          blockHash,
        };
        into.set(leafIndex, entry);
        this.readCache.set(leafIndex, entry);
      }
    }
  }

  /**
   * Iterates durable records with `from ≤ leafIndex < to` in leaf order, decrypting each frame once.
   * @throws {LedgerError} `NOT_FOUND` for a range outside the durable tree; `CORRUPT`.
   */
  async *iterate(from = 0, to: number = this.tree.size): AsyncGenerator<ReadRecord> {
    this.checkRange(from, to);
    let next = from;
    // The tail (what a follower such as the search indexer asks for) comes from the frames the
    // writer kept in memory; older leaves from the segments. Frames may be dropped from memory
    // while the caller holds the generator: then the rest comes from the segments too.
    const kept = this.recent.firstLeaf;
    if (kept === undefined || next < kept) {
      const end = kept === undefined ? to : Math.min(to, kept);
      for await (const r of this.iterateStored(next, end)) yield r;
      next = end;
    }
    while (next < to) {
      const f = this.recent.frameOf(next);
      if (f === undefined) {
        for await (const r of this.iterateStored(next, to)) yield r;
        return;
      }
      const end = Math.min(to, f.firstLeaf + f.count);
      for (; next < end && f.dropped !== true; next++) {
        const leafIndex = next;
        const i = leafIndex - f.firstLeaf;
        const leaf = copyLeaf(f, i);
        yield {
          logId: this.logId,
          leafIndex,
          leaf,
          leafHash: copyLeafHash(f, i),
          record: decodeRecord(leaf),
          batchIndex: f.batchIndex,
          blockHash: f.blockHash,
        };
      }
      // A frame dropped meanwhile (its buffer may be reused): the rest comes from the segments.
    }
  }

  private checkRange(from: number, to: number): void {
    if (
      !Number.isSafeInteger(from) ||
      !Number.isSafeInteger(to) ||
      from < 0 ||
      to > this.tree.size ||
      from > to
    ) {
      throw new LedgerError(
        'NOT_FOUND',
        `log ${this.logId}: range [${from}, ${to}) outside the durable tree (size ${this.tree.size})`,
      );
    }
  }

  /** {@link iterate} from the segments only. */
  private async *iterateStored(from: number, to: number): AsyncGenerator<ReadRecord> {
    if (from === to) return;
    const start = await this.store.locate(from);
    if (start === undefined)
      throw new LedgerError('NOT_FOUND', `log ${this.logId}: leaf ${from} not in any frame`);
    for (const seg of await this.store.listSegments()) {
      if (seg.number < start.segment) continue;
      const fromOffset = seg.number === start.segment ? start.offset : 0;
      for await (const f of this.store.iterateFrames(seg.number, fromOffset)) {
        if (f.key < start.key) continue;
        if (f.key >= to) return;
        const opened = openStoredFrame(f.payload, this.keys);
        const chain = hex(nextChainHash(opened.header.prevChainHash, opened.header.batchRoot, f.payload));
        const first = opened.header.firstLeafIndex;
        for (let i = 0; i < opened.leaves.length; i++) {
          const leafIndex = first + i;
          if (leafIndex < from) continue;
          if (leafIndex >= to) return;
          const leaf = opened.leaves[i]!;
          yield {
            logId: this.logId,
            leafIndex,
            leaf,
            leafHash: hashLeaf(leaf),
            record: decodeRecord(leaf),
            batchIndex: opened.header.batchIndex,
            blockHash: chain,
          };
        }
      }
    }
  }

  /** RFC 9162 inclusion proof of `leafIndex` in the tree of `treeSize` leaves (O(log n) tile reads). */
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    return this.tree.inclusionProof(leafIndex, treeSize);
  }

  /** RFC 9162 consistency proof between two tree sizes. */
  consistencyProof(first: number, second: number): Promise<Uint8Array[]> {
    return this.tree.consistencyProof(first, second);
  }

  /** Root hash of the tree at `size` ≤ current size. */
  rootAt(size: number): Promise<Uint8Array> {
    return this.tree.rootAt(size);
  }

  /** Segment store statistics (fsync latency etc.). */
  storeStats(): ReturnType<SegmentStore['stats']> {
    return this.store.stats();
  }

  /** Salt of this log's idempotency-window fingerprints. */
  get idempotencySalt(): Uint8Array {
    return this.idempotency.salt;
  }

  /** Queue depth. */
  queueDepth(): number {
    return this.queue.size;
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
  }

  private failedError(): LedgerError {
    return new LedgerError(
      'FAILED',
      `log ${this.logId} failed and accepts nothing more: ${this.failure?.message}`,
      {
        cause: this.failure,
      },
    );
  }

  /** Stops accepting, writes everything accepted, signs a final checkpoint, closes files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    await this.writerDone;
    if (this.checkpointTimer !== undefined) clearInterval(this.checkpointTimer);
    if (this.failure === undefined) await this.checkpoint(true);
    this.tiles.close();
    await this.store.close();
  }
}

/**
 * Partial tiles are written at checkpoints only (`flush` before signing): a frame fills a few
 * partial tiles, and writing them per frame cost ~6 file-system calls each — most of the kernel
 * time of a small-frame workload. A restart opens the tree at the last checkpoint's size, whose
 * tiles are complete, and replays the frames after it.
 */
const TREE_OPTIONS = { partialTiles: 'flush' } as const;

async function openTreeAt(tiles: FileTileStore, size: number, reset = false): Promise<TiledTree> {
  if (reset) return TiledTree.open(tiles, 0, TREE_OPTIONS);
  try {
    return await TiledTree.open(tiles, size, TREE_OPTIONS);
  } catch {
    // Tiles missing for `size`: start over from 0 and replay.
    return TiledTree.open(tiles, 0, TREE_OPTIONS);
  }
}

/** The fixed-width log id of frame headers: SHA-256 of the log id string, first 16 bytes. */
export function logIdBytes(logId: string): Uint8Array {
  return new Uint8Array(nodeHash('sha256', logId, 'buffer')).subarray(0, LOG_ID_BYTES);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Words of one key fingerprint in `PreparedRecords.keyFingerprints`. */
const FINGERPRINT_WORDS = FINGERPRINT_BYTES / 4;

function isColumns(records: PreparedRecords | readonly PreparedRecord[]): records is PreparedRecords {
  return !Array.isArray(records);
}

/** @throws {LedgerError} `BAD_ARGUMENT` for columns that do not describe `keys` records. */
function checkColumns(records: PreparedRecords, keys: number): void {
  const n = records.count;
  const bad = (why: string): LedgerError => new LedgerError('BAD_ARGUMENT', `enqueue: ${why}`);
  if (keys !== n && keys !== 0) throw bad(`${n} records but ${keys} idempotency keys`);
  const entities =
    records.entityFingerprints === undefined
      ? records.entityKeys.length
      : Math.floor(records.entityFingerprints.length / FINGERPRINT_WORDS);
  if (records.eventIds.length < n || entities < n || records.occurredAt.length < n) {
    throw bad('fewer event ids, entity keys or times than records');
  }
  if (records.bodyAt.length < 2 * n) throw bad('fewer body positions than records');
  if (records.keyFingerprints !== undefined && records.keyFingerprints.length < FINGERPRINT_WORDS * n) {
    throw bad('fewer key fingerprints than records');
  }
  const size = records.bytes.length;
  for (let i = 0; i < 2 * n; i += 2) {
    const start = records.bodyAt[i]!;
    const end = records.bodyAt[i + 1]!;
    if (start > end || end > size)
      throw bad(`record ${i / 2}'s body [${start}, ${end}) is outside bytes (${size})`);
  }
}
