/**
 * Entry point of a verification worker (a `worker_threads` worker started by unit-pool.ts): checks
 * the units it is sent, one at a time in message order, with one {@link UnitChecker} per log
 * (several runs may share the pool), and posts each {@link UnitResult} back. It reads the segment
 * files, tiles and (keyed) data keys itself, so no segment bytes cross threads.
 *
 * Not here: anything that needs the log's history (unit-checker.ts says what is returned instead).
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { VerifierError } from './errors';
import { type LogContext, UnitChecker, type UnitResult, type UnitTask } from './unit-checker';

/** Main → worker messages. */
export type WorkerRequest =
  /** Units of log `log` follow. */
  | { readonly type: 'log'; readonly log: number; readonly ctx: LogContext }
  | { readonly type: 'unit'; readonly id: number; readonly log: number; readonly task: UnitTask }
  /** No more units of log `log`. */
  | { readonly type: 'forget'; readonly log: number };

/** Worker → main messages. */
export type WorkerResponse =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly result: UnitResult }
  | {
      readonly type: 'failed';
      readonly id: number;
      readonly code: VerifierError['code'] | undefined;
      readonly message: string;
    };

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  /** Per log: its checker, or why it could not be made (answered to each of its units). */
  const logs = new Map<number, UnitChecker | { failure: unknown }>();
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'log') {
      try {
        logs.set(m.log, new UnitChecker(m.ctx));
      } catch (error) {
        logs.set(m.log, { failure: error });
      }
      return;
    }
    if (m.type === 'forget') {
      logs.delete(m.log);
      return;
    }
    try {
      const checker = logs.get(m.log);
      if (checker === undefined) throw new VerifierError('LOGIC', 'logic error: unit of an unknown log');
      if (!(checker instanceof UnitChecker)) throw checker.failure;
      const reply: WorkerResponse = { type: 'result', id: m.id, result: checker.run(m.task) };
      port.postMessage(reply);
    } catch (error) {
      const reply: WorkerResponse = {
        type: 'failed',
        id: m.id,
        code: error instanceof VerifierError ? error.code : undefined,
        message: (error as Error).message,
      };
      port.postMessage(reply);
    }
  });
  const ready: WorkerResponse = { type: 'ready' };
  port.postMessage(ready);
}
