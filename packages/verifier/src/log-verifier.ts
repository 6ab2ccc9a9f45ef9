/**
 * Verification of one log directory (docs/FORMAT.md): plans the segment files as units of frames,
 * has them checked by a {@link UnitRunner} (worker threads or inline, unit-checker.ts), and folds
 * the results in log order into everything that needs the log's history: batch and leaf index
 * continuity, chain hashes across frames and segments, the log's Merkle tree against every signed
 * and auditor checkpoint, entity links across units, segment numbering and how each segment ends.
 * Findings carry file, offset, batch and leaf index.
 *
 * Memory: a bounded number of unit results in flight, the compact range (O(log n) hashes), the
 * parsed checkpoints and — keyed only — one head per entity (tenant, resource type, resource id).
 * Not here: finding logs in a data directory, key files, output (see verify.ts, verify-command.ts).
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FRAME_HEADER_OFFSETS } from '@sealog/codec';
import { type DataKey, NoteVerifier } from '@sealog/crypto-envelope';
import { bytesFromWords, HASH_WORDS } from '@sealog/merkle';
import { listSegmentFiles } from '@sealog/segment-store';
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
import {
  type FooterIndex,
  type ScanEnd,
  type SegmentHeaderInfo,
  SegmentReader,
  segmentStart,
} from './segment-reader';
import { nodeFromTiles, TileReader } from './tile-reader';
import { LogTree } from './tree-hash';
import {
  equal,
  type FrameSummary,
  HASH_BYTES,
  type LogContext,
  TileNodeCheck,
  UnitChecker,
  type UnitLink,
  type UnitResult,
  type UnitTask,
} from './unit-checker';
import type { LogSession, UnitRunner } from './unit-pool';

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
  /** Where units run (a worker pool or inline). */
  readonly runner: UnitRunner;
  /** Segment bytes per unit of parallel work (sealed segments larger than twice this are split). */
  readonly unitBytes: number;
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

/** One segment file, planned: its header, and the units its frames are read in. */
interface SegmentPlan {
  readonly number: number;
  readonly path: string;
  readonly size: number;
  readonly last: boolean;
  readonly header: SegmentHeaderInfo | undefined;
  readonly headerError: { readonly error: string; readonly offset: number } | undefined;
  readonly footer: FooterIndex | undefined;
  readonly units: UnitTask[];
  /** Results, in unit order (submitted when planned). */
  readonly results: Promise<UnitResult>[];
}

/** Units submitted ahead of the fold per worker thread (bounds buffered results). */
const UNITS_AHEAD_PER_THREAD = 3;

/**
 * One log's verification. Create, then {@link LogVerifier.run} once. Units of frames are checked
 * by a {@link UnitRunner} (unit-checker.ts); this class plans them and folds their results in log
 * order: frame continuity (batch and leaf indexes, chain hashes across frames and segments), the
 * log's Merkle tree against every checkpoint, entity links across units, and segment numbering.
 */
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
  private keys: Map<string, DataKey> | undefined;
  private keyed = false;
  private readonly tiles: TileReader;
  /** Checks the tile-level nodes the log tree creates when merging (set up once keys are known). */
  private nodeCheck: TileNodeCheck;
  private tree: LogTree;
  /** Tree hashes can no longer be computed (a frame without leaf hashes). */
  private treeLost = false;
  private targets: Target[] = [];
  private nextTarget = 0;
  private maxCovered = 0;
  // Expected position of the next frame.
  private nextBatch = 0;
  private nextLeaf = 0;
  private chain: Uint8Array = GENESIS_CHAIN;
  private readonly heads = new Map<string, { leafIndex: number; leafHash: Uint8Array }>();
  private tornAt: { file: string; offset: number; reason: string; leaves: number } | undefined;
  private nextSeq = 0;
  /** Set when segments were removed from the front: where the log now starts (see startTrimmed). */
  private trim:
    | {
        readonly segment: number;
        readonly firstLeaf: number;
        readonly file: string;
        started: boolean;
        /** First records of entities whose link names a trimmed leaf: matched its tile hash / no tile. */
        tileLinks: number;
        uncheckedLinks: number;
      }
    | undefined;
  private readonly leafScratch = new Uint8Array(HASH_BYTES);
  /** Checker for re-reading a segment on this thread when a planned range disagreed with it. */
  private inline: UnitChecker | undefined;
  private ctx: LogContext | undefined;
  private session: LogSession | undefined;
  private readonly rootWords = new Int32Array(HASH_WORDS);
  private readonly rootBytes = new Uint8Array(HASH_BYTES);

  constructor(input: LogVerifyInput) {
    this.input = input;
    this.dir = input.dir;
    this.f = input.findings;
    this.tiles = new TileReader(join(input.dir, 'tiles'));
    this.nodeCheck = new TileNodeCheck(this.tiles, false, 0, this.f);
    this.tree = new LogTree(this.nodeCheck.visit);
  }

  /** Runs every check; findings go to the collector. @throws {VerifierError} on bad keys or I/O. */
  async run(): Promise<LogCounts> {
    const identity = readLogIdentity(this.dir, this.f);
    this.logId = identity?.log_id ?? basename(this.dir);
    const verifiers = this.verifiers(identity);
    this.loadCheckpoints(verifiers, identity?.origin);
    this.keyed = this.input.masterKey !== undefined;
    this.keys = readDataKeys(join(this.dir, DATA_KEYS_FILE), this.input.masterKey, this.f);
    this.nodeCheck = new TileNodeCheck(this.tiles, this.keyed, this.maxCovered, this.f);
    this.tree = new LogTree(this.nodeCheck.visit);
    const sizes = [...new Set(this.targets.map((t) => t.size).filter((s) => s > 0))];
    this.ctx = {
      dir: this.dir,
      logId: this.logId,
      masterKey: this.input.masterKey,
      maxCovered: this.maxCovered,
      targetSizes: sizes,
      maxFindings: this.f.max,
    };
    this.session = this.input.runner.openLog(this.ctx, this.keys);
    try {
      await this.scanSegments();
    } finally {
      this.session.close();
    }
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
    const ahead = Math.max(1, this.input.runner.threads * UNITS_AHEAD_PER_THREAD);
    const plans: SegmentPlan[] = [];
    let nextPlan = 0;
    /** Units submitted and not folded yet. */
    let queued = 0;
    // Plans (and submits) segments ahead of the fold, a bounded number of units at a time; called
    // after every folded unit, so the workers never wait for a segment boundary.
    const fill = (): void => {
      while (nextPlan < list.length && (plans.length === 0 || queued < ahead)) {
        const plan = this.plan(list[nextPlan]!, nextPlan === list.length - 1);
        nextPlan += 1;
        plans.push(plan);
        queued += plan.units.length;
      }
    };
    const folded = (): void => {
      queued -= 1;
      fill();
    };
    let expectNo = 1;
    for (;;) {
      fill();
      const plan = plans.shift();
      if (plan === undefined) break;
      if (
        plan.number !== expectNo &&
        expectNo === 1 &&
        plan.header !== undefined &&
        plan.header.firstKey > 0
      ) {
        this.startTrimmed(plan.number, plan.header.firstKey, plan.path);
      } else if (plan.number !== expectNo) {
        this.f.error(
          'SEGMENT_MISSING',
          plan.path,
          `segment file(s) ${expectNo}..${plan.number - 1} missing before ${basename(plan.path)}`,
          { expected: String(expectNo), found: String(plan.number) },
        );
      }
      expectNo = plan.number + 1;
      await this.foldSegment(plan, folded);
    }
  }

  /** Reads a segment's header and footer and submits its units. @throws {VerifierError} `IO_ERROR`. */
  private plan(entry: { number: number; path: string }, last: boolean): SegmentPlan {
    const reader = SegmentReader.open(entry.path);
    let header: SegmentHeaderInfo | undefined;
    let headerError: { error: string; offset: number } | undefined;
    let footer: FooterIndex | undefined;
    try {
      const h = reader.header();
      if ('error' in h) headerError = h;
      else {
        header = h;
        footer = reader.footerFromTrailer(h.headerBytes);
      }
    } finally {
      reader.close();
    }
    const units: UnitTask[] = [];
    const unitBytes = this.input.unitBytes;
    if (header !== undefined) {
      const n = footer?.offsets.length ?? 0;
      if (footer !== undefined && n >= 2 && reader.size >= 2 * unitBytes) {
        // A sealed segment in ranges of ≥ unitBytes of frames, as its footer lists them.
        const { offsets, keys } = footer;
        let i0 = 0;
        while (i0 < n) {
          let i1 = i0 + 1;
          while (i1 < n && offsets[i1]! - offsets[i0]! < unitBytes) i1 += 1;
          // No short last range: it would finish alone after the others.
          if (i1 < n && footer.offset - offsets[i1]! < unitBytes / 2) i1 = n;
          units.push({
            seq: this.nextSeq++,
            file: entry.path,
            header,
            start: { offset: offsets[i0]!, lastKey: i0 === 0 ? -1 : keys[i0 - 1]!, index: i0, found: [] },
            range: {
              to: i1 < n ? offsets[i1]! : footer.offset,
              offsets: offsets.slice(i0, i1),
              keys: keys.slice(i0, i1),
            },
          });
          i0 = i1;
        }
      } else {
        units.push({
          seq: this.nextSeq++,
          file: entry.path,
          header,
          start: segmentStart(header),
          range: undefined,
        });
      }
    }
    const results = units.map((u) => {
      const p = this.session!.submit(u);
      // Handled when folded; a unit discarded unawaited must not count as an unhandled rejection.
      p.catch(() => {});
      return p;
    });
    return {
      number: entry.number,
      path: entry.path,
      size: reader.size,
      last,
      header,
      headerError,
      footer,
      units,
      results,
    };
  }

  /** Folds the units of one segment in order, then checks its header fields and how it ends. */
  private async foldSegment(plan: SegmentPlan, folded: () => void): Promise<void> {
    const path = plan.path;
    const header = plan.header;
    if (header === undefined) {
      const e = plan.headerError!;
      this.f.error('SEGMENT_HEADER', path, `${basename(path)} @ ${hexOffset(e.offset)}: ${e.error}`, {
        offset: e.offset,
      });
      return;
    }
    let end: ScanEnd | undefined;
    let k = 0;
    for (; k < plan.units.length && end === undefined; k++) {
      let r = await plan.results[k]!;
      folded();
      if (r.end.kind === 'mismatch') {
        // The frames disagree with the footer the ranges were planned from: re-read the segment
        // from this range on, on this thread, as one read (it reaches the same verdict as a read
        // from the header: everything before this range matched the footer exactly).
        const unit = plan.units[k]!;
        const footer = plan.footer!;
        const found: number[] = [];
        for (let i = 0; i < unit.start.index; i++) found.push(footer.offsets[i]!, footer.keys[i]!);
        this.inline ??= new UnitChecker(this.ctx!, this.keys ?? new Map());
        r = this.inline.run({
          seq: unit.seq,
          file: path,
          header,
          start: { ...unit.start, found },
          range: undefined,
        });
      }
      this.foldUnit(r, path);
      if (r.end.kind !== 'range') end = r.end;
      else if (k === plan.units.length - 1) end = { kind: 'sealed', offset: r.end.offset };
    }
    // Units after the segment's end are discarded (their reads stopped being the segment's).
    for (; k < plan.units.length; k++) folded();
    this.counts.segments += 1;
    this.counts.bytes += plan.size;
    this.input.onSegment(plan.size);
    this.checkSegmentHeader(path, header, plan.number);
    this.checkSegmentEnd(path, end!, plan.last);
  }

  /**
   * The first segments are absent and the first present one starts past leaf 0: segments removed
   * from the front (retention, or anyone who could delete files — nothing in the log records which,
   * see README "Trimmed logs"). Reported as a notice; the log is verified from there on: the tree
   * is seeded from the tiles (which the ledger keeps) and every checkpoint root checked as usual,
   * so the tiles of the trimmed part are proven by the signed roots; only the trimmed frames' bytes
   * and the first kept frame's link to them are gone (the latter is checked when a signed
   * checkpoint ends exactly there, its `sealog-chain` naming the last trimmed frame).
   */
  private startTrimmed(segment: number, firstLeaf: number, file: string): void {
    this.trim = { segment, firstLeaf, file, started: false, tileLinks: 0, uncheckedLinks: 0 };
    const anchors = this.targets.filter((t) => t.size === firstLeaf && t.cp.chain !== undefined).length;
    this.f.notice(
      'SEGMENTS_TRIMMED',
      file,
      `segment file(s) 1..${segment - 1} are absent and ${basename(file)} starts at leaf ${firstLeaf}: the oldest segments were removed from the front (retention, or deleted: the log does not record which). Leaves 0..${firstLeaf - 1} can no longer be checked against their records; the tree is continued from the tiles and checked against every checkpoint; the first kept frame's link to the removed ones ${anchors > 0 ? `is checked against ${anchors} signed checkpoint(s) of size ${firstLeaf}` : `cannot be checked (no signed checkpoint of size ${firstLeaf})`}`,
      { leafIndex: firstLeaf, expected: '1', found: String(segment) },
    );
    this.nextLeaf = firstLeaf;
    // Checkpoints of the trimmed part: roots from the tiles alone.
    while (this.nextTarget < this.targets.length && this.targets[this.nextTarget]!.size < firstLeaf) {
      const t = this.targets[this.nextTarget]!;
      const range = this.compactFromTiles(t.size);
      if ('path' in range) this.seedTileMissing(range.path, t.size, firstLeaf);
      else {
        const tree = new LogTree();
        tree.seed(t.size, range.levels, range.words);
        this.checkRoot(t, tree);
      }
      this.nextTarget += 1;
    }
    const seed = this.compactFromTiles(firstLeaf);
    if ('path' in seed) {
      this.seedTileMissing(seed.path, firstLeaf, firstLeaf);
      this.treeLost = true;
      return;
    }
    this.tree.seed(firstLeaf, seed.levels, seed.words);
    this.checkTargetsHere();
  }

  private seedTileMissing(path: string, size: number, firstLeaf: number): void {
    this.f.error(
      'TILE_MISSING',
      path,
      `tile missing: the tree of ${size} leaves cannot be rebuilt, and leaves 0..${firstLeaf - 1} are trimmed from the data: checkpoint roots ${size < firstLeaf ? `of size ${size}` : 'from here on'} cannot be checked`,
      { leafIndex: size },
    );
  }

  /** The compact range of `[0, size)` from the tiles (perfect subtrees, largest first). */
  private compactFromTiles(size: number): { levels: number[]; words: Int32Array } | { path: string } {
    const levels: number[] = [];
    for (let l = 52; l >= 0; l--) if (Math.floor(size / 2 ** l) % 2 === 1) levels.push(l);
    const words = new Int32Array(levels.length * HASH_WORDS);
    let start = 0;
    for (let i = 0; i < levels.length; i++) {
      const width = 2 ** levels[i]!;
      const missing = nodeFromTiles(this.tiles, levels[i]!, start / width, words, i * HASH_WORDS);
      if (missing !== undefined) return missing;
      start += width;
    }
    return { levels, words };
  }

  /** The first frame after trimmed segments: the sequence continues from it. */
  private firstKeptFrame(fs: FrameSummary, where: string, file: string): void {
    const trim = this.trim!;
    trim.started = true;
    this.nextBatch = fs.batchIndex;
    this.chain = fs.prevChain;
    // A signed checkpoint that ends exactly here names the last trimmed frame and its chain hash.
    for (const t of this.targets) {
      const chain = t.cp.chain;
      if (t.size !== trim.firstLeaf || chain === undefined) continue;
      if (chain.batchIndex !== fs.batchIndex - 1 || !equal(chain.hash, fs.prevChain)) {
        const cp = t.cp;
        this.f.error(
          'CHAIN_HASH',
          file,
          `${where}: first frame after the trimmed segments: its previous chain hash and batch index disagree with the signed checkpoint of size ${t.size} (${cp.auditor ? cp.file : `${CHECKPOINTS_FILE} entry @ ${hexOffset(cp.offset)}`}): expected batch ${chain.batchIndex} ${toHex(chain.hash)}, got batch ${fs.batchIndex - 1} ${toHex(fs.prevChain)}`,
          {
            batchIndex: fs.batchIndex,
            leafIndex: fs.firstLeafIndex,
            offset: fs.at + FRAME_HEADER_OFFSETS.prevChainHash,
            expected: `${chain.batchIndex}:${toHex(chain.hash)}`,
            found: `${fs.batchIndex - 1}:${toHex(fs.prevChain)}`,
          },
        );
      }
    }
  }

  /** A record whose entity has no record since the trim point links into the trimmed leaves. */
  private checkTrimmedLink(l: UnitLink): void {
    const trim = this.trim!;
    const tile = this.leafScratch;
    if (this.tiles.leafHashes(l.prevIndex, 1, tile) !== undefined) {
      trim.uncheckedLinks += 1;
      return;
    }
    if (l.prevHash !== undefined && equal(l.prevHash, tile)) {
      trim.tileLinks += 1;
      return;
    }
    const found = `${l.prevIndex}:${l.prevHash === undefined ? '' : toHex(l.prevHash)}`;
    this.f.error(
      'ENTITY_LINK',
      l.file,
      `${l.where}: leaf ${l.leafIndex} (${l.label}): entity link names trimmed leaf ${l.prevIndex}, whose hash in the level-0 tile is ${toHex(tile)}, not ${l.prevHash === undefined ? 'nil' : toHex(l.prevHash)}`,
      { batchIndex: l.batchIndex, leafIndex: l.leafIndex, expected: `${l.prevIndex}:${toHex(tile)}`, found },
    );
  }

  private checkSegmentHeader(file: string, h: SegmentHeaderInfo, number: number): void {
    if (h.segmentNumber !== number) {
      this.f.error(
        'SEGMENT_NUMBER',
        file,
        `segment header @ 0x8: segment number ${h.segmentNumber} in a file named ${number}`,
        { offset: 8, expected: String(number), found: String(h.segmentNumber) },
      );
    }
    if (h.logId !== this.logId) {
      this.f.error('SEGMENT_LOG_ID', file, `segment header @ 0x28: log id ${JSON.stringify(h.logId)}`, {
        offset: 40,
        expected: this.logId,
        found: h.logId,
      });
    }
  }

  private checkSegmentEnd(file: string, end: ScanEnd, last: boolean): void {
    if (end.kind === 'sealed' || end.kind === 'range' || end.kind === 'mismatch') return;
    if (end.kind === 'open') {
      if (!last) {
        this.f.warn('SEGMENT_UNSEALED', file, `segment is not sealed but is not the last one`, {
          offset: end.offset,
        });
      }
      return;
    }
    if (end.kind === 'torn' && last) {
      // Decided in finish(): an error when a checkpoint covers leaves that are not in the data.
      this.tornAt = { file, offset: end.offset, reason: end.reason, leaves: this.nextLeaf };
      return;
    }
    this.f.error(
      'SEGMENT_CORRUPT',
      file,
      `${basename(file)} @ ${hexOffset(end.offset)}: ${end.reason}${end.kind === 'torn' ? ' (torn tail in a segment that is not the last)' : ''}`,
      { offset: end.offset, leafIndex: this.nextLeaf },
    );
  }

  /** Folds one unit's frames into the log's sequence, tree and entity heads. */
  private foldUnit(r: UnitResult, file: string): void {
    const c = this.counts;
    let fi = 0;
    let li = 0;
    for (const fs of r.frames) {
      c.frames += 1;
      if (fs.headerError !== undefined) {
        this.f.error('FRAME_HEADER', file, fs.headerError.message, {
          offset: fs.headerError.offset,
          batchIndex: this.nextBatch,
          leafIndex: this.nextLeaf,
        });
        // Keep the chain going over the frames we have, so later frames are not all reported too.
        this.nextBatch += 1;
        for (; fi < fs.findingsTo; fi++) this.f.add(r.findings[fi]!);
        continue;
      }
      const b = fs.batchIndex;
      const first = fs.firstLeafIndex;
      const where = `frame ${b} @ ${hexOffset(fs.at)}`;
      const place = { batchIndex: b, leafIndex: first };
      if (this.trim !== undefined && !this.trim.started) this.firstKeptFrame(fs, where, file);
      if (b !== this.nextBatch) {
        this.f.error(
          'BATCH_INDEX',
          file,
          `${where}: batch index not contiguous: expected ${this.nextBatch}, got ${b}`,
          {
            ...place,
            offset: fs.at + FRAME_HEADER_OFFSETS.batchIndex,
            expected: String(this.nextBatch),
            found: String(b),
          },
        );
      }
      if (first !== this.nextLeaf) {
        this.f.error(
          'LEAF_INDEX',
          file,
          `${where}: first leaf index not contiguous: expected ${this.nextLeaf}, got ${first}`,
          {
            ...place,
            offset: fs.at + FRAME_HEADER_OFFSETS.firstLeafIndex,
            expected: String(this.nextLeaf),
            found: String(first),
          },
        );
      }
      // The chain continues from the frame's own claim (unit-checker.ts), so one break is reported once.
      if (!equal(fs.prevChain, this.chain)) {
        this.f.error(
          'CHAIN_HASH',
          file,
          `${where}: chain hash mismatch: expected ${toHex(this.chain)}, got ${toHex(fs.prevChain)}`,
          {
            ...place,
            offset: fs.at + FRAME_HEADER_OFFSETS.prevChainHash,
            expected: toHex(this.chain),
            found: toHex(fs.prevChain),
          },
        );
      }
      for (; fi < fs.findingsTo; fi++) this.f.add(r.findings[fi]!);
      for (; li < fs.linksTo; li++) this.checkLink(r.links[li]!);
      if (!fs.haveHashes) this.treeLost = true;
      else if (!this.treeLost) {
        // A frame that does not start where the tree ends (reported above) cannot extend it.
        if (this.tree.size !== first) this.treeLost = true;
        else this.growTree(fs);
      }
      this.nextBatch = b + 1;
      this.nextLeaf = first + fs.count;
      this.chain = fs.chain;
      c.leaves = this.nextLeaf;
      this.checkChainTargets(b, where);
    }
    for (; fi < r.findings.length; fi++) this.f.add(r.findings[fi]!);
    for (let i = 0; i < r.entities.length; i++) {
      const leafHash = r.headHashes.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES);
      this.heads.set(r.entities[i]!, { leafIndex: r.headIndexes[i]!, leafHash });
    }
    c.records += r.records;
    this.f.addDropped(r.dropped, r.droppedErrors);
  }

  /** The first record of an entity in a unit must link to the entity's last record before it. */
  private checkLink(l: UnitLink): void {
    const head = this.heads.get(l.entity);
    if (
      head === undefined &&
      this.trim !== undefined &&
      l.prevIndex >= 0 &&
      l.prevIndex < this.trim.firstLeaf
    ) {
      this.checkTrimmedLink(l);
      return;
    }
    // Compared as values; the strings are built only for a finding.
    const same =
      head === undefined
        ? l.prevIndex < 0
        : l.prevHash !== undefined && l.prevIndex === head.leafIndex && equal(l.prevHash, head.leafHash);
    if (same) return;
    const expected = head === undefined ? 'none' : `${head.leafIndex}:${toHex(head.leafHash)}`;
    const found = l.prevHash === undefined ? 'none' : `${l.prevIndex}:${toHex(l.prevHash)}`;
    this.f.error(
      'ENTITY_LINK',
      l.file,
      `${l.where}: leaf ${l.leafIndex} (${l.label}): entity link should name the previous record of its entity: expected ${expected}, got ${found}`,
      { batchIndex: l.batchIndex, leafIndex: l.leafIndex, expected, found },
    );
  }

  /** Appends a frame's aligned nodes to the tree, comparing roots at each checkpoint size. */
  private growTree(fs: FrameSummary): void {
    const levels = fs.nodeLevels;
    for (let k = 0; k < levels.length; k++) {
      this.checkTargetsHere();
      this.tree.addAligned(levels[k]!, fs.nodes, k * HASH_WORDS);
    }
    this.checkTargetsHere();
    if (this.tree.size !== fs.firstLeafIndex + fs.count) {
      throw new VerifierError('LOGIC', 'logic error: log tree out of step with the frames');
    }
  }

  /** Root-checks every checkpoint whose size is the tree's current size. */
  private checkTargetsHere(): void {
    while (this.nextTarget < this.targets.length) {
      const t = this.targets[this.nextTarget]!;
      if (t.size > this.tree.size) return;
      // Frames are split at every checkpoint size, so the tree stops at each one.
      if (t.size < this.tree.size)
        throw new VerifierError('LOGIC', `logic error: tree grew past checkpoint size ${t.size}`);
      this.checkRoot(t);
      this.nextTarget += 1;
    }
  }

  private checkRoot(t: Target, tree: LogTree = this.tree): void {
    tree.root(this.rootWords);
    bytesFromWords(this.rootWords, 0, this.rootBytes, 0, 1);
    const root = this.rootBytes;
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

  private finish(): void {
    const trim = this.trim;
    if (trim !== undefined && trim.tileLinks + trim.uncheckedLinks > 0) {
      this.f.notice(
        'SEGMENTS_TRIMMED',
        trim.file,
        `${trim.tileLinks + trim.uncheckedLinks} record(s) link to an entity's previous record among the trimmed leaves 0..${trim.firstLeaf - 1}: ${trim.tileLinks} named a leaf hash equal to the level-0 tile's (whether it was the entity's previous record cannot be checked any more), ${trim.uncheckedLinks} could not be compared (tile missing)`,
        { leafIndex: trim.firstLeaf },
      );
    }
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
