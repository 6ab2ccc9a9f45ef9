/**
 * The two durable steps of the ledger's small append-only files (`data-keys.bin`,
 * `checkpoints.log`): append an entry (fsync'd before returning, unless the log runs without
 * durability) and cut a torn last entry found at open.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';

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
