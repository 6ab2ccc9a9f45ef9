/**
 * Finishing a frame: leaf hashes (with the entity-link hashes the sequencer did not know yet
 * patched in) → batch root → snappy → nonce → frame header (AAD) → AES-256-GCM → chain hash. The
 * same code runs on the writer's thread (`prepareWorkers: 0`) or in the ledger's worker (default),
 * which owns the log's sealing key and nonce sequence there.
 *
 * Order: the chain hash links each frame to the one before it, and a record may link to a record of
 * an earlier frame whose hash only the finisher has seen so far, so one log's frames are finished
 * strictly one after another, in batch order, by one finisher. Numbering and entity links (by leaf
 * index) are decided before (log-writer.ts); the segment append after.
 */
import { hash as nodeHash } from 'node:crypto';
import {
  BodyCompressor,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  GCM_TAG_BYTES,
  RECORD_ENCODING_POSITIONAL,
} from '@sealog/codec';
import type { FrameSealer } from '@sealog/crypto-envelope';
import { HASH_BYTES, hashLeaves, LEAF_PREFIX, rootFromFlat } from '@sealog/merkle';
import { nextChainHash } from './chain-hash';

/** Runs of at least this many leaves are hashed by `hashLeaves` (its SIMD lanes take groups of 4). */
const MIN_BATCH_RUN = 4;

/** This thread's snappy output buffer, reused frame after frame (frames are finished one at a time). */
const compressor = new BodyCompressor();

/** What the sequencer decided about a frame; the finisher adds the rest. */
export interface FrameJob {
  /** The log's 16-byte frame-header id. */
  readonly logId: Uint8Array;
  readonly batchIndex: number;
  readonly firstLeafIndex: number;
  readonly recordCount: number;
  readonly minOccurredAt: number;
  readonly maxOccurredAt: number;
  /**
   * Batch body (plaintext) with every leaf assembled, a view of an ArrayBuffer of its own: the
   * worker takes the whole buffer over and hands it back in {@link FinishedFrame.plain}. The 32
   * bytes named by each entry of `patches` are placeholders the finisher overwrites.
   */
  readonly plain: Uint8Array;
  /** `recordCount + 1` offsets of the leaves in `plain` (leaf i is `[offsets[i], offsets[i + 1])`). */
  readonly offsets: Uint32Array;
  /**
   * Entity-link hashes the sequencer did not know (their record's frame was still being finished):
   * pairs `(byte offset in plain, leaf index)`, in increasing offset order. The finisher writes the
   * leaf hash of that leaf index — a record earlier in this frame or in a frame it finished before —
   * at that offset before hashing the leaf that holds it.
   */
  readonly patches: Float64Array;
  /**
   * The sequencer knows every leaf hash below this leaf index: the finisher may forget them (it
   * keeps the hashes of later frames, which `patches` may name).
   */
  readonly knownBelow: number;
  readonly compress: boolean;
}

/** Leaf hashes of the frames a finisher finished that the sequencer may not have seen yet. */
export class LeafHashWindow {
  private frames: { firstLeaf: number; hashes: Uint8Array }[] = [];

  /** Keeps the hashes (flat, 32 bytes each) of the frame starting at `firstLeaf`. */
  add(firstLeaf: number, hashes: Uint8Array): void {
    this.frames.push({ firstLeaf, hashes });
  }

  /** Forgets the frames whose leaves are all below `leafIndex`. */
  forgetBelow(leafIndex: number): void {
    let drop = 0;
    for (const f of this.frames) {
      if (f.firstLeaf + f.hashes.length / HASH_BYTES > leafIndex) break;
      drop++;
    }
    if (drop > 0) this.frames = this.frames.slice(drop);
  }

  /** Copies the hash of `leafIndex` into `out` at `offset`; false when it is not kept. */
  copyTo(leafIndex: number, out: Uint8Array, offset: number): boolean {
    for (const f of this.frames) {
      const i = leafIndex - f.firstLeaf;
      if (i >= 0 && i < f.hashes.length / HASH_BYTES) {
        out.set(f.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), offset);
        return true;
      }
    }
    return false;
  }
}

/**
 * Hashes the leaves of `job` into a fresh flat buffer (32 bytes per leaf), writing each patched
 * entity-link hash into the body first. Patches name leaves of this frame (already hashed: a link
 * always points backwards) or of `window`'s frames.
 *
 * @throws {Error} when a patch names a leaf hash that is neither (a sequencing bug).
 */
export function hashFrameLeaves(job: FrameJob, window: LeafHashWindow): Uint8Array {
  const { plain, offsets, patches, recordCount: count, firstLeafIndex: first } = job;
  const hashes = new Uint8Array(count * HASH_BYTES);
  let done = 0; // leaves [0, done) are hashed
  for (let p = 0; p < patches.length; p += 2) {
    const at = patches[p]!;
    const leafIndex = patches[p + 1]!;
    // The leaf holding the patch: hash everything before it first.
    let holder = done;
    while (holder < count && offsets[holder + 1]! <= at) holder++;
    if (holder > done) {
      hashRun(plain, offsets, done, holder, hashes);
      done = holder;
    }
    const i = leafIndex - first;
    if (i >= 0 && i < done) {
      plain.set(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), at);
    } else if (i >= 0 || !window.copyTo(leafIndex, plain, at)) {
      throw new Error(`logic error: frame ${job.batchIndex}: no leaf hash for linked leaf ${leafIndex}`);
    }
  }
  if (done < count) hashRun(plain, offsets, done, count, hashes);
  return hashes;
}

/**
 * Leaf hashes of leaves `from … to - 1` into `hashes`. Runs of at least {@link MIN_BATCH_RUN}
 * leaves go to `hashLeaves` (SIMD lanes for short leaves); shorter ones — what entity links to
 * records of the same frame split a frame into, down to one leaf per run when every record links
 * to one shortly before it — are hashed in place: the byte before the leaf (the previous leaf's
 * last or the offset table's, never part of this leaf) holds the RFC 9162 prefix 0x00 for the
 * call, so the leaf is not first copied into a scratch buffer. Like the patches, this writes only
 * into the job's own body, and puts the byte back.
 */
function hashRun(
  plain: Uint8Array,
  offsets: Uint32Array,
  from: number,
  to: number,
  hashes: Uint8Array,
): void {
  if (to - from >= MIN_BATCH_RUN || offsets[from]! === 0) {
    hashLeaves(plain, offsets.subarray(from, to + 1), hashes.subarray(from * HASH_BYTES));
    return;
  }
  for (let i = from; i < to; i++) {
    const start = offsets[i]!;
    const saved = plain[start - 1]!;
    plain[start - 1] = LEAF_PREFIX;
    try {
      hashes.set(nodeHash('sha256', plain.subarray(start - 1, offsets[i + 1]!), 'buffer'), i * HASH_BYTES);
    } finally {
      plain[start - 1] = saved;
    }
  }
}

/** A finished frame and the chain hash after it. */
export interface FinishedFrame {
  readonly frame: Uint8Array;
  readonly chain: Uint8Array;
  /**
   * Leaf hashes, 32 bytes per leaf in leaf order: a view that may share its ArrayBuffer with
   * `chain` (from the worker), so readers use its byte offset.
   */
  readonly hashes: Uint8Array;
  /** The job's `plain`, when it went to another thread and came back (same offsets). */
  readonly plain?: Uint8Array;
}

/** Finishes the frames of one log, in the order they are given. */
export interface FrameFinisher {
  /**
   * Finishes `job` (the next frame of the log). Results resolve in call order. A failure fails
   * every later job too (the chain cannot skip a frame).
   */
  finish(job: FrameJob): Promise<FinishedFrame>;
  /**
   * Hands back the buffer of a frame this finisher returned, once nothing reads it any more (the
   * segment store wrote it), to finish later frames into.
   */
  recycle(frame: Uint8Array): void;
}

/** Frame buffers a {@link FrameBufferPool} keeps at most. */
export const FRAME_POOL_BUFFERS = 4;

/**
 * Buffers to finish frames into, reused once written instead of freed. A new buffer's pages are
 * zeroed by the kernel at their first touch: on our VMs ~2.5 µs per 4 KiB page, so ~3 ms for a
 * 4.7 MB frame of the thesis benchmark and ~0.15 ms for a 250 KB frame of 1,000 audit events —
 * and the thread that frees it pays again to unmap it.
 */
export class FrameBufferPool {
  private readonly free: ArrayBuffer[] = [];

  /** A view of `bytes` bytes at the start of a pooled buffer at least that large, else of a new one. */
  take(bytes: number): Uint8Array {
    const free = this.free;
    for (let i = 0; i < free.length; i++) {
      const buffer = free[i]!;
      if (buffer.byteLength >= bytes) {
        free.splice(i, 1);
        return new Uint8Array(buffer, 0, bytes);
      }
    }
    // Some room to grow: frames of a steady workload vary a little in size.
    return new Uint8Array(new ArrayBuffer(bytes + (bytes >> 3)), 0, bytes);
  }

  /** Keeps `buffer` for a later frame; a full pool lets go of its smallest buffer. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0) return; // detached
    const free = this.free;
    if (free.length < FRAME_POOL_BUFFERS) {
      free.push(buffer);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < free.length; i++) if (free[i]!.byteLength < free[smallest]!.byteLength) smallest = i;
    if (free[smallest]!.byteLength < buffer.byteLength) free[smallest] = buffer;
  }

  /** Buffers held now (for tests). */
  get size(): number {
    return this.free.length;
  }
}

/**
 * Builds the frame of `job` sealed with `sealer`, linked to `prevChain`; `window` holds the leaf
 * hashes of the frames finished before (it gains this one's and forgets what `job.knownBelow`
 * allows). The frame is a view at the start of a buffer of its own (so it can be transferred):
 * taken from `buffers` when given, else new. Every byte of the view is written.
 */
export function finishFrame(
  job: FrameJob,
  sealer: FrameSealer,
  prevChain: Uint8Array,
  window: LeafHashWindow,
  buffers?: FrameBufferPool,
): FinishedFrame {
  const plain = job.plain;
  window.forgetBelow(job.knownBelow);
  const hashes = hashFrameLeaves(job, window);
  window.add(job.firstLeafIndex, hashes);
  const batchRoot = rootFromFlat(hashes);
  // A view of this thread's compressor buffer: sealed into the frame below, before any other call.
  const body = job.compress ? compressor.compress(plain) : plain;
  const nonce = sealer.nextNonce();
  const frameBytes = FRAME_HEADER_BYTES + body.length + GCM_TAG_BYTES;
  const frame = buffers === undefined ? new Uint8Array(frameBytes) : buffers.take(frameBytes);
  const header = encodeFrameHeader(
    {
      recordEncoding: RECORD_ENCODING_POSITIONAL,
      compressed: job.compress,
      encrypted: true,
      logId: job.logId,
      batchIndex: job.batchIndex,
      firstLeafIndex: job.firstLeafIndex,
      recordCount: job.recordCount,
      plainBodyLength: plain.length,
      storedBodyLength: body.length + GCM_TAG_BYTES,
      keyId: sealer.keyId,
      nonce,
      minOccurredAt: job.minOccurredAt,
      maxOccurredAt: job.maxOccurredAt,
      batchRoot,
      prevChainHash: prevChain,
    },
    frame,
    0,
  );
  sealer.seal(nonce, header, body, frame.subarray(FRAME_HEADER_BYTES));
  return { frame, chain: nextChainHash(prevChain, batchRoot, frame), hashes };
}

/** Finishes frames synchronously on the calling thread. */
export class InThreadFinisher implements FrameFinisher {
  private readonly sealer: () => FrameSealer;
  private chain: Uint8Array;
  private readonly window = new LeafHashWindow();
  private readonly buffers = new FrameBufferPool();
  private failure: Error | undefined;

  /** @param sealer - the sealer of the log's current key (asked once per frame: it may rotate). */
  constructor(sealer: () => FrameSealer, chain: Uint8Array) {
    this.sealer = sealer;
    this.chain = chain;
  }

  recycle(frame: Uint8Array): void {
    this.buffers.give(frame.buffer as ArrayBuffer);
  }

  finish(job: FrameJob): Promise<FinishedFrame> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    try {
      const done = finishFrame(job, this.sealer(), this.chain, this.window, this.buffers);
      this.chain = done.chain;
      return Promise.resolve(done);
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      return Promise.reject(this.failure);
    }
  }
}
