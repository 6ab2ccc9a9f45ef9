import {
  ACTOR_TYPES,
  assembleRecord,
  decodeRecord,
  EVENT_CATEGORIES,
  EVENT_RESULTS,
  encodeRecordBody,
  type RecordBody,
} from '@sealog/codec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanRecord, scanRecordFast } from '../src/record-scan';

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ minLength: 60, maxLength: 200 }),
);
const optText = fc.option(text, { nil: undefined });
const bytes = fc.uint8Array({ maxLength: 70 });
const millis = fc.oneof(fc.nat(0xff), fc.nat(0xffffffff), fc.maxSafeNat());

const body: fc.Arbitrary<RecordBody> = fc.record({
  event_id: text,
  tenant_id: text,
  occurred_at: millis,
  received_at: millis,
  actor_type: fc.constantFrom(...ACTOR_TYPES),
  subject_token: bytes,
  action: text,
  category: fc.option(fc.constantFrom(...EVENT_CATEGORIES), { nil: undefined }),
  resource: fc.record({ type: text, id: text, name: optText }),
  result: fc.constantFrom(...EVENT_RESULTS),
  context: fc.option(
    fc.record({ request_id: optText, session_id: optText, trace_id: optText, component: optText }),
    { nil: undefined },
  ),
  change_fields: fc.option(fc.array(text, { maxLength: 20 }), { nil: undefined }),
  metadata: fc.option(
    fc.dictionary(
      text,
      fc.oneof(text, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.maxSafeInteger()),
      { maxKeys: 20 },
    ),
    { nil: undefined },
  ),
  retention_class: text,
  subject_key_id: text,
  sealed_personal: bytes,
});
const prev = fc.option(
  fc.record({
    leafIndex: fc.oneof(fc.nat(300), fc.nat(0xffffffff), fc.maxSafeNat()),
    leafHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  { nil: null },
);
const leafArb = fc.tuple(prev, body).map(([p, b]) => assembleRecord(p, encodeRecordBody(b)));

/** The verifier's view of what `decodeRecord` says, or `undefined` when it throws. */
function reference(
  leaf: Uint8Array,
): { entity: string; prevIndex: number; prevHash: string | undefined } | undefined {
  try {
    const r = decodeRecord(leaf);
    return {
      entity: `${r.tenant_id}\u0000${r.resource.type}\u0000${r.resource.id}`,
      prevIndex: r.prev === null ? -1 : r.prev.leafIndex,
      prevHash: r.prev === null ? undefined : Buffer.from(r.prev.leafHash).toString('hex'),
    };
  } catch {
    return undefined;
  }
}

function plain(r: ReturnType<typeof scanRecordFast>): ReturnType<typeof reference> {
  if (r === undefined) return undefined;
  return { ...r, prevHash: r.prevHash === undefined ? undefined : Buffer.from(r.prevHash).toString('hex') };
}

/** One byte-level change: flip, set, cut, insert or drop. */
const mutation = fc.tuple(
  fc.nat(),
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom('xor', 'set', 'cut', 'insert', 'drop'),
);

function mutate(leaf: Uint8Array, [pos, value, kind]: [number, number, string]): Uint8Array {
  const at = pos % leaf.length;
  const b = Buffer.from(leaf);
  if (kind === 'xor') b[at] = b[at]! ^ (value || 1);
  else if (kind === 'set') b[at] = value;
  else if (kind === 'cut') return b.subarray(0, at);
  else if (kind === 'insert') return Buffer.concat([b.subarray(0, at), Buffer.from([value]), b.subarray(at)]);
  else return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  return b;
}

describe('record scan', () => {
  it('agrees with decodeRecord on every record the codec writes', () => {
    let fastHits = 0;
    fc.assert(
      fc.property(leafArb, (leaf) => {
        const want = reference(leaf);
        expect(want).toBeDefined();
        const fast = scanRecordFast(leaf);
        if (fast !== undefined) {
          fastHits += 1;
          expect(plain(fast)).toEqual(want);
        }
        const slow = scanRecord(leaf);
        expect(typeof slow).not.toBe('string');
        expect(plain(slow as Exclude<typeof slow, string>)).toEqual(want);
      }),
      { numRuns: 400 },
    );
    // About a third of the generated records have ASCII entities (the fast path); the rest test the fallback.
    expect(fastHits).toBeGreaterThan(80);
  });

  it('takes the fast path for ASCII entities and plain encodings', () => {
    const leaf = assembleRecord(
      null,
      encodeRecordBody({
        event_id: '01JDZ8X3K7Q2M9V4T6W1R5N0HB',
        tenant_id: 'acme',
        occurred_at: 1_795_428_000_123,
        received_at: 1_795_428_000_130,
        actor_type: 'user',
        subject_token: new Uint8Array(16),
        action: 'role.upgrade',
        category: 'admin',
        resource: { type: 'role', id: 'admin', name: undefined },
        result: 'success',
        context: { request_id: 'req-1', session_id: undefined, trace_id: undefined, component: 'console' },
        change_fields: ['role'],
        metadata: { mfa: true, attempt: 3, ratio: 0.5, note: 'x' },
        retention_class: 'default',
        subject_key_id: 'sk-1',
        sealed_personal: new Uint8Array(40),
      }),
    );
    expect(scanRecordFast(leaf)).toMatchObject({ entity: 'acme\u0000role\u0000admin', prevIndex: -1 });
    expect(scanRecordFast(Buffer.from(leaf))).toMatchObject({
      entity: 'acme\u0000role\u0000admin',
      prevIndex: -1,
    });
  });

  it('accepts on the fast path only what decodeRecord accepts, with the same entity and link', () => {
    let fastHits = 0;
    fc.assert(
      fc.property(leafArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (leaf, changes) => {
        let m = leaf;
        for (const c of changes) if (m.length > 0) m = mutate(m, c);
        const fast = scanRecordFast(m);
        const want = reference(m);
        if (fast !== undefined) {
          fastHits += 1;
          expect(plain(fast)).toEqual(want);
        }
        const slow = scanRecord(m);
        if (want === undefined) expect(typeof slow).toBe('string');
        else expect(plain(slow as Exclude<typeof slow, string>)).toEqual(want);
      }),
      { numRuns: 3000 },
    );
    expect(fastHits).toBeGreaterThan(80);
  });
});
