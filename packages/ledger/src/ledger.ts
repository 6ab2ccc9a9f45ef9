/**
 * The ledger: several logs (one per retention class by default) in one data directory, sharing
 * key material. `append` validates a batch as a whole, assigns event ids and receive times,
 * answers idempotent repeats, seals personal data, and hands records to each log's writer.
 *
 * Not here: HTTP/gRPC, auth, search (apps/server and the index package).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type NormalizedEvent, type StoredRecord, validateBatch } from '@sealog/codec';
import type { Keyring } from '@sealog/crypto-envelope';
import { lockDataDir } from './dir-lock';
import { LedgerError, type LedgerIssue } from './errors';
import { newEventId } from './event-id';
import { MAX_IDEMPOTENCY_WINDOW } from './idempotency-window';
import { idempotencyKey } from './key-fingerprint';
import { LedgerKeys, subjectStoreIdOfToken } from './ledger-keys';
import { type AppendResult, LogWriter, type LogWriterOptions, type ReadRecord } from './log-writer';
import {
  entityKeyOf,
  type PreparedRecord,
  type PreparedRecords,
  RecordPreparer,
  subjectIdOf,
} from './record-prep';
import { PersonalReader, type PersonalView, renderRecordView } from './record-view';
import { DEFAULT_WORKER_YOUNG_GENERATION_MB, type PreparedBodies, WorkerPreparer } from './worker-preparer';

/** One log of the ledger. */
export interface LogConfig {
  /** Log id: directory name under `logs/`, 1..64 chars `[A-Za-z0-9._-]`. */
  readonly id: string;
  /** Retention classes routed to this log (default: `[id]`). */
  readonly retentionClasses?: readonly string[];
  /** Checkpoint origin / note key name (default `sealog/<id>`). */
  readonly origin?: string;
}

/** Options of {@link createLedger}. */
export interface LedgerOptions extends LogWriterOptions {
  /** Data directory (`logs/`, `keys/` live under it); created when missing. */
  readonly dir: string;
  /** Logs to open (default one log `default` for retention class `default`). */
  readonly logs?: readonly LogConfig[];
  /** Master keys from configuration; default: `<dir>/keys/master.key`, generated on first start. */
  readonly keyring?: Keyring;
  /** Receives one-line notices that operators must see (e.g. "generated a new master key"). */
  readonly onNotice?: (message: string) => void;
  /** Clock for `received_at` (epoch ms). */
  readonly now?: () => number;
  /**
   * Worker threads that seal, tokenize and encode records and finish frames, 0, 1 or 2 (default 1).
   * With 1 the main thread validates, assigns ids, loads subject keys and sequences; one worker
   * prepares each append's record bodies (bench:audit, 2 cores: ~29k → ~42k events/s durable,
   * medians of 9) and hashes, compresses, encrypts and chains every log's frames. With 2 a second
   * worker finishes the frames, so neither job waits behind the other (paced tail latency: see
   * the README; one more thread and ~30–100 MiB more RSS). With 0 everything runs on the main
   * thread (use it when the process has one core to itself).
   */
  readonly prepareWorkers?: 0 | 1 | 2;
  /**
   * Young generation of each worker thread, in MiB: an integer, 0 (V8's default: semi-spaces
   * growing to 8–16 MiB) or 3…1024 (default 6: three 2-MiB semi-spaces). Small keeps the worker's
   * scavenges short — each pays for the dead `Cipheriv`s and buffers of the blobs it sealed, and
   * every append in flight waits for it — at some throughput when saturated (README, "The
   * workers' young generation").
   */
  readonly workerYoungGenerationMb?: number;
}

/** Options of {@link Ledger.append}. */
export interface AppendOptions {
  /** `durable` (default): resolve after fsync; `accepted`: resolve once queued. */
  readonly wait?: 'durable' | 'accepted';
  /** Producer id: each producer gets its own queue lane (fairness). */
  readonly producer?: string;
  /** `wait` (default): wait for queue room; `reject`: throw `BACKPRESSURE` when full. */
  readonly onFull?: 'wait' | 'reject';
  /** JSON byte length of each event when the caller already knows it (HTTP bodies). */
  readonly byteLengths?: readonly number[];
}

const LOG_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Opens the ledger in `options.dir`: key material, then every log (each recovered and checked
 * against its last signed checkpoint).
 *
 * @throws {LedgerError} `BAD_ARGUMENT` for invalid log configuration; recovery errors of a log.
 * @example
 * const ledger = await createLedger({ dir: './sealog-data' });
 * const [r] = await ledger.append([{ tenant_id: 'acme', occurred_at: Date.now(), action: 'user.login',
 *   actor: { id: 'u1', type: 'user' }, resource: { type: 'session', id: 's1' } }]);
 * console.log(r.leaf_index, r.integrity);
 * await ledger.close();
 */
export async function createLedger(options: LedgerOptions): Promise<Ledger> {
  const configs = options.logs ?? [{ id: 'default' }];
  const prepareWorkers = options.prepareWorkers ?? 1;
  if (prepareWorkers !== 0 && prepareWorkers !== 1 && prepareWorkers !== 2) {
    throw new LedgerError('BAD_ARGUMENT', `prepareWorkers must be 0, 1 or 2, got ${String(prepareWorkers)}`);
  }
  const youngMb = options.workerYoungGenerationMb ?? DEFAULT_WORKER_YOUNG_GENERATION_MB;
  if (!Number.isInteger(youngMb) || (youngMb !== 0 && (youngMb < 3 || youngMb > 1024))) {
    throw new LedgerError(
      'BAD_ARGUMENT',
      `workerYoungGenerationMb must be an integer, 0 or 3…1024, got ${String(options.workerYoungGenerationMb)}`,
    );
  }
  const windowSize = options.idempotencyWindow;
  if (
    windowSize !== undefined &&
    (!Number.isSafeInteger(windowSize) || windowSize < 1 || windowSize > MAX_IDEMPOTENCY_WINDOW)
  ) {
    throw new LedgerError(
      'BAD_ARGUMENT',
      `idempotencyWindow must be an integer in 1…${MAX_IDEMPOTENCY_WINDOW}, got ${String(windowSize)}`,
    );
  }
  const seen = new Set<string>();
  const routes = new Map<string, string>();
  for (const c of configs) {
    if (!LOG_ID_RE.test(c.id)) {
      throw new LedgerError(
        'BAD_ARGUMENT',
        `log id must be 1..64 chars [A-Za-z0-9._-], got ${JSON.stringify(c.id)}`,
      );
    }
    if (seen.has(c.id)) throw new LedgerError('BAD_ARGUMENT', `log id ${c.id} configured twice`);
    seen.add(c.id);
    for (const rc of c.retentionClasses ?? [c.id]) {
      if (routes.has(rc)) throw new LedgerError('BAD_ARGUMENT', `retention class ${rc} routed to two logs`);
      routes.set(rc, c.id);
    }
  }
  mkdirSync(join(options.dir, 'logs'), { recursive: true });
  const unlock = lockDataDir(options.dir);
  const notice = options.onNotice ?? ((m: string) => process.emitWarning(m, 'SealogNotice'));
  let keys: LedgerKeys;
  try {
    keys = await LedgerKeys.open(
      options.dir,
      options.keyring === undefined ? { generate: true } : { keyring: options.keyring },
      notice,
    );
  } catch (error) {
    unlock();
    throw error;
  }
  const writers = new Map<string, LogWriter>();
  let worker: WorkerPreparer | undefined;
  let frameWorker: WorkerPreparer | undefined;
  try {
    // First: the log writers finish their frames in a worker (the second one with 2).
    if (prepareWorkers >= 1) worker = await WorkerPreparer.start(keys, 'prepare-and-frames', { youngMb });
    frameWorker = prepareWorkers === 2 ? await WorkerPreparer.start(keys, 'frames', { youngMb }) : worker;
    for (const c of configs) {
      const origin = c.origin ?? `sealog/${c.id}`;
      const signer = await keys.signer(c.id, origin);
      writers.set(
        c.id,
        await LogWriter.open({
          dataDir: options.dir,
          logId: c.id,
          origin,
          signer,
          keyring: keys.keyring,
          options,
          ...(frameWorker === undefined ? {} : { worker: frameWorker }),
        }),
      );
    }
    // The worker fingerprints idempotency keys under each log's window salt.
    worker?.useSalts(
      [...routes].map(([retentionClass, logId]) => [retentionClass, writers.get(logId)!.idempotencySalt]),
    );
  } catch (error) {
    for (const w of writers.values()) await w.close().catch(() => {});
    await worker?.close().catch(() => {});
    if (frameWorker !== worker) await frameWorker?.close().catch(() => {});
    await keys.close().catch(() => {});
    unlock();
    throw error;
  }
  return new Ledger(
    options,
    keys,
    writers,
    routes,
    worker,
    unlock,
    frameWorker === worker ? undefined : frameWorker,
  );
}

/** See {@link createLedger}. */
export class Ledger {
  /** The data directory. */
  readonly dir: string;
  private readonly keys: LedgerKeys;
  private readonly writers: Map<string, LogWriter>;
  private readonly routes: Map<string, string>;
  private readonly preparer: RecordPreparer;
  private readonly worker: WorkerPreparer | undefined;
  /** With `prepareWorkers: 2`: the worker that finishes frames (else `worker` does). */
  private readonly frameWorker: WorkerPreparer | undefined;
  private readonly personal: PersonalReader;
  private readonly unlock: () => void;
  private readonly now: () => number;
  private closed = false;

  /** Use {@link createLedger}. */
  constructor(
    options: LedgerOptions,
    keys: LedgerKeys,
    writers: Map<string, LogWriter>,
    routes: Map<string, string>,
    worker?: WorkerPreparer,
    unlock: () => void = () => {},
    frameWorker?: WorkerPreparer,
  ) {
    this.unlock = unlock;
    this.dir = options.dir;
    this.keys = keys;
    this.writers = writers;
    this.routes = routes;
    this.preparer = new RecordPreparer(keys);
    this.worker = worker;
    this.frameWorker = frameWorker;
    this.personal = new PersonalReader(keys);
    this.now = options.now ?? Date.now;
  }

  /** Retention classes this ledger accepts. */
  get retentionClasses(): ReadonlySet<string> {
    return new Set(this.routes.keys());
  }

  /** The logs, by id. */
  logs(): LogWriter[] {
    return [...this.writers.values()];
  }

  /**
   * The log with this id.
   * @throws {LedgerError} `UNKNOWN_LOG`.
   */
  log(logId: string): LogWriter {
    const w = this.writers.get(logId);
    if (w === undefined) throw new LedgerError('UNKNOWN_LOG', `no log ${JSON.stringify(logId)}`);
    return w;
  }

  /**
   * Appends a batch of events. The batch is validated as a whole: one invalid event rejects all
   * of them with `INVALID_EVENT` (issues carry index and path) and nothing is stored. A repeated
   * client `event_id` within a tenant returns the original result with `status: "duplicate"`.
   *
   * @returns one result per event, in input order: `stored` (durable) or `accepted` (queued).
   * @throws {LedgerError} `INVALID_EVENT`, `BACKPRESSURE` (with `onFull: 'reject'`), `CLOSED`, `FAILED`.
   */
  async append(events: readonly unknown[], options: AppendOptions = {}): Promise<AppendResult[]> {
    // Staged in a function of its own: the events, their bodies and ids are garbage once queued,
    // not kept alive (and copied by every scavenge) while the records become durable.
    const { results, durable, repeats, answer } = await this.stage(events, options);
    for (const { positions, done } of durable) {
      const stored = await done;
      for (let j = 0; j < positions.length; j++) results[positions[j]!] = stored[j]!;
    }
    // Every record is assembled and durable: nothing reads the worker's answer any more.
    if (answer !== undefined) this.worker?.recycle(answer);
    // In-batch repeats resolve to their first occurrence, marked duplicate.
    for (const [pos, first] of repeats) {
      results[pos] = Promise.resolve(results[first]!).then((r) => ({ ...r, status: 'duplicate' as const }));
    }
    return repeats.size === 0 && results.every((r) => !(r instanceof Promise))
      ? (results as AppendResult[])
      : Promise.all(results);
  }

  /**
   * Validates, prepares and queues the events of one {@link Ledger.append}.
   * @returns the results known so far (duplicates, `accepted`), the durable waits by log with the
   *   positions they answer, and in-batch repeats (position → first occurrence).
   */
  private async stage(
    events: readonly unknown[],
    options: AppendOptions,
  ): Promise<{
    results: (AppendResult | Promise<AppendResult>)[];
    durable: { positions: number[]; done: Promise<AppendResult[]> }[];
    repeats: Map<number, number>;
    /** The worker's answer buffer, when only this call's records (of one log) read it. */
    answer?: ArrayBuffer;
  }> {
    if (this.closed) throw new LedgerError('CLOSED', 'ledger is closed');
    const validated = validateBatch(
      events,
      options.byteLengths === undefined
        ? { retentionClasses: this.retentionClasses }
        : { retentionClasses: this.retentionClasses, byteLengths: options.byteLengths },
    );
    if (!validated.ok) {
      const issues: LedgerIssue[] = validated.errors.map((e) => ({
        index: e.index,
        path: e.path,
        code: e.code,
        message: e.message,
      }));
      throw new LedgerError(
        'INVALID_EVENT',
        `${issues.length} invalid field(s) in the batch; nothing stored`,
        {
          issues,
        },
      );
    }
    // What the rest of the call needs of each event, taken before any await: while the worker
    // prepares them (the longest wait here) the normalized events are garbage, not copied by
    // every scavenge in between.
    const facts = this.factsOf(validated.events, this.worker !== undefined);
    let normalized: readonly NormalizedEvent[] | undefined = validated.events;
    const n = normalized.length;
    let receivedAt: number;
    let eventIds: string[] | undefined;
    let prepared: PreparedBodies | undefined;
    if (this.worker === undefined) {
      await this.preparer.loadSubjects(normalized);
      receivedAt = this.now();
    } else {
      // Every event is prepared, repeats too (they are rare): the duplicate checks below must run
      // after the last await, in the same synchronous stretch that registers ids with the writers.
      receivedAt = this.now();
      eventIds = new Array(n);
      for (let i = 0; i < n; i++) eventIds[i] = facts.clientIds[i] ?? newEventId();
      const pending = this.worker.prepare(normalized, eventIds, receivedAt);
      normalized = undefined;
      prepared = await pending;
    }
    const fingerprints = prepared?.fingerprints;
    /** Position of a repeated client id in this batch → position of its first occurrence. */
    const repeats = new Map<number, number>();
    const results: (AppendResult | Promise<AppendResult>)[] = new Array(n);
    // Group by log, keep input positions.
    const perLog = new Map<
      LogWriter,
      { records: PreparedRecord[]; ids: string[]; keys: (string | undefined)[]; positions: number[] }
    >();
    const batchIds = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const writer = facts.writers[i]!;
      const tenantId = facts.tenantIds[i]!;
      const clientId = facts.clientIds[i];
      if (clientId !== undefined) {
        // Idempotency is per tenant (CONTRACT §1), not per log: a repeat routed to another
        // retention class is still the same event.
        const dup = this.duplicateOf(
          writer,
          tenantId,
          clientId,
          fingerprints === undefined ? undefined : { words: fingerprints, at: i * 4 },
        );
        if (dup !== undefined) {
          results[i] = dup;
          continue;
        }
        // The same id twice in one batch: the second is a duplicate of the first.
        const key = idempotencyKey(tenantId, clientId);
        const first = batchIds.get(key);
        if (first !== undefined) {
          repeats.set(i, first);
          continue;
        }
        batchIds.set(key, i);
      }
      const eventId = eventIds === undefined ? (clientId ?? newEventId()) : eventIds[i]!;
      let group = perLog.get(writer);
      if (group === undefined) {
        group = { records: [], ids: [], keys: [], positions: [] };
        perLog.set(writer, group);
      }
      if (normalized !== undefined) {
        group.records.push(this.preparer.prepare(normalized[i]!, eventId, receivedAt));
      }
      group.ids.push(eventId);
      // A key registered as in flight lets a concurrent append of the same id wait for this one.
      // An id minted here becomes known to anyone only with its result: with the default wait
      // that is once durable (and in the window), so it needs no in-flight entry — and with a
      // fingerprint from the worker, the window needs no key string either.
      group.keys.push(
        clientId !== undefined || options.wait === 'accepted' || fingerprints === undefined
          ? idempotencyKey(tenantId, eventId)
          : undefined,
      );
      group.positions.push(i);
    }
    const durable: { positions: number[]; done: Promise<AppendResult[]> }[] = [];
    for (const [writer, group] of perLog) {
      const records =
        prepared === undefined ? group.records : columnsOf(prepared, facts, group.ids, group.positions);
      const { durable: done } = await writer.enqueue(records, group.keys, {
        ...(options.producer === undefined ? {} : { producer: options.producer }),
        ...(options.onFull === undefined ? {} : { onFull: options.onFull }),
      });
      if (options.wait === 'accepted') {
        for (let j = 0; j < group.positions.length; j++) {
          results[group.positions[j]!] = {
            event_id: group.ids[j]!,
            status: 'accepted',
            log_id: writer.logId,
          };
        }
      } else {
        durable.push({ positions: group.positions, done });
      }
    }
    // One log, waited for: once durable, the answer buffer can be reused (see recycle).
    return prepared !== undefined && perLog.size === 1 && options.wait !== 'accepted'
      ? { results, durable, repeats, answer: prepared.bytes.buffer as ArrayBuffer }
      : { results, durable, repeats };
  }

  /**
   * See {@link EventFacts}. Entity keys (or their fingerprints) only `forColumns`: prepared in
   * this thread, records carry their own keys.
   */
  private factsOf(events: readonly NormalizedEvent[], forColumns: boolean): EventFacts {
    const n = events.length;
    const writers: LogWriter[] = new Array(n);
    const tenantIds: string[] = new Array(n);
    const clientIds: (string | undefined)[] = new Array(n);
    const occurredAt = new Float64Array(n);
    let oneLog = true;
    for (let i = 0; i < n; i++) {
      const event = events[i]!;
      writers[i] = this.writers.get(this.routes.get(event.retention_class)!)!;
      if (writers[i] !== writers[0]) oneLog = false;
      tenantIds[i] = event.tenant_id;
      clientIds[i] = event.event_id;
      occurredAt[i] = event.occurred_at;
    }
    const entityKey = (i: number): string => {
      const event = events[i]!;
      return entityKeyOf(event.tenant_id, event.resource.type, event.resource.id);
    };
    if (!forColumns) return { writers, tenantIds, clientIds, entityKeys: [], occurredAt };
    if (oneLog && n > 0) {
      // Fingerprinted now (under the log's salt): the key strings die young instead of waiting
      // in the queue with their records.
      const entityFingerprints = new Uint32Array(4 * n);
      writers[0]!.fingerprintEntityParts(
        n,
        [(i) => events[i]!.tenant_id, (i) => events[i]!.resource.type, (i) => events[i]!.resource.id],
        entityFingerprints,
      );
      return { writers, tenantIds, clientIds, entityKeys: [], entityFingerprints, occurredAt };
    }
    const entityKeys: string[] = new Array(n);
    for (let i = 0; i < n; i++) entityKeys[i] = entityKey(i);
    return { writers, tenantIds, clientIds, entityKeys, occurredAt };
  }

  /**
   * Reads a record by position.
   * @throws {LedgerError} `UNKNOWN_LOG`, `NOT_FOUND`, `CORRUPT`.
   */
  read(logId: string, leafIndex: number): Promise<ReadRecord> {
    return this.log(logId).read(leafIndex);
  }

  /**
   * Reads several records of one log by leaf index (each shared frame decrypted once), in the
   * order asked.
   * @throws {LedgerError} `UNKNOWN_LOG`, `NOT_FOUND`, `CORRUPT`.
   */
  readMany(logId: string, leafIndexes: readonly number[]): Promise<ReadRecord[]> {
    return this.log(logId).readMany(leafIndexes);
  }

  /** The original result of a client event id in any log (the routed one first). */
  private duplicateOf(
    routed: LogWriter,
    tenantId: string,
    eventId: string,
    /** The key's fingerprint under the routed log's salt (other logs salt differently). */
    fingerprint: { readonly words: Uint32Array; readonly at: number } | undefined,
  ): Promise<AppendResult> | AppendResult | undefined {
    const own = routed.duplicateOf(tenantId, eventId, fingerprint);
    if (own !== undefined || this.writers.size === 1) return own;
    for (const w of this.writers.values()) {
      if (w === routed) continue;
      const other = w.duplicateOf(tenantId, eventId);
      if (other !== undefined) return other;
    }
    return undefined;
  }

  /** Signs a checkpoint on every log now (normally done on a timer). */
  async checkpoint(): Promise<void> {
    for (const w of this.writers.values()) await w.checkpoint();
  }

  /** Key material (for erasure and reads of personal fields). */
  get keyMaterial(): LedgerKeys {
    return this.keys;
  }

  /**
   * Drops the cached sealing state of a data subject (`tenant:actor`) here and in the prepare
   * worker, e.g. after erasure; the next event of the subject loads its key again.
   */
  forgetSubject(subjectId: string): void {
    this.preparer.forget(subjectId);
    this.worker?.forget(subjectId);
  }

  /**
   * The personal fields of a stored record, opened with its subject's key, or `"[erased]"`.
   * @throws {LedgerError} `CORRUPT` when the sealed fields do not open under the right key.
   */
  openPersonal(record: StoredRecord): Promise<PersonalView> {
    return this.personal.open(record);
  }

  /**
   * The CONTRACT §2 view of a record read back; with `personal: true` its personal fields are
   * opened (or read `"[erased]"`), otherwise left out.
   * @example
   * const view = await ledger.view(await ledger.read('default', 7), { personal: true });
   */
  async view(read: ReadRecord, options: { readonly personal: boolean }): Promise<Record<string, unknown>> {
    const personal = options.personal ? await this.personal.open(read.record) : undefined;
    return renderRecordView(read, {
      integrity: this.log(read.logId).integrityOf(Buffer.from(read.leafHash).toString('hex')),
      personal,
    });
  }

  /**
   * Crypto-shreds a data subject `(tenant, actor id)`: deletes its key from the key store (and
   * every cache), so the personal fields of all its records — stored or still queued — read
   * `"[erased]"` while every leaf, hash, proof and checkpoint stays valid. A later event of the
   * same subject gets a new key. Returns the subject's blind token (the index drops it) and
   * whether a key existed.
   * @throws {LedgerError} `BAD_ARGUMENT` for an empty tenant or actor id.
   */
  async eraseSubject(tenantId: string, actorId: string): Promise<{ token: Uint8Array; existed: boolean }> {
    if (typeof tenantId !== 'string' || tenantId === '' || typeof actorId !== 'string' || actorId === '') {
      throw new LedgerError('BAD_ARGUMENT', 'eraseSubject: expected a tenant id and an actor id');
    }
    const token = this.keys.subjectToken(tenantId, actorId);
    // Caches first: an append racing this call either sealed under the old key (and is erased
    // with it) or loads a fresh key after the shred.
    this.forgetSubject(subjectIdOf(tenantId, actorId));
    const existed = await this.keys.subjects.shred(subjectStoreIdOfToken(tenantId, token));
    this.forgetSubject(subjectIdOf(tenantId, actorId));
    this.personal.forget(tenantId, token);
    return { token, existed };
  }

  /** Stops accepting, writes everything accepted, signs final checkpoints, closes every log. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends already in the worker still reach their writers before those close.
    await this.worker?.idle();
    try {
      try {
        for (const w of this.writers.values()) await w.close();
      } finally {
        try {
          await this.worker?.close();
        } finally {
          await this.frameWorker?.close();
        }
      }
      await this.keys.close();
    } finally {
      this.unlock();
    }
  }
}

/**
 * The records of one log in an append prepared by the worker, as columns over the worker's
 * answer (event i of the append at `positions[j]` is record j; `ids` are the records' event ids).
 */
function columnsOf(
  prepared: PreparedBodies,
  facts: EventFacts,
  ids: string[],
  positions: readonly number[],
): PreparedRecords {
  const n = positions.length;
  const all = n === facts.writers.length;
  const byKey = facts.entityFingerprints === undefined;
  const entityKeys: string[] = all || !byKey ? facts.entityKeys : new Array(n);
  const occurredAt = new Float64Array(n);
  const bodyAt = new Uint32Array(2 * n);
  const offsets = prepared.offsets;
  for (let j = 0; j < n; j++) {
    const i = positions[j]!;
    if (!all && byKey) entityKeys[j] = facts.entityKeys[i]!;
    occurredAt[j] = facts.occurredAt[i]!;
    bodyAt[2 * j] = offsets[i]!;
    bodyAt[2 * j + 1] = offsets[i + 1]!;
  }
  const columns = { count: n, eventIds: ids, entityKeys, occurredAt, bytes: prepared.bytes, bodyAt };
  const keyFingerprints = prepared.fingerprints;
  const entityFingerprints = facts.entityFingerprints;
  return {
    ...columns,
    ...(keyFingerprints === undefined ? {} : { keyFingerprints: pickWords(keyFingerprints, positions, all) }),
    ...(entityFingerprints === undefined
      ? {}
      : { entityFingerprints: pickWords(entityFingerprints, positions, all) }),
  };
}

/**
 * Four words per event → four per record: when not every event of the append is a record of
 * this log, record j's words move from `4 · positions[j]` to `4j`.
 */
function pickWords(words: Uint32Array, positions: readonly number[], all: boolean): Uint32Array {
  if (all) return words;
  const out = new Uint32Array(4 * positions.length);
  for (let j = 0; j < positions.length; j++) {
    out.set(words.subarray(4 * positions[j]!, 4 * positions[j]! + 4), 4 * j);
  }
  return out;
}

/** What an append needs of its events after the worker prepared them (index = input position). */
interface EventFacts {
  readonly writers: LogWriter[];
  readonly tenantIds: string[];
  readonly clientIds: (string | undefined)[];
  /** When the events go to more than one log (else empty). */
  readonly entityKeys: string[];
  /** When they all go to one log: their entity-key fingerprints under its salt. */
  readonly entityFingerprints?: Uint32Array;
  readonly occurredAt: Float64Array;
}
