/**
 * Verifies an export bundle (docs/FORMAT.md, "Export bundles") offline, with no data directory:
 * the checkpoint's signature (under a pinned key, or only the embedded one — said which), then
 * the header's consistency proofs (RFC 9162 §2.1.4) from earlier tree sizes, then line by line every
 * record's leaf hash, inclusion proof, leaf index order, decoding, human fields and filter, and at
 * the end the trailer's count (a missing trailer is truncation).
 *
 * Streaming, constant memory: the file is read in chunks and split into lines here; one line is
 * held at a time (at most {@link MAX_BUNDLE_LINE_BYTES}). Problems in the bundle are findings,
 * never exceptions; only unreadable files and bad pinned keys throw.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { decodeRecord, type StoredRecord } from '@sealog/codec';
import {
  type Checkpoint,
  NoteVerifier,
  openCheckpoint,
  openNote,
  parseCheckpoint,
} from '@sealog/crypto-envelope';
import { hashLeaf, verifyConsistency, verifyInclusion } from '@sealog/merkle';
import {
  BUNDLE_SUMMARY_LINE,
  type BundleConsistencyProof,
  type BundleHeader,
  firstDifference,
  MAX_BUNDLE_LINE_BYTES,
  parseBundleConsistency,
  parseBundleHeader,
  renderRecord,
} from './bundle-format';
import { VerifierError } from './errors';
import { DEFAULT_MAX_FINDINGS, FindingCollector, type FindingPlace, toHex } from './finding';
import { prefixRootFromInclusion } from './prefix-root';
import type { AuditorCheckpoint, VerifyOptions, VerifyReport } from './report';

const HEX_HASH = /^[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NEWLINE = 0x0a;

/**
 * Verifies the export bundle at `path`. `options.publicKeys` pins the log's key; without it the
 * checkpoint is verified under the key the bundle carries and a `BUNDLE_KEY_UNPINNED` warning
 * says so. `options.checkpoints` (checkpoints the auditor kept) must be of the same log and key and
 * consistent with the bundle's checkpoint as far as the bundle can prove it (README, "Bundles
 * against kept checkpoints"). `masterKey` and `keyless` do not apply to bundles and are ignored.
 *
 * @throws {VerifierError} `IO_ERROR` when the file cannot be read; `BAD_KEY` for a pinned key that
 *   does not parse. Everything wrong inside the bundle is a finding.
 * @example
 * const report = await verifyBundle('acme.bundle.jsonl', { publicKeys: [pinnedKey] });
 * if (!report.ok) for (const f of report.findings) console.log(f.message);
 */
export async function verifyBundle(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const pinned: NoteVerifier[] = [];
  for (const key of options.publicKeys ?? []) {
    try {
      pinned.push(NoteVerifier.parse(key));
    } catch (error) {
      throw new VerifierError('BAD_KEY', `public key ${JSON.stringify(key)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  let totalBytes: number;
  try {
    totalBytes = statSync(path).size;
  } catch (error) {
    throw new VerifierError('IO_ERROR', `${path}: ${(error as Error).message}`, { cause: error });
  }
  const auditor = (options.checkpoints ?? []).map((c, i) =>
    typeof c === 'string' ? { note: c, file: `checkpoint #${i + 1}` } : c,
  );
  const check = new BundleCheck(
    path,
    pinned,
    auditor,
    new FindingCollector(options.maxFindings ?? DEFAULT_MAX_FINDINGS),
  );
  let offset = 0;
  let lineNo = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let oversized = false;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
        const part = chunk.subarray(start, nl);
        lineNo += 1;
        const lineBytes = pendingBytes + part.length;
        if (oversized || lineBytes > MAX_BUNDLE_LINE_BYTES) check.oversized(lineNo, offset, lineBytes);
        else check.line(lineNo, offset, pendingBytes === 0 ? part : Buffer.concat([...pending, part]), true);
        offset += lineBytes + 1;
        pending = [];
        pendingBytes = 0;
        oversized = false;
        start = nl + 1;
      }
      if (start < chunk.length) {
        pendingBytes += chunk.length - start;
        // Past the limit, stop keeping bytes: only the length is reported.
        if (pendingBytes > MAX_BUNDLE_LINE_BYTES) {
          oversized = true;
          pending = [];
        } else pending.push(chunk.subarray(start));
      }
      options.onProgress?.({ bytes: offset + pendingBytes, totalBytes });
    }
  } catch (error) {
    throw new VerifierError('IO_ERROR', `${path}: cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (pendingBytes > 0) {
    lineNo += 1;
    check.unterminated(lineNo, offset, pendingBytes);
    if (!oversized) check.line(lineNo, offset, Buffer.concat(pending), false);
  }
  return check.finish(offset + pendingBytes, Math.round(performance.now() - started));
}

/** State of one bundle's verification, fed line by line. */
class BundleCheck {
  private readonly file: string;
  private readonly pinned: readonly NoteVerifier[];
  private readonly findings: FindingCollector;
  private header: BundleHeader | undefined;
  /** Set once the header could not be read: nothing after it can be checked. */
  private dead = false;
  private checkpoint: Checkpoint | undefined;
  private checkpointVerified = false;
  private keyTrust: 'pinned' | 'embedded' = 'embedded';
  private actorToken: Buffer | undefined;
  private records = 0;
  private decoded = 0;
  private personal = 0;
  private lastLeaf = -1;
  private trailerCount: number | undefined;
  private trailerLine = 0;
  private signed = false;
  private verifiers: readonly NoteVerifier[] = [];
  /** SHA-256 over every byte before the trailer, newlines included. */
  private readonly digest = createHash('sha256');
  private readonly auditor: readonly AuditorCheckpoint[];
  /** Auditor checkpoints of smaller trees, waiting for a record whose audit path fixes their root. */
  private pending: { readonly file: string; readonly checkpoint: Checkpoint }[] = [];
  private auditorProven = 0;
  /** The header's consistency proofs by `from_size`, each with whether it verified. */
  private readonly consistency = new Map<number, { proof: BundleConsistencyProof; ok: boolean }>();
  private consistencyOk = 0;

  constructor(
    file: string,
    pinned: readonly NoteVerifier[],
    auditor: readonly AuditorCheckpoint[],
    findings: FindingCollector,
  ) {
    this.file = file;
    this.pinned = pinned;
    this.auditor = auditor;
    this.findings = findings;
  }

  private error(code: Parameters<FindingCollector['error']>[0], message: string, place: FindingPlace): void {
    this.findings.error(code, this.file, message, place);
  }

  oversized(line: number, offset: number, bytes: number): void {
    this.error(
      'BUNDLE_LINE',
      `line ${line}: ${bytes} bytes, longer than the limit of ${MAX_BUNDLE_LINE_BYTES}`,
      {
        line,
        offset,
      },
    );
    if (line === 1) this.dead = true;
    else this.records += 1;
  }

  unterminated(line: number, offset: number, bytes: number): void {
    this.error(
      'BUNDLE_TRUNCATED',
      `line ${line}: last line has no newline (${bytes} bytes): the bundle is truncated`,
      { line, offset },
    );
  }

  /** One line without its newline; `terminated` when a newline followed it. */
  line(line: number, offset: number, bytes: Buffer, terminated: boolean): void {
    if (this.dead) return;
    const text = bytes.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.error('BUNDLE_LINE', `line ${line}: not JSON: ${(error as Error).message}`, { line, offset });
      this.hash(bytes, terminated);
      // A record line that no longer parses still takes its place, so later numbers line up.
      if (line === 1) this.dead = true;
      else this.records += 1;
      return;
    }
    if (line === 1) {
      this.hash(bytes, terminated);
      this.readHeader(value, offset);
      return;
    }
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    if (this.trailerCount !== undefined) {
      this.error('BUNDLE_LINE', `line ${line}: content after the trailer (line ${this.trailerLine})`, {
        line,
        offset,
      });
      return;
    }
    if (type === 'trailer') {
      this.readTrailer(value as Record<string, unknown>, line, offset);
      return;
    }
    this.hash(bytes, terminated);
    if (type !== 'record') {
      this.error(
        'BUNDLE_LINE',
        `line ${line}: expected a "record" or "trailer" line, got type ${JSON.stringify(type)}`,
        {
          line,
          offset,
        },
      );
      this.records += 1;
      return;
    }
    this.readRecord(value as Record<string, unknown>, line, offset);
  }

  private readHeader(value: unknown, offset: number): void {
    const place = { line: 1, offset };
    const h = parseBundleHeader(value);
    if ('error' in h) {
      this.error('BUNDLE_HEADER', `line 1: bundle header: ${h.error}`, place);
      this.dead = true;
      return;
    }
    this.header = h;
    const consistency = parseBundleConsistency((value as Record<string, unknown>).consistency, h.treeSize);
    if (consistency !== undefined && 'error' in consistency) {
      // Not fatal: the records can still be checked; kept checkpoints then stay unproven.
      this.error('BUNDLE_HEADER', `line 1: bundle header: ${consistency.error}`, place);
    } else {
      for (const p of consistency ?? []) this.consistency.set(p.fromSize, { proof: p, ok: false });
    }
    if (h.filter.actorToken !== undefined) this.actorToken = Buffer.from(h.filter.actorToken, 'hex');
    let verifiers: readonly NoteVerifier[];
    if (this.pinned.length > 0) {
      verifiers = this.pinned;
      this.keyTrust = 'pinned';
      if (!this.pinned.some((v) => v.verifierKey === h.publicKey)) {
        this.error(
          'KEY_MISMATCH',
          `line 1: the bundle's public key is not a pinned key: expected ${this.pinned.map((v) => v.verifierKey).join(' or ')}, got ${h.publicKey}`,
          { ...place, expected: this.pinned[0]!.verifierKey, found: h.publicKey },
        );
      }
    } else {
      try {
        verifiers = [NoteVerifier.parse(h.publicKey)];
      } catch (error) {
        this.error('BUNDLE_HEADER', `line 1: public_key does not parse: ${(error as Error).message}`, place);
        verifiers = [];
      }
      this.findings.warn(
        'BUNDLE_KEY_UNPINNED',
        this.file,
        `line 1: checkpoint verified only under the key embedded in the bundle (${h.publicKey}); pin the log's key (--key) to detect a re-signed bundle`,
        place,
      );
    }
    this.verifiers = verifiers;
    try {
      this.checkpoint = openCheckpoint(h.checkpoint, verifiers).checkpoint;
      this.checkpointVerified = true;
    } catch (error) {
      this.error(
        'BUNDLE_CHECKPOINT',
        `line 1: checkpoint does not verify under ${this.keyTrust === 'pinned' ? 'the pinned' : 'the embedded'} key (${verifiers.map((v) => v.verifierKey).join(', ')}): ${(error as Error).message}`,
        place,
      );
      // Keep checking proofs against the unverified tree: findings then say what else differs.
      try {
        const split = h.checkpoint.lastIndexOf('\n\n');
        this.checkpoint = parseCheckpoint(split < 0 ? h.checkpoint : h.checkpoint.slice(0, split + 1));
      } catch {
        this.checkpoint = undefined;
      }
    }
    const cp = this.checkpoint;
    if (cp === undefined) return;
    if (cp.origin !== h.origin) {
      this.error(
        'BUNDLE_CHECKPOINT',
        `line 1: checkpoint origin: expected ${JSON.stringify(h.origin)}, got ${JSON.stringify(cp.origin)}`,
        {
          ...place,
          expected: h.origin,
          found: cp.origin,
        },
      );
    }
    if (cp.size !== h.treeSize) {
      this.error(
        'BUNDLE_HEADER',
        `line 1: tree_size: checkpoint says ${cp.size}, header says ${h.treeSize}`,
        {
          ...place,
          expected: String(cp.size),
          found: String(h.treeSize),
        },
      );
    }
    const root = toHex(cp.rootHash);
    if (root !== h.rootHash) {
      this.error('BUNDLE_HEADER', `line 1: root_hash: checkpoint says ${root}, header says ${h.rootHash}`, {
        ...place,
        expected: root,
        found: h.rootHash,
      });
    }
    this.checkConsistency(cp, place);
    this.openAuditors(h, cp);
  }

  /**
   * Each consistency proof of the header must lead from its stated root at `from_size` to the
   * checkpoint's root (RFC 9162 §2.1.4.2), whether or not the auditor kept a checkpoint of that
   * size: an edited proof or root is an error either way.
   */
  private checkConsistency(cp: Checkpoint, place: FindingPlace): void {
    for (const c of this.consistency.values()) {
      const p = c.proof;
      c.ok = safeConsistency(p.fromSize, cp.size, p.proof, p.fromRoot, cp.rootHash);
      if (c.ok) this.consistencyOk += 1;
      else {
        this.error(
          'BUNDLE_PROOF',
          `line 1: consistency proof from size ${p.fromSize} (${p.proof.length} hashes) does not lead from the stated root ${toHex(p.fromRoot)} to the checkpoint root ${toHex(cp.rootHash)} at tree size ${cp.size} (an edited proof or root)`,
          { ...place, leafIndex: p.fromSize },
        );
      }
    }
  }

  /**
   * The auditor's checkpoints against the bundle's (`cp`): same origin and key; a tree of the same
   * size must have the same root; a larger tree cannot be in the bundle's; a smaller one is proven
   * by the header's consistency proof from its size, else when a record's audit path fixes its
   * root (see prefix-root.ts), else it stays unproven (an error at the end).
   */
  private openAuditors(h: BundleHeader, cp: Checkpoint): void {
    for (const a of this.auditor) {
      const file = a.file ?? 'checkpoint';
      let mine: Checkpoint;
      try {
        mine = openCheckpoint(a.note, this.verifiers).checkpoint;
      } catch (error) {
        this.findings.error(
          'AUDITOR_CHECKPOINT',
          file,
          `${file}: does not verify under the bundle's ${this.keyTrust} key (${this.verifiers.map((v) => v.verifierKey).join(', ')}): a checkpoint of another log or key: ${(error as Error).message}`,
        );
        continue;
      }
      const at = `${file}: your tree of ${mine.size} leaves`;
      if (mine.origin !== h.origin) {
        this.findings.error(
          'AUDITOR_CHECKPOINT',
          file,
          `${file}: origin ${JSON.stringify(mine.origin)} is not the bundle's ${JSON.stringify(h.origin)}`,
          {
            expected: h.origin,
            found: mine.origin,
          },
        );
      } else if (mine.size === 0) {
        this.auditorProven += 1;
      } else if (mine.size === cp.size) {
        if (toHex(mine.rootHash) === toHex(cp.rootHash)) this.auditorProven += 1;
        else {
          this.findings.error(
            'AUDITOR_CHECKPOINT',
            file,
            `${at} and the bundle's have the same size but different roots (a forked or rewritten log): yours ${toHex(mine.rootHash)}, the bundle's ${toHex(cp.rootHash)}`,
            { leafIndex: mine.size, expected: toHex(mine.rootHash), found: toHex(cp.rootHash) },
          );
        }
      } else if (mine.size > cp.size) {
        this.findings.error(
          'AUDITOR_CHECKPOINT',
          file,
          `${at} is larger than the bundle's tree of ${cp.size}: the bundle cannot show that the log still contains it (truncation or rollback — or a bundle made before your checkpoint: ask for a fresh one)`,
          { leafIndex: cp.size, expected: String(mine.size), found: String(cp.size) },
        );
      } else {
        const c = this.consistency.get(mine.size);
        if (c === undefined) this.pending.push({ file, checkpoint: mine });
        else this.proveByConsistency(file, mine, cp, c.proof, c.ok);
      }
    }
  }

  /**
   * An auditor's tree of `mine.size` < `cp.size` leaves against the header's consistency proof from
   * that size: proven iff the proof leads from the auditor's root to the bundle's.
   */
  private proveByConsistency(
    file: string,
    mine: Checkpoint,
    cp: Checkpoint,
    p: BundleConsistencyProof,
    proofOk: boolean,
  ): void {
    if (safeConsistency(mine.size, cp.size, p.proof, mine.rootHash, cp.rootHash)) {
      this.auditorProven += 1;
      return;
    }
    const at = `${file}: your tree of ${mine.size} leaves`;
    const place = { line: 1, leafIndex: mine.size, expected: toHex(mine.rootHash), found: toHex(p.fromRoot) };
    if (proofOk) {
      // The proof holds for the root the bundle states, so that root is the one its log had.
      this.findings.error(
        'AUDITOR_CHECKPOINT',
        file,
        `${at} is not a prefix of the bundle's tree of ${cp.size}: the bundle's consistency proof from size ${mine.size} fixes that tree's root as ${toHex(p.fromRoot)}, your checkpoint says ${toHex(mine.rootHash)} (a forked or rewritten log)`,
        place,
      );
    } else {
      this.findings.error(
        'AUDITOR_CHECKPOINT',
        file,
        `${at} is NOT proven: the bundle's consistency proof from size ${mine.size} does not lead from your root ${toHex(mine.rootHash)} to the bundle's root ${toHex(cp.rootHash)} at size ${cp.size} (an edited proof, or a forked log)`,
        place,
      );
    }
  }

  /** A record whose inclusion proof verified: does its audit path fix a pending auditor tree? */
  private proveAuditors(
    leafHash: Uint8Array,
    leafIndex: number,
    proof: readonly Uint8Array[],
    at: string,
    line: number,
    offset: number,
  ): void {
    const cp = this.checkpoint!;
    this.pending = this.pending.filter((p) => {
      const mine = p.checkpoint;
      const root = prefixRootFromInclusion(leafHash, leafIndex, cp.size, proof, mine.size);
      if (root === undefined) return true;
      if (toHex(root) === toHex(mine.rootHash)) this.auditorProven += 1;
      else {
        this.findings.error(
          'AUDITOR_CHECKPOINT',
          p.file,
          `${p.file}: your tree of ${mine.size} leaves is not a prefix of the bundle's tree of ${cp.size}: the audit path of ${at} fixes its root as ${toHex(root)}, your checkpoint says ${toHex(mine.rootHash)} (a forked or rewritten log)`,
          { line, offset, leafIndex: mine.size, expected: toHex(mine.rootHash), found: toHex(root) },
        );
      }
      return false;
    });
  }

  private readRecord(v: Record<string, unknown>, line: number, offset: number): void {
    const n = this.records;
    this.records += 1;
    const leafIndex = v.leaf_index;
    const at = `record #${n} (line ${line}${typeof leafIndex === 'number' ? `, leaf ${leafIndex}` : ''})`;
    const place = (extra: FindingPlace = {}): FindingPlace => ({
      line,
      offset,
      ...(typeof leafIndex === 'number' && Number.isSafeInteger(leafIndex) ? { leafIndex } : {}),
      ...extra,
    });
    const bad = (message: string): void => this.error('BUNDLE_LINE', `${at}: ${message}`, place());
    if (v.n !== n) {
      this.error(
        'BUNDLE_ORDER',
        `${at}: record number: expected #${n}, got ${JSON.stringify(v.n)} (a record was removed, added or moved)`,
        place({ expected: String(n), found: JSON.stringify(v.n) }),
      );
    }
    const h = this.header!;
    if (v.log_id !== h.logId) {
      this.error(
        'BUNDLE_LOG_ID',
        `${at}: log id: expected ${JSON.stringify(h.logId)}, got ${JSON.stringify(v.log_id)}`,
        place({ expected: h.logId, found: String(v.log_id) }),
      );
    }
    if (typeof leafIndex !== 'number' || !Number.isSafeInteger(leafIndex) || leafIndex < 0) {
      bad(`leaf_index: expected an integer ≥ 0, got ${JSON.stringify(leafIndex)}`);
      return;
    }
    if (leafIndex <= this.lastLeaf) {
      this.error(
        'LEAF_INDEX',
        `${at}: leaf index ${leafIndex} not after the previous record's ${this.lastLeaf} (records reordered or duplicated)`,
        place({ expected: `> ${this.lastLeaf}`, found: String(leafIndex) }),
      );
    }
    this.lastLeaf = Math.max(this.lastLeaf, leafIndex);
    const size = this.checkpoint?.size ?? h.treeSize;
    if (leafIndex >= size) {
      this.error(
        'LEAF_INDEX',
        `${at}: leaf index ${leafIndex} beyond the checkpoint's tree size ${size}`,
        place({ expected: `< ${size}`, found: String(leafIndex) }),
      );
    }
    if (leafIndex < h.filter.fromLeaf || leafIndex >= h.filter.toLeaf) {
      this.error(
        'BUNDLE_FILTER',
        `${at}: leaf index outside the bundle's range [${h.filter.fromLeaf}, ${h.filter.toLeaf})`,
        place(),
      );
    }
    if (typeof v.leaf !== 'string' || !BASE64.test(v.leaf) || v.leaf.length === 0) {
      bad('leaf: expected non-empty base64 bytes');
      return;
    }
    const leaf = new Uint8Array(Buffer.from(v.leaf, 'base64'));
    const leafHash = hashLeaf(leaf);
    const computed = toHex(leafHash);
    if (v.leaf_hash !== computed) {
      this.error(
        'LEAF_HASH',
        `${at}: leaf hash mismatch: SHA-256(0x00 ‖ leaf) is ${computed}, the line says ${JSON.stringify(v.leaf_hash)}`,
        place({ expected: computed, found: String(v.leaf_hash) }),
      );
    }
    const proof = proofOf(v.inclusion);
    if (proof === undefined) bad('inclusion: expected an array of 64-hex-digit hashes');
    else if (this.checkpoint !== undefined) {
      let ok = false;
      try {
        ok = verifyInclusion(leafHash, leafIndex, this.checkpoint.size, proof, this.checkpoint.rootHash);
      } catch {
        ok = false;
      }
      if (!ok) {
        this.error(
          'BUNDLE_PROOF',
          `${at}: inclusion proof (${proof.length} hashes) does not lead from the leaf to the checkpoint root ${toHex(this.checkpoint.rootHash)} at tree size ${this.checkpoint.size}`,
          place(),
        );
      } else if (this.pending.length > 0 && this.checkpointVerified) {
        this.proveAuditors(leafHash, leafIndex, proof, at, line, offset);
      }
    }
    let record: StoredRecord;
    try {
      record = decodeRecord(leaf);
    } catch (error) {
      this.error(
        'RECORD_DECODE',
        `${at}: leaf bytes do not decode as a record: ${(error as Error).message}`,
        place(),
      );
      return;
    }
    this.decoded += 1;
    const diff = firstDifference(renderRecord(record), v.record, 'record');
    if (diff !== undefined) {
      this.error(
        'BUNDLE_FIELD',
        `${at}: ${diff.path}: the leaf holds ${diff.expected}, the readable field says ${diff.found}`,
        place({ expected: diff.expected, found: diff.found }),
      );
    }
    this.checkFilter(record, at, place());
    if (v.personal !== undefined) this.personal += 1;
  }

  private checkFilter(r: StoredRecord, at: string, place: FindingPlace): void {
    const f = this.header!.filter;
    const fail = (what: string): void =>
      this.error('BUNDLE_FILTER', `${at}: outside the bundle's filter: ${what}`, place);
    if (r.tenant_id !== f.tenantId)
      fail(`tenant ${JSON.stringify(r.tenant_id)}, filter ${JSON.stringify(f.tenantId)}`);
    if (f.startTime !== undefined && r.occurred_at < f.startTime) {
      fail(`occurred_at ${new Date(r.occurred_at).toISOString()} before start_time`);
    }
    if (f.endTime !== undefined && r.occurred_at >= f.endTime) {
      fail(`occurred_at ${new Date(r.occurred_at).toISOString()} not before end_time`);
    }
    if (f.resourceType !== undefined && r.resource.type !== f.resourceType)
      fail(`resource type ${JSON.stringify(r.resource.type)}`);
    if (f.resourceId !== undefined && r.resource.id !== f.resourceId)
      fail(`resource id ${JSON.stringify(r.resource.id)}`);
    if (f.action !== undefined && r.action !== f.action) fail(`action ${JSON.stringify(r.action)}`);
    if (this.actorToken !== undefined && !this.actorToken.equals(r.subject_token)) {
      fail(`subject token ${toHex(r.subject_token)}, filter ${f.actorToken}`);
    }
  }

  private hash(bytes: Buffer, terminated: boolean): void {
    this.digest.update(bytes);
    if (terminated) this.digest.update('\n');
  }

  private readTrailer(v: Record<string, unknown>, line: number, offset: number): void {
    const h = this.header!;
    const place = { line, offset };
    this.trailerLine = line;
    const count = v.count;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      this.error(
        'BUNDLE_LINE',
        `line ${line}: trailer count: expected an integer ≥ 0, got ${JSON.stringify(count)}`,
        place,
      );
      this.trailerCount = -1;
    } else {
      this.trailerCount = count;
      if (count !== this.records) {
        this.error(
          'BUNDLE_COUNT',
          `line ${line}: trailer says ${count} record(s), the bundle holds ${this.records} (records removed or added)`,
          { ...place, expected: String(count), found: String(this.records) },
        );
      }
    }
    const sha256 = this.digest.digest('hex');
    if (v.sha256 !== sha256) {
      this.error(
        'BUNDLE_DIGEST',
        `line ${line}: the bytes before the trailer hash to ${sha256}, the trailer says ${JSON.stringify(v.sha256)} (lines edited, removed or added)`,
        { ...place, expected: sha256, found: String(v.sha256) },
      );
    }
    if (typeof v.signature !== 'string') {
      this.error('BUNDLE_SIGNATURE', `line ${line}: trailer has no signed summary`, place);
      return;
    }
    let text: string;
    try {
      text = openNote(v.signature, this.verifiers).text;
    } catch (error) {
      this.error(
        'BUNDLE_SIGNATURE',
        `line ${line}: signed summary does not verify under the ${this.keyTrust} key (${this.verifiers.map((k) => k.verifierKey).join(', ')}): ${(error as Error).message}`,
        place,
      );
      return;
    }
    const size = this.checkpoint?.size ?? h.treeSize;
    const expected = [
      BUNDLE_SUMMARY_LINE,
      `origin ${h.origin}`,
      `tree_size ${size}`,
      `count ${this.records}`,
      `sha256 ${sha256}`,
    ];
    const got = text.slice(0, -1).split('\n');
    for (let i = 0; i < Math.max(expected.length, got.length); i++) {
      if (expected[i] !== got[i]) {
        this.error(
          'BUNDLE_SIGNATURE',
          `line ${line}: signed summary line ${i + 1}: the bundle gives ${JSON.stringify(expected[i] ?? null)}, the signed text says ${JSON.stringify(got[i] ?? null)}`,
          { ...place, expected: expected[i] ?? '', found: got[i] ?? '' },
        );
        return;
      }
    }
    this.signed = true;
  }

  finish(bytes: number, ms: number): VerifyReport {
    const h = this.header;
    const size = this.checkpoint?.size;
    const froms = [...this.consistency.keys()];
    for (const p of this.pending) {
      const m = p.checkpoint.size;
      // An error, not a warning: the auditor named a tree the bundle must contain, and nothing in
      // it shows that it does (CONTRACT §4: else truncation or rollback).
      this.findings.error(
        'AUDITOR_CHECKPOINT',
        p.file,
        `${p.file}: your tree of ${m} leaves is NOT proven to be a prefix of the bundle's tree of ${size}: the bundle carries no consistency proof from size ${m} (${froms.length === 0 ? 'it has none' : `it has proofs from ${froms.join(', ')}`}), and none of its records is leaf ${m - 1} or just after it (whose audit path would fix your tree's root). Ask for a bundle with a consistency proof from ${m} (export consistency_from=${m}, or sealog export --consistency-from ${m})`,
        {
          leafIndex: m,
          expected: `a consistency proof from size ${m}`,
          found: froms.length === 0 ? 'none' : `from ${froms.join(', ')}`,
        },
      );
    }
    if (h === undefined && !this.dead) {
      this.error('BUNDLE_HEADER', 'empty file: no bundle header', { offset: 0 });
    }
    if (h !== undefined) {
      if (this.trailerCount === undefined) {
        this.error(
          'BUNDLE_TRUNCATED',
          `no trailer line after ${this.records} record(s): the bundle is truncated`,
          { offset: bytes },
        );
      }
    }
    return {
      ok: this.findings.errors === 0,
      findings: this.findings.result(this.file),
      summary: {
        logs: h === undefined ? 0 : 1,
        segments: 0,
        frames: 0,
        records: this.decoded,
        leaves: this.records,
        bytes,
        checkpoints: (this.checkpointVerified ? 1 : 0) + this.auditorProven,
        keyed: false,
        ms,
        ...(h === undefined
          ? {}
          : {
              bundle: {
                version: h.version,
                logId: h.logId,
                origin: h.origin,
                treeSize: this.checkpoint?.size ?? h.treeSize,
                keyTrust: this.keyTrust,
                records: this.records,
                trailerCount:
                  this.trailerCount === undefined || this.trailerCount < 0 ? undefined : this.trailerCount,
                personal: this.personal,
                signed: this.signed,
                auditorProven: this.auditorProven,
                auditorUnproven: this.pending.length,
                consistencyProofs: this.consistencyOk,
              },
            }),
      },
    };
  }
}

/** `verifyConsistency` that reports a malformed input (e.g. a root of the wrong length) as false. */
function safeConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  try {
    return verifyConsistency(size1, size2, proof, root1, root2);
  } catch {
    return false;
  }
}

function proofOf(v: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Uint8Array[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'string' || !HEX_HASH.test(x)) return undefined;
    out[i] = new Uint8Array(Buffer.from(x, 'hex'));
  }
  return out;
}
