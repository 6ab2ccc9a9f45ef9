/**
 * Entry point of the ledger's worker (a `worker_threads` worker started by worker-preparer.ts).
 * Two jobs, in message order:
 * - prepare: seals the personal blobs of one `append` into the record bodies the main thread
 *   encoded (each with a zeroed place for its blob), fingerprints the idempotency keys, and sends
 *   the buffer back — it came and goes transferred, never cloned;
 * - frame: finishes a log's next frame (frame-finish.ts: leaf hashes and batch root, snappy,
 *   AES-256-GCM under the log's current data key, chain hash) and returns it transferred. The worker owns those keys' nonce
 *   sequences: the main thread never seals with a key it sent here.
 * It holds subject keys and data keys only in memory, as the main thread sent them; a worker
 * started for frames only (the second of `prepareWorkers: 2`) gets no subject keys, and refuses
 * prepare requests.
 *
 * Not here: validation, ids, receive times, encoding, blind tokens, loading or creating subject
 * keys, ordering across logs (the main thread does all of these). The buffers it posts are
 * transferred: the main thread owns them afterwards.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  createFieldSealer,
  createFrameSealer,
  DataKey,
  type FieldSealer,
  type FrameSealer,
  SubjectKey,
} from '@sealog/crypto-envelope';
import { CHAIN_BYTES } from './chain-hash';
import { FrameBufferPool, type FrameJob, finishFrame, LeafHashWindow } from './frame-finish';
import { FINGERPRINT_BYTES, KeyFingerprinter } from './key-fingerprint';
import {
  PERSONAL_AAD_PREFIX_BYTES,
  PREPARE_META_WORDS,
  preparedLayout,
  sealBodyInPlace,
} from './record-prep';
import type { WorkerRole } from './worker-preparer';

/** Key material of a subject the worker has not seen yet. */
export interface SubjectKeyMaterial {
  /** Where the worker keeps the subject's sealer (the main thread assigns slots). */
  readonly slot: number;
  readonly subjectId: string;
  /** The 32 key bytes (`SubjectKey.exportBytes()`); the worker wipes them after import. */
  readonly key: Uint8Array;
  readonly keyTag: Uint8Array;
}

/** Main → worker messages. */
export type PrepareRequest =
  | {
      readonly type: 'prepare';
      readonly id: number;
      /**
       * The events encoded by the main thread, transferred (record-prep.ts, `preparedLayout`):
       * record bodies with a zeroed place for each sealed personal blob, per-event words, the
       * personal plaintexts and AADs. Sealed in place and sent back as the answer.
       */
      readonly buffer: ArrayBuffer;
      /** Events in the buffer (`n`). */
      readonly count: number;
      /** Whether the buffer has room for key fingerprints (salts were sent before). */
      readonly fingerprinted: boolean;
      /** Retention classes, indexed by the events' class words (for the fingerprints' salts). */
      readonly classes: readonly string[];
      /** Subjects new to the worker, imported before the events are prepared. */
      readonly keys: readonly SubjectKeyMaterial[];
      /** Slots to empty after this message's events (the main thread owns the cache policy). */
      readonly drop: readonly number[];
    }
  | { readonly type: 'forget'; readonly slot: number }
  /**
   * The idempotency-window salt of each retention class's log: from now on prepare answers carry
   * the fingerprint of every event's `tenant_id "\0" event_id` under it (sent once, at start).
   */
  | { readonly type: 'salts'; readonly salts: readonly (readonly [string, Uint8Array])[] }
  /** A log's frames start here, after the chain hash `chain` (once per log, before its frames). */
  | { readonly type: 'frame-log'; readonly log: number; readonly chain: Uint8Array }
  /** From now on seal this log's frames with this fresh data key (bytes wiped after import). */
  | {
      readonly type: 'frame-key';
      readonly log: number;
      readonly key: Uint8Array;
      readonly keyId: Uint8Array;
    }
  | {
      readonly type: 'frame';
      readonly id: number;
      readonly log: number;
      readonly job: FrameJob;
      /** Buffers of frames the main thread has written (transferred): finish frames into them. */
      readonly recycled: readonly ArrayBuffer[];
    };

/** The answer to one prepare request. */
export type PrepareAnswer =
  | {
      readonly type: 'prepared';
      readonly id: number;
      /**
       * The request's buffer, transferred back (one buffer: one more object for the receiving
       * thread's GC to sweep): the bodies now sealed, the key fingerprints (event i's at words
       * `4i … 4i + 3` of that part) filled in when `fingerprinted`, the plaintexts wiped. Read on
       * the main thread by worker-preparer.ts.
       */
      readonly buffer: ArrayBuffer;
      /** Events prepared (`n`). */
      readonly count: number;
      /** Whether the buffer holds fingerprints. */
      readonly fingerprinted: boolean;
    }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

/** Worker → main messages. */
export type PrepareResponse =
  | Extract<PrepareAnswer, { type: 'prepared' }>
  | {
      readonly type: 'framed';
      readonly id: number;
      /** The frame (transferred). */
      readonly frame: Uint8Array;
      /** Chain hash after the frame (a view of the buffer `hashes` is in). */
      readonly chain: Uint8Array;
      /**
       * Leaf hashes, 32 bytes each: a copy (the worker keeps its own for later entity links), in
       * one transferred buffer with `chain` (one object fewer for the main thread's GC to sweep).
       */
      readonly hashes: Uint8Array;
      /** The job's batch body, handed back (transferred). */
      readonly plain: Uint8Array;
    }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  /** Sent once, when the worker listens. */
  | { readonly type: 'ready' };

/** Start data of the worker. */
export interface PrepareWorkerData {
  /** A `'frames'` worker refuses prepare requests (it is never sent subject keys). */
  readonly role: WorkerRole;
}

/** The worker's prepare state: a field sealer per slot, a key fingerprinter per retention class. */
class PrepareState {
  /** Field sealers by slot (the main thread assigns slots and mirrors this table). */
  private readonly sealers: (FieldSealer | undefined)[] = [];
  /** Retention class → fingerprinter under its log's window salt. */
  private readonly fingerprinters = new Map<string, KeyFingerprinter>();

  forget(slot: number): void {
    this.sealers[slot] = undefined;
  }

  useSalts(salts: readonly (readonly [string, Uint8Array])[]): void {
    for (const [retentionClass, salt] of salts) {
      this.fingerprinters.set(retentionClass, new KeyFingerprinter(salt));
    }
  }

  prepare(
    request: Extract<PrepareRequest, { type: 'prepare' }>,
  ): Extract<PrepareAnswer, { type: 'prepared' }> {
    const { buffer, count: n } = request;
    const { metaAt, bodiesAt } = preparedLayout(n, request.fingerprinted);
    const offsets = new Uint32Array(buffer, 0, n + 1);
    const meta = new Uint32Array(buffer, metaAt, PREPARE_META_WORDS * n);
    const personalAt = bodiesAt + offsets[n]!;
    let personalBytes = 0;
    for (let i = 0; i < n; i++) personalBytes += meta[i * PREPARE_META_WORDS + 1]!;
    const bytes = new Uint8Array(buffer);
    try {
      for (const k of request.keys) {
        try {
          this.sealers[k.slot] = createFieldSealer(SubjectKey.fromBytes(k.subjectId, k.key, k.keyTag));
        } finally {
          k.key.fill(0);
        }
      }
      const aadOffsets = new Uint32Array(n + 1);
      let personal = personalAt;
      let aad = personalAt + personalBytes;
      for (let i = 0; i < n; i++) {
        const m = i * PREPARE_META_WORDS;
        const sealer = this.sealers[meta[m]!];
        if (sealer === undefined) {
          throw new Error(`logic error: prepare worker has no key in slot ${meta[m]} for event ${i}`);
        }
        const personalEnd = personal + meta[m + 1]!;
        const aadEnd = aad + meta[m + 2]!;
        aadOffsets[i] = aad;
        sealBodyInPlace(
          sealer,
          bytes.subarray(personal, personalEnd),
          bytes.subarray(aad, aadEnd),
          bytes,
          bodiesAt + offsets[i + 1]!,
        );
        personal = personalEnd;
        aad = aadEnd;
      }
      aadOffsets[n] = aad;
      if (request.fingerprinted) this.fingerprint(request, meta, bytes, aadOffsets);
    } finally {
      // The plaintexts go back with the buffer: wiped, also when preparing failed.
      bytes.fill(0, personalAt, personalAt + personalBytes);
      // Also when preparing failed: the main thread has already dropped them from its mirror.
      for (const slot of request.drop) this.sealers[slot] = undefined;
    }
    return { type: 'prepared', id: request.id, buffer, count: n, fingerprinted: request.fingerprinted };
  }

  /**
   * Writes the events' idempotency-key fingerprints into the request's buffer (hashing here keeps
   * ~2 µs per event off the main thread). Key `i` is the tail of its personal AAD (record-prep.ts,
   * `personalAad`): `aadOffsets[i]` + the prefix … `aadOffsets[i + 1]`.
   */
  private fingerprint(
    request: Extract<PrepareRequest, { type: 'prepare' }>,
    meta: Uint32Array,
    bytes: Uint8Array,
    aadOffsets: Uint32Array,
  ): void {
    const n = request.count;
    if (n === 0) return;
    const { fingerprintsAt } = preparedLayout(n, true);
    const out = new Uint32Array(request.buffer, fingerprintsAt, (FINGERPRINT_BYTES / 4) * n);
    const fingerprinters = request.classes.map((retentionClass) => {
      const fingerprinter = this.fingerprinters.get(retentionClass);
      if (fingerprinter === undefined) {
        throw new Error(`logic error: prepare worker has no salt for retention class ${retentionClass}`);
      }
      return fingerprinter;
    });
    // Usually one retention class per append: all its keys in one batch through the SIMD lanes.
    if (fingerprinters.length === 1) {
      fingerprinters[0]!.fingerprintManyBytes(n, bytes, aadOffsets, PERSONAL_AAD_PREFIX_BYTES, out);
      return;
    }
    const words = FINGERPRINT_BYTES / 4;
    for (let i = 0; i < n; i++) {
      const key = bytes.subarray(aadOffsets[i]! + PERSONAL_AAD_PREFIX_BYTES, aadOffsets[i + 1]!);
      fingerprinters[meta[i * PREPARE_META_WORDS + 3]!]!.fingerprintBytes(key, out, i * words);
    }
  }
}

/** One log's frame state in the worker. */
interface FrameLog {
  chain: Uint8Array;
  sealer: FrameSealer | undefined;
  /** Leaf hashes of recent frames, for entity links the main thread could not fill in. */
  readonly window: LeafHashWindow;
  /** Set by the first failure: later frames cannot be chained, so they fail too. */
  failed: string | undefined;
}

/** The worker's frame state: per log, the chain head and the sealer of the current key. */
class FrameState {
  private readonly logs = new Map<number, FrameLog>();
  /** Frame buffers back from the main thread, shared by every log. */
  private readonly buffers = new FrameBufferPool();

  startLog(log: number, chain: Uint8Array): void {
    this.logs.set(log, { chain, sealer: undefined, window: new LeafHashWindow(), failed: undefined });
  }

  setKey(log: number, material: Uint8Array, keyId: Uint8Array): void {
    const state = this.logOf(log);
    try {
      state.sealer = createFrameSealer(DataKey.fromBytes(material, keyId, { fresh: true }));
    } catch (error) {
      state.failed ??= `data key: ${(error as Error).message}`;
    } finally {
      material.fill(0);
    }
  }

  finish(request: Extract<PrepareRequest, { type: 'frame' }>): PrepareResponse {
    for (const buffer of request.recycled) this.buffers.give(buffer);
    const state = this.logOf(request.log);
    if (state.failed !== undefined) throw new Error(`an earlier frame of this log failed: ${state.failed}`);
    if (state.sealer === undefined) throw new Error('logic error: no data key sent for this log');
    try {
      const done = finishFrame(request.job, state.sealer, state.chain, state.window, this.buffers);
      state.chain = done.chain;
      const copied = new Uint8Array(CHAIN_BYTES + done.hashes.length);
      copied.set(done.chain, 0);
      copied.set(done.hashes, CHAIN_BYTES);
      return {
        type: 'framed',
        id: request.id,
        frame: done.frame,
        chain: copied.subarray(0, CHAIN_BYTES),
        hashes: copied.subarray(CHAIN_BYTES),
        plain: request.job.plain,
      };
    } catch (error) {
      state.failed = (error as Error).message;
      throw error;
    }
  }

  private logOf(log: number): FrameLog {
    const state = this.logs.get(log);
    if (state === undefined) throw new Error(`logic error: frame log ${log} was not started`);
    return state;
  }
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const state = (workerData as PrepareWorkerData).role === 'frames' ? undefined : new PrepareState();
  const frames = new FrameState();
  port.on('message', (request: PrepareRequest) => {
    if (request.type === 'forget') {
      state?.forget(request.slot);
      return;
    }
    if (request.type === 'salts') {
      state?.useSalts(request.salts);
      return;
    }
    if (request.type === 'frame-log') {
      frames.startLog(request.log, request.chain);
      return;
    }
    if (request.type === 'frame-key') {
      frames.setKey(request.log, request.key, request.keyId);
      return;
    }
    let response: PrepareResponse;
    try {
      if (request.type === 'frame') response = frames.finish(request);
      else if (state === undefined)
        throw new Error('this worker only finishes frames (it holds no sealing keys)');
      else response = state.prepare(request);
    } catch (error) {
      port.postMessage({
        type: 'failed',
        id: request.id,
        message: (error as Error).message,
      } satisfies PrepareResponse);
      return;
    }
    if (response.type === 'prepared') {
      port.postMessage(response, [response.buffer]);
    } else if (response.type === 'framed') {
      port.postMessage(response, [
        response.frame.buffer as ArrayBuffer,
        response.plain.buffer as ArrayBuffer,
        response.hashes.buffer as ArrayBuffer,
      ]);
    }
  });
  port.postMessage({ type: 'ready' } satisfies PrepareResponse);
}
