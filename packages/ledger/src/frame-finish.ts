/**
 * Finishing a frame: batch body → snappy → nonce → frame header (AAD) → AES-256-GCM → chain hash.
 * The same code runs on the writer's thread (`prepareWorkers: 0`) or in the ledger's worker
 * (default), which owns the log's sealing key and nonce sequence there.
 *
 * Order: the chain hash links each frame to the one before it, so one log's frames are finished
 * strictly one after another, in batch order, by one finisher. Numbering, entity links and leaf
 * hashes are decided before (log-writer.ts); the segment append after.
 */
import {
  compressBody,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  GCM_TAG_BYTES,
  RECORD_ENCODING_POSITIONAL,
} from '@sealog/codec';
import type { FrameSealer } from '@sealog/crypto-envelope';
import { nextChainHash } from './chain-hash';

/** What the sequencer decided about a frame; the finisher adds the rest. */
export interface FrameJob {
  /** The log's 16-byte frame-header id. */
  readonly logId: Uint8Array;
  readonly batchIndex: number;
  readonly firstLeafIndex: number;
  readonly recordCount: number;
  readonly minOccurredAt: number;
  readonly maxOccurredAt: number;
  readonly batchRoot: Uint8Array;
  /**
   * Batch body (plaintext), a view of an ArrayBuffer of its own: the worker takes the whole
   * buffer over and hands it back in {@link FinishedFrame.plain}.
   */
  readonly plain: Uint8Array;
  readonly compress: boolean;
}

/** A finished frame and the chain hash after it. */
export interface FinishedFrame {
  readonly frame: Uint8Array;
  readonly chain: Uint8Array;
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
}

/**
 * Builds the frame of `job` sealed with `sealer`, linked to `prevChain`. Returns a fresh frame
 * buffer (its own ArrayBuffer, so it can be transferred).
 */
export function finishFrame(job: FrameJob, sealer: FrameSealer, prevChain: Uint8Array): FinishedFrame {
  const plain = job.plain;
  const body = job.compress ? compressBody(plain) : plain;
  const nonce = sealer.nextNonce();
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length + GCM_TAG_BYTES);
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
      batchRoot: job.batchRoot,
      prevChainHash: prevChain,
    },
    frame,
    0,
  );
  sealer.seal(nonce, header, body, frame.subarray(FRAME_HEADER_BYTES));
  return { frame, chain: nextChainHash(prevChain, job.batchRoot, frame) };
}

/** Finishes frames synchronously on the calling thread. */
export class InThreadFinisher implements FrameFinisher {
  private readonly sealer: () => FrameSealer;
  private chain: Uint8Array;
  private failure: Error | undefined;

  /** @param sealer - the sealer of the log's current key (asked once per frame: it may rotate). */
  constructor(sealer: () => FrameSealer, chain: Uint8Array) {
    this.sealer = sealer;
    this.chain = chain;
  }

  finish(job: FrameJob): Promise<FinishedFrame> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    try {
      const done = finishFrame(job, this.sealer(), this.chain);
      this.chain = done.chain;
      return Promise.resolve(done);
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      return Promise.reject(this.failure);
    }
  }
}
