/**
 * Entry point of the ledger's worker (a `worker_threads` worker started by worker-preparer.ts).
 * Two jobs, in message order:
 * - prepare: seals, tokenizes and encodes the record bodies of one `append`, and returns them in
 *   one transferred buffer;
 * - frame: finishes a log's next frame (frame-finish.ts: leaf hashes and batch root, snappy,
 *   AES-256-GCM under the log's current data key, chain hash) and returns it transferred. The worker owns those keys' nonce
 *   sequences: the main thread never seals with a key it sent here.
 * It holds subject keys, data keys and the blind-index root only in memory, as the main thread
 * sent them; a worker started for frames only (the second of `prepareWorkers: 2`) gets neither
 * the blind-index root nor subject keys, and refuses prepare requests.
 *
 * Not here: validation, ids, receive times, loading or creating subject keys, ordering across logs
 * (the main thread does all of these). The buffers it posts are transferred: the main thread owns
 * them afterwards.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { NormalizedEvent } from '@sealog/codec';
import {
  type BlindIndexKey,
  createFrameSealer,
  DataKey,
  deriveBlindIndexKey,
  type FrameSealer,
  SubjectKey,
} from '@sealog/crypto-envelope';
import { CHAIN_BYTES } from './chain-hash';
import { FrameBufferPool, type FrameJob, finishFrame, LeafHashWindow } from './frame-finish';
import { FINGERPRINT_BYTES, idempotencyKey, KeyFingerprinter } from './key-fingerprint';
import {
  createSubjectSealing,
  encodeSealedBody,
  preparedLayout,
  type SubjectSealing,
  subjectIdOf,
} from './record-prep';

/** Key material of a subject the worker has not seen yet. */
export interface SubjectKeyMaterial {
  readonly subjectId: string;
  readonly tenantId: string;
  readonly actorId: string;
  /** The 32 key bytes (`SubjectKey.exportBytes()`); the worker wipes them after import. */
  readonly key: Uint8Array;
  readonly keyTag: Uint8Array;
}

/** Main → worker messages. */
export type PrepareRequest =
  | {
      readonly type: 'prepare';
      readonly id: number;
      readonly events: readonly NormalizedEvent[];
      readonly eventIds: readonly string[];
      readonly receivedAt: number;
      /** Subjects new to the worker, imported before the events are prepared. */
      readonly keys: readonly SubjectKeyMaterial[];
      /** Subjects to drop after this message's events (the main thread owns the cache policy). */
      readonly drop: readonly string[];
    }
  | { readonly type: 'forget'; readonly subjectId: string }
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
       * Everything in one transferred buffer (each buffer is one more object for the receiving
       * thread's GC to sweep): `n + 1` u32 body offsets (relative to the bodies), then — once
       * salts were sent — the key fingerprints (event i's at words `4i … 4i + 3`), then the
       * record bodies back to back. Read on the main thread by worker-preparer.ts.
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
  /**
   * Copy of the blind-index root key (tenant keys are derived from it here); absent for a worker
   * that only finishes frames (it then refuses prepare requests).
   */
  readonly blindRoot: Uint8Array | undefined;
}

/** The worker's state: sealing per known subject, blind-index key per tenant. */
class PrepareState {
  private readonly blindRoot: Uint8Array;
  private readonly blindKeys = new Map<string, BlindIndexKey>();
  private readonly sealings = new Map<string, SubjectSealing>();
  /** Retention class → fingerprinter under its log's window salt. */
  private readonly fingerprinters = new Map<string, KeyFingerprinter>();

  constructor(blindRoot: Uint8Array) {
    this.blindRoot = blindRoot;
  }

  forget(subjectId: string): void {
    this.sealings.delete(subjectId);
  }

  useSalts(salts: readonly (readonly [string, Uint8Array])[]): void {
    for (const [retentionClass, salt] of salts) {
      this.fingerprinters.set(retentionClass, new KeyFingerprinter(salt));
    }
  }

  prepare(
    request: Extract<PrepareRequest, { type: 'prepare' }>,
  ): Extract<PrepareAnswer, { type: 'prepared' }> {
    try {
      return this.prepareBodies(request);
    } finally {
      // Also when preparing failed: the main thread has already dropped them from its mirror.
      for (const subjectId of request.drop) this.sealings.delete(subjectId);
    }
  }

  private prepareBodies(
    request: Extract<PrepareRequest, { type: 'prepare' }>,
  ): Extract<PrepareAnswer, { type: 'prepared' }> {
    for (const k of request.keys) {
      const key = SubjectKey.fromBytes(k.subjectId, k.key, k.keyTag);
      k.key.fill(0);
      this.sealings.set(k.subjectId, createSubjectSealing(key, this.blindKey(k.tenantId), k.actorId));
    }
    const events = request.events;
    const n = events.length;
    const parts: Uint8Array[] = new Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const event = events[i]!;
      const subjectId = subjectIdOf(event.tenant_id, event.actor.id);
      const sealing = this.sealings.get(subjectId);
      if (sealing === undefined) {
        throw new Error(`logic error: prepare worker has no key for a subject of tenant ${event.tenant_id}`);
      }
      const body = encodeSealedBody(event, request.eventIds[i]!, request.receivedAt, sealing);
      parts[i] = body;
      total += body.length;
    }
    // One buffer for the whole append (see PrepareAnswer): one transfer, one object to sweep.
    const fingerprinted = this.fingerprinters.size > 0;
    const { fingerprintsAt, bodiesAt } = preparedLayout(n, fingerprinted);
    const buffer = new ArrayBuffer(bodiesAt + total);
    const offsets = new Uint32Array(buffer, 0, n + 1);
    const bodies = new Uint8Array(buffer, bodiesAt, total);
    let at = 0;
    for (let i = 0; i < n; i++) {
      bodies.set(parts[i]!, at);
      at += parts[i]!.length;
      offsets[i + 1] = at;
    }
    if (fingerprinted) {
      this.fingerprint(
        events,
        request.eventIds,
        new Uint32Array(buffer, fingerprintsAt, (FINGERPRINT_BYTES / 4) * n),
      );
    }
    return { type: 'prepared', id: request.id, buffer, count: n, fingerprinted };
  }

  /**
   * Writes the events' idempotency-key fingerprints into `out` (hashing here keeps ~2 µs per event
   * off the main thread).
   */
  private fingerprint(
    events: readonly NormalizedEvent[],
    eventIds: readonly string[],
    out: Uint32Array,
  ): void {
    const words = FINGERPRINT_BYTES / 4;
    const fingerprinterOf = (event: NormalizedEvent): KeyFingerprinter => {
      const fingerprinter = this.fingerprinters.get(event.retention_class);
      if (fingerprinter === undefined) {
        throw new Error(
          `logic error: prepare worker has no salt for retention class ${event.retention_class}`,
        );
      }
      return fingerprinter;
    };
    const n = events.length;
    if (n === 0) return;
    // Usually one retention class per append: all its keys in one batch through the SIMD lanes.
    const first = events[0]!.retention_class;
    let oneClass = true;
    for (let i = 1; i < n && oneClass; i++) oneClass = events[i]!.retention_class === first;
    if (oneClass) {
      const key = (i: number): string => idempotencyKey(events[i]!.tenant_id, eventIds[i]!);
      fingerprinterOf(events[0]!).fingerprintMany(n, key, out);
      return;
    }
    for (let i = 0; i < n; i++) {
      const event = events[i]!;
      fingerprinterOf(event).fingerprint(idempotencyKey(event.tenant_id, eventIds[i]!), out, i * words);
    }
  }

  private blindKey(tenantId: string): BlindIndexKey {
    let key = this.blindKeys.get(tenantId);
    if (key === undefined) {
      key = deriveBlindIndexKey(this.blindRoot, tenantId);
      this.blindKeys.set(tenantId, key);
    }
    return key;
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
  const blindRoot = (workerData as PrepareWorkerData).blindRoot;
  const state = blindRoot === undefined ? undefined : new PrepareState(blindRoot);
  const frames = new FrameState();
  port.on('message', (request: PrepareRequest) => {
    if (request.type === 'forget') {
      state?.forget(request.subjectId);
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
