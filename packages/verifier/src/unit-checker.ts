/**
 * The per-frame work of verifying a log, on one *unit*: a whole segment file or a range of a sealed
 * segment's frames (planned from its footer). Everything that depends only on the unit's own bytes
 * is checked here — envelopes and CRCs (segment-reader.ts), frame headers, the frame's SHA-256 and
 * chain hash, leaf hashes (from level-0 tiles, or keyed: decrypt, decompress, decode every record),
 * the batch root, the tile-level nodes inside the frame, entity links between records of the unit
 * — so that units can run in parallel (verify-worker.ts) or inline, with the same code.
 *
 * What needs the log's history is returned for the caller to fold in order (log-verifier.ts): each
 * frame's batch index, leaf range, previous and own chain hash and its aligned tree nodes (split at
 * checkpoint sizes), the first record of each entity in the unit (its link is checked against the
 * previous unit's heads), and the unit's last record per entity.
 *
 * Memory: one frame, its tree levels, and per unit one entry per entity plus the kept findings.
 * Everything in a {@link UnitResult} is plain data (structured-clone safe) owned by the receiver.
 */
import { hash as nodeHash } from 'node:crypto';
import { join } from 'node:path';
import {
  CodecError,
  decodeBatchBody,
  decodeFrameHeader,
  decompressBody,
  FRAME_HEADER_BYTES,
  FRAME_HEADER_OFFSETS,
  type FrameHeader,
  LOG_ID_BYTES,
} from '@sealog/codec';
import { type DataKey, openFrame } from '@sealog/crypto-envelope';
import { bytesFromWords, HASH_WORDS, wordsEqualBytes, wordsFromBytes } from '@sealog/merkle';
import { DATA_KEYS_FILE, readDataKeys } from './data-key-file';
import {
  type Finding,
  type FindingCode,
  FindingCollector,
  type FindingPlace,
  type FindingSink,
  hexOffset,
  toHex,
} from './finding';
import { entityLabel, RecordScanner } from './record-scan';
import {
  type FrameRange,
  type ScanEnd,
  type ScanStart,
  type SegmentFrame,
  type SegmentHeaderInfo,
  SegmentReader,
} from './segment-reader';
import { TileReader } from './tile-reader';
import { FrameTree, type TileNodeVisitor } from './tree-hash';

/** Bytes of a SHA-256 hash. */
export const HASH_BYTES = 32;
/** Envelope head before the frame payload: `payload_len:u32 key:u64`. */
const ENVELOPE_HEAD_BYTES = 12;

/** What every unit of one log needs to know (structured-clone safe: sent once to each worker). */
export interface LogContext {
  /** The log directory (tiles, data keys). */
  readonly dir: string;
  /** The log id (`log.json`, else the directory name). */
  readonly logId: string;
  /** Master key text; keyed checks run when set. */
  readonly masterKey: string | undefined;
  /** Largest tree size a signed checkpoint covers (a missing tile below it is an error). */
  readonly maxCovered: number;
  /** Checkpoint tree sizes, ascending, without duplicates: aligned nodes are split there. */
  readonly targetSizes: readonly number[];
  /** Findings a unit keeps (the rest are counted). */
  readonly maxFindings: number;
}

/** One unit of work. */
export interface UnitTask {
  /** Position of the unit in the log (results are folded in this order). */
  readonly seq: number;
  readonly file: string;
  readonly header: SegmentHeaderInfo;
  readonly start: ScanStart;
  /** Set for a range of a sealed segment; unset: read to the end of the file. */
  readonly range: FrameRange | undefined;
}

/** What the caller needs of one frame to continue the log's sequence. */
export interface FrameSummary {
  /** File offset of the frame header. */
  readonly at: number;
  /** Set when the header does not decode (the fields below are then zero). */
  readonly headerError: { readonly offset: number; readonly message: string } | undefined;
  readonly batchIndex: number;
  readonly firstLeafIndex: number;
  readonly count: number;
  /** The header's previous chain hash. */
  readonly prevChain: Uint8Array;
  /** This frame's chain hash, `SHA-256(prevChain ‖ batch root ‖ SHA-256(frame))`. */
  readonly chain: Uint8Array;
  /** Leaf hashes were available (tiles or records): `nodes` hold the frame's part of the tree. */
  readonly haveHashes: boolean;
  /** Levels of the aligned nodes covering the frame's leaves, in order, split at checkpoint sizes. */
  readonly nodeLevels: number[];
  /** Their hashes, 8 words each. */
  readonly nodes: Int32Array;
  /** This frame's findings end at `findings[findingsTo]` of the unit (they start where the previous frame's end). */
  readonly findingsTo: number;
  /** This frame's first-in-unit entity links end at `links[linksTo]` of the unit (likewise). */
  readonly linksTo: number;
}

/** A record whose entity had no earlier record in its unit: checked against the log's heads. */
export interface UnitLink {
  readonly entity: string;
  /** `tenant/type/id` for messages. */
  readonly label: string;
  readonly leafIndex: number;
  readonly leafHash: Uint8Array;
  /** The record's link: −1 when nil. */
  readonly prevIndex: number;
  readonly prevHash: Uint8Array | undefined;
  readonly batchIndex: number;
  /** `frame N @ 0x…`. */
  readonly where: string;
  readonly file: string;
}

/** Result of one unit. */
export interface UnitResult {
  readonly seq: number;
  readonly end: ScanEnd;
  readonly frames: FrameSummary[];
  readonly findings: Finding[];
  readonly links: UnitLink[];
  /** The unit's last record per entity: `entities[i]` at `headIndexes[i]`, hash `headHashes[32i …]`. */
  readonly entities: string[];
  readonly headIndexes: number[];
  readonly headHashes: Uint8Array;
  /** Records decrypted and decoded. */
  readonly records: number;
  /** Findings not kept, and how many of those were errors. */
  readonly dropped: number;
  readonly droppedErrors: number;
}

/** The last record of one entity in a unit (a chain of entries per key hash). */
interface HeadEntry {
  /** Entity key bytes (record-scan.ts). */
  readonly key: Uint8Array;
  leafIndex: number;
  /** Its leaf hash as words (sha256-node.ts), overwritten in place. */
  readonly leafWords: Int32Array;
  readonly next: HeadEntry | undefined;
}

/**
 * Entity heads of one unit, keyed by the entity key's bytes: no string per record (building and
 * hashing a string key per record measured ~14% of a keyed worker's time; strings are made only
 * for an entity's first record and for the unit's result).
 */
class EntityHeads {
  private readonly table = new Map<number, HeadEntry>();

  find(key: Uint8Array, length: number, hash: number): HeadEntry | undefined {
    for (let e = this.table.get(hash); e !== undefined; e = e.next) {
      if (e.key.length !== length) continue;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (e.key[i] !== key[i]) {
          same = false;
          break;
        }
      }
      if (same) return e;
    }
    return undefined;
  }

  add(key: Uint8Array, length: number, hash: number, leafIndex: number, words: Int32Array, at: number): void {
    this.table.set(hash, {
      key: key.slice(0, length),
      leafIndex,
      leafWords: words.slice(at, at + HASH_WORDS),
      next: this.table.get(hash),
    });
  }

  *entries(): IterableIterator<HeadEntry> {
    for (const first of this.table.values()) {
      for (let e: HeadEntry | undefined = first; e !== undefined; e = e.next) yield e;
    }
  }
}

/** The entity key's text (`tenant "\0" type "\0" id`). */
function keyText(key: Uint8Array, length: number): string {
  return Buffer.from(key.buffer, key.byteOffset, length).toString('utf8');
}

/** A unit's findings, bounded, in order. */
class UnitFindings implements FindingSink {
  readonly list: Finding[] = [];
  dropped = 0;
  droppedErrors = 0;
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  private add(finding: Finding): void {
    if (this.list.length < this.max) this.list.push(finding);
    else {
      this.dropped += 1;
      if (finding.severity === 'error') this.droppedErrors += 1;
    }
  }

  error(code: FindingCode, file: string, message: string, extra: FindingPlace = {}): void {
    this.add({ severity: 'error', code, file, ...extra, message });
  }

  warn(code: FindingCode, file: string, message: string, extra: FindingPlace = {}): void {
    this.add({ severity: 'warning', code, file, ...extra, message });
  }

  notice(code: FindingCode, file: string, message: string, extra: FindingPlace = {}): void {
    this.add({ severity: 'notice', code, file, ...extra, message });
  }
}

/**
 * Compares tree nodes at tile levels (8, 16, …) with the stored higher tiles: used for the nodes
 * inside frames (here) and those the log tree creates when merging (log-verifier.ts).
 */
export class TileNodeCheck {
  private readonly tiles: TileReader;
  private readonly keyed: boolean;
  private readonly maxCovered: number;
  /** Where findings go (swapped per unit). */
  sink: FindingSink;
  private readonly bytes = new Uint8Array(HASH_BYTES);
  /** The check as a {@link TileNodeVisitor}. */
  readonly visit: TileNodeVisitor = (level, index, words, offset) => this.check(level, index, words, offset);

  constructor(tiles: TileReader, keyed: boolean, maxCovered: number, sink: FindingSink) {
    this.tiles = tiles;
    this.keyed = keyed;
    this.maxCovered = maxCovered;
    this.sink = sink;
  }

  private check(level: number, index: number, words: Int32Array, offset: number): void {
    const stored = this.tiles.nodeHash(level, index);
    if (stored === undefined) return;
    if (stored === null) {
      if (!this.keyed && index * 2 ** level < this.maxCovered) {
        this.sink.error(
          'TILE_MISSING',
          this.tiles.pathOf(level / 8, Math.floor(index / 256)),
          `tile for tree node (${level}, ${index}) is missing`,
        );
      }
      return;
    }
    if (!wordsEqualBytes(words, offset, stored.hash, 0)) {
      bytesFromWords(words, offset, this.bytes, 0, 1);
      const computed = toHex(this.bytes);
      this.sink.error(
        'TILE_MISMATCH',
        stored.path,
        `tree node (${level}, ${index}) @ ${hexOffset((index % 256) * HASH_BYTES)}: stored hash differs: expected ${computed}, got ${toHex(stored.hash)}`,
        {
          offset: (index % 256) * HASH_BYTES,
          leafIndex: index * 2 ** level,
          expected: computed,
          found: toHex(stored.hash),
        },
      );
    }
  }
}

/** Checks units of one log; create once per log (and thread), then {@link UnitChecker.run} each unit. */
export class UnitChecker {
  private readonly ctx: LogContext;
  private readonly keyed: boolean;
  private readonly keys: Map<string, DataKey> | undefined;
  private readonly logIdBytes: Uint8Array;
  private readonly tiles: TileReader;
  private readonly nodeCheck: TileNodeCheck;
  private readonly frameTree = new FrameTree();
  private tileHashes = new Uint8Array(HASH_BYTES * 2048);
  /** The current frame's leaf hashes as words (level 0 of `frameTree`, keyed). */
  private leafWords: Int32Array = new Int32Array(0);
  /** One leaf hash as bytes (copied by whoever keeps it). */
  private readonly leafHash = new Uint8Array(HASH_BYTES);
  private readonly rootWords = new Int32Array(HASH_WORDS);
  private readonly rootBytes = new Uint8Array(HASH_BYTES);
  private readonly chainInput = new Uint8Array(HASH_BYTES * 3);
  // Per unit:
  private file = '';
  private f = new UnitFindings(0);
  private frames: FrameSummary[] = [];
  private links: UnitLink[] = [];
  private heads = new EntityHeads();
  private readonly scanner = new RecordScanner();
  private records = 0;
  // Per frame, reused:
  private nodeLevels: number[] = [];
  private nodeWords: number[] = [];
  private readonly sinkNode = (level: number, words: Int32Array, offset: number): void => {
    this.nodeLevels.push(level);
    for (let i = 0; i < HASH_WORDS; i++) this.nodeWords.push(words[offset + i]!);
  };

  /**
   * @param ctx - the log.
   * @param keys - data keys already read (the main thread's); read from the log directory when
   *   omitted (a worker; `data-keys.bin` findings are the main thread's to report).
   */
  constructor(ctx: LogContext, keys?: Map<string, DataKey>) {
    this.ctx = ctx;
    this.keyed = ctx.masterKey !== undefined;
    this.keys =
      keys ??
      (this.keyed
        ? readDataKeys(join(ctx.dir, DATA_KEYS_FILE), ctx.masterKey, new FindingCollector(0))
        : undefined);
    this.logIdBytes = new Uint8Array(nodeHash('sha256', ctx.logId, 'buffer')).subarray(0, LOG_ID_BYTES);
    this.tiles = new TileReader(join(ctx.dir, 'tiles'));
    this.nodeCheck = new TileNodeCheck(this.tiles, this.keyed, ctx.maxCovered, this.f);
  }

  /** Checks one unit. @throws {VerifierError} `IO_ERROR` when the file cannot be read. */
  run(task: UnitTask): UnitResult {
    this.file = task.file;
    this.f = new UnitFindings(this.ctx.maxFindings);
    this.nodeCheck.sink = this.f;
    this.frames = [];
    this.links = [];
    this.heads = new EntityHeads();
    this.records = 0;
    const reader = SegmentReader.open(task.file);
    let end: ScanEnd;
    try {
      end = reader.frames(task.header, task.start, task.range, (frame) => this.onFrame(frame));
    } finally {
      reader.close();
    }
    const all = [...this.heads.entries()];
    const entities = new Array<string>(all.length);
    const headIndexes = new Array<number>(all.length);
    const headHashes = new Uint8Array(all.length * HASH_BYTES);
    for (let i = 0; i < all.length; i++) {
      const h = all[i]!;
      entities[i] = keyText(h.key, h.key.length);
      headIndexes[i] = h.leafIndex;
      bytesFromWords(h.leafWords, 0, headHashes, i * HASH_BYTES, 1);
    }
    this.heads = new EntityHeads();
    return {
      seq: task.seq,
      end,
      frames: this.frames,
      findings: this.f.list,
      links: this.links,
      entities,
      headIndexes,
      headHashes,
      records: this.records,
      dropped: this.f.dropped,
      droppedErrors: this.f.droppedErrors,
    };
  }

  private summary(
    at: number,
    headerError: FrameSummary['headerError'],
    header: FrameHeader | undefined,
    chain: Uint8Array,
    haveHashes: boolean,
  ): void {
    this.frames.push({
      at,
      headerError,
      batchIndex: header?.batchIndex ?? 0,
      firstLeafIndex: header?.firstLeafIndex ?? 0,
      count: header?.recordCount ?? 0,
      prevChain: header === undefined ? chain : new Uint8Array(header.prevChainHash),
      chain,
      haveHashes,
      nodeLevels: this.nodeLevels,
      nodes: Int32Array.from(this.nodeWords),
      findingsTo: this.f.list.length,
      linksTo: this.links.length,
    });
    this.nodeLevels = [];
    this.nodeWords = [];
  }

  /** All unit-local checks of one frame. */
  private onFrame(frame: SegmentFrame): void {
    const f = this.f;
    const file = this.file;
    const payload = frame.payload;
    const at = frame.offset + ENVELOPE_HEAD_BYTES; // file offset of the frame header
    let header: FrameHeader;
    try {
      header = decodeFrameHeader(payload);
    } catch (error) {
      const offset = at + (error instanceof CodecError && error.offset !== undefined ? error.offset : 0);
      this.summary(
        at,
        { offset, message: `frame @ ${hexOffset(at)}: ${(error as Error).message}` },
        undefined,
        new Uint8Array(0),
        false,
      );
      return;
    }
    const b = header.batchIndex;
    const where = `frame ${b} @ ${hexOffset(at)}`;
    const place = { batchIndex: b, leafIndex: header.firstLeafIndex };
    if (!equal(header.logId, this.logIdBytes)) {
      f.error(
        'FRAME_LOG_ID',
        file,
        `${where}: log id is not SHA-256(${JSON.stringify(this.ctx.logId)})[0..16]`,
        {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.logId,
          expected: toHex(this.logIdBytes),
          found: toHex(header.logId),
        },
      );
    }
    if (payload.length !== FRAME_HEADER_BYTES + header.storedBodyLength) {
      f.error(
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
      f.warn('FRAME_FLAGS', file, `${where}: frames of a log are always compressed and encrypted`, {
        ...place,
        offset: at + FRAME_HEADER_OFFSETS.flags,
      });
    }
    if (frame.key !== header.firstLeafIndex) {
      f.error('FRAME_KEY', file, `${where}: envelope key ${frame.key} ≠ first leaf index`, {
        ...place,
        offset: frame.offset + 4,
        expected: String(header.firstLeafIndex),
        found: String(frame.key),
      });
    }
    // Chain: chain_n = SHA-256(chain_{n−1} ‖ batch_root_n ‖ SHA-256(frame_n)) (FORMAT.md). The
    // caller compares the header's chain_{n−1} with the previous frame's; a mismatch is reported
    // there and the chain continues from the header's claim, so chain_n depends on this frame only.
    const ci = this.chainInput;
    ci.set(header.prevChainHash, 0);
    ci.set(header.batchRoot, HASH_BYTES);
    ci.set(nodeHash('sha256', payload, 'buffer') as Buffer, HASH_BYTES * 2);
    const chain = new Uint8Array(nodeHash('sha256', ci, 'buffer') as Buffer);

    const count = header.recordCount;
    const first = header.firstLeafIndex;
    if (this.tileHashes.length < count * HASH_BYTES) this.tileHashes = new Uint8Array(count * HASH_BYTES);
    const missing = this.tiles.leafHashes(first, count, this.tileHashes);
    const haveTiles = missing === undefined;
    if (missing !== undefined) {
      const report = this.keyed || missing.leaf >= this.ctx.maxCovered ? 'warn' : 'error';
      f[report](
        'TILE_MISSING',
        missing.path,
        `level-0 tile for leaf ${missing.leaf} is missing${this.keyed ? '' : ': leaf hashes cannot be checked without the master key'}`,
        { ...place, leafIndex: missing.leaf },
      );
    }
    let haveHashes = false;
    if (this.keyed) {
      // Fills level 0 of the frame tree with the records' leaf hashes.
      haveHashes = this.openFrame(header, payload, at, where);
      if (haveHashes && haveTiles) this.compareTiles(first, count);
    }
    if (!haveHashes && haveTiles) {
      wordsFromBytes(this.tileHashes, 0, this.frameTree.leafWords(count), 0, count);
      haveHashes = true;
    }
    if (haveHashes) {
      // One node walk gives the batch root and the log tree's nodes it shares (tree-hash.ts).
      this.frameTree.build(first, count);
      this.frameTree.root(this.rootWords);
      if (!wordsEqualBytes(this.rootWords, 0, header.batchRoot, 0)) {
        bytesFromWords(this.rootWords, 0, this.rootBytes, 0, 1);
        const root = toHex(this.rootBytes);
        f.error(
          'BATCH_ROOT',
          file,
          `${where}: batch root mismatch over leaves ${first}..${first + count - 1} (${this.keyed ? 'records' : 'tiles'}): expected ${root}, got ${toHex(header.batchRoot)}`,
          {
            ...place,
            offset: at + FRAME_HEADER_OFFSETS.batchRoot,
            expected: root,
            found: toHex(header.batchRoot),
          },
        );
      }
      this.splitPieces(first, count);
    }
    this.summary(at, undefined, header, chain, haveHashes);
  }

  /** The frame's aligned nodes, split at every checkpoint size inside the frame. */
  private splitPieces(first: number, count: number): void {
    const sizes = this.ctx.targetSizes;
    // First checkpoint size above `first` (binary search).
    let lo = 0;
    let hi = sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sizes[mid]! <= first) lo = mid + 1;
      else hi = mid;
    }
    let from = 0;
    for (let k = lo; k < sizes.length && sizes[k]! < first + count; k++) {
      const to = sizes[k]! - first;
      this.frameTree.pieces(from, to, this.sinkNode, this.nodeCheck.visit);
      from = to;
    }
    this.frameTree.pieces(from, count, this.sinkNode, this.nodeCheck.visit);
  }

  /** Keyed checks of one frame; fills level 0 of the frame tree with recomputed leaf hashes. */
  private openFrame(header: FrameHeader, payload: Buffer, at: number, where: string): boolean {
    const f = this.f;
    const file = this.file;
    const place = { batchIndex: header.batchIndex, leafIndex: header.firstLeafIndex };
    let body: Uint8Array = payload.subarray(FRAME_HEADER_BYTES);
    if (header.encrypted) {
      const keyIdHex = toHex(header.keyId);
      const key = this.keys?.get(keyIdHex);
      if (key === undefined) {
        f.error('DATA_KEY_MISSING', file, `${where}: data key ${keyIdHex} is not in ${DATA_KEYS_FILE}`, {
          ...place,
          offset: at + FRAME_HEADER_OFFSETS.keyId,
          found: keyIdHex,
        });
        return false;
      }
      try {
        body = openFrame(key, header.nonce, payload.subarray(0, FRAME_HEADER_BYTES), body);
      } catch (error) {
        f.error(
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
      f.error('FRAME_BODY', file, `${where}: body does not decode: ${(error as Error).message}`, {
        ...place,
        offset: at + FRAME_HEADER_BYTES,
      });
      return false;
    }
    const words = this.frameTree.leafWordsOf(leaves);
    this.leafWords = words;
    for (let i = 0; i < leaves.length; i++) {
      this.records += 1;
      this.checkRecord(
        leaves[i]!,
        header.firstLeafIndex + i,
        words,
        i * HASH_WORDS,
        header.batchIndex,
        where,
      );
    }
    return true;
  }

  /**
   * Decodes one record and checks its entity link against the previous record of its entity; its
   * leaf hash is `words[at … at + 8)`.
   */
  private checkRecord(
    leaf: Uint8Array,
    leafIndex: number,
    words: Int32Array,
    at: number,
    batchIndex: number,
    where: string,
  ): void {
    const s = this.scanner;
    const error = s.scan(leaf);
    if (error !== undefined) {
      this.f.error('RECORD_DECODE', this.file, `${where}: leaf ${leafIndex} does not decode: ${error}`, {
        batchIndex,
        leafIndex,
      });
      return;
    }
    const head = this.heads.find(s.key, s.keyLength, s.keyHash);
    if (head === undefined) {
      // First record of its entity in this unit: the caller checks it against the log's heads.
      const entity = keyText(s.key, s.keyLength);
      const leafHash = new Uint8Array(HASH_BYTES);
      bytesFromWords(words, at, leafHash, 0, 1);
      this.links.push({
        entity,
        label: entityLabel(entity),
        leafIndex,
        leafHash,
        prevIndex: s.prevIndex,
        prevHash: s.prevAt < 0 ? undefined : s.prevSource.slice(s.prevAt, s.prevAt + HASH_BYTES),
        batchIndex,
        where,
        file: this.file,
      });
      this.heads.add(s.key, s.keyLength, s.keyHash, leafIndex, words, at);
      return;
    }
    // Compared as values; the strings are built only for a finding.
    const same =
      s.prevIndex === head.leafIndex &&
      s.prevAt >= 0 &&
      wordsEqualBytes(head.leafWords, 0, s.prevSource, s.prevAt);
    if (!same) {
      bytesFromWords(head.leafWords, 0, this.leafHash, 0, 1);
      const expected = `${head.leafIndex}:${toHex(this.leafHash)}`;
      const found =
        s.prevAt < 0
          ? 'none'
          : `${s.prevIndex}:${toHex(s.prevSource.subarray(s.prevAt, s.prevAt + HASH_BYTES))}`;
      this.f.error(
        'ENTITY_LINK',
        this.file,
        `${where}: leaf ${leafIndex} (${entityLabel(keyText(s.key, s.keyLength))}): entity link should name the previous record of its entity: expected ${expected}, got ${found}`,
        { batchIndex, leafIndex, expected, found },
      );
    }
    head.leafIndex = leafIndex;
    const hw = head.leafWords;
    for (let i = 0; i < HASH_WORDS; i++) hw[i] = words[at + i]!;
  }

  /** The records' leaf hashes (level 0 of the frame tree) against the level-0 tiles. */
  private compareTiles(first: number, count: number): void {
    const words = this.leafWords;
    const tile = this.tileHashes;
    for (let i = 0; i < count; i++) {
      const o = i * HASH_BYTES;
      if (!wordsEqualBytes(words, i * HASH_WORDS, tile, o)) {
        const leafIndex = first + i;
        bytesFromWords(words, i * HASH_WORDS, this.leafHash, 0, 1);
        const expected = toHex(this.leafHash);
        const found = toHex(tile.subarray(o, o + HASH_BYTES));
        this.f.error(
          'LEAF_HASH',
          this.tiles.pathOf(0, Math.floor(leafIndex / 256)),
          `leaf ${leafIndex}: level-0 tile hash differs from the record's leaf hash: expected ${expected}, got ${found}`,
          { offset: (leafIndex % 256) * HASH_BYTES, leafIndex, expected, found },
        );
      }
    }
  }
}

/** Byte equality of two hashes (public values: no constant-time need). */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
