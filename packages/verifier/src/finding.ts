/**
 * Findings: what the verifier reports about the data it checked — one per problem, each naming
 * the file, the byte offset and/or the batch and leaf index, and what was expected versus found.
 * A finding is data, never an exception. The collector keeps a bounded number in memory
 * (constant memory whatever the log size) and counts the rest.
 */

/**
 * `error`: tampering or corruption (exit 1). `warning`: explainable by a crash, nothing lost that a
 * checkpoint covers. `notice`: a state of the log the auditor must know about that is neither —
 * e.g. segments removed from the front (`SEGMENTS_TRIMMED`): what they held can no longer be checked.
 */
export type FindingSeverity = 'error' | 'warning' | 'notice';

/** Stable finding codes (the part of a finding tools branch on). */
export type FindingCode =
  | 'LOG_JSON'
  | 'KEY_MISMATCH'
  | 'NO_LOGS'
  | 'SEGMENT_MISSING'
  | 'SEGMENTS_TRIMMED'
  | 'SEGMENT_HEADER'
  | 'SEGMENT_NUMBER'
  | 'SEGMENT_LOG_ID'
  | 'SEGMENT_FIRST_KEY'
  | 'SEGMENT_CORRUPT'
  | 'SEGMENT_UNSEALED'
  | 'TORN_TAIL'
  | 'FRAME_HEADER'
  | 'FRAME_LOG_ID'
  | 'FRAME_KEY'
  | 'FRAME_LENGTH'
  | 'FRAME_FLAGS'
  | 'BATCH_INDEX'
  | 'LEAF_INDEX'
  | 'CHAIN_HASH'
  | 'BATCH_ROOT'
  | 'TILE_MISSING'
  | 'TILE_MISMATCH'
  | 'CHECKPOINTS_FILE'
  | 'CHECKPOINT_SIGNATURE'
  | 'CHECKPOINT_ORIGIN'
  | 'CHECKPOINT_ORDER'
  | 'CHECKPOINT_ROOT'
  | 'CHECKPOINT_CHAIN'
  | 'CHECKPOINT_BEYOND_DATA'
  | 'AUDITOR_CHECKPOINT'
  | 'DATA_KEYS'
  | 'DATA_KEY_MISSING'
  | 'FRAME_TAG'
  | 'FRAME_BODY'
  | 'LEAF_HASH'
  | 'RECORD_DECODE'
  | 'ENTITY_LINK'
  | 'BUNDLE_HEADER'
  | 'BUNDLE_KEY_UNPINNED'
  | 'BUNDLE_CHECKPOINT'
  | 'BUNDLE_LINE'
  | 'BUNDLE_ORDER'
  | 'BUNDLE_LOG_ID'
  | 'BUNDLE_PROOF'
  | 'BUNDLE_FIELD'
  | 'BUNDLE_FILTER'
  | 'BUNDLE_COUNT'
  | 'BUNDLE_TRUNCATED'
  | 'BUNDLE_DIGEST'
  | 'BUNDLE_SIGNATURE'
  | 'FINDINGS_TRUNCATED';

/** One problem found in the verified data. */
export interface Finding {
  readonly severity: FindingSeverity;
  readonly code: FindingCode;
  /** File the problem is in (path as given to the verifier, joined with the file name). */
  readonly file: string;
  /** Byte offset within `file`, when the problem has one (for a bundle: the line's first byte). */
  readonly offset?: number;
  /** Line number within an export bundle, 1-based. */
  readonly line?: number;
  /** Batch (frame) index, when known. */
  readonly batchIndex?: number;
  /** Leaf index, when the problem concerns one record or a tree size. */
  readonly leafIndex?: number;
  /** What a correct log holds there (hex for hashes). */
  readonly expected?: string;
  /** What was found. */
  readonly found?: string;
  /** One line, e.g. `frame 812 @ 0x1a2b3c: chain hash mismatch: expected …, got …`. */
  readonly message: string;
}

/** Default number of findings kept per report; later ones are counted only. */
export const DEFAULT_MAX_FINDINGS = 1000;

/** Formats a byte offset as `0x…` (lowercase hex). */
export function hexOffset(offset: number): string {
  return `0x${offset.toString(16)}`;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Where checks put findings: the run's {@link FindingCollector}, or a worker's per-unit list. */
export interface FindingSink {
  /** Records an `error` finding. */
  error(code: FindingCode, file: string, message: string, extra?: FindingPlace): void;
  /** Records a `warning` finding. */
  warn(code: FindingCode, file: string, message: string, extra?: FindingPlace): void;
  /** Records a `notice` finding. */
  notice(code: FindingCode, file: string, message: string, extra?: FindingPlace): void;
}

/** Collects findings with a memory bound; see module doc. */
export class FindingCollector implements FindingSink {
  /** Findings kept, in the order found. */
  readonly findings: Finding[] = [];
  /** Findings of severity `error` seen (kept or not). */
  errors = 0;
  /** Findings not kept because the bound was reached. */
  dropped = 0;
  /** Findings kept at most. */
  readonly max: number;

  constructor(max: number = DEFAULT_MAX_FINDINGS) {
    this.max = max;
  }

  /** Records one finding. */
  add(finding: Finding): void {
    if (finding.severity === 'error') this.errors += 1;
    if (this.findings.length < this.max) this.findings.push(finding);
    else this.dropped += 1;
  }

  /** Counts findings another thread found but did not keep (`errors` of them of severity `error`). */
  addDropped(count: number, errors: number): void {
    this.dropped += count;
    this.errors += errors;
  }

  /** Shorthand for an `error` finding. */
  error(code: FindingCode, file: string, message: string, extra: FindingPlace = {}): void {
    this.add({ severity: 'error', code, file, ...extra, message });
  }

  /** Shorthand for a `warning` finding. */
  warn(code: FindingCode, file: string, message: string, extra: FindingPlace = {}): void {
    this.add({ severity: 'warning', code, file, ...extra, message });
  }

  /** Shorthand for a `notice` finding. */
  notice(code: FindingCode, file: string, message: string, extra: FindingPlace = {}): void {
    this.add({ severity: 'notice', code, file, ...extra, message });
  }

  /** The kept findings, plus one `FINDINGS_TRUNCATED` entry when some were dropped. */
  result(file: string): Finding[] {
    if (this.dropped === 0) return this.findings;
    return [
      ...this.findings,
      {
        severity: 'warning',
        code: 'FINDINGS_TRUNCATED',
        file,
        message: `${this.dropped} more findings not listed (limit ${this.max})`,
      },
    ];
  }
}

/** Optional place fields of a finding. */
export interface FindingPlace {
  readonly offset?: number;
  readonly line?: number;
  readonly batchIndex?: number;
  readonly leafIndex?: number;
  readonly expected?: string;
  readonly found?: string;
}
