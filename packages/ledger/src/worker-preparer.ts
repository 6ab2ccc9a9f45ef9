/**
 * Main-thread side of record preparation in a worker: loads or creates the subject keys of an
 * `append` here (one fdatasync per batch of new subjects), sends the normalized events with the key
 * material of subjects the worker has not seen, and receives the record bodies of the whole append
 * in one transferred buffer. Requests are answered in the order they were posted (one worker).
 *
 * The same worker finishes frames for the log writers ({@link WorkerPreparer.frameFinisher}): one
 * thread besides the main one, whatever the number of logs.
 *
 * Not here: sealing and encoding (prepare-worker.ts), ids and receive times (ledger.ts). The body
 * views returned by {@link WorkerPreparer.prepare} share one buffer owned by the caller.
 */
import { Worker } from 'node:worker_threads';
import type { NormalizedEvent } from '@sealog/codec';
import type { DataKey, SubjectKey } from '@sealog/crypto-envelope';
import { LedgerError } from './errors';
import { type FinishedFrame, FRAME_POOL_BUFFERS, type FrameFinisher, type FrameJob } from './frame-finish';
import { IdTable } from './inflight-tables';
import { FINGERPRINT_BYTES } from './key-fingerprint';
import type { LedgerKeys } from './ledger-keys';
import type {
  PrepareAnswer,
  PrepareRequest,
  PrepareResponse,
  PrepareWorkerData,
  SubjectKeyMaterial,
} from './prepare-worker';
import { preparedLayout, SEALER_CACHE_ENTRIES, subjectIdOf } from './record-prep';

type Answer = Exclude<PrepareResponse, { type: 'ready' | 'failed' }>;

interface Pending {
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Starts the prepare worker. From TypeScript source (tests, `--import tsx`) the worker file is
 * .ts: it is loaded through tsx with the `@sealog/source` condition; from `dist` it is plain JS.
 */
function startWorker(blindRoot: Uint8Array | undefined): Worker {
  const workerData: PrepareWorkerData = { blindRoot };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./prepare-worker.js', import.meta.url), { workerData });
  }
  const url = new URL('./prepare-worker.ts', import.meta.url).href;
  // Node 20 ignores `--import` in a worker's execArgv, so the worker registers tsx itself first.
  const tsxApi =
    typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: ['--conditions=@sealog/source'] });
}

/**
 * What a worker is for: preparing appends and finishing frames (the one worker of
 * `prepareWorkers: 1`, the first of 2), or finishing frames only (the second of 2). A frames-only
 * worker never receives the blind-index root nor subject keys: a thread holds only the keys its job
 * needs.
 */
export type WorkerRole = 'prepare-and-frames' | 'frames';

/** See module doc. */
export class WorkerPreparer {
  private readonly keys: LedgerKeys;
  private readonly role: WorkerRole;
  private readonly worker: Worker;
  /** Subjects whose keys the worker holds, oldest first (the worker mirrors this exactly). */
  private readonly known = new Set<string>();
  /** Requests posted and not yet answered, by id (not a `Map`: see inflight-tables.ts). */
  private readonly pending = new IdTable<Pending>();
  private nextId = 0;
  private nextFrameLog = 0;
  private failure: LedgerError | undefined;
  private closing = false;
  /** Rejects {@link WorkerPreparer.start} while it waits for the worker. */
  private onFailure: ((error: LedgerError) => void) | undefined;

  private readonly ready: Promise<void>;

  private constructor(keys: LedgerKeys, role: WorkerRole) {
    this.keys = keys;
    this.role = role;
    // A worker that only finishes frames never seals personal fields: it gets no blind-index root.
    const blindRoot = role === 'prepare-and-frames' ? keys.exportBlindRoot() : undefined;
    this.worker = startWorker(blindRoot);
    blindRoot?.fill(0);
    let onReady!: () => void;
    this.ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    this.worker.on('message', (m: PrepareResponse) => {
      if (m.type === 'ready') onReady();
      else this.onMessage(m);
    });
    this.worker.on('error', (error) => this.fail(`prepare worker failed: ${error.message}`, error));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(`prepare worker exited unexpectedly (code ${code})`, undefined);
    });
  }

  /**
   * Starts the worker and waits until it listens, so that a worker that cannot start fails here.
   * @param role - see {@link WorkerRole}; a `'frames'` worker rejects {@link WorkerPreparer.prepare}.
   * @throws {LedgerError} `FAILED` when the worker does not start.
   */
  static async start(keys: LedgerKeys, role: WorkerRole = 'prepare-and-frames'): Promise<WorkerPreparer> {
    const preparer = new WorkerPreparer(keys, role);
    const failed = new Promise<never>((_, reject) => {
      preparer.onFailure = reject;
    });
    try {
      await Promise.race([preparer.ready, failed]);
    } catch (error) {
      await preparer.close();
      throw error;
    }
    preparer.onFailure = undefined;
    // An idle worker must not keep the process alive; pending requests ref it.
    preparer.worker.unref();
    return preparer;
  }

  /**
   * From now on, answers carry each event's idempotency-key fingerprint under the salt of its
   * retention class's log (`salts`: retention class → the log window's salt). Call before the
   * first {@link WorkerPreparer.prepare}.
   */
  useSalts(salts: readonly (readonly [string, Uint8Array])[]): void {
    this.check();
    this.worker.postMessage({ type: 'salts', salts } satisfies PrepareRequest);
  }

  /**
   * Prepares the record bodies of `events` (with `eventIds[i]` and one receive time) in the worker.
   * @returns one body per event, views of one buffer, in input order; and once salts were given
   * (see {@link WorkerPreparer.useSalts}) the events' key fingerprints, four words each.
   * @throws {LedgerError} `FAILED` when the worker crashed or failed the request; `CLOSED`.
   */
  async prepare(
    events: readonly NormalizedEvent[],
    eventIds: readonly string[],
    receivedAt: number,
  ): Promise<{ bodies: Uint8Array[]; fingerprints: Uint32Array | undefined }> {
    this.check();
    if (this.role === 'frames') {
      throw new LedgerError(
        'FAILED',
        'logic error: this worker only finishes frames (it holds no sealing keys)',
      );
    }
    // Load keys of subjects new to the worker. Repeat: a concurrent append may have evicted one of
    // ours from `known` while we waited for the key store.
    const loaded = new Map<string, SubjectKey>();
    for (;;) {
      const missing = new Map<string, string>();
      for (const event of events) {
        const subjectId = subjectIdOf(event.tenant_id, event.actor.id);
        if (!this.known.has(subjectId) && !loaded.has(subjectId) && !missing.has(subjectId)) {
          missing.set(subjectId, this.keys.subjectStoreId(event.tenant_id, event.actor.id));
        }
      }
      if (missing.size === 0) break;
      // One call: the journaled store writes every new key of the batch with one fdatasync.
      const got = await this.keys.subjects.getOrCreateMany([...missing.values()]);
      for (const [subjectId, storeId] of missing) loaded.set(subjectId, got.get(storeId)!);
      this.check();
    }
    // From here to postMessage nothing awaits: `known` and the message agree.
    const material: SubjectKeyMaterial[] = [];
    const drop: string[] = [];
    for (const event of events) {
      const subjectId = subjectIdOf(event.tenant_id, event.actor.id);
      if (this.known.has(subjectId)) continue;
      const key = loaded.get(subjectId)!;
      if (this.known.size >= SEALER_CACHE_ENTRIES) {
        const oldest = this.known.values().next().value as string;
        this.known.delete(oldest);
        drop.push(oldest);
      }
      this.known.add(subjectId);
      material.push({
        subjectId,
        tenantId: event.tenant_id,
        actorId: event.actor.id,
        key: key.exportBytes(),
        keyTag: key.keyTag,
      });
    }
    const id = this.nextId++;
    const request: PrepareRequest = {
      type: 'prepare',
      id,
      events,
      eventIds,
      receivedAt,
      keys: material,
      drop,
    };
    // Key bytes are transferred (and so gone from this thread), not copied.
    const transfer = material.map((m) => m.key.buffer as ArrayBuffer);
    // One message per request, at once: the worker answers each as soon as it is prepared.
    let sent = false;
    let answer: Answer;
    try {
      answer = await this.answerTo(id, () => {
        try {
          this.worker.postMessage(request, transfer);
          sent = true;
        } catch (error) {
          // Not sent (a value the structured clone cannot copy): the worker got neither this
          // request's keys nor its drops — `known` goes back at once, before any other request.
          for (const m of material) this.known.delete(m.subjectId);
          for (const subjectId of drop) this.known.add(subjectId);
          throw error;
        }
      });
    } catch (error) {
      if (sent && this.failure === undefined && !this.closing) {
        // The worker failed the request, perhaps after importing some of its keys: it is told to
        // forget them (after this request, port order), and they go again with their subjects'
        // next events — so that neither side believes in a key the other lacks, and a later
        // forget() (erasure) still reaches every key the worker holds.
        for (const m of material) {
          if (!this.known.delete(m.subjectId)) continue;
          this.worker.postMessage({ type: 'forget', subjectId: m.subjectId } satisfies PrepareRequest);
        }
      }
      throw error;
    }
    if (answer.type !== 'prepared')
      throw new LedgerError('FAILED', `prepare worker: unexpected ${answer.type}`);
    return readPrepared(answer);
  }

  /**
   * A finisher of one log's frames in this worker, starting after chain hash `chain`. Frames are
   * sealed there under `currentKey()` (called once per frame; a different key is sent over, and
   * must be fresh: the worker becomes its only sealer).
   */
  frameFinisher(chain: Uint8Array, currentKey: () => DataKey): FrameFinisher {
    this.check();
    const log = this.nextFrameLog++;
    this.worker.postMessage({ type: 'frame-log', log, chain } satisfies PrepareRequest);
    let sent: DataKey | undefined;
    // Written frames' buffers, sent back with the next frame request (not a message each).
    const recycled: ArrayBuffer[] = [];
    return {
      recycle: (frame: Uint8Array): void => {
        if (recycled.length < FRAME_POOL_BUFFERS) recycled.push(frame.buffer as ArrayBuffer);
      },
      finish: (job: FrameJob): Promise<FinishedFrame> => {
        try {
          this.check();
        } catch (error) {
          return Promise.reject(error);
        }
        const key = currentKey();
        if (key !== sent) {
          const material = key.exportBytes();
          this.worker.postMessage(
            { type: 'frame-key', log, key: material, keyId: key.keyId } satisfies PrepareRequest,
            [material.buffer as ArrayBuffer],
          );
          sent = key;
        }
        const id = this.nextId++;
        // The body's buffer goes over and comes back with the frame: no copy either way.
        const back = recycled.splice(0);
        return this.request(id, { type: 'frame', id, log, job, recycled: back }, [
          job.plain.buffer as ArrayBuffer,
          ...back,
        ]).then((answer) => {
          if (answer.type !== 'framed') {
            throw new LedgerError('FAILED', `frame worker: unexpected ${answer.type}`);
          }
          return { frame: answer.frame, chain: answer.chain, hashes: answer.hashes, plain: answer.plain };
        });
      },
    };
  }

  private request(id: number, message: PrepareRequest, transfer: ArrayBuffer[]): Promise<Answer> {
    return this.answerTo(id, () => this.worker.postMessage(message, transfer));
  }

  /**
   * Registers the answer to request `id`, then has `send` post the request; when posting throws,
   * the request is not pending and the promise rejects (`BAD_ARGUMENT`).
   */
  private answerTo(id: number, send: () => void): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      try {
        send();
      } catch (error) {
        this.pending.take(id);
        if (this.pending.size === 0) this.worker.unref();
        reject(
          new LedgerError('BAD_ARGUMENT', `prepare worker: request not sent: ${(error as Error).message}`, {
            cause: error,
          }),
        );
      }
    });
  }

  /** Makes the worker drop a subject's key (after erasure); the next use reloads it. */
  forget(subjectId: string): void {
    if (!this.known.delete(subjectId) || this.failure !== undefined || this.closing) return;
    // After any request posted before that may carry the subject's key (a port keeps order).
    this.worker.postMessage({ type: 'forget', subjectId } satisfies PrepareRequest);
  }

  /** Resolves when every request posted so far has been answered (or failed). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Terminates the worker; requests still pending fail with `CLOSED`. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.rejectAll(new LedgerError('CLOSED', 'ledger is closed'));
    await this.worker.terminate();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closing) throw new LedgerError('CLOSED', 'ledger is closed');
  }

  private onMessage(m: Exclude<PrepareResponse, { type: 'ready' }>): void {
    const p = this.pending.take(m.id);
    if (p === undefined) return;
    if (this.pending.size === 0) this.worker.unref();
    if (m.type === 'failed') {
      p.reject(new LedgerError('FAILED', `ledger worker: ${m.message}`));
      return;
    }
    p.resolve(m);
  }

  private fail(message: string, cause: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = new LedgerError('FAILED', message, cause === undefined ? {} : { cause });
    this.onFailure?.(this.failure);
    this.rejectAll(this.failure);
  }

  private rejectAll(error: LedgerError): void {
    const pending = this.pending.drain();
    for (const p of pending) p.reject(error);
  }
}

/** The record bodies (views) and key fingerprints of a `prepared` answer's buffer. */
function readPrepared(answer: Extract<PrepareAnswer, { type: 'prepared' }>): {
  bodies: Uint8Array[];
  fingerprints: Uint32Array | undefined;
} {
  const { buffer, count: n } = answer;
  const { fingerprintsAt, bodiesAt } = preparedLayout(n, answer.fingerprinted);
  const offsets = new Uint32Array(buffer, 0, n + 1);
  const fingerprints = answer.fingerprinted
    ? new Uint32Array(buffer, fingerprintsAt, (FINGERPRINT_BYTES / 4) * n)
    : undefined;
  const bodies: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    bodies[i] = new Uint8Array(buffer, bodiesAt + offsets[i]!, offsets[i + 1]! - offsets[i]!);
  }
  return { bodies, fingerprints };
}
