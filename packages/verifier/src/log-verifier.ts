/**
 * Verification of one log directory (docs/FORMAT.md): one streaming pass over its segments, frame
 * by frame, checking everything the format lets a reader check, and reporting each problem as a
 * finding with file, offset, batch and leaf index. Keyless checks always run; keyed checks
 * (decrypt, decompress, decode, leaf hashes, entity links) run when the master key is given.
 *
 * Memory: one frame, one tile per tree level, the compact range (O(log n) hashes), the parsed
 * checkpoints and — keyed only — one head per entity (tenant, resource type, resource id).
 * Not here: finding logs in a data directory, key files, output (see verify.ts, verify-command.ts).
 */
import { hash as nodeHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  CodecError,
  decodeBatchBody,
  decodeFrameHeader,
  decodeRecord,
  decompressBody,
  FRAME_HEADER_BYTES,
  FRAME_HEADER_OFFSETS,
  type FrameHeader,
  LOG_ID_BYTES,
} from '@sealog/codec';
import { type DataKey, NoteVerifier, openFrame } from '@sealog/crypto-envelope';
import { hashLeaf } from '@sealog/merkle';
import {
  ENVELOPE_BYTES,
  type FrameRead,
  listSegmentFiles,
  type SegmentScan,
  SegmentStoreError,
  scanSegmentFile,
} from '@sealog/segment-store';
import {
  CHECKPOINTS_FILE,
  openVerified,
  readCheckpointFile,
  type VerifiedCheckpoint,
} from './checkpoint-file';
import { DATA_KEYS_FILE, readDataKeys } from './data-key-file';
import { VerifierError } from './errors';
import { type FindingCollector, hexOffset, toHex } from './finding';
import type { AuditorCheckpoint } from './report';
import { TileReader } from './tile-reader';
import { FrameTree, LogTree } from './tree-hash';

/** Bytes of a SHA-256 hash (leaf hashes, roots, chain hashes). */
const HASH_BYTES = 32;
/** Envelope head before the frame payload: `payload_len:u32 key:u64`. */
const ENVELOPE_HEAD_BYTES = 12;
/** Chain hash before frame 0. */
const GENESIS_CHAIN = new Uint8Array(HASH_BYTES);

/** `log.json` as the ledger writes it. */
export interface LogIdentity {
  readonly log_id: string;
  readonly origin: string;
  readonly public_key: string;
}

/** Reads `log.json`; `undefined` (and a finding) when absent or malformed. */
export function readLogIdentity(dir: string, findings?: FindingCollector): LogIdentity | undefined {
  const file = join(dir, 'log.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    findings?.error('LOG_JSON', file, `${file}: missing: the log's identity and public key are unknown`);
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<LogIdentity>;
    if (typeof v.log_id === 'string' && typeof v.origin === 'string' && typeof v.public_key === 'string') {
      return { log_id: v.log_id, origin: v.origin, public_key: v.public_key };
    }
  } catch {
    // reported below
  }
  findings?.error('LOG_JSON', file, `${file}: not a JSON object with string log_id, origin and public_key`);
  return undefined;
}

/** Inputs of one log's verification (resolved by the caller). */
export interface LogVerifyInput {
  readonly dir: string;
  readonly masterKey: string | undefined;
  readonly publicKeys: readonly string[];
  readonly auditor: readonly AuditorCheckpoint[];
  readonly findings: FindingCollector;
  /** Called with the bytes of each segment after it is processed. */
  readonly onSegment: (bytes: number) => void;
}

/** Counts from one log. */
export interface LogCounts {
  segments: number;
  frames: number;
  records: number;
  leaves: number;
  bytes: number;
  checkpoints: number;
}

/** A checkpoint tree the data must contain, sorted by size. */
interface Target {
  readonly cp: VerifiedCheckpoint;
  readonly size: number;
}

/** One log's verification. Create, then {@link LogVerifier.run} once. */
export class LogVerifier {
  private readonly dir: string;
  private readonly f: FindingCollector;
  private readonly input: LogVerifyInput;
  private readonly counts: LogCounts = {
    segments: 0,
    frames: 0,
    records: 0,
    leaves: 0,
    bytes: 0,
    checkpoints: 0,
  };
  private logId = '';
  private logIdBytes: Uint8Array = new Uint8Array(LOG_ID_BYTES);
  private keys: Map<string, DataKey> | undefined;
  private keyed = false;
  private tiles: TileReader;
  private tree: LogTree;
  private readonly frameTree = new FrameTree();
  private readonly visitNode = (level: number, index: number, hash: Uint8Array): void =>
    this.checkNode(level, index, hash);
  /** Tree hashes can no longer be computed (a missing tile in a keyless run). */
  private treeLost = false;
  private targets: Target[] = [];
  private nextTarget = 0;
  private maxCovered = 0;
  // Expected position of the next frame.
  private nextBatch = 0;
  private nextLeaf = 0;
  private chain: Uint8Array = GENESIS_CHAIN;
  private hashes: Uint8Array = new Uint8Array(HASH_BYTES * 2048);
  private tileHashes: Uint8Array = new Uint8Array(HASH_BYTES * 2048);
  private readonly heads = new Map<string, { leafIndex: number; leafHash: Uint8Array }>();
  private file = '';
  private tornAt: { file: string; offset: number; reason: string; leaves: number } | undefined;

  constructor(input: LogVerifyInput) {
    this.input = input;
    this.dir = input.dir;
    this.f = input.findings;
    this.tiles = new TileReader(join(input.dir, 'tiles'));
    this.tree = new LogTree(this.visitNode);
  }

  /** Runs every check; findings go to the collector. @throws {VerifierError} on bad keys or I/O. */
  async run(): Promise<LogCounts> {
    const identity = readLogIdentity(this.dir, this.f);
    this.logId = identity?.log_id ?? basename(this.dir);
    this.logIdBytes = new Uint8Array(nodeHash('sha256', this.logId, 'buffer')).subarray(0, LOG_ID_BYTES);
    const verifiers = this.verifiers(identity);
    this.loadCheckpoints(verifiers, identity?.origin);
    this.keyed = this.input.masterKey !== undefined;
    this.keys = readDataKeys(join(this.dir, DATA_KEYS_FILE), this.input.masterKey, this.f);
    await this.scanSegments();
    this.finish();
    return this.counts;
  }

  /** The keys checkpoints must verify under: pinned ones for this origin, else `log.json`'s. */
  private verifiers(identity: LogIdentity | undefined): NoteVerifier[] {
    const file = join(this.dir, 'log.json');
    const pinned: NoteVerifier[] = [];
    for (const text of this.input.publicKeys) {
      try {
        pinned.push(NoteVerifier.parse(text));
      } catch (error) {
        throw new VerifierError('BAD_KEY', `public key ${text}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const origin = identity?.origin;
    const mine = origin === undefined ? pinned : pinned.filter((v) => v.name === origin);
    if (pinned.length > 0) {
      if (mine.length === 0) {
        this.f.error(
          'KEY_MISMATCH',
          file,
          `no pinned public key names this log's origin ${JSON.stringify(origin)} (pinned: ${pinned.map((v) => v.name).join(', ')})`,
          { ...(origin === undefined ? {} : { found: origin }) },
        );
      } else if (identity !== undefined && !mine.some((v) => v.verifierKey === identity.public_key)) {
        this.f.error(
          'KEY_MISMATCH',
          file,
          `log.json public key differs from the pinned key: expected ${mine[0]!.verifierKey}, got ${identity.public_key}`,
          { expected: mine[0]!.verifierKey, found: identity.public_key },
        );
      }
      return mine;
    }
    if (identity === undefined) return [];
    try {
      return [NoteVerifier.parse(identity.public_key)];
    } catch (error) {
      this.f.error('LOG_JSON', file, `public_key does not parse: ${(error as Error).message}`);
      return [];
    }
  }

  private loadCheckpoints(verifiers: readonly NoteVerifier[], origin: string | undefined): void {
    const file = join(this.dir, CHECKPOINTS_FILE);
    let stored: VerifiedCheckpoint[] = [];
    let bytes: Buffer | undefined;
    try {
      bytes = readFileSync(file);
    } catch {
      this.f.warn('CHECKPOINTS_FILE', file, `${file}: missing: no signed checkpoint covers this log`);
    }
    if (bytes !== undefined) stored = readCheckpointFile(bytes, file, verifiers, origin, this.f);
    // Checkpoints only grow, and one size has one root (RFC 9162 append-only tree).
    for (let i = 1; i < stored.length; i++) {
      const a = stored[i - 1]!.checkpoint;
      const b = stored[i]!;
      if (b.checkpoint.size < a.size) {
        this.f.error(
          'CHECKPOINT_ORDER',
          file,
          `entry @ ${hexOffset(b.offset)}: tree shrank: size ${b.checkpoint.size} after ${a.size}`,
          {
            offset: b.offset,
            leafIndex: b.checkpoint.size,
            expected: `≥ ${a.size}`,
            found: String(b.checkpoint.size),
          },
        );
      } else if (b.checkpoint.size === a.size && toHex(b.checkpoint.rootHash) !== toHex(a.rootHash)) {
        this.f.error(
          'CHECKPOINT_ORDER',
          file,
          `entry @ ${hexOffset(b.offset)}: two roots for size ${a.size}`,
          {
            offset: b.offset,
            expected: toHex(a.rootHash),
            found: toHex(b.checkpoint.rootHash),
          },
        );
      }
    }
    const auditor: VerifiedCheckpoint[] = [];
    this.input.auditor.forEach((a, i) => {
      const v = openVerified(a.note, a.file ?? `checkpoint #${i + 1}`, 0, verifiers, origin, this.f, true);
      if (v !== undefined) auditor.push(v);
    });
    this.targets = [...stored, ...auditor]
      .map((cp) => ({ cp, size: cp.checkpoint.size }))
      .sort((x, y) => x.size - y.size);
    for (const t of this.targets) this.maxCovered = Math.max(this.maxCovered, t.size);
    // Size 0 is the empty tree: nothing to contain.
    while (this.nextTarget < this.targets.length && this.targets[this.nextTarget]!.size === 0) {
      this.nextTarget += 1;
      this.counts.checkpoints += 1;
    }
  }

  private async scanSegments(): Promise<void> {
    const list = listSegmentFiles(this.dir);
    let expectNo = 1;
    for (let s = 0; s < list.length; s++) {
      const { number, path } = list[s]!;
      const last = s === list.length - 1;
      if (number !== expectNo) {
        this.f.error(
          'SEGMENT_MISSING',
          path,
          `segment file(s) ${expectNo}..${number - 1} missing before ${basename(path)}`,
          { expected: String(expectNo), found: String(number) },
        );
      }
      expectNo = number + 1;
      this.file = path;
      let scan: SegmentScan;
      try {
        scan = await scanSegmentFile(path, (frame) => this.onFrame(frame));
      } catch (error) {
        if (error instanceof SegmentStoreError && error.code === 'CORRUPT_SEGMENT') {
          const offset = error.offset ?? 0;
          this.f.error('SEGMENT_HEADER', path, `${basename(path)} @ ${hexOffset(offset)}: ${error.message}`, {
            offset,
          });
          continue;
        }
        throw new VerifierError('IO_ERROR', `${path}: ${(error as Error).message}`, { cause: error });
      }
      this.counts.segments += 1;
      this.counts.bytes += scan.size;
      this.input.onSegment(scan.size);
      this.checkSegmentHeader(scan, number);
      this.checkSegmentEnd(scan, last);
    }
  }

  private checkSegmentHeader(scan: SegmentScan, number: number): void {
    const h = scan.header;
    if (h.segmentNumber !== number) {
      this.f.error(
        'SEGMENT_NUMBER',
        scan.file,
        `segment header @ 0x8: segment number ${h.segmentNumber} in a file named ${number}`,
        { offset: 8, expected: String(number), found: String(h.segmentNumber) },
      );
    }
    if (h.logId !== this.logId) {
      this.f.error('SEGMENT_LOG_ID', scan.file, `segment header @ 0x28: log id ${JSON.stringify(h.logId)}`, {
        offset: 40,
        expected: this.logId,
        found: h.logId,
      });
    }
  }

  private checkSegmentEnd(scan: SegmentScan, last: boolean): void {
    const end = scan.end;
    if (end.kind === 'sealed') return;
    if (end.kind === 'open') {
      if (!last) {
        this.f.warn('SEGMENT_UNSEALED', scan.file, `segment is not sealed but is not the last one`, {
          offset: end.offset,
        });
      }
      return;
    }
    if (end.kind === 'torn' && last) {
      // Decided in finish(): an error when a checkpoint covers leaves that are not in the data.
      this.tornAt = { file: scan.file, offset: end.offset, reason: end.reason, leaves: this.nextLeaf };
      return;
    }
    this.f.error(
      'SEGMENT_CORRUPT',
      scan.file,
      `${basename(scan.file)} @ ${hexOffset(end.offset)}: ${end.reason}${end.kind === 'torn' ? ' (torn tail in a segment that is not the last)' : ''}`,
      { offset: end.offset, leafIndex: this.nextLeaf },
    );
  }

  /** All checks of one frame (synchronous: called from the segment scan). */
  private onFrame(frame: FrameRead): void {
    const c = this.counts;
    c.frames += 1;
    const file = this.file;
    const payload = frame.payload;
    const at = frame.offset + ENVELOPE_HEAD_BYTES; // file offset of the frame header
    let header: FrameHeader;
    try {
      header = decodeFrameHeader(payload);
    } catch (error) {
      const offset = at + (error instanceof CodecError && error.offset !== undefined ? error.offset : 0);
      this.f.error('FRAME_HEADER', file, `frame @ ${hexOffset(at)}: ${(error as Error).message}`, {
        offset,
        batchIndex: this.nextBatch,
        leafIndex: this.nextLeaf,
      });
      // Keep the chain going over the bytes we have, so later frames are not all reported too.
      this.nextBatch += 1;
      return;
    }
    const b = header.batchIndex;
    const where = `frame ${b} @ ${hexOffset(at)}`;
    const place = { batchIndex: b, leafIndex: header.firstLeafIndex };
    if (!equal(header.logId, this.logIdBytes)) {
      this.f.error(
        'FRAME_LOG_ID',
        file,
        `${where}: log id is not SHA-256(${JSON.stringify(this.logId)})[0..16]`,
        {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.logId,
          expected: toHex(this.logIdBytes),
          found: toHex(header.logId),
        },
      );
    }
    if (payload.length !== FRAME_HEADER_BYTES + header.storedBodyLength) {
      this.f.error(
        'FRAME_LENGTH',
        file,
        `${where}: envelope holds ${payload.length} bytes, header says ${FRAME_HEADER_BYTES} + ${header.storedBodyLength}`,
        {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.storedBodyLength,
          expected: String(FRAME_HEADER_BYTES + header.storedBodyLength),
          found: String(payload.length),
        },
      );
    }
    if (!header.compressed || !header.encrypted) {
      this.f.warn('FRAME_FLAGS', file, `${where}: frames of a log are always compressed and encrypted`, {
        ...place,
        offset: at + FRAME_HEADER_OFFSETS.flags,
      });
    }
    if (frame.key !== header.firstLeafIndex) {
      this.f.error('FRAME_KEY', file, `${where}: envelope key ${frame.key} ≠ first leaf index`, {
        ...place,
        offset: frame.offset + 4,
        expected: String(header.firstLeafIndex),
        found: String(frame.key),
      });
    }
    if (b !== this.nextBatch) {
      this.f.error(
        'BATCH_INDEX',
        file,
        `${where}: batch index not contiguous: expected ${this.nextBatch}, got ${b}`,
        {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.batchIndex,
          expected: String(this.nextBatch),
          found: String(b),
        },
      );
    }
    if (header.firstLeafIndex !== this.nextLeaf) {
      this.f.error(
        'LEAF_INDEX',
        file,
        `${where}: first leaf index not contiguous: expected ${this.nextLeaf}, got ${header.firstLeafIndex}`,
        {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.firstLeafIndex,
          expected: String(this.nextLeaf),
          found: String(header.firstLeafIndex),
        },
      );
    }
    // Chain: chain_n = SHA-256(chain_{n−1} ‖ batch_root_n ‖ SHA-256(frame_n)) (FORMAT.md).
    let prev = this.chain;
    if (!equal(header.prevChainHash, prev)) {
      this.f.error(
        'CHAIN_HASH',
        file,
        `${where}: chain hash mismatch: expected ${toHex(prev)}, got ${toHex(header.prevChainHash)}`,
        {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.prevChainHash,
          expected: toHex(prev),
          found: toHex(header.prevChainHash),
        },
      );
      // Resynchronise on the frame's own claim so one break is reported once.
      prev = header.prevChainHash;
    }
    const frameDigest = nodeHash('sha256', payload, 'buffer');
    const chainInput = new Uint8Array(HASH_BYTES * 3);
    chainInput.set(prev, 0);
    chainInput.set(header.batchRoot, HASH_BYTES);
    chainInput.set(frameDigest, HASH_BYTES * 2);
    this.chain = new Uint8Array(nodeHash('sha256', chainInput, 'buffer'));

    const count = header.recordCount;
    const first = header.firstLeafIndex;
    if (this.hashes.length < count * HASH_BYTES) {
      this.hashes = new Uint8Array(count * HASH_BYTES);
      this.tileHashes = new Uint8Array(count * HASH_BYTES);
    }
    const hashes = this.hashes.subarray(0, count * HASH_BYTES);
    const missing = this.tiles.leafHashes(first, count, this.tileHashes);
    const haveTiles = missing === undefined;
    if (missing !== undefined) {
      const report = this.keyed || missing.leaf >= this.maxCovered ? 'warn' : 'error';
      this.f[report](
        'TILE_MISSING',
        missing.path,
        `level-0 tile for leaf ${missing.leaf} is missing${this.keyed ? '' : ': leaf hashes cannot be checked without the master key'}`,
        { ...place, leafIndex: missing.leaf },
      );
    }
    let haveHashes = false;
    if (this.keyed) {
      haveHashes = this.openFrame(header, payload, at, where, hashes);
      if (haveHashes && haveTiles) this.compareTiles(first, count, hashes);
    }
    if (!haveHashes && haveTiles) {
      hashes.set(this.tileHashes.subarray(0, count * HASH_BYTES));
      haveHashes = true;
    }
    if (haveHashes) {
      // One node walk gives the batch root and the log tree's nodes it shares (tree-hash.ts).
      this.frameTree.build(hashes, first, count);
      const root = this.frameTree.root();
      if (!equal(root, header.batchRoot)) {
        this.f.error(
          'BATCH_ROOT',
          file,
          `${where}: batch root mismatch over leaves ${first}..${first + count - 1} (${this.keyed ? 'records' : 'tiles'}): expected ${toHex(root)}, got ${toHex(header.batchRoot)}`,
          {
            ...place,
            offset: at + FRAME_HEADER_OFFSETS.batchRoot,
            expected: toHex(root),
            found: toHex(header.batchRoot),
          },
        );
      }
      if (!this.treeLost) this.growTree(count);
    } else {
      this.treeLost = true;
    }
    this.nextBatch = b + 1;
    this.nextLeaf = first + count;
    c.leaves = this.nextLeaf;
    this.checkChainTargets(b, where);
  }

  /** Keyed checks of one frame; fills `hashes` with recomputed leaf hashes. */
  private openFrame(
    header: FrameHeader,
    payload: Buffer,
    at: number,
    where: string,
    hashes: Uint8Array,
  ): boolean {
    const file = this.file;
    const place = { batchIndex: header.batchIndex, leafIndex: header.firstLeafIndex };
    let body: Uint8Array = payload.subarray(FRAME_HEADER_BYTES);
    if (header.encrypted) {
      const keyIdHex = toHex(header.keyId);
      const key = this.keys?.get(keyIdHex);
      if (key === undefined) {
        this.f.error('DATA_KEY_MISSING', file, `${where}: data key ${keyIdHex} is not in ${DATA_KEYS_FILE}`, {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.keyId,
          found: keyIdHex,
        });
        return false;
      }
      try {
        body = openFrame(key, header.nonce, payload.subarray(0, FRAME_HEADER_BYTES), body);
      } catch (error) {
        this.f.error(
          'FRAME_TAG',
          file,
          `${where}: AES-GCM tag does not verify (header or body changed): ${(error as Error).message}`,
          { ...place, offset: at },
        );
        return false;
      }
    }
    let leaves: Uint8Array[];
    try {
      const plain = header.compressed ? decompressBody(body, header.plainBodyLength) : body;
      leaves = decodeBatchBody(plain, header.recordCount);
    } catch (error) {
      this.f.error('FRAME_BODY', file, `${where}: body does not decode: ${(error as Error).message}`, {
        ...place,
        offset: at + FRAME_HEADER_BYTES,
      });
      return false;
    }
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i]!;
      const leafIndex = header.firstLeafIndex + i;
      const leafHash = hashLeaf(leaf);
      hashes.set(leafHash, i * HASH_BYTES);
      this.counts.records += 1;
      this.checkRecord(leaf, leafIndex, leafHash, header.batchIndex, where);
    }
    return true;
  }

  /** Decodes one record and checks its entity link against the previous record of its entity. */
  private checkRecord(
    leaf: Uint8Array,
    leafIndex: number,
    leafHash: Uint8Array,
    batchIndex: number,
    where: string,
  ): void {
    let rec: ReturnType<typeof decodeRecord>;
    try {
      rec = decodeRecord(leaf);
    } catch (error) {
      this.f.error(
        'RECORD_DECODE',
        this.file,
        `${where}: leaf ${leafIndex} does not decode: ${(error as Error).message}`,
        {
          batchIndex,
          leafIndex,
        },
      );
      return;
    }
    const entity = `${rec.tenant_id}\u0000${rec.resource.type}\u0000${rec.resource.id}`;
    const head = this.heads.get(entity);
    const prev = rec.prev;
    // Compared as values; the strings are built only for a finding.
    const same =
      head === undefined
        ? prev === null
        : prev !== null && prev.leafIndex === head.leafIndex && equal(prev.leafHash, head.leafHash);
    if (!same) {
      const expected = head === undefined ? 'none' : `${head.leafIndex}:${toHex(head.leafHash)}`;
      const found = prev === null ? 'none' : `${prev.leafIndex}:${toHex(prev.leafHash)}`;
      this.f.error(
        'ENTITY_LINK',
        this.file,
        `${where}: leaf ${leafIndex} (${rec.tenant_id}/${rec.resource.type}/${rec.resource.id}): entity link should name the previous record of its entity: expected ${expected}, got ${found}`,
        { batchIndex, leafIndex, expected, found },
      );
    }
    if (head === undefined) this.heads.set(entity, { leafIndex, leafHash });
    else {
      head.leafIndex = leafIndex;
      head.leafHash = leafHash;
    }
  }

  private compareTiles(first: number, count: number, hashes: Uint8Array): void {
    for (let i = 0; i < count; i++) {
      const o = i * HASH_BYTES;
      if (!equalAt(hashes, this.tileHashes, o)) {
        const leafIndex = first + i;
        this.f.error(
          'LEAF_HASH',
          this.tiles.pathOf(0, Math.floor(leafIndex / 256)),
          `leaf ${leafIndex}: level-0 tile hash differs from the record's leaf hash: expected ${toHex(hashes.subarray(o, o + HASH_BYTES))}, got ${toHex(this.tileHashes.subarray(o, o + HASH_BYTES))}`,
          {
            offset: (leafIndex % 256) * HASH_BYTES,
            leafIndex,
            expected: toHex(hashes.subarray(o, o + HASH_BYTES)),
            found: toHex(this.tileHashes.subarray(o, o + HASH_BYTES)),
          },
        );
      }
    }
  }

  /** Appends leaf hashes to the tree, stopping at each checkpoint size to compare roots. */
  private growTree(count: number): void {
    const base = this.tree.size;
    let i = 0;
    for (;;) {
      while (
        this.nextTarget < this.targets.length &&
        this.targets[this.nextTarget]!.size === this.tree.size
      ) {
        this.checkRoot(this.targets[this.nextTarget]!);
        this.nextTarget += 1;
      }
      if (i >= count) return;
      const target = this.targets[this.nextTarget];
      const room = target === undefined ? count - i : Math.min(count - i, target.size - this.tree.size);
      this.frameTree.appendTo(this.tree, i, i + room, this.visitNode);
      i += room;
      if (this.tree.size !== base + i) throw new VerifierError('LOGIC', 'log tree out of step');
    }
  }

  private checkRoot(t: Target): void {
    const root = this.tree.root();
    const cp = t.cp;
    this.counts.checkpoints += 1;
    if (!equal(root, cp.checkpoint.rootHash)) {
      this.f.error(
        cp.auditor ? 'AUDITOR_CHECKPOINT' : 'CHECKPOINT_ROOT',
        cp.file,
        `${cp.auditor ? cp.file : `entry @ ${hexOffset(cp.offset)}`}: tree of ${t.size} leaves: root mismatch: data gives ${toHex(root)}, checkpoint says ${toHex(cp.checkpoint.rootHash)}`,
        {
          ...(cp.auditor ? {} : { offset: cp.offset }),
          leafIndex: t.size,
          expected: toHex(cp.checkpoint.rootHash),
          found: toHex(root),
        },
      );
    }
  }

  /** Compares the chain extension of every checkpoint ending at this frame. */
  private checkChainTargets(batchIndex: number, where: string): void {
    // Targets are sorted by size; those of size nextLeaf were just root-checked (or the tree is lost).
    for (let k = this.nextTarget - 1; k >= 0; k--) {
      const t = this.targets[k]!;
      if (t.size < this.nextLeaf) break;
      if (t.size === this.nextLeaf) this.checkChain(t, batchIndex, where);
    }
    if (this.treeLost) {
      // Still check chain extensions of checkpoints at this size when roots cannot be computed.
      for (let k = this.nextTarget; k < this.targets.length && this.targets[k]!.size <= this.nextLeaf; k++) {
        const t = this.targets[k]!;
        if (t.size === this.nextLeaf) this.checkChain(t, batchIndex, where);
      }
    }
  }

  private checkChain(t: Target, batchIndex: number, where: string): void {
    const chain = t.cp.chain;
    if (chain === undefined) return;
    const cp = t.cp;
    const label = cp.auditor ? cp.file : `entry @ ${hexOffset(cp.offset)}`;
    if (chain.batchIndex !== batchIndex || !equal(chain.hash, this.chain)) {
      this.f.error(
        'CHECKPOINT_CHAIN',
        cp.file,
        `${label}: sealog-chain names batch ${chain.batchIndex} ${toHex(chain.hash)}, but ${where} (the last frame of ${t.size} leaves) has chain hash ${toHex(this.chain)}`,
        {
          ...(cp.auditor ? {} : { offset: cp.offset }),
          batchIndex,
          leafIndex: t.size,
          expected: `${chain.batchIndex}:${toHex(chain.hash)}`,
          found: `${batchIndex}:${toHex(this.chain)}`,
        },
      );
    }
  }

  /** Interior nodes at tile boundaries (levels 8, 16, …) must equal the stored higher tiles. */
  private checkNode(level: number, index: number, hash: Uint8Array): void {
    const stored = this.tiles.nodeHash(level, index);
    if (stored === undefined) return;
    if (stored === null) {
      if (!this.keyed && index * 2 ** level < this.maxCovered) {
        this.f.error(
          'TILE_MISSING',
          this.tiles.pathOf(level / 8, Math.floor(index / 256)),
          `tile for tree node (${level}, ${index}) is missing`,
        );
      }
      return;
    }
    if (!equal(stored.hash, hash)) {
      this.f.error(
        'TILE_MISMATCH',
        stored.path,
        `tree node (${level}, ${index}) @ ${hexOffset((index % 256) * HASH_BYTES)}: stored hash differs: expected ${toHex(hash)}, got ${toHex(stored.hash)}`,
        {
          offset: (index % 256) * HASH_BYTES,
          leafIndex: index * 2 ** level,
          expected: toHex(hash),
          found: toHex(stored.hash),
        },
      );
    }
  }

  private finish(): void {
    const leaves = this.nextLeaf;
    const covered = this.maxCovered > leaves;
    if (this.tornAt !== undefined) {
      const t = this.tornAt;
      const msg = `${basename(t.file)} @ ${hexOffset(t.offset)}: ${t.reason}`;
      if (covered) {
        this.f.error(
          'TORN_TAIL',
          t.file,
          `${msg} — a signed checkpoint covers ${this.maxCovered} leaves, the data ends at ${t.leaves}: covered data is damaged or missing`,
          { offset: t.offset, leafIndex: t.leaves },
        );
      } else {
        this.f.warn(
          'TORN_TAIL',
          t.file,
          `${msg} (torn tail after the last checkpoint: a crash explains it)`,
          {
            offset: t.offset,
            leafIndex: t.leaves,
          },
        );
      }
    }
    for (let k = this.nextTarget; k < this.targets.length; k++) {
      const t = this.targets[k]!;
      const cp = t.cp;
      if (t.size <= leaves && this.treeLost) continue; // reported as TILE_MISSING / frame findings
      if (t.size <= leaves) continue;
      this.f.error(
        cp.auditor ? 'AUDITOR_CHECKPOINT' : 'CHECKPOINT_BEYOND_DATA',
        cp.file,
        `${cp.auditor ? cp.file : `entry @ ${hexOffset(cp.offset)}`}: checkpoint covers ${t.size} leaves but the data holds ${leaves}: truncated or rolled back`,
        {
          ...(cp.auditor ? {} : { offset: cp.offset }),
          leafIndex: leaves,
          expected: String(t.size),
          found: String(leaves),
        },
      );
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function equalAt(a: Uint8Array, b: Uint8Array, o: number): boolean {
  for (let i = o; i < o + HASH_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Envelope overhead per frame (for callers computing offsets). */
export const FRAME_ENVELOPE_BYTES: number = ENVELOPE_BYTES;
