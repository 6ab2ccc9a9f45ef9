/**
 * The result of a verification run and the options that steer it.
 */
import type { Finding } from './finding';

/** Counts of what was verified. */
export interface VerifySummary {
  /** Logs verified (1 for a log directory). */
  readonly logs: number;
  /** Segment files read. */
  readonly segments: number;
  /** Frames (batches) read. */
  readonly frames: number;
  /** Records decrypted and decoded (0 without the master key). */
  readonly records: number;
  /** Leaves covered by the frames read (from frame headers). */
  readonly leaves: number;
  /** Segment file bytes read. */
  readonly bytes: number;
  /** Signed checkpoints verified against the data (stored and auditor's; for a bundle: its own and the auditor's proven ones). */
  readonly checkpoints: number;
  /** Whether frames were decrypted (master key available). */
  readonly keyed: boolean;
  /** Wall time, ms. */
  readonly ms: number;
  /** Set when an export bundle was verified (then `records` counts its record lines decoded). */
  readonly bundle?: BundleSummary;
}

/** What an export bundle declared and what was checked of it. */
export interface BundleSummary {
  /** Bundle format version. */
  readonly version: number;
  readonly logId: string;
  readonly origin: string;
  /** Tree size of the checkpoint the records are proven against. */
  readonly treeSize: number;
  /**
   * `pinned`: the checkpoint verified under a key given out of band (`publicKeys` / `--key`);
   * `embedded`: only under the key the bundle itself carries (anyone can re-sign a bundle).
   */
  readonly keyTrust: 'pinned' | 'embedded';
  /** Record lines read. */
  readonly records: number;
  /** Record count stated by the trailer (`undefined` when the trailer is missing). */
  readonly trailerCount: number | undefined;
  /** Record lines that carry decrypted personal fields (attested by the trailer's signature only). */
  readonly personal: number;
  /** The trailer's signed summary verified and matches the bundle (count and SHA-256). */
  readonly signed: boolean;
  /** Auditor checkpoints (`checkpoints` / `--checkpoint`) proven consistent with the bundle's. */
  readonly auditorProven: number;
  /**
   * Auditor checkpoints of smaller trees the bundle could not prove either way: no consistency
   * proof from their size and no record fixing their root (an error each).
   */
  readonly auditorUnproven: number;
  /** Consistency proofs in the header (`consistency`) that verified against the checkpoint. */
  readonly consistencyProofs: number;
}

/** What {@link verifyLogDir} and {@link verifyDataDir} return. */
export interface VerifyReport {
  /** True when no finding has severity `error`. */
  readonly ok: boolean;
  /** Findings in the order found (bounded; see `maxFindings`). */
  readonly findings: Finding[];
  readonly summary: VerifySummary;
}

/** A checkpoint the auditor kept, with the file it came from (for findings). */
export interface AuditorCheckpoint {
  /** Signed checkpoint note text, exactly as served by `GET /api/v1/logs/{id}/checkpoint`. */
  readonly note: string;
  /** Where it came from (named in findings); default `checkpoint #<i>`. */
  readonly file?: string;
}

/** Progress callback argument. */
export interface VerifyProgress {
  /** Segment bytes processed so far (all logs). */
  readonly bytes: number;
  /** Segment bytes to process (all logs). */
  readonly totalBytes: number;
}

/** Options of {@link verifyLogDir} / {@link verifyDataDir}. */
export interface VerifyOptions {
  /**
   * Master key text (64 hex digits or 44 base64 characters). Enables the keyed checks. For a data
   * directory, `<data-dir>/keys/master.key` is used when this is not given.
   */
  readonly masterKey?: string;
  /**
   * The log's checkpoint public key (C2SP note verifier key `<name>+<hash8hex>+<base64>`), pinned
   * out of band. Without it the key in `log.json` is trusted — which an attacker who can rewrite
   * the directory can also rewrite.
   */
  readonly publicKeys?: readonly string[];
  /** Checkpoints the auditor kept: the data must contain each of these trees. */
  readonly checkpoints?: readonly (string | AuditorCheckpoint)[];
  /** Do not decrypt even when a master key is available. */
  readonly keyless?: boolean;
  /** Findings kept in the report (default 1000); the rest are counted. */
  readonly maxFindings?: number;
  /**
   * Worker threads that check frames in parallel; 0 checks everything on the calling thread.
   * Default: 2 (at most the machine's cores) when the segments hold ≥ 32 MiB, else 0. The
   * workers are started on first use and kept (idle, they do not keep the process alive).
   */
  readonly threads?: number;
  /**
   * Segment bytes per unit of parallel work, ≥ 1 (default 8 MiB): a sealed segment larger than
   * twice this is split into ranges of frames (planned from its footer) so both threads stay busy.
   */
  readonly unitBytes?: number;
  /** Called after each segment with the running byte count. */
  readonly onProgress?: (progress: VerifyProgress) => void;
}
