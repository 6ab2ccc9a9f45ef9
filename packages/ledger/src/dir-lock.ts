/**
 * One process per data directory: `<dir>/LOCK` holds the owner's pid. Two ledgers appending to
 * the same logs would interleave frames and each would "repair" the other's unsynced tail on
 * open — so a second open (another process, or this one twice) fails with `LOCKED` instead.
 *
 * A lock left by a process that died (kill -9, power loss) is taken over: its pid is no longer
 * alive, or it is our own pid from an earlier life (pid 1 in a container) not held in this
 * process. Limits: pids are checked on this host only (a directory shared over the network
 * between hosts is not protected), and a dead owner's pid reused by an unrelated live process
 * makes the lock look held (the message names the pid and the file to remove).
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerError } from './errors';

/** Lock file name inside the data directory. */
export const LOCK_FILE = 'LOCK';

/** Data directories (resolved paths) locked by this process. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of `dir` (which must exist); returns its release function.
 * @throws {LedgerError} `LOCKED` when a live process (or this one) holds it.
 */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  if (held.has(path)) {
    throw new LedgerError('LOCKED', `data directory ${dir} is already open in this process`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      held.add(path);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.delete(path);
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    } catch {
      // Vanished or unreadable: treat as stale.
    }
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new LedgerError(
        'LOCKED',
        `data directory ${dir} is in use by process ${owner} (stop it first; if that process is not sealog, remove ${path})`,
      );
    }
    // Stale: its owner is gone. Remove and retry once (another process may race us to it).
    rmSync(path, { force: true });
  }
  throw new LedgerError(
    'LOCKED',
    `data directory ${dir}: could not take ${path} (another process keeps taking it)`,
  );
}
