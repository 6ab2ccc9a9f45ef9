/**
 * In-process CPU profiling of one timed section (unlike `node --cpu-prof`, which also records
 * module loading, data generation and clean-up). Writes a V8 `.cpuprofile` that Chrome DevTools,
 * speedscope or `scripts/cpuprofile-top.mjs` read.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** A running profile; `stop` writes it to the file given to {@link startProfile}. */
export interface RunningProfile {
  stop(): Promise<void>;
}

/** Starts profiling this thread, or does nothing when `file` is undefined. */
export async function startProfile(file: string | undefined): Promise<RunningProfile> {
  if (file === undefined) return { stop: async () => {} };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
