/**
 * Runs {@link UnitTask}s: on a pool of `worker_threads` workers (verify-worker.ts), or inline on
 * the calling thread with the same {@link UnitChecker}. Results come back as promises; the caller
 * awaits them in unit order, so findings are folded deterministically whatever thread finished
 * first. Each worker has at most {@link MAX_IN_FLIGHT_PER_WORKER} units queued, the next one always
 * ready when it finishes one; the caller bounds how many units it submits ahead of its fold.
 *
 * The worker pool is started on first use and kept for later runs in the process (starting two
 * workers costs ~60–150 ms from `dist`, over a second from TypeScript source): an idle worker does
 * not keep the process alive, a busy one does. Several runs may share it at once: each log is a
 * {@link LogSession} of its own in every worker.
 *
 * Not here: planning units or folding results (log-verifier.ts).
 */
import { Worker } from 'node:worker_threads';
import type { DataKey } from '@sealog/crypto-envelope';
import { VerifierError } from './errors';
import { type LogContext, UnitChecker, type UnitResult, type UnitTask } from './unit-checker';
import type { WorkerRequest, WorkerResponse } from './verify-worker';

/** Units queued per worker: one running, one waiting (no idle gap between units). */
const MAX_IN_FLIGHT_PER_WORKER = 2;

/** The units of one log. */
export interface LogSession {
  /** Checks one unit. @throws {VerifierError} as {@link UnitChecker.run}; `LOGIC` when a worker dies. */
  submit(task: UnitTask): Promise<UnitResult>;
  /** Releases the log's state in the workers (after its last unit was folded). */
  close(): void;
}

/** Where units run. */
export interface UnitRunner {
  /** Threads that check units in parallel (0: inline on the calling thread). */
  readonly threads: number;
  /** Starts a log; `keys` are the data keys the caller read (used inline; workers read their own). */
  openLog(ctx: LogContext, keys: Map<string, DataKey> | undefined): LogSession;
}

/** Runs units on the calling thread, one per event-loop turn (so progress output keeps flowing). */
export class InlineRunner implements UnitRunner {
  readonly threads = 0;

  openLog(ctx: LogContext, keys: Map<string, DataKey> | undefined): LogSession {
    const checker = new UnitChecker(ctx, keys ?? new Map());
    return {
      submit: (task) =>
        new Promise((resolve, reject) => {
          setImmediate(() => {
            try {
              resolve(checker.run(task));
            } catch (error) {
              reject(error);
            }
          });
        }),
      close: () => {},
    };
  }
}

/**
 * Starts a worker. From TypeScript source (tests, `--import tsx`) the worker file is .ts: it is
 * loaded through tsx with the `@sealog/source` condition; from `dist` it is plain JS.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./verify-worker.js', import.meta.url));
  }
  const url = new URL('./verify-worker.ts', import.meta.url).href;
  // Node 20 ignores `--import` in a worker's execArgv, so the worker registers tsx itself first.
  const tsxApi =
    typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); });`;
  // Profiling flags are kept so that `node --cpu-prof` profiles the workers too.
  const profiling = process.execArgv.filter((a) => a.startsWith('--cpu-prof'));
  return new Worker(bootstrap, { eval: true, execArgv: [...profiling, '--conditions=@sealog/source'] });
}

interface Pending {
  readonly resolve: (r: UnitResult) => void;
  readonly reject: (e: Error) => void;
}

/** One worker and the units it was given. */
class PoolWorker {
  readonly worker: Worker;
  /** Units sent and not answered, by pool-wide id. */
  readonly pending = new Map<number, Pending>();
  readonly ready: Promise<void>;
  failure: Error | undefined;

  constructor(onAnswer: () => void, onFailure: () => void) {
    this.worker = startWorker();
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.ready.catch(() => {});
    this.worker.on('message', (m: WorkerResponse) => {
      if (m.type === 'ready') {
        onReady();
        return;
      }
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.type === 'result') p.resolve(m.result);
      else p.reject(new VerifierError(m.code ?? 'IO_ERROR', m.message));
      onAnswer();
    });
    const die = (error: Error): void => {
      this.failure ??= new VerifierError('LOGIC', `verification worker failed: ${error.message}`, {
        cause: error,
      });
      onFail(this.failure);
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
      onFailure();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exited with code ${code}`)));
  }

  send(id: number, pending: Pending, m: WorkerRequest): void {
    // A busy worker keeps the process alive until it answers; an idle one does not.
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(id, pending);
    this.worker.postMessage(m);
  }
}

/** A pool of verification workers; see module doc. Get the shared one with {@link sharedWorkerRunner}. */
export class WorkerRunner implements UnitRunner {
  readonly threads: number;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: { id: number; log: number; task: UnitTask; pending: Pending }[] = [];
  private nextId = 0;
  private nextLog = 0;
  /** Set once a worker failed: the pool is not used for new runs. */
  broken = false;

  private constructor(threads: number) {
    this.threads = threads;
    for (let i = 0; i < threads; i++) {
      this.workers.push(
        new PoolWorker(
          () => this.dispatch(),
          () => {
            this.broken = true;
            this.dispatch();
          },
        ),
      );
    }
  }

  /**
   * Starts `threads` workers and waits until each listens.
   * @throws {VerifierError} `LOGIC` when a worker cannot start.
   */
  static async start(threads: number): Promise<WorkerRunner> {
    const runner = new WorkerRunner(threads);
    try {
      await Promise.all(runner.workers.map((w) => w.ready));
    } catch (error) {
      await runner.close();
      throw error;
    }
    for (const w of runner.workers) w.worker.unref();
    return runner;
  }

  openLog(ctx: LogContext): LogSession {
    const log = this.nextLog++;
    const m: WorkerRequest = { type: 'log', log, ctx };
    for (const w of this.workers) w.worker.postMessage(m);
    return {
      submit: (task) =>
        new Promise<UnitResult>((resolve, reject) => {
          this.queue.push({ id: this.nextId++, log, task, pending: { resolve, reject } });
          this.dispatch();
        }),
      close: () => {
        const bye: WorkerRequest = { type: 'forget', log };
        for (const w of this.workers) if (w.failure === undefined) w.worker.postMessage(bye);
      },
    };
  }

  /** Hands queued units to the least busy workers. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let best: PoolWorker | undefined;
      for (const w of this.workers) {
        if (w.failure !== undefined || w.pending.size >= MAX_IN_FLIGHT_PER_WORKER) continue;
        if (best === undefined || w.pending.size < best.pending.size) best = w;
      }
      if (best === undefined) {
        if (this.workers.every((w) => w.failure !== undefined)) {
          const failure = this.workers[0]?.failure ?? new VerifierError('LOGIC', 'no verification workers');
          for (const q of this.queue.splice(0)) q.pending.reject(failure);
        }
        return;
      }
      const q = this.queue.shift()!;
      best.send(q.id, q.pending, { type: 'unit', id: q.id, log: q.log, task: q.task });
    }
  }

  /** Stops the workers; units still queued fail. */
  async close(): Promise<void> {
    this.broken = true;
    for (const w of this.workers) w.failure ??= new VerifierError('LOGIC', 'verification pool closed');
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** The process's pools, by thread count. */
const shared = new Map<number, Promise<WorkerRunner>>();

/**
 * The process's pool of `threads` workers, started on first use and kept for later runs (one whose
 * worker failed is replaced).
 * @throws {VerifierError} `LOGIC` when the workers cannot start.
 */
export async function sharedWorkerRunner(threads: number): Promise<WorkerRunner> {
  const existing = shared.get(threads);
  if (existing !== undefined) {
    const runner = await existing.catch(() => undefined);
    if (runner !== undefined && !runner.broken) return runner;
    if (shared.get(threads) === existing) shared.delete(threads);
    else return sharedWorkerRunner(threads);
  }
  const started = WorkerRunner.start(threads);
  shared.set(threads, started);
  try {
    return await started;
  } catch (error) {
    if (shared.get(threads) === started) shared.delete(threads);
    throw error;
  }
}
