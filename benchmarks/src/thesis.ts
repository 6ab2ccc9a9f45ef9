/**
 * The thesis main benchmark on our pipeline, and its hand-written single-thread baseline.
 *
 * Ledger run: P async producer loops, each with its own queue lane, submit the entries of the
 * pool in producer batches (default 4096) straight to the log writers
 * (`ledger.log(id).enqueue(PreparedRecords, keys, { producer })`); entry `i` goes to writer
 * `i mod W`. Each writer is its own log (one sequencer each) and runs the durable pipeline:
 * bounded queue → batch (default 2048) → leaf hash + Merkle root → snappy → AES-256-GCM → chain
 * hash → segment append → fdatasync (group commit) → tree append → promise resolved. What is
 * NOT exercised: event validation, personal-data sealing, blind tokens, record encoding and the
 * idempotency map (entries are prebuilt opaque record bodies; `bench:audit` covers the rest).
 *
 * Latency of an entry: from the `enqueue` call that submitted it (which may wait for queue room)
 * until that call's `durable` promise resolves (every entry of the producer batch is durable).
 *
 * Baseline: the same payloads, one thread, batches of the writer batch size: msgpackr `pack`
 * into a reused buffer → snappy `compressSync({ copyOutputData: true })` → AES-256-GCM
 * (`node:crypto`) → `writeSync` append. No hashing, no fsync, no queue.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLedger, type LogWriter, type PreparedRecords } from '@sealog/ledger';
import { Packr } from 'msgpackr';
import { compressSync } from 'snappy';
import {
  directoryBytes,
  GIB,
  type LatencySummary,
  peakRssBytes,
  summarizeWeightedLatency,
  temporaryDirectory,
} from './measure';
import { startProfile } from './profile';
import { createEntryPool, DEFAULT_POOL_ENTRIES, type EntryPool, type ThesisPayload } from './thesis-entries';

/** Options of {@link runThesis}. */
export interface ThesisOptions {
  /** Entries submitted in total, ≥ 1. */
  readonly entries: number;
  /** Concurrent producer loops (queue lanes), ≥ 1 (default 1). */
  readonly producers?: number;
  /** Logs (sequencers) in the ledger, ≥ 1 (default 1). */
  readonly writers?: number;
  /** Payload kind (default `mixed`). */
  readonly payload?: ThesisPayload;
  /** Writer batch, records per frame (default 2048). */
  readonly writerBatch?: number;
  /** Producer batch, entries per `enqueue` call (default 4096). */
  readonly producerBatch?: number;
  /**
   * Queue capacity per log in records; the byte capacity follows (entry + 128 B each). Default:
   * the ledger's defaults (65,536 records, 64 MiB ≈ 16,000 entries of 4 KiB).
   */
  readonly queueRecords?: number;
  /** Pool to draw entries from (default: a fresh pool of {@link DEFAULT_POOL_ENTRIES}). */
  readonly pool?: EntryPool;
  /** Parent of the temporary data directory (default the OS temp dir). */
  readonly baseDir?: string;
  /** Write a CPU profile of the timed section to this file. */
  readonly cpuProfile?: string;
  /** The ledger's `prepareWorkers` (default the ledger's: frames are finished in a worker thread). */
  readonly prepareWorkers?: 0 | 1 | 2;
}

/** Result of {@link runThesis} (the `--json` shape plus context). */
export interface ThesisResult {
  readonly entries: number;
  readonly producers: number;
  readonly writers: number;
  readonly payload: ThesisPayload;
  /** From the first enqueue until the last entry is durable, s. */
  readonly seconds: number;
  readonly entries_per_sec: number;
  /** Payload bytes submitted. */
  readonly input_bytes: number;
  readonly gib_per_sec: number;
  /** Enqueue → durable per entry, ms. */
  readonly latency_ms: LatencySummary;
  /** Every file of the data directory after close (segments, tiles, checkpoints, keys). */
  readonly stored_bytes: number;
  readonly write_amplification: number;
  readonly durable: true;
  /** Time of `ledger.close()` (final checkpoint and snapshot), not included in `seconds`. */
  readonly close_seconds: number;
  readonly peak_rss_bytes: number;
}

/** Result of {@link runThesisBaseline}. */
export interface BaselineResult {
  readonly entries: number;
  readonly seconds: number;
  readonly entries_per_sec: number;
  readonly input_bytes: number;
  readonly gib_per_sec: number;
  readonly stored_bytes: number;
  readonly durable: false;
}

const NO_KEYS: readonly undefined[] = [];

/** Pool records `picked` as the columns of one call (bodies stay in the pool's buffer). */
function poolRecords(pool: PreparedRecords, picked: readonly number[]): PreparedRecords {
  const n = picked.length;
  const eventIds: string[] = new Array(n);
  const entityKeys: string[] = new Array(n);
  const occurredAt = new Float64Array(n);
  const bodyAt = new Uint32Array(2 * n);
  for (let j = 0; j < n; j++) {
    const k = picked[j]!;
    eventIds[j] = pool.eventIds[k]!;
    entityKeys[j] = pool.entityKeys[k]!;
    occurredAt[j] = pool.occurredAt[k]!;
    bodyAt[2 * j] = pool.bodyAt[2 * k]!;
    bodyAt[2 * j + 1] = pool.bodyAt[2 * k + 1]!;
  }
  return { count: n, eventIds, entityKeys, occurredAt, bytes: pool.bytes, bodyAt };
}

/**
 * Runs the thesis workload through a fresh ledger in a temporary directory (removed afterwards).
 *
 * @throws {Error} if any entry fails or the counts do not add up.
 * @example
 * const r = await runThesis({ entries: 200_000, producers: 2, writers: 1 });
 * console.log(r.entries_per_sec, r.latency_ms.p50);
 */
export async function runThesis(options: ThesisOptions): Promise<ThesisResult> {
  const entries = options.entries;
  const producers = options.producers ?? 1;
  const writers = options.writers ?? 1;
  const payload = options.payload ?? options.pool?.kind ?? 'mixed';
  const producerBatch = options.producerBatch ?? 4096;
  const queueRecords = options.queueRecords;
  const pool = options.pool ?? createEntryPool(payload);
  if (pool.kind !== payload)
    throw new Error(`runThesis: pool holds ${pool.kind} entries, asked for ${payload}`);
  const tmp = temporaryDirectory('thesis', options.baseDir);
  try {
    const ledger = await createLedger({
      dir: tmp.dir,
      logs: Array.from({ length: writers }, (_, w) => ({ id: `w${w}` })),
      batchMaxRecords: options.writerBatch ?? 2048,
      ...(queueRecords === undefined
        ? {}
        : { queueMaxRecords: queueRecords, queueMaxBytes: queueRecords * (pool.entryBytes + 128) }),
      durability: { mode: 'group' },
      compress: true,
      ...(options.prepareWorkers === undefined ? {} : { prepareWorkers: options.prepareWorkers }),
      onNotice: () => {},
    });
    const logs: LogWriter[] = Array.from({ length: writers }, (_, w) => ledger.log(`w${w}`));
    // One latency per enqueue call (every entry of the call has it), not per entry: a per-entry
    // array grew the benchmark's own RSS by 8 bytes an entry (96 MB for 12 M entries), which read as
    // the pipeline's memory growing with the volume.
    // Producer p makes ⌈entries_p / producerBatch⌉ rounds of at most one call per writer.
    const calls = writers * (Math.ceil(entries / producerBatch) + producers);
    const latencies = new Float64Array(calls);
    const weights = new Uint32Array(calls);
    let callsDone = 0;
    let completed = 0;
    let failure: unknown;
    let finish!: () => void;
    const allDurable = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const onFail = (error: unknown): void => {
      failure ??= error;
      finish();
    };
    const poolSize = pool.records.count;

    const produce = async (p: number): Promise<void> => {
      const lane = `p${p}`;
      // Producer p owns the global entry indexes p, p + P, p + 2P, … (all producers finish together).
      const perWriter: number[][] = Array.from({ length: writers }, () => []);
      let i = p;
      while (i < entries && failure === undefined) {
        for (const list of perWriter) list.length = 0;
        for (let n = 0; n < producerBatch && i < entries; n++, i += producers) {
          perWriter[i % writers]!.push(i % poolSize);
        }
        for (let w = 0; w < writers; w++) {
          const picked = perWriter[w]!;
          if (picked.length === 0) continue;
          const records = poolRecords(pool.records, picked);
          const t0 = performance.now();
          const count = records.count;
          const done = (): void => {
            latencies[callsDone] = performance.now() - t0;
            weights[callsDone++] = count;
            completed += count;
            if (completed === entries) finish();
          };
          const { durable } = await logs[w]!.enqueue(records, NO_KEYS, { producer: lane });
          durable.then(done, onFail);
        }
      }
    };

    const profile = await startProfile(options.cpuProfile);
    const start = performance.now();
    const loops: Promise<void>[] = [];
    for (let p = 0; p < producers; p++) loops.push(produce(p).catch(onFail));
    await Promise.all(loops);
    await allDurable;
    const seconds = (performance.now() - start) / 1000;
    await profile.stop();
    const closeStart = performance.now();
    await ledger.close();
    const closeSeconds = (performance.now() - closeStart) / 1000;
    if (failure !== undefined) throw failure;
    let appended = 0;
    for (const log of logs) appended += log.appendedRecords;
    if (completed !== entries || appended !== entries) {
      throw new Error(`runThesis: submitted ${entries} entries, ${completed} resolved, ${appended} appended`);
    }
    const inputBytes = entries * pool.entryBytes;
    const storedBytes = directoryBytes(join(tmp.dir, 'logs')) + directoryBytes(join(tmp.dir, 'keys'));
    return {
      entries,
      producers,
      writers,
      payload,
      seconds,
      entries_per_sec: entries / seconds,
      input_bytes: inputBytes,
      gib_per_sec: inputBytes / GIB / seconds,
      latency_ms: summarizeWeightedLatency(latencies.subarray(0, callsDone), weights.subarray(0, callsDone)),
      stored_bytes: storedBytes,
      write_amplification: storedBytes / inputBytes,
      durable: true,
      close_seconds: closeSeconds,
      peak_rss_bytes: peakRssBytes(),
    };
  } finally {
    tmp.remove();
  }
}

/** Nonce length of AES-GCM, bytes (NIST SP 800-38D §8.2). */
const NONCE_BYTES = 12;

/**
 * The hand-written single-thread baseline over the same pool (see module doc).
 *
 * @param batch - entries per packed batch (use the writer batch).
 */
export function runThesisBaseline(
  pool: EntryPool,
  entries: number,
  batch = 2048,
  baseDir?: string,
): BaselineResult {
  const tmp = temporaryDirectory('baseline', baseDir);
  try {
    const fd = openSync(join(tmp.dir, 'baseline.log'), 'a');
    const key = randomBytes(32);
    const nonce = Buffer.alloc(NONCE_BYTES);
    const header = Buffer.alloc(4 + NONCE_BYTES);
    const packr = new Packr();
    // Big enough for a batch of payloads plus msgpack headers; reused for every batch.
    const scratch = Buffer.allocUnsafe(batch * (pool.entryBytes + 8) + 1024);
    const list: Buffer[] = [];
    const poolSize = pool.payloads.length;
    let counter = 0;
    const start = performance.now();
    for (let i = 0; i < entries; ) {
      list.length = 0;
      for (let n = 0; n < batch && i < entries; n++, i++) list.push(pool.payloads[i % poolSize]!);
      packr.useBuffer(scratch);
      const packed = packr.pack(list);
      const compressed = compressSync(packed, { copyOutputData: true });
      // Counter nonce: unique per key, as the ledger's sealer guarantees.
      nonce.writeUInt32BE(++counter, NONCE_BYTES - 4);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const sealed = cipher.update(compressed);
      cipher.final();
      header.writeUInt32BE(sealed.length + 16, 0);
      nonce.copy(header, 4);
      writeSync(fd, header);
      writeSync(fd, sealed);
      writeSync(fd, cipher.getAuthTag());
    }
    const seconds = (performance.now() - start) / 1000;
    const storedBytes = fstatSync(fd).size;
    closeSync(fd);
    const inputBytes = entries * pool.entryBytes;
    return {
      entries,
      seconds,
      entries_per_sec: entries / seconds,
      input_bytes: inputBytes,
      gib_per_sec: inputBytes / GIB / seconds,
      stored_bytes: storedBytes,
      durable: false,
    };
  } finally {
    tmp.remove();
  }
}
