/**
 * Reading `checkpoints.log` (docs/FORMAT.md, "Checkpoints"): entries
 * `"checkpoint " <decimal byte length> "\n" <signed note>`, oldest first. Each note is opened
 * under the log's public key and its `sealog-chain` extension parsed. Anything that does not
 * parse or verify becomes a finding with the entry's byte offset; nothing here throws for bad data.
 *
 * The whole file is read at once: checkpoints are small (~250 bytes each) and only their parsed
 * size, root and chain (≈ 100 bytes each) are kept.
 */
import { type Checkpoint, type NoteVerifier, openCheckpoint } from '@sealog/crypto-envelope';
import { type FindingCollector, hexOffset } from './finding';

/** File name of a log's checkpoints. */
export const CHECKPOINTS_FILE = 'checkpoints.log';
/** Prefix of each entry's length line. */
const ENTRY_PREFIX = 'checkpoint ';
/** Prefix of the chain-hash extension line. */
export const CHAIN_EXTENSION_PREFIX = 'sealog-chain ';

/** A verified checkpoint and where it came from. */
export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** File it was read from. */
  readonly file: string;
  /** Byte offset of its entry in `file` (0 for auditor files). */
  readonly offset: number;
  /** The `sealog-chain` extension: last batch covered and its chain hash, when present. */
  readonly chain: { readonly batchIndex: number; readonly hash: Uint8Array } | undefined;
  /** True for a checkpoint the auditor supplied. */
  readonly auditor: boolean;
}

/** Parses the `sealog-chain <batch> <base64>` extension line, if any. */
export function parseChainExtension(
  checkpoint: Checkpoint,
): { batchIndex: number; hash: Uint8Array } | undefined | 'malformed' {
  for (const line of checkpoint.extensions) {
    if (!line.startsWith(CHAIN_EXTENSION_PREFIX)) continue;
    const m = /^sealog-chain (0|[1-9][0-9]*) ([A-Za-z0-9+/]{43}=)$/.exec(line);
    if (m === null) return 'malformed';
    const batchIndex = Number(m[1]);
    const hash = new Uint8Array(Buffer.from(m[2]!, 'base64'));
    if (!Number.isSafeInteger(batchIndex) || hash.length !== 32) return 'malformed';
    return { batchIndex, hash };
  }
  return undefined;
}

/**
 * Splits the bytes of `checkpoints.log` into entries and opens each; reports bad entries.
 * `origin` is the log's origin: a checkpoint for another origin is a finding.
 */
export function readCheckpointFile(
  bytes: Buffer,
  file: string,
  verifiers: readonly NoteVerifier[],
  origin: string | undefined,
  findings: FindingCollector,
): VerifiedCheckpoint[] {
  const out: VerifiedCheckpoint[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const nl = bytes.indexOf(0x0a, offset);
    const line = nl < 0 ? '' : bytes.toString('latin1', offset, nl);
    const length = line.startsWith(ENTRY_PREFIX) ? Number(line.slice(ENTRY_PREFIX.length)) : Number.NaN;
    if (nl < 0 || !/^checkpoint [1-9][0-9]*$/.test(line) || !Number.isSafeInteger(length)) {
      findings.error(
        'CHECKPOINTS_FILE',
        file,
        `entry @ ${hexOffset(offset)}: expected "checkpoint <length>\\n", got ${JSON.stringify(bytes.toString('latin1', offset, Math.min(bytes.length, offset + 24)))}`,
        { offset },
      );
      return out;
    }
    const end = nl + 1 + length;
    if (end > bytes.length) {
      // The ledger cuts such an entry on its next start (a crash while appending): explainable,
      // but the checkpoint it held is gone, so it proves nothing.
      findings.warn(
        'CHECKPOINTS_FILE',
        file,
        `entry @ ${hexOffset(offset)}: torn last entry: claims ${length} bytes, ${bytes.length - nl - 1} present`,
        { offset },
      );
      return out;
    }
    const note = bytes.toString('utf8', nl + 1, end);
    const v = openVerified(note, file, offset, verifiers, origin, findings, false);
    if (v !== undefined) out.push(v);
    offset = end;
  }
  return out;
}

/** Opens one signed checkpoint note; reports and returns `undefined` when it does not verify. */
export function openVerified(
  note: string,
  file: string,
  offset: number,
  verifiers: readonly NoteVerifier[],
  origin: string | undefined,
  findings: FindingCollector,
  auditor: boolean,
): VerifiedCheckpoint | undefined {
  const at = auditor ? `${file}` : `${file}: entry @ ${hexOffset(offset)}`;
  const place = auditor ? {} : { offset };
  const code = auditor ? 'AUDITOR_CHECKPOINT' : 'CHECKPOINT_SIGNATURE';
  if (verifiers.length === 0) {
    findings.error(code, file, `${at}: no public key to verify the checkpoint with`, place);
    return undefined;
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(note, verifiers).checkpoint;
  } catch (error) {
    findings.error(
      code,
      file,
      `${at}: checkpoint does not verify under the log's public key (${verifiers.map((v) => v.verifierKey).join(', ')}): ${(error as Error).message}`,
      place,
    );
    return undefined;
  }
  if (origin !== undefined && checkpoint.origin !== origin) {
    findings.error(
      auditor ? 'AUDITOR_CHECKPOINT' : 'CHECKPOINT_ORIGIN',
      file,
      `${at}: checkpoint origin mismatch: expected ${JSON.stringify(origin)}, got ${JSON.stringify(checkpoint.origin)}`,
      { ...place, expected: origin, found: checkpoint.origin },
    );
    return undefined;
  }
  const chain = parseChainExtension(checkpoint);
  if (chain === 'malformed') {
    findings.error('CHECKPOINT_CHAIN', file, `${at}: malformed sealog-chain extension line`, place);
    return undefined;
  }
  return { checkpoint, file, offset, chain, auditor };
}
