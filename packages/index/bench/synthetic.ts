/**
 * Deterministic synthetic index rows for the benchmarks (not through the ledger): a workload shaped
 * like the issue's — `tenants` tenants, `actors` actors (each belongs to one tenant), 30 days of
 * `occurred_at`, resources with about {@link ROWS_PER_RESOURCE} records each, two logs (90 % / 10 %).
 * Rows come in append order (received time grows with the row number; occurred time is a little
 * earlier, as clients report it). Tokens are random 16-byte values, one per actor; nothing here is a
 * real blind token and nothing personal exists at all.
 *
 * Not here: timing, databases. Each generated row is a fresh object the caller may keep; tokens are
 * shared per actor (never mutate them).
 */
import type { IndexRow } from '../src/index';

/** Days covered by `occurred_at`. */
export const SPAN_DAYS = 30;
/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;
/** Average records per resource (history queries ask for 1,000 of them). */
export const ROWS_PER_RESOURCE = 1200;
/** First `received_at` of the data set: 2026-11-01T00:00:00Z in epoch ms. */
export const START_MS = 1_793_491_200_000;
/** Latest client clock skew: `occurred_at` is up to this many ms before `received_at`. */
const MAX_SKEW_MS = 60_000;

const ACTIONS: readonly (readonly [string, string])[] = [
  ['user.login', 'auth'],
  ['user.logout', 'auth'],
  ['user.password_change', 'auth'],
  ['document.create', 'create'],
  ['document.read', 'read'],
  ['document.update', 'update'],
  ['document.delete', 'delete'],
  ['role.upgrade', 'admin'],
  ['role.downgrade', 'admin'],
  ['invoice.create', 'create'],
  ['invoice.read', 'read'],
  ['invoice.pay', 'update'],
  ['project.create', 'create'],
  ['project.update', 'update'],
  ['project.archive', 'update'],
  ['api_key.create', 'admin'],
  ['api_key.revoke', 'admin'],
  ['export.run', 'read'],
  ['settings.update', 'admin'],
  ['webhook.deliver', 'other'],
];
const RESOURCE_TYPES = ['document', 'invoice', 'project', 'role', 'settings'] as const;

/** Shape of a synthetic data set. */
export interface SyntheticShape {
  /** Rows to generate, integer ≥ 1. */
  readonly rows: number;
  /** Tenants, integer ≥ 1 (default 100). */
  readonly tenants?: number;
  /** Actors over all tenants, integer ≥ tenants (default 10,000). */
  readonly actors?: number;
  /** PRNG seed (default 1). */
  readonly seed?: number;
}

/** Resolved shape plus the per-actor tokens, shared by the generator and the query picker. */
export interface SyntheticSet {
  readonly rows: number;
  readonly tenants: number;
  readonly actors: number;
  /** Resources per tenant (so that each has about {@link ROWS_PER_RESOURCE} records). */
  readonly resourcesPerTenant: number;
  /** 16-byte token of actor `a` (actor `a` belongs to tenant `a % tenants`). */
  readonly tokens: readonly Uint8Array[];
  readonly seed: number;
}

/** A small fast PRNG (xorshift32): deterministic and good enough for picking workload values. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** Next 32-bit unsigned integer. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  /** Integer in `[0, n)`. */
  below(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }
}

/** Tenant id of tenant number `t`. */
export function tenantName(t: number): string {
  return `tenant-${String(t).padStart(3, '0')}`;
}

/** Resource `(type, id)` of resource number `k` of a tenant. */
export function resourceOf(k: number): { type: string; id: string } {
  return { type: RESOURCE_TYPES[k % RESOURCE_TYPES.length]!, id: `res-${k}` };
}

/** Resolves a shape: defaults, actor tokens. */
export function syntheticSet(shape: SyntheticShape): SyntheticSet {
  const tenants = shape.tenants ?? 100;
  const actors = shape.actors ?? 10_000;
  const seed = shape.seed ?? 1;
  const prng = new Prng(seed ^ 0x5eed);
  const tokens: Uint8Array[] = [];
  for (let a = 0; a < actors; a++) {
    const t = new Uint8Array(16);
    for (let i = 0; i < 16; i += 4) {
      const v = prng.next();
      t[i] = v & 0xff;
      t[i + 1] = (v >>> 8) & 0xff;
      t[i + 2] = (v >>> 16) & 0xff;
      t[i + 3] = v >>> 24;
    }
    tokens.push(t);
  }
  const resourcesPerTenant = Math.max(1, Math.round(shape.rows / ROWS_PER_RESOURCE / tenants));
  return { rows: shape.rows, tenants, actors, resourcesPerTenant, tokens, seed };
}

/**
 * Yields the rows of `set` in append order, in arrays of `chunk` rows, each with the next leaf
 * index of its log as the watermark map.
 */
export function* syntheticRows(
  set: SyntheticSet,
  chunk: number,
): Generator<{ rows: IndexRow[]; watermarks: Map<string, number> }> {
  const prng = new Prng(set.seed);
  const stepMs = (SPAN_DAYS * DAY_MS) / set.rows;
  let leafA = 0;
  let leafB = 0;
  for (let start = 0; start < set.rows; start += chunk) {
    const end = Math.min(set.rows, start + chunk);
    const rows: IndexRow[] = [];
    for (let i = start; i < end; i++) {
      const actor = prng.below(set.actors);
      const tenant = actor % set.tenants;
      const [action, category] = ACTIONS[prng.below(ACTIONS.length)]!;
      const resource = resourceOf(prng.below(set.resourcesPerTenant));
      const receivedAt = Math.floor(START_MS + i * stepMs);
      const longLog = prng.below(10) === 0;
      const leafIndex = longLog ? leafB++ : leafA++;
      rows.push({
        logId: longLog ? 'long' : 'default',
        leafIndex,
        tenantId: tenantName(tenant),
        eventId: eventIdOf(receivedAt, i),
        occurredAt: receivedAt - prng.below(MAX_SKEW_MS),
        receivedAt,
        subjectToken: set.tokens[actor]!,
        actorType: actor % 10 === 0 ? 'service' : 'user',
        action,
        category,
        resourceType: resource.type,
        resourceId: resource.id,
        result: prng.below(20) === 0 ? 'failure' : 'success',
      });
    }
    yield {
      rows,
      watermarks: new Map([
        ['default', leafA],
        ['long', leafB],
      ]),
    };
  }
}

/**
 * `count` more rows after the data set, in log `live` from leaf `fromLeaf`, in chunks of `chunk`:
 * the shape of live traffic arriving at a filled index (same tenants, actors and resources; times
 * after the 30 days).
 */
export function* liveRows(
  set: SyntheticSet,
  fromLeaf: number,
  count: number,
  chunk: number,
): Generator<{ rows: IndexRow[]; watermarks: Map<string, number> }> {
  const prng = new Prng(set.seed ^ 0x11fe);
  const startMs = START_MS + SPAN_DAYS * DAY_MS;
  let leafIndex = fromLeaf;
  for (let done = 0; done < count; done += chunk) {
    const rows: IndexRow[] = [];
    for (let i = 0; i < Math.min(chunk, count - done); i++) {
      const actor = prng.below(set.actors);
      const [action, category] = ACTIONS[prng.below(ACTIONS.length)]!;
      const resource = resourceOf(prng.below(set.resourcesPerTenant));
      const receivedAt = startMs + leafIndex;
      rows.push({
        logId: 'live',
        leafIndex,
        tenantId: tenantName(actor % set.tenants),
        eventId: eventIdOf(receivedAt, set.rows + leafIndex),
        occurredAt: receivedAt - prng.below(MAX_SKEW_MS),
        receivedAt,
        subjectToken: set.tokens[actor]!,
        actorType: 'user',
        action,
        category,
        resourceType: resource.type,
        resourceId: resource.id,
        result: 'success',
      });
      leafIndex++;
    }
    yield { rows, watermarks: new Map([['live', leafIndex]]) };
  }
}

/** A UUIDv7-shaped event id (time prefix + row number), 36 characters. */
export function eventIdOf(ms: number, n: number): string {
  const t = ms.toString(16).padStart(12, '0');
  const r = n.toString(16).padStart(16, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(0, 3)}-8${r.slice(3, 6)}-${r.slice(6, 16)}00`;
}

/** A random query target: an actor (tenant + token) and a 7-day window inside the data set. */
export function pickActorQuery(
  set: SyntheticSet,
  prng: Prng,
): { tenantId: string; subjectToken: Uint8Array; startTime: number; endTime: number } {
  const actor = prng.below(set.actors);
  const startTime = START_MS + prng.below((SPAN_DAYS - 7) * DAY_MS);
  return {
    tenantId: tenantName(actor % set.tenants),
    subjectToken: set.tokens[actor]!,
    startTime,
    endTime: startTime + 7 * DAY_MS,
  };
}

/** A random resource of a random tenant. */
export function pickResource(
  set: SyntheticSet,
  prng: Prng,
): { tenantId: string; resourceType: string; resourceId: string } {
  const resource = resourceOf(prng.below(set.resourcesPerTenant));
  return {
    tenantId: tenantName(prng.below(set.tenants)),
    resourceType: resource.type,
    resourceId: resource.id,
  };
}

/** Percentile `p` (0..1) of an ascending array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}
