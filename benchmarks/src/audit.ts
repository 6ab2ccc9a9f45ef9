/**
 * The audit benchmark: ~500-byte audit events through the full `ledger.append(events)` path —
 * batch validation, event ids, personal-data sealing under per-subject keys, blind tokens,
 * record encoding, queue, batching, leaf hashes + Merkle, snappy, AES-256-GCM, chain hash,
 * segment append, fdatasync (group commit) — and its baseline, pino writing the same events as
 * JSON lines to a file through sonic-boom (`sync: false`, flushed at the end, never fsync'd).
 *
 * Phases, one ledger:
 * 0. new subjects (reported apart): the first event of each data subject of the pool, which
 *    creates the subject's key file;
 * 1. saturation: `concurrency` clients, each looping `await ledger.append(next 1000 events)`;
 *    latency is per call (append → resolved, i.e. every event of the call durable);
 * 2. paced: every millisecond or so, append the events due at `pacedFraction` × the rate of
 *    phase 1, and report p50/p99 of the same per-call latency;
 * 3. pino, on the same events in the same chunks (yielding to the event loop between chunks
 *    so sonic-boom can write, as the ledger clients do).
 *
 * Not here: HTTP parsing, auth, the search index.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants, performance } from 'node:perf_hooks';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { createLedger, type Ledger } from '@sealog/ledger';
import pino from 'pino';
import { makeAuditEvents } from './audit-events';
import { type LatencySummary, peakRssBytes, summarizeLatency, temporaryDirectory } from './measure';
import { startProfile } from './profile';

/** Options of {@link runAudit}. */
export interface AuditOptions {
  /** Events appended in the saturation phase, ≥ 1. */
  readonly events: number;
  /** Appends in flight, ≥ 1 (default 8). */
  readonly concurrency?: number;
  /** Events per append call in the saturation phase (default 1000). */
  readonly appendBatch?: number;
  /** Length of the paced phase, s; 0 skips it (default 3). */
  readonly pacedSeconds?: number;
  /** Rate of the paced phase as a fraction of the saturated rate (default 0.5). */
  readonly pacedFraction?: number;
  /** Rate of the paced phase in events/s (overrides `pacedFraction`). */
  readonly pacedRate?: number;
  /** Distinct events to cycle through (default min(events, 50,000)). */
  readonly poolEvents?: number;
  /** Parent of the temporary data directory (default the OS temp dir). */
  readonly baseDir?: string;
  /** Write a CPU profile of the saturation phase (phase 1) to this file. */
  readonly cpuProfile?: string;
  /** Skip the pino baseline. */
  readonly skipPino?: boolean;
  /**
   * Events appended before phase 1, untimed (default 0): a log that has run for a while — full
   * idempotency window (1,000,000 keys by default), entity heads of every resource, snapshots of
   * that size.
   */
  readonly prefill?: number;
  /** The ledger's `prepareWorkers` (default: the ledger's default). */
  readonly prepareWorkers?: 0 | 1 | 2;
  /** The ledger's `workerYoungGenerationMb` (default: the ledger's default). */
  readonly workerYoungGenerationMb?: number;
}

/** The paced phase. */
export interface PacedResult {
  readonly target_events_per_sec: number;
  readonly events_per_sec: number;
  readonly events: number;
  /** Per append call (append → every event durable), ms. */
  readonly latency_ms: LatencySummary;
  /** The main thread's GC pauses during the phase (the worker's are not seen here). */
  readonly gc: GcPauses;
}

/** GC pauses of this thread, by kind (PerformanceObserver `gc` entries). */
export interface GcPauses {
  /** Young-generation GCs (scavenges). */
  readonly minor: PauseStats;
  /** Full mark-compacts. */
  readonly major: PauseStats;
}

/** Count, mean and maximum of pauses, ms. */
export interface PauseStats {
  readonly count: number;
  readonly mean_ms: number;
  readonly max_ms: number;
}

/** The pino baseline. */
export interface PinoResult {
  readonly events: number;
  readonly seconds: number;
  readonly events_per_sec: number;
  readonly output_bytes: number;
  readonly durable: false;
}

/** Result of {@link runAudit}. */
export interface AuditResult {
  readonly events: number;
  readonly concurrency: number;
  readonly append_batch: number;
  readonly seconds: number;
  readonly events_per_sec: number;
  /** JSON bytes of the events (`Buffer.byteLength(JSON.stringify(event))`, summed). */
  readonly input_bytes: number;
  /** Per append call of the saturation phase, ms. */
  readonly latency_ms: LatencySummary;
  readonly durable: true;
  /** Phase 0: one event per data subject, each creating a subject key (not in `events`). */
  readonly new_subjects: {
    readonly events: number;
    readonly seconds: number;
    readonly events_per_sec: number;
  };
  readonly paced: PacedResult | undefined;
  readonly pino: PinoResult | undefined;
  /** Peak RSS of the process up to the ledger's close: its phases only, before pino runs. */
  readonly peak_rss_bytes: number;
  /** Peak RSS at the end, pino's phase included (sonic-boom buffers what the file has not taken yet). */
  readonly process_peak_rss_bytes: number;
}

/** A cyclic supply of events, cut into `ledger.append`-sized arrays. */
class EventSupply {
  private readonly pool: readonly Record<string, unknown>[];
  private readonly sizes: Int32Array;
  private cursor = 0;
  /** JSON bytes handed out so far. */
  bytes = 0;

  constructor(pool: readonly Record<string, unknown>[]) {
    this.pool = pool;
    this.sizes = new Int32Array(pool.length);
    for (let i = 0; i < pool.length; i++) this.sizes[i] = Buffer.byteLength(JSON.stringify(pool[i]));
  }

  take(n: number): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.pool[this.cursor]!;
      this.bytes += this.sizes[this.cursor]!;
      this.cursor = this.cursor + 1 === this.pool.length ? 0 : this.cursor + 1;
    }
    return out;
  }
}

/**
 * Runs the three phases (see module doc) on a fresh ledger in a temporary directory.
 *
 * @throws {Error} when an append fails or the counts do not add up.
 * @example
 * const r = await runAudit({ events: 200_000 });
 * console.log(r.events_per_sec, r.paced?.latency_ms.p99, r.pino?.events_per_sec);
 */
export async function runAudit(options: AuditOptions): Promise<AuditResult> {
  const events = options.events;
  const concurrency = options.concurrency ?? 8;
  const appendBatch = options.appendBatch ?? 1000;
  const pool = makeAuditEvents(options.poolEvents ?? Math.min(events, 50_000));
  const tmp = temporaryDirectory('audit', options.baseDir);
  try {
    const ledger = await createLedger({
      dir: tmp.dir,
      durability: { mode: 'group' },
      onNotice: () => {},
      ...(options.prepareWorkers === undefined ? {} : { prepareWorkers: options.prepareWorkers }),
      ...(options.workerYoungGenerationMb === undefined
        ? {}
        : { workerYoungGenerationMb: options.workerYoungGenerationMb }),
    });
    // Phase 0, reported apart: the first event of every data subject in the pool. Each creates
    // the subject's key file (temp + fsync + rename + fsync(dir)) inside `append`, which would
    // otherwise dominate the first seconds of phase 1 and hide the steady state.
    const firstOfSubject = new Map<string, Record<string, unknown>>();
    for (const e of pool) {
      const key = `${e.tenant_id as string}:${(e.actor as { id: string }).id}`;
      if (!firstOfSubject.has(key)) firstOfSubject.set(key, e);
    }
    const coldStart = performance.now();
    await saturate(
      ledger,
      new EventSupply([...firstOfSubject.values()]),
      firstOfSubject.size,
      concurrency,
      appendBatch,
      [],
    );
    const coldSeconds = (performance.now() - coldStart) / 1000;

    const supply = new EventSupply(pool);
    if ((options.prefill ?? 0) > 0) {
      await saturate(ledger, supply, options.prefill!, concurrency, appendBatch, []);
      supply.bytes = 0;
    }
    const callLatencies: number[] = [];
    const profile = await startProfile(options.cpuProfile);
    const start = performance.now();
    await saturate(ledger, supply, events, concurrency, appendBatch, callLatencies);
    const seconds = (performance.now() - start) / 1000;
    await profile.stop();
    const inputBytes = supply.bytes;
    const eventsPerSec = events / seconds;

    const pacedSeconds = options.pacedSeconds ?? 3;
    const paced =
      pacedSeconds > 0
        ? await runPaced(
            ledger,
            supply,
            options.pacedRate ?? eventsPerSec * (options.pacedFraction ?? 0.5),
            pacedSeconds,
          )
        : undefined;
    await ledger.close();
    // getrusage's peak only grows: read it before pino's phase, whose own buffering (hundreds of
    // MiB for a million events) would otherwise be reported as the ledger's.
    const ledgerPeakRss = peakRssBytes();

    const pinoResult =
      options.skipPino === true ? undefined : await runPino(pool, events, appendBatch, tmp.dir);
    return {
      events,
      concurrency,
      append_batch: appendBatch,
      seconds,
      events_per_sec: eventsPerSec,
      input_bytes: inputBytes,
      latency_ms: summarizeLatency(Float64Array.from(callLatencies)),
      durable: true,
      new_subjects: {
        events: firstOfSubject.size,
        seconds: coldSeconds,
        events_per_sec: firstOfSubject.size / coldSeconds,
      },
      paced,
      pino: pinoResult,
      peak_rss_bytes: ledgerPeakRss,
      process_peak_rss_bytes: peakRssBytes(),
    };
  } finally {
    tmp.remove();
  }
}

/** `concurrency` clients looping `await ledger.append(next appendBatch events)` until `events` are stored. */
async function saturate(
  ledger: Ledger,
  supply: EventSupply,
  events: number,
  concurrency: number,
  appendBatch: number,
  latencies: number[],
): Promise<void> {
  let remaining = events;
  const client = async (): Promise<void> => {
    while (remaining > 0) {
      const n = Math.min(appendBatch, remaining);
      remaining -= n;
      const chunk = supply.take(n);
      const t0 = performance.now();
      const results = await ledger.append(chunk);
      latencies.push(performance.now() - t0);
      checkStored(results, n);
    }
  };
  const clients: Promise<void>[] = [];
  for (let c = 0; c < concurrency; c++) clients.push(client());
  await Promise.all(clients);
}

function checkStored(results: readonly { status: string; leaf_index?: number }[], expected: number): void {
  if (results.length !== expected)
    throw new Error(`append: expected ${expected} results, got ${results.length}`);
  for (const r of results) {
    if (r.status !== 'stored' || r.leaf_index === undefined) {
      throw new Error(`append: expected status stored with a leaf index, got ${JSON.stringify(r)}`);
    }
  }
}

/** Appends at `rate` events/s for `seconds`, one call per tick with the events due. */
async function runPaced(
  ledger: Ledger,
  supply: EventSupply,
  rate: number,
  seconds: number,
): Promise<PacedResult> {
  const latencies: number[] = [];
  // Calls in flight are counted, not kept: an array of every call's promise (~700 a second)
  // would live until the end, promoted to the old generation, and trigger mark-compacts of its
  // own in the ledger's process.
  let inFlight = 0;
  let failure: { error: unknown } | undefined;
  let drained: (() => void) | undefined;
  const settled = (): void => {
    if (--inFlight === 0) drained?.();
  };
  let submitted = 0;
  const gc = watchGc();
  try {
    const start = performance.now();
    for (;;) {
      const elapsed = performance.now() - start;
      if (elapsed >= seconds * 1000) break;
      const due = Math.floor((rate * elapsed) / 1000) - submitted;
      if (due > 0) {
        submitted += due;
        const chunk = supply.take(due);
        const t0 = performance.now();
        inFlight++;
        ledger.append(chunk).then(
          (results) => {
            latencies.push(performance.now() - t0);
            try {
              checkStored(results, due);
            } catch (error) {
              failure ??= { error };
            }
            settled();
          },
          (error: unknown) => {
            failure ??= { error };
            settled();
          },
        );
      }
      // ~1 ms ticks: timers are the pacing clock (setTimeout(1) fires after ≥ 1 ms).
      await sleep(1);
    }
    if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    if (failure !== undefined) throw failure.error;
    const total = (performance.now() - start) / 1000;
    return {
      target_events_per_sec: rate,
      events_per_sec: submitted / total,
      events: submitted,
      latency_ms: summarizeLatency(Float64Array.from(latencies)),
      gc: await gc.stop(),
    };
  } finally {
    gc.disconnect();
  }
}

/** Collects this thread's GC pauses until `stop`. */
function watchGc(): { stop(): Promise<GcPauses>; disconnect(): void } {
  const minor: number[] = [];
  const major: number[] = [];
  const take = (entries: readonly { readonly duration: number; readonly detail?: unknown }[]): void => {
    for (const e of entries) {
      const kind = (e.detail as { kind?: number } | undefined)?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minor.push(e.duration);
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) major.push(e.duration);
    }
  };
  const observer = new PerformanceObserver((list) => take(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const stats = (pauses: number[]): PauseStats => ({
    count: pauses.length,
    mean_ms: pauses.length === 0 ? 0 : pauses.reduce((a, b) => a + b, 0) / pauses.length,
    max_ms: pauses.reduce((a, b) => Math.max(a, b), 0),
  });
  return {
    async stop() {
      // Entries are delivered asynchronously: let the last ones arrive.
      await yieldToLoop();
      take(observer.takeRecords());
      observer.disconnect();
      return { minor: stats(minor), major: stats(major) };
    },
    /** Stops observing (also after `stop`, or when the phase failed). */
    disconnect() {
      observer.disconnect();
    },
  };
}

/**
 * pino (default options: level, time, pid, hostname added to each line) into a sonic-boom file
 * destination with `sync: false`; `logger.info(event)` per event, chunks of `appendBatch` with a
 * yield between chunks; timed until the destination has written everything and closed.
 */
export async function runPino(
  pool: readonly Record<string, unknown>[],
  events: number,
  appendBatch: number,
  dir: string,
): Promise<PinoResult> {
  const file = join(dir, 'pino.log');
  const dest = pino.destination({ dest: file, sync: false });
  await new Promise<void>((resolve) => dest.once('ready', () => resolve()));
  const logger = pino(dest);
  let cursor = 0;
  const start = performance.now();
  for (let done = 0; done < events; ) {
    const n = Math.min(appendBatch, events - done);
    for (let i = 0; i < n; i++) {
      logger.info(pool[cursor]!);
      cursor = cursor + 1 === pool.length ? 0 : cursor + 1;
    }
    done += n;
    await yieldToLoop();
  }
  // `flush(cb)` may call back after the write in flight only; `end()` + 'close' is the point
  // where sonic-boom has written everything it buffered.
  await new Promise<void>((resolve, reject) => {
    dest.once('close', () => resolve());
    dest.once('error', reject);
    dest.end();
  });
  const seconds = (performance.now() - start) / 1000;
  const outputBytes = statSync(file).size;
  let minBytes = 0;
  for (let i = 0; i < events; i++) minBytes += JSON.stringify(pool[i % pool.length]).length;
  if (outputBytes < minBytes) {
    throw new Error(`pino baseline: expected at least ${minBytes} bytes in the file, got ${outputBytes}`);
  }
  return { events, seconds, events_per_sec: events / seconds, output_bytes: outputBytes, durable: false };
}
