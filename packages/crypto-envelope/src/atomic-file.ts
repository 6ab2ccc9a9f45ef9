/**
 * Crash-safe file replacement and best-effort deletion for key files.
 *
 * Write: temp file in the same directory → write → fsync → rename over the target → fsync(dir).
 * After a crash the target holds either the old or the new bytes, never a mix, and once the
 * promise resolves the rename itself is durable (the directory entry was fsync'd).
 *
 * Deliberately not here: locking (one process owns a key directory) and encryption (callers
 * write already-wrapped keys). Nothing is returned except what the promises resolve to.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Permission bits for key files: owner read/write only (what ssh demands of private keys). */
export const KEY_FILE_MODE = 0o600;
/** Permission bits for key directories: owner only. */
export const KEY_DIR_MODE = 0o700;

/** Options of {@link writeFileAtomic}. */
export interface WriteAtomicOptions {
  /**
   * Flush (fdatasync) the temp file after every this many bytes instead of only at the end: a
   * large file then never has more than this much dirty data waiting, which keeps the fsyncs of
   * other files on the same filesystem (a log's group commit, on ext4 `data=ordered`) from
   * waiting behind all of it.
   */
  readonly syncEveryBytes?: number;
}

/**
 * Atomically replaces (or creates) `path` with `bytes` (or the concatenation of several parts,
 * written one after another without joining them in memory), mode 0600.
 * @throws the underlying `fs` error; the temp file is removed on failure.
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array | readonly Uint8Array[],
  options: WriteAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', KEY_FILE_MODE);
  try {
    const every = options.syncEveryBytes ?? Number.POSITIVE_INFINITY;
    let dirty = 0;
    for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) {
      for (let at = 0; at < part.length; ) {
        const n = Math.min(part.length - at, every - dirty);
        await handle.writeFile(part.subarray(at, at + n));
        at += n;
        dirty += n;
        if (dirty >= every) {
          await handle.datasync();
          dirty = 0;
        }
      }
    }
    // The data must be on disk before the rename publishes it, or a crash could leave the
    // new name pointing at an empty file.
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

/**
 * Overwrites the file with random bytes, fsyncs, unlinks it and fsyncs the directory. Returns
 * false when the file did not exist.
 *
 * What this can and cannot guarantee: the unlink is durable and the file's current blocks are
 * overwritten in place on filesystems that rewrite in place (ext4 `data=ordered`, xfs). It cannot
 * reach copies the storage stack keeps elsewhere: ext4 `data=journal` or btrfs/zfs copy-on-write
 * write the random bytes to new blocks; SSD wear-levelling remaps blocks; snapshots and backups
 * keep old copies. The key is wrapped by the master key, so a leftover copy is only readable by
 * someone who also holds the master key; real erasure of leftovers needs full-disk encryption
 * whose key is rotated, or rotating the master key after rewrapping the surviving keys.
 */
export async function shredFile(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > 0) {
      await handle.write(randomBytes(size), 0, size, 0);
      await handle.sync();
    }
  } finally {
    await handle.close();
  }
  await unlink(path);
  await syncDirectory(dirname(path));
  return true;
}

/** fsyncs a directory so that renames and unlinks in it survive a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
