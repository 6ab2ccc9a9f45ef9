/**
 * What the verifier needs of one record (docs/FORMAT.md, "Records"): that it decodes as a v1 leaf
 * — every rule `decodeRecord` of `@sealog/codec` enforces — and its entity `(tenant, resource.type,
 * resource.id)` and entity link.
 *
 * Two paths. {@link scanRecordFast} walks the msgpack bytes once without building the record
 * (~0.3 µs per record instead of ~3 µs for `decodeRecord` with msgpackr, the largest keyed cost
 * after hashing): it accepts only the plain encodings the ledger writes and a stricter reading of
 * every field, so whatever it accepts `decodeRecord` accepts too, with the same entity and link (a
 * property test checks this on mutated records). Anything else — an unusual but legal encoding,
 * non-ASCII entity strings, or damage — goes to `decodeRecord`, whose verdict and message stand.
 *
 * Not here: decoding fields the verifier does not compare. Returned hashes are views of the leaf.
 */
import { decodeRecord, MAX_RECORD_BYTES } from '@sealog/codec';

/** The parts of a decoded record the entity-link check uses. */
export interface ScannedRecord {
  /** `tenant_id "\0" resource.type "\0" resource.id` (the ledger's entity key, FORMAT.md). */
  readonly entity: string;
  /** Leaf index the link names; −1 when the link is nil. */
  readonly prevIndex: number;
  /** Leaf hash the link names (a view of the leaf); `undefined` when nil. */
  readonly prevHash: Uint8Array | undefined;
}

/**
 * Scans records one after another, keeping what the last one gave in its fields (no object per
 * record): the entity key as UTF-8 bytes `key[0 … keyLength)` with an FNV-1a hash of them, and the
 * link. Everything is valid until the next {@link RecordScanner.scan}.
 */
export class RecordScanner {
  /** Entity key bytes: `tenant ‖ 0x00 ‖ type ‖ 0x00 ‖ id` in UTF-8. */
  key: Uint8Array = new Uint8Array(256);
  keyLength = 0;
  /** FNV-1a of the key bytes, 30 bits (for hash tables). */
  keyHash = 0;
  /** Leaf index the link names; −1 when the link is nil. */
  prevIndex = -1;
  /** The link's leaf hash is `prevSource[prevAt … prevAt + 32)` (no view per record); −1 when nil. */
  prevAt = -1;
  prevSource: Uint8Array = EMPTY;
  private readonly encoder = new TextEncoder();

  /**
   * Decodes `leaf` as a v1 record (fast path, else `decodeRecord`).
   * @returns `undefined` when it decodes (read the fields), else `decodeRecord`'s message.
   */
  scan(leaf: Uint8Array): string | undefined {
    if (walk(leaf)) {
      this.prevIndex = outPrevIndex;
      this.prevAt = outPrevAt;
      this.prevSource = leaf;
      const n = t1 - t0 + 1 + y1 - y0 + 1 + i1 - i0;
      if (this.key.length < n) this.key = new Uint8Array(2 * n);
      const k = this.key;
      let o = 0;
      for (let i = t0; i < t1; i++) k[o++] = leaf[i]!;
      k[o++] = 0;
      for (let i = y0; i < y1; i++) k[o++] = leaf[i]!;
      k[o++] = 0;
      for (let i = i0; i < i1; i++) k[o++] = leaf[i]!;
      let h = FNV_OFFSET;
      for (let i = 0; i < n; i++) h = Math.imul(h ^ k[i]!, FNV_PRIME);
      this.keyLength = n;
      this.keyHash = h & SMI_MASK;
      b = EMPTY;
      return undefined;
    }
    b = EMPTY;
    let r: ReturnType<typeof decodeRecord>;
    try {
      r = decodeRecord(leaf);
    } catch (error) {
      return (error as Error).message;
    }
    this.prevIndex = r.prev === null ? -1 : r.prev.leafIndex;
    this.prevAt = r.prev === null ? -1 : 0;
    this.prevSource = r.prev === null ? EMPTY : r.prev.leafHash;
    const entity = `${r.tenant_id}\u0000${r.resource.type}\u0000${r.resource.id}`;
    if (this.key.length < entity.length * 3) this.key = new Uint8Array(entity.length * 3);
    const n = this.encoder.encodeInto(entity, this.key).written;
    let h = FNV_OFFSET;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ this.key[i]!, FNV_PRIME);
    this.keyLength = n;
    this.keyHash = h & SMI_MASK;
    return undefined;
  }
}

/** FNV-1a 32-bit parameters. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Keeps the hash a small integer (V8 Smi), the cheapest Map key. */
const SMI_MASK = 0x3fffffff;
const EMPTY = new Uint8Array(0);

/** Fields of a v1 record body. */
const BODY_FIELDS = 16;
const TWO_32 = 0x1_0000_0000;

/** Cursor state of one walk (module scratch: the walk is synchronous and not reentrant). */
let b: Uint8Array = new Uint8Array(0);
let p = 0;
let end = 0;
/** Start and end of the last string {@link str} read. */
let s0 = 0;
let s1 = 0;
/** What a successful walk found: the tenant, type and id byte ranges, and the link. */
let t0 = 0;
let t1 = 0;
let y0 = 0;
let y1 = 0;
let i0 = 0;
let i1 = 0;
let outPrevIndex = -1;
let outPrevAt = -1;
/** `b` is a Buffer (float64 fields are then read natively). */
let isBuffer = false;
const view = { dv: new DataView(new ArrayBuffer(8)) };

/** A msgpack str at `p` (fixstr, str8/16/32) within bounds: sets `s0`, `s1`, advances. */
function str(): boolean {
  const t = b[p]!;
  let n: number;
  if (t >= 0xa0 && t <= 0xbf) {
    n = t & 0x1f;
    p += 1;
  } else if (t === 0xd9 && p + 2 <= end) {
    n = b[p + 1]!;
    p += 2;
  } else if (t === 0xda && p + 3 <= end) {
    n = (b[p + 1]! << 8) | b[p + 2]!;
    p += 3;
  } else if (t === 0xdb && p + 5 <= end) {
    n = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
    p += 5;
  } else return false;
  if (p + n > end) return false;
  s0 = p;
  s1 = p + n;
  p += n;
  return true;
}

/** A msgpack bin (bin8/16/32) within bounds. */
function bin(): boolean {
  const t = b[p]!;
  let n: number;
  if (t === 0xc4 && p + 2 <= end) {
    n = b[p + 1]!;
    p += 2;
  } else if (t === 0xc5 && p + 3 <= end) {
    n = (b[p + 1]! << 8) | b[p + 2]!;
    p += 3;
  } else if (t === 0xc6 && p + 5 <= end) {
    n = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
    p += 5;
  } else return false;
  if (p + n > end) return false;
  p += n;
  return true;
}

/** An epoch-ms time: a non-negative safe integer as uint or float64 (`decodeRecord`'s `millis`). */
function millis(): boolean {
  const t = b[p]!;
  if (t <= 0x7f) {
    p += 1;
    return true;
  }
  const width = t === 0xcc ? 1 : t === 0xcd ? 2 : t === 0xce ? 4 : t === 0xcf || t === 0xcb ? 8 : 0;
  if (width === 0 || p + 1 + width > end) return false;
  if (t === 0xcf) {
    const hi = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
    const lo = ((b[p + 5]! << 24) | (b[p + 6]! << 16) | (b[p + 7]! << 8) | b[p + 8]!) >>> 0;
    if (!Number.isSafeInteger(hi * TWO_32 + lo)) return false;
  } else if (t === 0xcb) {
    let v: number;
    if (isBuffer) v = (b as Buffer).readDoubleBE(p + 1);
    else {
      const dv = view.dv;
      for (let i = 0; i < 8; i++) dv.setUint8(i, b[p + 1 + i]!);
      v = dv.getFloat64(0);
    }
    if (!Number.isSafeInteger(v) || v < 0) return false;
  }
  p += 1 + width;
  return true;
}

/** A positive fixint `0 … max` (enum codes as the ledger writes them). */
function code(max: number): boolean {
  const t = b[p]!;
  if (t > max) return false;
  p += 1;
  return true;
}

/** A string or nil. */
function optStr(): boolean {
  if (b[p] === 0xc0) {
    p += 1;
    return true;
  }
  return str();
}

/** An array header (fixarray/array16/array32): its length, or −1. */
function arrayLength(): number {
  const t = b[p]!;
  if (t >= 0x90 && t <= 0x9f) {
    p += 1;
    return t & 0x0f;
  }
  if (t === 0xdc && p + 3 <= end) {
    p += 3;
    return (b[p - 2]! << 8) | b[p - 1]!;
  }
  if (t === 0xdd && p + 5 <= end) {
    p += 5;
    return ((b[p - 4]! << 24) | (b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!) >>> 0;
  }
  return -1;
}

/** A map header (fixmap/map16/map32): its length, or −1. */
function mapLength(): number {
  const t = b[p]!;
  if (t >= 0x80 && t <= 0x8f) {
    p += 1;
    return t & 0x0f;
  }
  if (t === 0xde && p + 3 <= end) {
    p += 3;
    return (b[p - 2]! << 8) | b[p - 1]!;
  }
  if (t === 0xdf && p + 5 <= end) {
    p += 5;
    return ((b[p - 4]! << 24) | (b[p - 3]! << 16) | (b[p - 2]! << 8) | b[p - 1]!) >>> 0;
  }
  return -1;
}

/** A metadata value msgpackr decodes to a string, number or boolean. */
function scalar(): boolean {
  const t = b[p]!;
  if (t <= 0x7f || t >= 0xe0 || t === 0xc2 || t === 0xc3) {
    p += 1;
    return true;
  }
  const width =
    t === 0xcc || t === 0xd0
      ? 1
      : t === 0xcd || t === 0xd1
        ? 2
        : t === 0xce || t === 0xd2
          ? 4
          : t === 0xcb
            ? 8
            : 0;
  if (width > 0) {
    if (p + 1 + width > end) return false;
    p += 1 + width;
    return true;
  }
  return str();
}

/** True when `b[s0 … s1)` is ASCII (then any UTF-8 decoder, msgpackr's included, gives its bytes as characters). */
function ascii(): boolean {
  for (let i = s0; i < s1; i++) if (b[i]! > 0x7f) return false;
  return true;
}

/** The field walk; `false` sends the record to `decodeRecord`. Sets the `t0 … i1` ranges and the link. */
function walk(leaf: Uint8Array): boolean {
  b = leaf;
  p = 0;
  end = leaf.length;
  // Every read below stays within `end` (checked), so a short leaf just fails the walk.
  if (end < 3 + 3 + BODY_FIELDS || end > MAX_RECORD_BYTES || b[0] !== 0x93 || b[1] !== 0x01) return false;
  p = 2;
  isBuffer = leaf instanceof Buffer;
  let prevIndex = -1;
  let prevAt = -1;
  if (b[p] === 0xc0) p += 1;
  else if (b[p] === 0x92) {
    // [leafIndex, bin8(32)], the index in its shortest uint form (the only one decodeRecord takes).
    p += 1;
    const t = b[p]!;
    if (t <= 0x7f) {
      prevIndex = t;
      p += 1;
    } else if (t === 0xcc) {
      prevIndex = b[p + 1]!;
      if (prevIndex <= 0x7f) return false;
      p += 2;
    } else if (t === 0xcd) {
      prevIndex = (b[p + 1]! << 8) | b[p + 2]!;
      if (prevIndex <= 0xff) return false;
      p += 3;
    } else if (t === 0xce) {
      prevIndex = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
      if (prevIndex <= 0xffff) return false;
      p += 5;
    } else return false;
    if (p + 34 > end || b[p] !== 0xc4 || b[p + 1] !== 32) return false;
    prevAt = p + 2;
    p += 34;
  } else return false;
  if (p + 3 > end || b[p] !== 0xdc || b[p + 1] !== 0 || b[p + 2] !== BODY_FIELDS) return false;
  p += 3;
  // Each step reads one type byte at p < end before looking further (checked here once per field).
  if (p >= end || !str()) return false; // 0 event_id
  if (p >= end || !str() || !ascii()) return false; // 1 tenant_id
  t0 = s0;
  t1 = s1;
  if (p >= end || !millis()) return false; // 2 occurred_at
  if (p >= end || !millis()) return false; // 3 received_at
  if (p >= end || !code(2)) return false; // 4 actor_type
  if (p >= end || !bin()) return false; // 5 subject_token
  if (p >= end || !str()) return false; // 6 action
  if (p >= end) return false; // 7 category
  if (b[p] === 0xc0) p += 1;
  else if (!code(6)) return false;
  if (p >= end || b[p] !== 0x93) return false; // 8 resource
  p += 1;
  if (p >= end || !str() || !ascii()) return false;
  y0 = s0;
  y1 = s1;
  if (p >= end || !str() || !ascii()) return false;
  i0 = s0;
  i1 = s1;
  if (p >= end || !optStr()) return false;
  if (p >= end || !code(2)) return false; // 9 result
  if (p >= end) return false; // 10 context
  if (b[p] === 0xc0) p += 1;
  else {
    if (b[p] !== 0x94) return false;
    p += 1;
    for (let i = 0; i < 4; i++) if (p >= end || !optStr()) return false;
  }
  if (p >= end) return false; // 11 change_fields
  if (b[p] === 0xc0) p += 1;
  else {
    const n = arrayLength();
    if (n < 0) return false;
    for (let i = 0; i < n; i++) if (p >= end || !str()) return false;
  }
  if (p >= end) return false; // 12 metadata
  if (b[p] === 0xc0) p += 1;
  else {
    const n = mapLength();
    if (n < 0) return false;
    for (let i = 0; i < n; i++) {
      if (p >= end || !str()) return false;
      if (p >= end || !scalar()) return false;
    }
  }
  if (p >= end || !str()) return false; // 13 retention_class
  if (p >= end || !str()) return false; // 14 subject_key_id
  if (p >= end || !bin()) return false; // 15 sealed_personal
  // No trailing bytes (decodeRecord refuses them too).
  if (p !== end) return false;
  outPrevIndex = prevIndex;
  outPrevAt = prevAt;
  return true;
}

const latin1 = (leaf: Uint8Array, from: number, to: number): string =>
  String.fromCharCode.apply(null, Array.from(leaf.subarray(from, to)));

/**
 * The fast path alone: the record's entity and link when the walk accepts it, else `undefined`
 * (for the property test that pins it to `decodeRecord`; the verifier uses {@link RecordScanner}).
 */
export function scanRecordFast(leaf: Uint8Array): ScannedRecord | undefined {
  const ok = walk(leaf);
  b = EMPTY;
  if (!ok) return undefined;
  const entity = `${latin1(leaf, t0, t1)}\u0000${latin1(leaf, y0, y1)}\u0000${latin1(leaf, i0, i1)}`;
  return {
    entity,
    prevIndex: outPrevIndex,
    prevHash: outPrevAt < 0 ? undefined : leaf.subarray(outPrevAt, outPrevAt + 32),
  };
}

/** `tenant/type/id` of an entity key, for messages. */
export function entityLabel(entity: string): string {
  return entity.replace('\u0000', '/').replace('\u0000', '/');
}

/**
 * Decodes `leaf` as a v1 record with a {@link RecordScanner}, as one object (tests, tools).
 * @returns the record's entity and link, or `decodeRecord`'s message when the leaf does not decode.
 */
export function scanRecord(leaf: Uint8Array): ScannedRecord | string {
  const s = new RecordScanner();
  const error = s.scan(leaf);
  if (error !== undefined) return error;
  return {
    entity: new TextDecoder().decode(s.key.subarray(0, s.keyLength)),
    prevIndex: s.prevIndex,
    prevHash: s.prevAt < 0 ? undefined : s.prevSource.subarray(s.prevAt, s.prevAt + 32),
  };
}
