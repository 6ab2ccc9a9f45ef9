/**
 * A log's data keys: the append-only file `data-keys.bin` of data keys wrapped by the master key,
 * a map from key id to (open-only) key for reads, and the one key the writer seals with.
 *
 * Nonce rule (crypto-envelope README): a data key seals frames in one process lifetime only. Every
 * start (and every rotation) generates a fresh key; it is wrapped, appended and fsync'd here
 * *before* its first frame is sealed, so a durable frame always has a durable key. Keys read back
 * from the file are open-only: after a crash a torn frame may exist under any of them.
 *
 * File layout: entries `u32 length ‖ wrapped key ‖ u32 CRC-32(wrapped key)`; a torn last entry
 * (crash while appending a key that sealed nothing) is cut on open.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  createFrameSealer,
  DataKey,
  type FrameSealer,
  type Keyring,
  MAX_FRAMES_PER_KEY,
} from '@sealog/crypto-envelope';
import { fsyncDir } from '@sealog/segment-store';
import { appendDurably, truncateDurably } from './append-file';
import { LedgerError } from './errors';

/** Rotate to a new key when fewer nonces than this are left (frames may be in flight). */
const KEY_ROTATION_MARGIN = 1024;

/** File name of a log's wrapped data keys. */
export const DATA_KEYS_FILE = 'data-keys.bin';

/** The keys of one log. */
export class DataKeys {
  private readonly byId = new Map<string, DataKey>();
  private readonly path: string;
  private readonly keyring: Keyring;
  private readonly durable: boolean;
  private currentKey: DataKey | undefined;
  private currentSealer: FrameSealer | undefined;
  /** Frames the current key sealed in another thread (see {@link DataKeys.sealingKey}). */
  private framesElsewhere = 0;

  private constructor(path: string, keyring: Keyring, durable: boolean) {
    this.path = path;
    this.keyring = keyring;
    this.durable = durable;
  }

  /** Loads every wrapped key of the log at `dir` (none when the file does not exist yet). */
  static open(dir: string, keyring: Keyring, durable = true): DataKeys {
    const keys = new DataKeys(join(dir, DATA_KEYS_FILE), keyring, durable);
    let bytes: Buffer;
    try {
      bytes = readFileSync(keys.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return keys;
      throw error;
    }
    let offset = 0;
    while (offset + 4 <= bytes.length) {
      const length = bytes.readUInt32BE(offset);
      const end = offset + 4 + length + 4;
      if (length === 0 || end > bytes.length) break;
      const wrapped = bytes.subarray(offset + 4, offset + 4 + length);
      if (crc32(wrapped) !== bytes.readUInt32BE(offset + 4 + length)) break;
      const key = keyring.unwrapDataKey(wrapped);
      keys.byId.set(key.keyIdHex, key);
      offset = end;
    }
    if (offset !== bytes.length) {
      // Only the last entry can be torn (appends are fsync'd one by one before use); a key that
      // was never durable sealed nothing durable.
      truncateDurably(keys.path, offset);
    }
    return keys;
  }

  /** Number of keys known. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * The key with this id (hex), for opening frames.
   * @throws {LedgerError} `KEY_MISSING` when no such key was ever stored for this log.
   */
  get(keyIdHex: string): DataKey {
    const key = this.byId.get(keyIdHex);
    if (key === undefined) {
      throw new LedgerError('KEY_MISSING', `data key ${keyIdHex} is not in ${this.path}`);
    }
    return key;
  }

  /** Id (hex) of the key frames are sealed with now, if one was started. */
  get currentKeyIdHex(): string | undefined {
    return this.currentKey?.keyIdHex;
  }

  /**
   * The sealer of the current key, rotating to a fresh durable key when none or near its limit.
   * Use either this or {@link DataKeys.sealingKey} for a log, never both.
   */
  sealer(): FrameSealer {
    if (this.currentKey === undefined || this.framesElsewhere > 0) this.rotate();
    if (this.currentSealer === undefined) this.currentSealer = createFrameSealer(this.currentKey!);
    if (this.currentSealer.framesRemaining < KEY_ROTATION_MARGIN) {
      this.rotate();
      this.currentSealer = createFrameSealer(this.currentKey!);
    }
    return this.currentSealer;
  }

  /**
   * The current key, for sealing ONE more frame in another thread (that thread binds it to its
   * own sealer, the key's only one): counts the frame and rotates to a fresh durable key before
   * the nonce budget runs out. Never returns a key that sealed on this thread.
   */
  sealingKey(): DataKey {
    if (
      this.currentKey === undefined ||
      this.currentSealer !== undefined ||
      this.framesElsewhere >= MAX_FRAMES_PER_KEY - KEY_ROTATION_MARGIN
    ) {
      this.rotate();
    }
    this.framesElsewhere++;
    return this.currentKey!;
  }

  /** Starts a fresh key: generate, wrap, append + fsync, then allow sealing with it. */
  rotate(): void {
    const key = DataKey.generate();
    const wrapped = this.keyring.wrapDataKey(key);
    const entry = Buffer.alloc(4 + wrapped.length + 4);
    entry.writeUInt32BE(wrapped.length, 0);
    entry.set(wrapped, 4);
    entry.writeUInt32BE(crc32(wrapped), 4 + wrapped.length);
    appendDurably(this.path, entry, this.durable);
    if (this.durable && this.byId.size === 0) fsyncDir(join(this.path, '..'));
    this.byId.set(key.keyIdHex, key);
    this.currentKey = key;
    this.currentSealer = undefined;
    this.framesElsewhere = 0;
  }
}
