/**
 * fast-check arbitraries of events as clients submit them: `validEventArb` follows every rule of
 * CONTRACT.md §1 (and stays well under 64 KiB); `mutatedEventArb` breaks one rule (or sometimes,
 * by chance, none) so validators can be compared on both sides of every boundary.
 */
import fc from 'fast-check';
import { ACTOR_TYPES, EVENT_CATEGORIES, EVENT_RESULTS, LIMITS, MAX_EPOCH_MS } from '../../src/event';
import type { RecordBody } from '../../src/record';

const ID_CHARS = 'ABCXYZabcxyz0189._-'.split('');
const idString = (extra: string[], max: number) =>
  fc.string({ unit: fc.constantFrom(...ID_CHARS, ...extra), minLength: 1, maxLength: max });
/** Any code points (astral ones too), so length limits are checked in code points. */
const text = (min: number, max: number) => fc.string({ unit: 'binary', minLength: min, maxLength: max });
const shortText = (min: number) => fc.oneof(text(min, 12), fc.string({ minLength: min, maxLength: 12 }));

const OFFSETS = ['Z', 'z', '+00:00', '+05:30', '-08:00', '+14:00', '-12:00'];
const rfc3339 = fc
  .record({
    ms: fc.integer({ min: 86_400_000, max: MAX_EPOCH_MS - 86_400_000 }),
    offset: fc.constantFrom(...OFFSETS),
    fraction: fc.constantFrom('', '.1', '.12', '.123', '.123456789'),
    t: fc.constantFrom('T', 't'),
  })
  .map(({ ms, offset, fraction, t }) => {
    const iso = new Date(ms).toISOString();
    return `${iso.slice(0, 10)}${t}${iso.slice(11, 19)}${fraction}${offset}`;
  });

const metadataValue = fc.oneof(
  text(0, 20),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.boolean(),
);

/** JSON values without `__proto__` keys (which the contract refuses). */
const jsonSide = fc.jsonValue({ maxDepth: 3 }).filter((v) => !JSON.stringify(v).includes('"__proto__"'));
const change = fc.record(
  {
    field: shortText(1),
    old: jsonSide,
    new: jsonSide,
  },
  { requiredKeys: ['field'] },
);

/** Events that satisfy every rule. */
export const validEventArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    event_id: idString([':'], LIMITS.eventIdChars),
    tenant_id: idString([], LIMITS.tenantIdChars),
    occurred_at: fc.oneof(fc.integer({ min: 0, max: MAX_EPOCH_MS }), rfc3339),
    actor: fc.record(
      {
        id: fc.oneof(shortText(1), text(LIMITS.actorIdChars - 2, LIMITS.actorIdChars)),
        type: fc.constantFrom('user', 'service', 'system'),
        name: shortText(0),
        email: shortText(0),
      },
      { requiredKeys: ['id', 'type'] },
    ),
    action: fc.oneof(shortText(1), text(LIMITS.actionChars, LIMITS.actionChars)),
    category: fc.constantFrom('create', 'read', 'update', 'delete', 'auth', 'admin', 'other'),
    resource: fc.record(
      { type: shortText(1), id: shortText(1), name: shortText(0) },
      { requiredKeys: ['type', 'id'] },
    ),
    result: fc.constantFrom('success', 'failure', 'unknown'),
    context: fc.record(
      {
        ip: fc.ipV4(),
        user_agent: shortText(0),
        request_id: shortText(1),
        session_id: shortText(1),
        trace_id: shortText(1),
        component: shortText(1),
      },
      { requiredKeys: [] },
    ),
    changes: fc.array(change, { maxLength: 4 }),
    metadata: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 16 }).filter((k) => k !== '__proto__'),
      metadataValue,
      { maxKeys: 8, noNullPrototype: true },
    ),
    retention_class: idString([], LIMITS.retentionClassChars),
  },
  { requiredKeys: ['tenant_id', 'occurred_at', 'actor', 'action', 'resource'] },
);

type Mutation = (e: Record<string, unknown>) => void;
const obj = (e: Record<string, unknown>, k: string): Record<string, unknown> => {
  const v = e[k];
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  e[k] = fresh;
  return fresh;
};
const astral = (n: number) => '😀'.repeat(n);

const MUTATIONS: Mutation[] = [
  (e) => {
    e.extra = 1;
  },
  (e) => {
    obj(e, 'actor').role = 'admin';
  },
  (e) => {
    obj(e, 'resource').owner = 'x';
  },
  (e) => {
    obj(e, 'context').country = 'NL';
  },
  (e) => {
    e.changes = [{ field: 'a', before: 1 }];
  },
  (e) => {
    delete e.tenant_id;
  },
  (e) => {
    delete obj(e, 'actor').type;
  },
  (e) => {
    delete obj(e, 'resource').id;
  },
  (e) => {
    e.changes = [{ old: 1 }];
  },
  (e) => {
    e.tenant_id = 'has space';
  },
  (e) => {
    e.tenant_id = 'a:b';
  },
  (e) => {
    e.event_id = '';
  },
  (e) => {
    e.event_id = 'x'.repeat(LIMITS.eventIdChars + 1);
  },
  (e) => {
    e.action = astral(LIMITS.actionChars + 1);
  },
  (e) => {
    e.action = astral(LIMITS.actionChars);
  },
  (e) => {
    obj(e, 'actor').id = astral(LIMITS.actorIdChars + 1);
  },
  (e) => {
    obj(e, 'actor').id = '';
  },
  (e) => {
    obj(e, 'actor').type = 'USER';
  },
  (e) => {
    e.category = 'misc';
  },
  (e) => {
    e.result = null;
  },
  (e) => {
    e.occurred_at = -1;
  },
  (e) => {
    e.occurred_at = 1.5;
  },
  (e) => {
    e.occurred_at = MAX_EPOCH_MS + 1;
  },
  (e) => {
    e.occurred_at = '2026-02-30T00:00:00Z';
  },
  (e) => {
    e.occurred_at = '2026-11-23 10:00:00Z';
  },
  (e) => {
    e.occurred_at = '1969-12-31T23:00:00Z';
  },
  (e) => {
    e.occurred_at = true;
  },
  (e) => {
    obj(e, 'context').ip = '';
  },
  (e) => {
    obj(e, 'context').trace_id = 7;
  },
  (e) => {
    e.context = [];
  },
  (e) => {
    e.changes = {};
  },
  (e) => {
    e.changes = new Array(LIMITS.maxChanges + 1).fill({ field: 'f' });
  },
  (e) => {
    e.changes = new Array(LIMITS.maxChanges).fill({ field: 'f' });
  },
  (e) => {
    e.changes = [{ field: 'x'.repeat(LIMITS.changeFieldChars + 1) }];
  },
  (e) => {
    e.changes = [JSON.parse('{"field":"f","old":{"__proto__":1}}')];
  },
  (e) => {
    const m: Record<string, unknown> = {};
    for (let i = 0; i <= LIMITS.metadataKeys; i++) m[`k${i}`] = i;
    e.metadata = m;
  },
  (e) => {
    const m: Record<string, unknown> = {};
    for (let i = 0; i < LIMITS.metadataKeys; i++) m[`k${i}`] = i;
    e.metadata = m;
  },
  (e) => {
    e.metadata = { nested: { a: 1 } };
  },
  (e) => {
    e.metadata = { n: null };
  },
  (e) => {
    e.metadata = { '': 1 };
  },
  (e) => {
    e.metadata = JSON.parse('{"__proto__":"x"}');
  },
  (e) => {
    e.metadata = { s: 'x'.repeat(LIMITS.metadataStringChars + 1) };
  },
  (e) => {
    e.metadata = { ['k'.repeat(LIMITS.metadataKeyChars + 1)]: 1 };
  },
  (e) => {
    e.retention_class = 'gold tier';
  },
  (e) => {
    e.retention_class = '';
  },
  (e) => {
    e.actor = 'u1';
  },
  (e) => {
    e.resource = null;
  },
];

/** Valid events with one rule broken (a few mutations land exactly on a limit and stay valid). */
export const mutatedEventArb: fc.Arbitrary<unknown> = fc
  .tuple(validEventArb, fc.integer({ min: 0, max: MUTATIONS.length - 1 }))
  .map(([event, m]) => {
    const e = structuredClone(event);
    MUTATIONS[m]!(e);
    // Round-trip through JSON so the corpus is exactly what an HTTP body would parse to.
    return JSON.parse(JSON.stringify(e)) as unknown;
  });

/** Arbitrary JSON documents (nearly always invalid events). */
export const noiseArb: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

const optString = fc.option(fc.string({ maxLength: 24 }), { nil: undefined });
const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const bodyMetadataValue = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.boolean(),
);

/** Any body the encoder accepts (strings are arbitrary Unicode, not only what validation lets through). */
export const recordBodyArb: fc.Arbitrary<RecordBody> = fc.record({
  event_id: fc.string({ minLength: 1, maxLength: 40 }),
  tenant_id: fc.string({ minLength: 1, maxLength: 40 }),
  occurred_at: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  received_at: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  actor_type: fc.constantFrom(...ACTOR_TYPES),
  subject_token: bytes(48),
  action: fc.string({ minLength: 1, maxLength: 40 }),
  category: fc.option(fc.constantFrom(...EVENT_CATEGORIES), { nil: undefined }),
  resource: fc.record({
    type: fc.string({ minLength: 1 }),
    id: fc.string({ minLength: 1 }),
    name: optString,
  }),
  result: fc.constantFrom(...EVENT_RESULTS),
  context: fc.option(
    fc.record({ request_id: optString, session_id: optString, trace_id: optString, component: optString }),
    { nil: undefined },
  ),
  change_fields: fc.option(fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 6 }), {
    nil: undefined,
  }),
  metadata: fc.option(
    fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__'),
      bodyMetadataValue,
      { maxKeys: 8, noNullPrototype: true },
    ),
    { nil: undefined },
  ),
  retention_class: fc.string({ minLength: 1, maxLength: 16 }),
  subject_key_id: fc.string({ maxLength: 40 }),
  sealed_personal: bytes(600),
});
