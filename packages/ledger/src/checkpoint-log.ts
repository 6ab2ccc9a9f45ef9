/**
 * A log's signed checkpoints, appended to `checkpoints.log` and fsync'd: each entry is a line
 * `checkpoint <byte length>` followed by the signed note (C2SP signed-note text, as served by
 * `GET /api/v1/logs/{id}/checkpoint`). A torn last entry (crash while appending) is cut on open.
 * Keeps the latest in memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, type NoteVerifier, openCheckpoint } from '@sealog/crypto-envelope';
import { appendDurablyAsync, truncateDurably } from './append-file';
import { LedgerError } from './errors';

/** File name of a log's checkpoints. */
export const CHECKPOINTS_FILE = 'checkpoints.log';
const ENTRY_PREFIX = 'checkpoint ';

/** A checkpoint as stored: its note text and what it says. */
export interface StoredCheckpoint {
  /** The signed note, exactly as signed. */
  readonly note: string;
  readonly checkpoint: Checkpoint;
}

/** Append-only checkpoint file of one log. */
export class CheckpointLog {
  private readonly path: string;
  private readonly durable: boolean;
  private last: StoredCheckpoint | undefined;
  private count = 0;

  private constructor(path: string, durable: boolean) {
    this.path = path;
    this.durable = durable;
  }

  /**
   * Reads the checkpoints of the log at `dir`, checking each signature with `verifier`.
   * @throws {LedgerError} `CORRUPT` when a complete entry does not verify.
   */
  static open(dir: string, verifier: NoteVerifier, durable = true): CheckpointLog {
    const log = new CheckpointLog(join(dir, CHECKPOINTS_FILE), durable);
    let bytes: Buffer;
    try {
      bytes = readFileSync(log.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return log;
      throw error;
    }
    let offset = 0;
    while (offset < bytes.length) {
      const nl = bytes.indexOf(0x0a, offset);
      if (nl < 0) break;
      const line = bytes.toString('utf8', offset, nl);
      if (!line.startsWith(ENTRY_PREFIX)) break;
      const length = Number(line.slice(ENTRY_PREFIX.length));
      if (!Number.isSafeInteger(length) || length <= 0 || nl + 1 + length > bytes.length) break;
      const note = bytes.toString('utf8', nl + 1, nl + 1 + length);
      try {
        log.last = { note, checkpoint: openCheckpoint(note, [verifier]).checkpoint };
      } catch (error) {
        throw new LedgerError(
          'CORRUPT',
          `${log.path} @ ${offset}: checkpoint does not verify: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      log.count += 1;
      offset = nl + 1 + length;
    }
    if (offset !== bytes.length) {
      truncateDurably(log.path, offset);
    }
    return log;
  }

  /** The newest checkpoint, if any. */
  get latest(): StoredCheckpoint | undefined {
    return this.last;
  }

  /** Checkpoints stored. */
  get size(): number {
    return this.count;
  }

  /**
   * Appends a signed checkpoint; resolves once it is durable, and only then is it `latest`. Calls
   * must not overlap (the log writer signs one checkpoint at a time).
   */
  async append(note: string, checkpoint: Checkpoint): Promise<void> {
    const body = Buffer.from(note, 'utf8');
    const entry = Buffer.concat([Buffer.from(`${ENTRY_PREFIX}${body.length}\n`), body]);
    await appendDurablyAsync(this.path, entry, this.durable);
    this.last = { note, checkpoint };
    this.count += 1;
  }

  /** Every stored checkpoint, oldest first (reads the file). */
  readAll(verifier: NoteVerifier): StoredCheckpoint[] {
    const out: StoredCheckpoint[] = [];
    const bytes = readFileSync(this.path);
    let offset = 0;
    while (offset < bytes.length) {
      const nl = bytes.indexOf(0x0a, offset);
      const length = Number(bytes.toString('utf8', offset + ENTRY_PREFIX.length, nl));
      const note = bytes.toString('utf8', nl + 1, nl + 1 + length);
      out.push({ note, checkpoint: openCheckpoint(note, [verifier]).checkpoint });
      offset = nl + 1 + length;
    }
    return out;
  }
}
