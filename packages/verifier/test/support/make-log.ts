/**
 * Builds real data directories with the ledger (tests only: the verifier itself never depends on
 * it): small segments so a log spans several files, explicit checkpoints between append rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedger, exportBundle, type Ledger } from '@sealog/ledger';

/** A deterministic realistic event (CONTRACT §1). */
export function auditEvent(i: number): Record<string, unknown> {
  const actor = `user-${i % 101}`;
  return {
    tenant_id: `tenant-${i % 7}`,
    occurred_at: 1_795_428_000_000 + i * 1000,
    actor: { id: actor, type: 'user', name: `Person ${i % 101}`, email: `${actor}@example.com` },
    action: i % 3 === 0 ? 'document.update' : 'user.login',
    category: i % 3 === 0 ? 'update' : 'auth',
    resource: { type: 'document', id: `doc-${i % 13}` },
    result: 'success',
    context: {
      ip: `198.51.100.${i % 250}`,
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      request_id: `req-${i}`,
    },
    ...(i % 3 === 0 ? { changes: [{ field: 'title', old: `Title ${i - 1}`, new: `Title ${i}` }] } : {}),
    metadata: { attempt: i % 4, mfa: i % 2 === 0 },
  };
}

/** Options of {@link makeDataDir}. */
export interface MakeOptions {
  /** Append rounds; a checkpoint is signed after each. */
  readonly rounds?: number;
  /** Events per append call. */
  readonly perRound?: number;
  /** Append calls per round. */
  readonly callsPerRound?: number;
  readonly segmentBytes?: number;
  readonly batchMaxRecords?: number;
}

/** Creates a data dir at `dir` (or a temp dir) and returns it; the log is `default`. */
export async function makeDataDir(dir: string, o: MakeOptions = {}): Promise<string> {
  const ledger = await createLedger({
    dir,
    segmentBytes: o.segmentBytes ?? 64 * 1024,
    checkpointIntervalMs: 3_600_000,
    snapshotIntervalMs: 3_600_000,
    batchMaxRecords: o.batchMaxRecords ?? 64,
    durability: { mode: 'none' },
    onNotice: () => {},
  });
  let i = 0;
  const rounds = o.rounds ?? 3;
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < (o.callsPerRound ?? 4); c++) {
      const events = [];
      for (let k = 0; k < (o.perRound ?? 100); k++) events.push(auditEvent(i++));
      await ledger.append(events);
    }
    await ledger.checkpoint();
  }
  await ledger.close();
  return dir;
}

const temps: string[] = [];

/** A fresh temp directory (removed by {@link cleanTemps}). */
export function tempDir(prefix = 'sealog-verifier-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Removes every temp directory made so far. */
export function cleanTemps(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * Opens (creating) a test ledger at `dir`: small segments and frames, no timers (checkpoints only
 * when asked or on close), no fsync.
 */
export function openTestLedger(dir: string): Promise<Ledger> {
  return createLedger({
    dir,
    segmentBytes: 64 * 1024,
    checkpointIntervalMs: 3_600_000,
    snapshotIntervalMs: 3_600_000,
    batchMaxRecords: 64,
    durability: { mode: 'none' },
    onNotice: () => {},
  });
}

/** Appends `auditEvent(i)` for `from ≤ i < to` in one call. */
export async function appendRange(ledger: Ledger, from: number, to: number): Promise<void> {
  const events = [];
  for (let i = from; i < to; i++) events.push(auditEvent(i));
  await ledger.append(events);
}

/** A bundle of `filter` as text (`exportBundle`'s chunks joined). */
export async function bundleText(
  ledger: Ledger,
  filter: Parameters<typeof exportBundle>[1],
  options?: Parameters<typeof exportBundle>[3],
): Promise<string> {
  let out = '';
  await exportBundle(
    ledger,
    filter,
    (chunk) => {
      out += chunk;
    },
    options,
  );
  return out;
}

/** Reopens the ledger at `dir`, appends `count` more events and closes (signing a checkpoint). */
export async function appendMore(dir: string, count: number, from = 100_000): Promise<void> {
  const ledger = await openTestLedger(dir);
  await appendRange(ledger, from, from + count);
  await ledger.close();
}

/** What the CLI wrote, and the io object to give it. */
export interface CapturedIO {
  stdout: string;
  stderr: string;
  readonly io: {
    stdout: { write(s: string): boolean };
    stderr: { write(s: string): boolean };
    isTTY: boolean;
  };
}

/** A capture of what the CLI writes. */
export function captureIO(): CapturedIO {
  const out: CapturedIO = {
    stdout: '',
    stderr: '',
    io: {
      stdout: {
        write: (s: string) => {
          out.stdout += s;
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          out.stderr += s;
          return true;
        },
      },
      isTTY: false,
    },
  };
  return out;
}
