/**
 * Producer of verifiable export bundles (docs/FORMAT.md, "Export bundles"): the records of one log
 * that match a filter, each with its exact stored leaf bytes, leaf hash and RFC 9162 inclusion
 * proof against one signed checkpoint, plus the log's public key and a human-readable manifest —
 * written as JSON Lines (a header line, one line per record, a trailer line) so the bundle streams
 * over HTTP and verifies line by line in constant memory (`sealog verify BUNDLE`). The trailer
 * carries the record count and a note signed with the log's key over the SHA-256 of every byte
 * before it, so removing, adding or editing anything is detectable even when the trailer is
 * rewritten.
 *
 * Not here: verification (`@sealog/verifier` reads bundles with its own, independent parser: the
 * ledger must not depend on the verifier, whose tests use the ledger), HTTP, and search — this
 * scans the log's records in leaf order and filters them (an index would only pick the range).
 *
 * On request (`consistencyFrom`) the header also carries RFC 9162 §2.1.4 consistency proofs from
 * earlier tree sizes to the checkpoint's, so an auditor's kept checkpoints are proven whatever
 * records the filter selects.
 *
 * Memory: constant in the log size — one decrypted frame (inside `LogWriter.iterate`) and one
 * line at a time (plus the consistency proofs, at most {@link MAX_CONSISTENCY_PROOFS} × ~2·log2 n
 * hashes). Every string handed to the sink is the caller's to keep.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodePersonal, type PersonalFields, renderPublicRecord, type StoredRecord } from '@sealog/codec';
import { createFieldSealer, type FieldSealer, openCheckpoint, signNote } from '@sealog/crypto-envelope';
import { LedgerError } from './errors';
import type { Ledger } from './ledger';
import type { LogWriter, ReadRecord } from './log-writer';
import { personalAad } from './record-prep';

/** Bundle format version written in the header line (`"version": 1`). */
export const BUNDLE_FORMAT_VERSION = 1;
/** `type` of the first line of a bundle; a file whose first line has it is a bundle. */
export const BUNDLE_HEADER_TYPE = 'sealog-bundle';
/** First line of the signed bundle summary in the trailer (never a checkpoint: line 2 is not a number). */
export const BUNDLE_SUMMARY_LINE = 'sealog-bundle/v1';
/** Most consistency proofs one bundle carries (`consistencyFrom` entries after removing repeats). */
export const MAX_CONSISTENCY_PROOFS = 64;
/** Text shown instead of personal fields whose subject key was erased (CONTRACT.md §2). */
const ERASED = '[erased]';

/** Which records go into a bundle. Ranges are half-open: start inclusive, end exclusive. */
export interface BundleFilter {
  /** Tenant whose records are exported (required; a bundle never mixes tenants). */
  readonly tenantId: string;
  /** Log to export (default: the ledger's only log; required when it has several). */
  readonly logId?: string;
  /** First leaf index to scan, integer ≥ 0 (default 0). */
  readonly from?: number;
  /** Leaf index to stop before, integer (default and cap: the checkpoint's tree size). */
  readonly to?: number;
  /** `occurred_at` ≥ this, epoch ms. */
  readonly startTime?: number;
  /** `occurred_at` < this, epoch ms. */
  readonly endTime?: number;
  /** Actor id: matched through its blind token (`subject_token`), never stored in plaintext. */
  readonly actorId?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly action?: string;
}

/** Options of {@link exportBundle}. */
export interface BundleOptions {
  /**
   * Add the decrypted personal fields of each record (an *unverified* rendering: they are sealed
   * inside the leaf). Needs `filter.actorId`: subject keys are found by data subject, and the
   * subject is known only then. Default false: no personal data in the bundle.
   */
  readonly includePersonal?: boolean;
  /** `producer` in the header (default `@sealog/ledger <version>`). */
  readonly producer?: string;
  /** Clock for `created_at`, epoch ms (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Stops the scan (rejecting with the signal's reason) when aborted, e.g. when the HTTP client
   * went away: a filter that matches little would otherwise scan the whole log for nobody.
   */
  readonly signal?: AbortSignal;
  /**
   * Narrows the scan (e.g. from a search index): given the leaf range `[from, to)` the bundle
   * covers, resolves with ascending leaf indexes in it that include **every** record matching the
   * filter (a superset is fine: each record is still checked), or `undefined` to scan the whole
   * range. A list that misses a match makes an incomplete bundle, so callers must add whatever
   * their source has not seen yet (e.g. leaves past an index's watermark).
   */
  readonly candidates?: (from: number, to: number) => Promise<readonly number[] | undefined>;
  /**
   * Tree sizes, each an integer with 1 ≤ m ≤ the checkpoint's size, to prove the bundle's
   * checkpoint consistent from (RFC 9162 §2.1.4): typically the sizes of checkpoints the auditor
   * kept. Each becomes an entry of the header's `consistency` array (docs/FORMAT.md), with the
   * root of the first m leaves; repeats are merged, at most {@link MAX_CONSISTENCY_PROOFS} sizes.
   * Default: none (and no `consistency` key in the header).
   */
  readonly consistencyFrom?: readonly number[];
}

/** Records read per `readMany` call when reading candidates. */
const CANDIDATE_CHUNK = 256;

/** What {@link exportBundle} wrote. */
export interface BundleResult {
  readonly logId: string;
  /** Tree size of the checkpoint every record is proven against. */
  readonly treeSize: number;
  /** Record lines written. */
  readonly count: number;
  /** Records read and checked against the filter (all of `[from, to)` without candidates). */
  readonly scanned: number;
}

/**
 * Writes a bundle of the records of `filter` to `sink`, one line (ending in `\n`) per call, in leaf
 * order. Signs a checkpoint first (`ledger.checkpoint()`) so it covers every durable record, then
 * scans leaves `[from, min(to, checkpoint size))`; records appended meanwhile are not included.
 * `sink` may return a promise: the next line waits for it (backpressure).
 *
 * @throws {LedgerError} `BAD_ARGUMENT` for a bad filter (or `includePersonal` without `actorId`);
 *   `UNKNOWN_LOG`; `NOT_FOUND` when the log has no signed checkpoint (it is empty); `CORRUPT` when
 *   stored data does not check. Errors of `sink` propagate; the bundle then has no trailer, which a
 *   verifier reports as truncated.
 * @example
 * const out = createWriteStream('acme.bundle.jsonl');
 * await exportBundle(ledger, { tenantId: 'acme', startTime: Date.parse('2026-01-01') },
 *   (line) => { if (!out.write(line)) return once(out, 'drain').then(() => {}); });
 * out.end();
 */
export async function exportBundle(
  ledger: Ledger,
  filter: BundleFilter,
  sink: (chunk: string) => void | Promise<void>,
  options: BundleOptions = {},
): Promise<BundleResult> {
  checkFilter(filter);
  if (options.includePersonal === true && filter.actorId === undefined) {
    throw new LedgerError(
      'BAD_ARGUMENT',
      'exportBundle: includePersonal needs filter.actorId (subject keys are found by data subject)',
    );
  }
  const log = pickLog(ledger, filter.logId);
  await ledger.checkpoint();
  const note = log.latestCheckpoint();
  if (note === undefined) {
    throw new LedgerError('NOT_FOUND', `log ${log.logId}: no signed checkpoint yet (the log is empty)`);
  }
  const checkpoint = openCheckpoint(note, [log.noteVerifier]).checkpoint;
  const size = checkpoint.size;
  const from = filter.from ?? 0;
  const to = Math.min(filter.to ?? size, size);
  // Before the header: a size the checkpoint does not reach fails with nothing written.
  const consistency = await consistencyEntries(log, options.consistencyFrom, size);
  const tenantId = filter.tenantId;
  const token =
    filter.actorId === undefined
      ? undefined
      : Buffer.from(ledger.keyMaterial.subjectToken(tenantId, filter.actorId));
  let sealer: FieldSealer | undefined;
  let sealerKeyId: string | undefined;
  // Selecting by actor matches only records sealed under the subject's current key: an erased
  // subject (no key) matches nothing, and after an erasure only the records since then — the
  // blind token alone would still link the erased records to the person.
  let actorKeyId: string | null = null;
  if (filter.actorId !== undefined) {
    const key = await ledger.keyMaterial.subjects.get(
      ledger.keyMaterial.subjectStoreId(tenantId, filter.actorId),
    );
    if (key !== undefined) {
      actorKeyId = Buffer.from(key.keyTag).toString('hex');
      if (options.includePersonal === true) {
        sealer = createFieldSealer(key);
        sealerKeyId = actorKeyId;
      }
    }
  }
  const header = {
    type: BUNDLE_HEADER_TYPE,
    version: BUNDLE_FORMAT_VERSION,
    log_id: log.logId,
    origin: log.origin,
    public_key: log.verifierKey,
    tree_size: size,
    root_hash: Buffer.from(checkpoint.rootHash).toString('hex'),
    checkpoint: note,
    created_at: new Date((options.now ?? Date.now)()).toISOString(),
    producer: options.producer ?? defaultProducer(),
    filter: {
      tenant_id: tenantId,
      from_leaf: from,
      to_leaf: to,
      start_time: filter.startTime === undefined ? null : iso(filter.startTime),
      end_time: filter.endTime === undefined ? null : iso(filter.endTime),
      actor_token: token === undefined ? null : token.toString('hex'),
      resource_type: filter.resourceType ?? null,
      resource_id: filter.resourceId ?? null,
      action: filter.action ?? null,
    },
    personal: options.includePersonal === true,
    // Absent (not empty) when not asked for: bundles without proofs stay byte-identical to before.
    ...(consistency === undefined ? {} : { consistency }),
  };
  // The trailer signs a SHA-256 over every byte before it: completeness and the readable
  // renderings (personal fields included) are attested by the log's key, not only the leaves.
  const digest = createHash('sha256');
  const emit = (line: string): void | Promise<void> => {
    digest.update(line, 'utf8');
    return sink(line);
  };
  await emit(`${JSON.stringify(header)}\n`);
  let count = 0;
  let scanned = 0;
  const take = async (r: ReadRecord): Promise<void> => {
    if (!matches(r.record, filter, token, actorKeyId)) return;
    const proof = await log.inclusionProof(r.leafIndex, size);
    await emit(`${JSON.stringify(recordLine(count, r, proof, sealer, sealerKeyId, options))}\n`);
    count += 1;
  };
  const candidates =
    from < to && options.candidates !== undefined ? await options.candidates(from, to) : undefined;
  if (candidates !== undefined) {
    let last = from - 1;
    for (const leaf of candidates) {
      if (!Number.isSafeInteger(leaf) || leaf <= last || leaf >= to) {
        throw new LedgerError(
          'BAD_ARGUMENT',
          `exportBundle: candidates must be ascending leaf indexes in [${from}, ${to}), got ${leaf} after ${last}`,
        );
      }
      last = leaf;
    }
    for (let i = 0; i < candidates.length; i += CANDIDATE_CHUNK) {
      options.signal?.throwIfAborted();
      const reads = await log.readMany(candidates.slice(i, i + CANDIDATE_CHUNK));
      for (const r of reads) {
        scanned += 1;
        await take(r);
      }
    }
  } else if (from < to) {
    for await (const r of log.iterate(from, to)) {
      scanned += 1;
      // Checked per frame-sized step, not per record: cheap, and prompt enough.
      if ((scanned & 255) === 0) options.signal?.throwIfAborted();
      await take(r);
    }
  }
  const sha256 = digest.digest('hex');
  const summary = `${BUNDLE_SUMMARY_LINE}\norigin ${log.origin}\ntree_size ${size}\ncount ${count}\nsha256 ${sha256}\n`;
  const signature = signNote(summary, await ledger.keyMaterial.signer(log.logId, log.origin));
  await sink(`${JSON.stringify({ type: 'trailer', count, sha256, signature })}\n`);
  return { logId: log.logId, treeSize: size, count, scanned };
}

/** One entry of the header's `consistency` array (docs/FORMAT.md, "Export bundles"). */
interface ConsistencyEntry {
  readonly from_size: number;
  readonly from_root: string;
  readonly proof: string[];
}

/**
 * The header's `consistency` entries for `sizes` against the checkpoint of `size` leaves,
 * ascending, repeats merged; `undefined` when none were asked for.
 * @throws {LedgerError} `BAD_ARGUMENT` for a size that is not an integer in `[1, size]`, or too many.
 */
async function consistencyEntries(
  log: LogWriter,
  sizes: readonly number[] | undefined,
  size: number,
): Promise<ConsistencyEntry[] | undefined> {
  if (sizes === undefined || sizes.length === 0) return undefined;
  for (const m of sizes) {
    // RFC 9162 §2.1.4 proves from a non-empty tree: from size 0 there is nothing to prove.
    if (!Number.isSafeInteger(m) || m < 1 || m > size) {
      throw new LedgerError(
        'BAD_ARGUMENT',
        `exportBundle: consistencyFrom: expected tree sizes in [1, ${size}] (the checkpoint's size), got ${m}`,
      );
    }
  }
  const unique = [...new Set(sizes)].sort((a, b) => a - b);
  if (unique.length > MAX_CONSISTENCY_PROOFS) {
    throw new LedgerError(
      'BAD_ARGUMENT',
      `exportBundle: consistencyFrom: at most ${MAX_CONSISTENCY_PROOFS} sizes, got ${unique.length}`,
    );
  }
  const out: ConsistencyEntry[] = [];
  for (const m of unique) {
    const proof = await log.consistencyProof(m, size);
    const hex: string[] = new Array(proof.length);
    for (let i = 0; i < proof.length; i++) hex[i] = Buffer.from(proof[i]!).toString('hex');
    out.push({ from_size: m, from_root: Buffer.from(await log.rootAt(m)).toString('hex'), proof: hex });
  }
  return out;
}

function pickLog(ledger: Ledger, logId: string | undefined): LogWriter {
  if (logId !== undefined) return ledger.log(logId);
  const logs = ledger.logs();
  if (logs.length !== 1) {
    throw new LedgerError(
      'BAD_ARGUMENT',
      `exportBundle: filter.logId is required: the ledger has ${logs.length} logs (${logs.map((l) => l.logId).join(', ')})`,
    );
  }
  return logs[0]!;
}

function checkFilter(f: BundleFilter): void {
  if (typeof f.tenantId !== 'string' || f.tenantId.length === 0) {
    throw new LedgerError(
      'BAD_ARGUMENT',
      `exportBundle: expected filter.tenantId, got ${JSON.stringify(f.tenantId)}`,
    );
  }
  for (const name of ['from', 'to', 'startTime', 'endTime'] as const) {
    const v = f[name];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new LedgerError(
        'BAD_ARGUMENT',
        `exportBundle: expected filter.${name} to be an integer ≥ 0, got ${v}`,
      );
    }
  }
}

function matches(
  r: StoredRecord,
  f: BundleFilter,
  token: Buffer | undefined,
  actorKeyId: string | null,
): boolean {
  if (r.tenant_id !== f.tenantId) return false;
  if (f.startTime !== undefined && r.occurred_at < f.startTime) return false;
  if (f.endTime !== undefined && r.occurred_at >= f.endTime) return false;
  if (f.resourceType !== undefined && r.resource.type !== f.resourceType) return false;
  if (f.resourceId !== undefined && r.resource.id !== f.resourceId) return false;
  if (f.action !== undefined && r.action !== f.action) return false;
  if (token !== undefined && (!token.equals(r.subject_token) || r.subject_key_id !== actorKeyId))
    return false;
  return true;
}

function recordLine(
  n: number,
  r: ReadRecord,
  proof: readonly Uint8Array[],
  sealer: FieldSealer | undefined,
  sealerKeyId: string | undefined,
  options: BundleOptions,
): Record<string, unknown> {
  const inclusion: string[] = new Array(proof.length);
  for (let i = 0; i < proof.length; i++) inclusion[i] = Buffer.from(proof[i]!).toString('hex');
  const line: Record<string, unknown> = {
    type: 'record',
    n,
    log_id: r.logId,
    leaf_index: r.leafIndex,
    leaf_hash: Buffer.from(r.leafHash).toString('hex'),
    leaf: Buffer.from(r.leaf).toString('base64'),
    inclusion,
    record: renderPublicRecord(r.record),
  };
  if (options.includePersonal === true) line.personal = renderPersonal(r.record, sealer, sealerKeyId);
  return line;
}

function renderPersonal(
  r: StoredRecord,
  sealer: FieldSealer | undefined,
  sealerKeyId: string | undefined,
): unknown {
  // A subject erased and seen again has a new key: records sealed under the old one stay erased.
  if (sealer === undefined || r.subject_key_id !== sealerKeyId) return ERASED;
  let p: PersonalFields;
  try {
    p = decodePersonal(sealer.open(r.sealed_personal, personalAad(r.tenant_id, r.event_id)));
  } catch (error) {
    throw new LedgerError(
      'CORRUPT',
      `record ${r.event_id}: personal fields do not open: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const fields = r.change_fields ?? [];
  const changes: Record<string, unknown>[] = [];
  for (let i = 0; i < fields.length; i++) {
    const change: Record<string, unknown> = { field: fields[i]! };
    const pc = p.changes[i];
    if (pc?.old !== undefined) change.old = pc.old;
    if (pc?.new !== undefined) change.new = pc.new;
    changes.push(change);
  }
  return {
    actor_id: p.actor_id,
    actor_name: p.actor_name ?? null,
    actor_email: p.actor_email ?? null,
    ip: p.ip ?? null,
    user_agent: p.user_agent ?? null,
    changes,
  };
}

/** Epoch ms → RFC 3339 UTC with milliseconds (`2026-11-23T10:00:00.123Z`). */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

let producerName: string | undefined;

function defaultProducer(): string {
  if (producerName === undefined) {
    let version = 'unknown';
    try {
      // src/ and dist/ both sit one level below the package root.
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version?: unknown;
      };
      if (typeof pkg.version === 'string') version = pkg.version;
    } catch {
      // A bundled copy without package.json: the version is informative only.
    }
    producerName = `@sealog/ledger ${version}`;
  }
  return producerName;
}
