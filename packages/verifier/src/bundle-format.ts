/**
 * Export bundle format v1 (docs/FORMAT.md, "Export bundles"), the reader's side: line types, the
 * header's shape, the human-readable rendering of a decoded record (which the bundle's `record`
 * field must equal) and a structural comparison that names the first differing field.
 *
 * This is an implementation independent of the producer (`@sealog/ledger`'s `exportBundle`),
 * written from FORMAT.md: the verifier must not trust the code that wrote what it checks. Nothing
 * here touches files; the streaming verification is in bundle-verifier.ts.
 */
import { renderPublicRecord, type StoredRecord } from '@sealog/codec';

/** Bundle format version this verifier reads. */
export const BUNDLE_VERSION = 1;
/** `type` of a bundle's first line. */
export const BUNDLE_HEADER_TYPE = 'sealog-bundle';
/** First line of the signed summary in the trailer (docs/FORMAT.md). */
export const BUNDLE_SUMMARY_LINE = 'sealog-bundle/v1';
/** Longest line accepted, bytes: a 1 MiB leaf is ~1.4 MiB of base64, plus its rendering. */
export const MAX_BUNDLE_LINE_BYTES: number = 8 * 1024 * 1024;

/** The filter a bundle declares in its header; every record must match it. */
export interface BundleFilter {
  readonly tenantId: string;
  /** Leaf range scanned, `[fromLeaf, toLeaf)`. */
  readonly fromLeaf: number;
  readonly toLeaf: number;
  /** `occurred_at` range, epoch ms, `[startTime, endTime)`; `undefined` = open. */
  readonly startTime: number | undefined;
  readonly endTime: number | undefined;
  /** Hex blind token of the actor filter (the actor id itself is personal data). */
  readonly actorToken: string | undefined;
  readonly resourceType: string | undefined;
  readonly resourceId: string | undefined;
  readonly action: string | undefined;
}

/** A parsed, shape-checked header line. */
export interface BundleHeader {
  readonly version: number;
  readonly logId: string;
  readonly origin: string;
  readonly publicKey: string;
  readonly treeSize: number;
  /** Hex root hash as the header states it (must equal the checkpoint's). */
  readonly rootHash: string;
  /** The signed checkpoint note. */
  readonly checkpoint: string;
  readonly createdAt: string;
  readonly producer: string;
  readonly filter: BundleFilter;
  /** Whether the producer added decrypted personal fields. */
  readonly personal: boolean;
}

const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX_TOKEN = /^(?:[0-9a-f]{2})+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** `null` → undefined; a string → itself; anything else → the error text. */
function optString(v: unknown, field: string): string | undefined | { error: string } {
  if (v === null) return undefined;
  if (typeof v === 'string') return v;
  return { error: `${field}: expected a string or null, got ${JSON.stringify(v)}` };
}

function optTime(v: unknown, field: string): number | undefined | { error: string } {
  if (v === null) return undefined;
  if (typeof v === 'string' && RFC3339_MS.test(v)) {
    const ms = Date.parse(v);
    if (Number.isSafeInteger(ms) && new Date(ms).toISOString() === v) return ms;
  }
  return { error: `${field}: expected RFC 3339 UTC with milliseconds or null, got ${JSON.stringify(v)}` };
}

/**
 * Checks the shape of a header line (already JSON-parsed).
 * @returns the header, or a message naming the first bad field.
 */
export function parseBundleHeader(v: unknown): BundleHeader | { error: string } {
  if (!isObject(v) || v.type !== BUNDLE_HEADER_TYPE) {
    return { error: `expected a header line with "type": "${BUNDLE_HEADER_TYPE}"` };
  }
  if (v.version !== BUNDLE_VERSION) {
    return { error: `version: expected ${BUNDLE_VERSION}, got ${JSON.stringify(v.version)} (unsupported)` };
  }
  for (const k of ['log_id', 'origin', 'public_key', 'root_hash', 'checkpoint', 'created_at', 'producer']) {
    if (typeof v[k] !== 'string') return { error: `${k}: expected a string, got ${JSON.stringify(v[k])}` };
  }
  if (!isIndex(v.tree_size))
    return { error: `tree_size: expected an integer ≥ 0, got ${JSON.stringify(v.tree_size)}` };
  if (typeof v.personal !== 'boolean')
    return { error: `personal: expected a boolean, got ${JSON.stringify(v.personal)}` };
  const f = v.filter;
  if (!isObject(f)) return { error: 'filter: expected an object' };
  if (typeof f.tenant_id !== 'string' || f.tenant_id.length === 0) {
    return { error: `filter.tenant_id: expected a non-empty string, got ${JSON.stringify(f.tenant_id)}` };
  }
  if (!isIndex(f.from_leaf) || !isIndex(f.to_leaf)) {
    return {
      error: `filter.from_leaf/to_leaf: expected integers ≥ 0, got ${JSON.stringify([f.from_leaf, f.to_leaf])}`,
    };
  }
  const startTime = optTime(f.start_time, 'filter.start_time');
  const endTime = optTime(f.end_time, 'filter.end_time');
  const actorToken = optString(f.actor_token, 'filter.actor_token');
  const resourceType = optString(f.resource_type, 'filter.resource_type');
  const resourceId = optString(f.resource_id, 'filter.resource_id');
  const action = optString(f.action, 'filter.action');
  for (const x of [startTime, endTime, actorToken, resourceType, resourceId, action]) {
    if (typeof x === 'object') return x;
  }
  if (typeof actorToken === 'string' && !HEX_TOKEN.test(actorToken)) {
    return { error: `filter.actor_token: expected lowercase hex, got ${JSON.stringify(actorToken)}` };
  }
  return {
    version: v.version,
    logId: v.log_id as string,
    origin: v.origin as string,
    publicKey: v.public_key as string,
    treeSize: v.tree_size,
    rootHash: v.root_hash as string,
    checkpoint: v.checkpoint as string,
    createdAt: v.created_at as string,
    producer: v.producer as string,
    personal: v.personal,
    filter: {
      tenantId: f.tenant_id,
      fromLeaf: f.from_leaf,
      toLeaf: f.to_leaf,
      startTime: startTime as number | undefined,
      endTime: endTime as number | undefined,
      actorToken: actorToken as string | undefined,
      resourceType: resourceType as string | undefined,
      resourceId: resourceId as string | undefined,
      action: action as string | undefined,
    },
  };
}

/** One entry of the header's optional `consistency` array: a proof from an earlier tree size. */
export interface BundleConsistencyProof {
  /** Tree size proven from, 1 ≤ fromSize ≤ the header's `tree_size`. */
  readonly fromSize: number;
  /** The root of the first `fromSize` leaves, as the producer states it (32 bytes). */
  readonly fromRoot: Uint8Array;
  /** RFC 9162 §2.1.4 consistency proof from `fromSize` to `tree_size` (32-byte hashes). */
  readonly proof: readonly Uint8Array[];
}

/** Most entries a `consistency` array may have (the producer's limit). */
export const MAX_BUNDLE_CONSISTENCY_PROOFS = 64;

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * Checks the shape of the header's optional `consistency` key (docs/FORMAT.md): absent →
 * `undefined`; else an array of `{from_size, from_root, proof}` with `from_size` strictly
 * ascending in `[1, treeSize]` and every hash 64 lowercase hex digits. Whether the proofs hold is
 * for the caller (it needs the verified checkpoint).
 * @returns the entries, or a message naming the first bad field.
 */
export function parseBundleConsistency(
  v: unknown,
  treeSize: number,
): readonly BundleConsistencyProof[] | undefined | { error: string } {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return { error: `consistency: expected an array, got ${JSON.stringify(v)}` };
  if (v.length > MAX_BUNDLE_CONSISTENCY_PROOFS) {
    return { error: `consistency: at most ${MAX_BUNDLE_CONSISTENCY_PROOFS} entries, got ${v.length}` };
  }
  const out: BundleConsistencyProof[] = [];
  let last = 0;
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    const at = `consistency[${i}]`;
    if (!isObject(e)) return { error: `${at}: expected an object` };
    const m = e.from_size;
    if (!isIndex(m) || m <= last || m > treeSize) {
      return {
        error: `${at}.from_size: expected an integer in [${last + 1}, ${treeSize}] (ascending, ≤ tree_size), got ${JSON.stringify(m)}`,
      };
    }
    last = m;
    if (typeof e.from_root !== 'string' || !HEX_HASH.test(e.from_root)) {
      return {
        error: `${at}.from_root: expected 64 lowercase hex digits, got ${JSON.stringify(e.from_root)}`,
      };
    }
    const proof = e.proof;
    if (!Array.isArray(proof)) return { error: `${at}.proof: expected an array of hashes` };
    const hashes: Uint8Array[] = new Array(proof.length);
    for (let j = 0; j < proof.length; j++) {
      const h: unknown = proof[j];
      if (typeof h !== 'string' || !HEX_HASH.test(h)) {
        return { error: `${at}.proof[${j}]: expected 64 lowercase hex digits, got ${JSON.stringify(h)}` };
      }
      hashes[j] = new Uint8Array(Buffer.from(h, 'hex'));
    }
    out.push({ fromSize: m, fromRoot: new Uint8Array(Buffer.from(e.from_root, 'hex')), proof: hashes });
  }
  return out;
}

/** The human-readable public fields of a decoded record (shared with the producer via @sealog/codec). */
export const renderRecord: (r: StoredRecord) => Record<string, unknown> = renderPublicRecord;

/** Where two JSON values first differ. */
export interface ValueDifference {
  /** Dotted path, e.g. `record.resource.id` or `record.change_fields[0]`. */
  readonly path: string;
  /** JSON of the expected value (`absent` when the field should not exist). */
  readonly expected: string;
  /** JSON of the value found (`absent` when missing). */
  readonly found: string;
}

function show(v: unknown): string {
  return v === undefined ? 'absent' : JSON.stringify(v);
}

/**
 * Compares `found` (parsed JSON) with `expected` (a rendering): same keys (any order), same array
 * lengths, identical primitives.
 * @returns the first difference in key order of `expected`, or `undefined` when equal.
 */
export function firstDifference(
  expected: unknown,
  found: unknown,
  path: string,
): ValueDifference | undefined {
  if (Array.isArray(expected)) {
    if (!Array.isArray(found) || found.length !== expected.length) {
      return { path, expected: show(expected), found: show(found) };
    }
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(expected[i], found[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (isObject(expected)) {
    if (!isObject(found)) return { path, expected: show(expected), found: show(found) };
    for (const k of Object.keys(expected)) {
      const d = firstDifference(expected[k], Object.hasOwn(found, k) ? found[k] : undefined, `${path}.${k}`);
      if (d !== undefined) return d;
    }
    for (const k of Object.keys(found)) {
      if (!Object.hasOwn(expected, k))
        return { path: `${path}.${k}`, expected: 'absent', found: show(found[k]) };
    }
    return undefined;
  }
  return expected === found ? undefined : { path, expected: show(expected), found: show(found) };
}
