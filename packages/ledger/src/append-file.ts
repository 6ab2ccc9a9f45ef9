/**
 * The two durable steps of the ledger's small append-only files (`data-keys.bin`,
 * `checkpoints.log`): append an entry (fsync'd before returning, unless the log runs without
 * durability) and cut a torn last entry found at open.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Appends `bytes` to `path` (created when missing); fsyncs when `durable`. */
export function appendDurably(path: string, bytes: Uint8Array, durable: boolean): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, bytes);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * {@link appendDurably} on the libuv pool: the calling thread does not wait for the disk (an
 * fsync under load takes 1–60 ms here; a writer thread blocked that long stalls every append).
 */
export async function appendDurablyAsync(path: string, bytes: Uint8Array, durable: boolean): Promise<void> {
  const handle = await open(path, 'a');
  try {
    await handle.write(bytes);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Truncates `path` to `length` bytes and makes the new length durable. */
export function truncateDurably(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
