/**
 * Main-thread side of record preparation in a worker: loads or creates the subject keys of an
 * `append` here (one fdatasync per batch of new subjects), encodes the record bodies with a zeroed
 * place for each sealed personal blob, and sends them in one transferred buffer with the key
 * material of subjects the worker has not seen; the worker seals the blobs in place and sends the
 * buffer back. Requests are answered in the order they were posted (one worker).
 *
 * The same worker finishes frames for the log writers ({@link WorkerPreparer.frameFinisher}): one
 * thread besides the main one, whatever the number of logs.
 *
 * Not here: sealing (prepare-worker.ts), ids and receive times (ledger.ts). The body views returned
 * by {@link WorkerPreparer.prepare} share one buffer owned by the caller.
 */
import { Worker } from 'node:worker_threads';
import type { NormalizedEvent } from '@sealog/codec';
import type { DataKey, SubjectKey } from '@sealog/crypto-envelope';
import { LedgerError } from './errors';
import { type FinishedFrame, FRAME_POOL_BUFFERS, type FrameFinisher, type FrameJob } from './frame-finish';
import { IdTable } from './inflight-tables';
import { FINGERPRINT_BYTES } from './key-fingerprint';
import { type LedgerKeys, subjectStoreIdOfToken } from './ledger-keys';
import type {
  PrepareAnswer,
  PrepareRequest,
  PrepareResponse,
  PrepareWorkerData,
  SubjectKeyMaterial,
} from './prepare-worker';
import {
  encodeUnsealedBody,
  PREPARE_META_WORDS,
  personalAadLength,
  preparedLayout,
  SEALER_CACHE_ENTRIES,
  subjectIdOf,
  writePersonalAad,
} from './record-prep';

type Answer = Exclude<PrepareResponse, { type: 'ready' | 'failed' }>;

/** A subject whose key the worker holds: its slot there and what its records carry in plaintext. */
interface WorkerSubject {
  /** Index of the subject's field sealer in the worker's table. */
  slot: number;
  /** The actor's blind token (`subject_token`). */
  readonly token: Uint8Array;
  /** Hex of the subject key's tag (`subject_key_id`). */
  readonly keyId: string;
}

/** A subject new to the worker in this request (its slot is given once encoding succeeded). */
interface FreshSubject extends WorkerSubject {
  readonly subjectId: string;
  readonly key: SubjectKey;
}

/** A prepare request's buffer before the subjects' slots are written into `meta`. */
interface EncodedRequest {
  readonly buffer: ArrayBuffer;
  /** The per-event words of the buffer (see {@link preparedLayout}). */
  readonly meta: Uint32Array;
  /** The distinct retention classes, indexed by the events' class words. */
  readonly classes: string[];
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Lays out a prepare request (prepare-worker.ts, `PrepareRequest`): record bodies encoded with a
 * zeroed place for each sealed blob, their offsets, per-event words (slot left for the caller,
 * personal length, AAD length, retention class index), then the personal plaintexts and the
 * personal AADs back to back. The msgpack scratch copies of the plaintexts are wiped.
 */
function encodeRequest(
  events: readonly NormalizedEvent[],
  eventIds: readonly string[],
  receivedAt: number,
  subjects: readonly WorkerSubject[],
  fingerprinted: boolean,
  allocate: (bytes: number) => ArrayBuffer,
): EncodedRequest {
  const n = events.length;
  const bodies: Uint8Array[] = new Array(n);
  const personals: Uint8Array[] = new Array(n);
  const classes: string[] = [];
  const classOf = new Uint32Array(n);
  let bodyBytes = 0;
  let personalBytes = 0;
  let aadBytes = 0;
  for (let i = 0; i < n; i++) {
    const event = events[i]!;
    const subject = subjects[i]!;
    const { body, personal } = encodeUnsealedBody(
      event,
      eventIds[i]!,
      receivedAt,
      subject.token,
      subject.keyId,
    );
    bodies[i] = body;
    personals[i] = personal;
    bodyBytes += body.length;
    personalBytes += personal.length;
    aadBytes += personalAadLength(event.tenant_id, eventIds[i]!);
    let c = classes.indexOf(event.retention_class);
    if (c < 0) c = classes.push(event.retention_class) - 1;
    classOf[i] = c;
  }
  const { metaAt, bodiesAt } = preparedLayout(n, fingerprinted);
  const buffer = allocate(bodiesAt + bodyBytes + personalBytes + aadBytes);
  const offsets = new Uint32Array(buffer, 0, n + 1);
  // Every word is written: the buffer may be a recycled one.
  offsets[0] = 0;
  const meta = new Uint32Array(buffer, metaAt, PREPARE_META_WORDS * n);
  const bytes = Buffer.from(buffer);
  let body = bodiesAt;
  let personal = bodiesAt + bodyBytes;
  let aad = personal + personalBytes;
  for (let i = 0; i < n; i++) {
    const b = bodies[i]!;
    bytes.set(b, body);
    body += b.length;
    offsets[i + 1] = body - bodiesAt;
    const p = personals[i]!;
    bytes.set(p, personal);
    personal += p.length;
    p.fill(0);
    const aadStart = aad;
    aad = writePersonalAad(bytes, aad, events[i]!.tenant_id, eventIds[i]!);
    const m = i * PREPARE_META_WORDS;
    meta[m + 1] = p.length;
    meta[m + 2] = aad - aadStart;
    meta[m + 3] = classOf[i]!;
  }
  return { buffer, meta, classes };
}

interface Pending {
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The worker's young generation by default, in MiB (V8 splits it into three semi-spaces: 2 MiB
 * each here; `workerYoungGenerationMb` of the ledger options).
 *
 * Every sealed personal blob leaves a dead `Cipheriv` (a weak native handle) and the buffers its
 * `update`, `final` and `getAuthTag` returned behind, and the scavenge that finds them pays for
 * each (weak callbacks, array-buffer sweeping) while almost nothing survives. With V8's default
 * young generation (semi-spaces growing to 8–16 MiB) the worker scavenged every ~300 ms at 32,000
 * events/s and each pause took 8–35 ms, holding up every append in flight (every frame is finished
 * on this thread too). 2-MiB semi-spaces make that ~3.5-ms pauses every ~40 ms, for ~3% more of a
 * core at that rate and ~6% less saturated throughput (packages/ledger README, "The workers'
 * young generation").
 */
export const DEFAULT_WORKER_YOUNG_GENERATION_MB = 6;

/**
 * Starts the prepare worker. From TypeScript source (tests, `--import tsx`) the worker file is
 * .ts: it is loaded through tsx with the `@sealog/source` condition; from `dist` it is plain JS.
 */
function startWorker(role: WorkerRole, youngMb: number): Worker {
  const workerData: PrepareWorkerData = { role };
  // 0: V8's default (Node then fills in the limits it computed).
  const resourceLimits = youngMb === 0 ? {} : { maxYoungGenerationSizeMb: youngMb };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./prepare-worker.js', import.meta.url), { workerData, resourceLimits });
  }
  const url = new URL('./prepare-worker.ts', import.meta.url).href;
  // Node 20 ignores `--import` in a worker's execArgv, so the worker registers tsx itself first.
  const tsxApi =
    typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(bootstrap, {
    eval: true,
    workerData,
    execArgv: ['--conditions=@sealog/source'],
    resourceLimits,
  });
}

/** Recycled request buffers kept (see `WorkerPreparer.recycle`), and the size they are rounded to. */
const SPARE_BUFFERS = 8;
const BUFFER_ROUNDING = 64 * 1024;

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
  /**
   * Subjects whose keys the worker holds, oldest first, with their slot there and what their
   * records carry in plaintext (the worker mirrors the slots exactly).
   */
  private readonly known = new Map<string, WorkerSubject>();
  /** Slots of the worker's sealer table free for new subjects. */
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** Answer buffers handed back ({@link recycle}), reused for later requests. */
  private readonly spareBuffers: ArrayBuffer[] = [];
  /** Whether salts were sent: answers then carry key fingerprints. */
  private salted = false;
  /** Requests posted and not yet answered, by id (not a `Map`: see inflight-tables.ts). */
  private readonly pending = new IdTable<Pending>();
  private nextId = 0;
  private nextFrameLog = 0;
  private failure: LedgerError | undefined;
  private closing = false;
  /** Subjects whose keys the worker holds at most ({@link SEALER_CACHE_ENTRIES}). */
  private readonly cacheEntries: number;
  /** Rejects {@link WorkerPreparer.start} while it waits for the worker. */
  private onFailure: ((error: LedgerError) => void) | undefined;

  private readonly ready: Promise<void>;

  private constructor(keys: LedgerKeys, role: WorkerRole, cacheEntries: number, youngMb: number) {
    this.keys = keys;
    this.role = role;
    this.cacheEntries = cacheEntries;
    this.worker = startWorker(role, youngMb);
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
   * @param cacheEntries - subjects whose keys the worker holds at most (tests use a few, to
   *   exercise eviction and slot reuse).
   * @throws {LedgerError} `FAILED` when the worker does not start.
   */
  static async start(
    keys: LedgerKeys,
    role: WorkerRole = 'prepare-and-frames',
    options: { readonly cacheEntries?: number; readonly youngMb?: number } = {},
  ): Promise<WorkerPreparer> {
    const preparer = new WorkerPreparer(
      keys,
      role,
      options.cacheEntries ?? SEALER_CACHE_ENTRIES,
      options.youngMb ?? DEFAULT_WORKER_YOUNG_GENERATION_MB,
    );
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
    this.salted = true;
  }

  /**
   * Prepares the record bodies of `events` (with `eventIds[i]` and one receive time): encodes them
   * here with a zeroed place for each sealed personal blob, and has the worker seal the blobs into
   * those places (and fingerprint the idempotency keys). Events travel as one transferred buffer,
   * not as cloned objects (the structured clone cost both threads more than the encoding).
   * @returns the bodies in one buffer, in input order (see {@link PreparedBodies}); and once
   * salts were given (see {@link WorkerPreparer.useSalts}) the events' key fingerprints.
   * @throws {LedgerError} `BAD_ARGUMENT` when an event cannot be encoded (nothing is sent);
   *   `FAILED` when the worker crashed or failed the request; `CLOSED`.
   */
  async prepare(
    events: readonly NormalizedEvent[],
    eventIds: readonly string[],
    receivedAt: number,
  ): Promise<PreparedBodies> {
    this.check();
    if (this.role === 'frames') {
      throw new LedgerError(
        'FAILED',
        'logic error: this worker only finishes frames (it holds no sealing keys)',
      );
    }
    const n = events.length;
    const subjectIds: string[] = new Array(n);
    for (let i = 0; i < n; i++) subjectIds[i] = subjectIdOf(events[i]!.tenant_id, events[i]!.actor.id);
    // Load keys of subjects new to the worker. Repeat: a concurrent append may have evicted one of
    // ours from `known` while we waited for the key store.
    const loaded = new Map<string, { key: SubjectKey; token: Uint8Array }>();
    for (;;) {
      const missing = new Map<string, { storeId: string; token: Uint8Array }>();
      for (let i = 0; i < n; i++) {
        const subjectId = subjectIds[i]!;
        if (!this.known.has(subjectId) && !loaded.has(subjectId) && !missing.has(subjectId)) {
          const event = events[i]!;
          const token = this.keys.subjectToken(event.tenant_id, event.actor.id);
          missing.set(subjectId, { storeId: subjectStoreIdOfToken(event.tenant_id, token), token });
        }
      }
      if (missing.size === 0) break;
      // One call: the journaled store writes every new key of the batch with one fdatasync.
      const got = await this.keys.subjects.getOrCreateMany([...missing.values()].map((m) => m.storeId));
      for (const [subjectId, m] of missing)
        loaded.set(subjectId, { key: got.get(m.storeId)!, token: m.token });
      this.check();
    }
    // From here to postMessage nothing awaits: `known` and the messages agree.
    const subjects: WorkerSubject[] = new Array(n);
    const fresh = new Map<string, FreshSubject>();
    for (let i = 0; i < n; i++) {
      const subjectId = subjectIds[i]!;
      let subject: WorkerSubject | undefined = this.known.get(subjectId) ?? fresh.get(subjectId);
      if (subject === undefined) {
        const { key, token } = loaded.get(subjectId)!;
        const added: FreshSubject = { slot: -1, token, keyId: hexOf(key.keyTag), subjectId, key };
        fresh.set(subjectId, added);
        subject = added;
      }
      subjects[i] = subject;
    }
    // Encoding may throw (a value no validated event has): then nothing was sent or changed.
    let encoded: EncodedRequest;
    try {
      encoded = encodeRequest(events, eventIds, receivedAt, subjects, this.salted, (bytes) =>
        this.buffer(bytes),
      );
    } catch (error) {
      throw new LedgerError('BAD_ARGUMENT', `prepare worker: request not sent: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // Returned, not awaited here: this call's frame (and with it `events`, a parameter) ends now,
    // so that the events are garbage while the worker prepares them.
    return this.send(encoded, subjects, fresh);
  }

  /**
   * Sends an encoded prepare request (no await before `postMessage`: `known` and the messages
   * agree) and waits for its answer.
   */
  private async send(
    encoded: EncodedRequest,
    subjects: readonly WorkerSubject[],
    fresh: ReadonlyMap<string, FreshSubject>,
  ): Promise<PreparedBodies> {
    const n = subjects.length;
    // Slots for the new subjects; evicted subjects' slots are dropped by the worker after this
    // request's events and reused only by later requests.
    const material: SubjectKeyMaterial[] = [];
    const evicted: [string, WorkerSubject][] = [];
    for (const added of fresh.values()) {
      if (this.known.size >= this.cacheEntries) {
        const oldest = this.known.entries().next().value as [string, WorkerSubject];
        this.known.delete(oldest[0]);
        evicted.push(oldest);
      }
      added.slot = this.freeSlots.pop() ?? this.nextSlot++;
      this.known.set(added.subjectId, { slot: added.slot, token: added.token, keyId: added.keyId });
      material.push({
        slot: added.slot,
        subjectId: added.subjectId,
        key: added.key.exportBytes(),
        keyTag: added.key.keyTag,
      });
    }
    const meta = encoded.meta;
    for (let i = 0; i < n; i++) meta[i * PREPARE_META_WORDS] = subjects[i]!.slot;
    const id = this.nextId++;
    const request: PrepareRequest = {
      type: 'prepare',
      id,
      buffer: encoded.buffer,
      count: n,
      fingerprinted: this.salted,
      classes: encoded.classes,
      keys: material,
      drop: evicted.map(([, subject]) => subject.slot),
    };
    // Key bytes and the request buffer are transferred (and so gone from this thread), not copied.
    const transfer = [encoded.buffer, ...material.map((m) => m.key.buffer as ArrayBuffer)];
    let sent = false;
    let answer: Answer;
    try {
      answer = await this.answerTo(id, () => {
        try {
          this.worker.postMessage(request, transfer);
          sent = true;
        } catch (error) {
          // Not sent: the worker got neither this request's keys nor its drops — `known` goes
          // back at once, before any other request.
          for (const added of fresh.values()) {
            this.known.delete(added.subjectId);
            this.freeSlots.push(added.slot);
          }
          for (const [subjectId, subject] of evicted) this.known.set(subjectId, subject);
          // The plaintexts and key bytes stayed here: wiped (unless already transferred).
          for (const buffer of transfer) if (buffer.byteLength > 0) new Uint8Array(buffer).fill(0);
          throw error;
        }
        for (const [, subject] of evicted) this.freeSlots.push(subject.slot);
      });
    } catch (error) {
      if (sent && this.failure === undefined && !this.closing) {
        // The worker failed the request, perhaps after importing some of its keys: it is told to
        // forget them (after this request, port order), and they go again with their subjects'
        // next events — so that neither side believes in a key the other lacks, and a later
        // forget() (erasure) still reaches every key the worker holds.
        for (const added of fresh.values()) this.forget(added.subjectId);
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
    const subject = this.known.get(subjectId);
    if (subject === undefined) return;
    this.known.delete(subjectId);
    if (this.failure !== undefined || this.closing) return;
    // After any request posted before that may carry the subject's key (a port keeps order).
    this.worker.postMessage({ type: 'forget', slot: subject.slot } satisfies PrepareRequest);
    this.freeSlots.push(subject.slot);
  }

  /** Resolves when every request posted so far has been answered (or failed). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Terminates the worker; requests still pending fail with `CLOSED`. */
  /**
   * Hands back the buffer of a `prepare` answer once nothing reads it any more (its records are
   * assembled and durable): the next request reuses it. An answer buffer lives until its records
   * are durable, so it reaches the old generation, and V8 counts its bytes as external memory
   * until a full GC frees it — at 30,000 events/s that started a mark-compact every ~1.5 s while
   * paced. A reused buffer is transferred away again (detaching the old object), so nothing
   * accumulates.
   */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength < BUFFER_ROUNDING || this.spareBuffers.length >= SPARE_BUFFERS) return;
    this.spareBuffers.push(buffer);
  }

  /** A request buffer of at least `bytes`: a recycled one if one is large enough. */
  private buffer(bytes: number): ArrayBuffer {
    const spares = this.spareBuffers;
    for (let i = spares.length - 1; i >= 0; i--) {
      if (spares[i]!.byteLength >= bytes) return spares.splice(i, 1)[0]!;
    }
    // Large ones rounded up, so that a buffer fits later requests of about the same size (small
    // ones are cheap, short-lived and not kept).
    return new ArrayBuffer(
      bytes < BUFFER_ROUNDING ? bytes : Math.ceil(bytes / BUFFER_ROUNDING) * BUFFER_ROUNDING,
    );
  }

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

/**
 * What {@link WorkerPreparer.prepare} returns: record body i is `bytes[offsets[i] … offsets[i + 1])`
 * (one buffer for all, no view per body: see `PreparedRecords`); `fingerprints`, when salted:
 * event i's idempotency-key fingerprint at words `4i … 4i + 3`.
 */
export interface PreparedBodies {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  readonly fingerprints: Uint32Array | undefined;
}

/** The record bodies and key fingerprints of a `prepared` answer's buffer. */
function readPrepared(answer: Extract<PrepareAnswer, { type: 'prepared' }>): PreparedBodies {
  const { buffer, count: n } = answer;
  const { fingerprintsAt, bodiesAt } = preparedLayout(n, answer.fingerprinted);
  // The offsets are relative to the bodies: made absolute in place (the buffer is ours now).
  const offsets = new Uint32Array(buffer, 0, n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = offsets[i]! + bodiesAt;
  const fingerprints = answer.fingerprinted
    ? new Uint32Array(buffer, fingerprintsAt, (FINGERPRINT_BYTES / 4) * n)
    : undefined;
  return { bytes: new Uint8Array(buffer), offsets, fingerprints };
}
