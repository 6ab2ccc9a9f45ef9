import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue, NormalizedEvent } from '../src/event';
import {
  decodePersonal,
  encodePersonal,
  joinPersonal,
  type PersonalFields,
  splitPersonal,
} from '../src/personal';
import { validateEvent } from '../src/validate-event';
import { makeEvents, normalizeAll } from './support/corpus';
import { GOLDEN_PERSONAL, goldenBytes } from './support/golden';

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

const optStr = fc.option(fc.string({ maxLength: 30 }), { nil: undefined });
/**
 * JSON values as validated events carry them: the JSON round trip turns -0 into 0 (as msgpack
 * integers do), and `__proto__` keys are refused by validation (msgpack decoders rename them).
 */
const jsonSide = fc.option(
  fc
    .jsonValue({ maxDepth: 3 })
    .map((v) => JSON.parse(JSON.stringify(v)) as JsonValue)
    .filter((v) => !JSON.stringify(v).includes('"__proto__"')),
  { nil: undefined },
);
const personalArb: fc.Arbitrary<PersonalFields> = fc.record({
  actor_id: fc.string({ minLength: 1, maxLength: 30 }),
  actor_name: optStr,
  actor_email: optStr,
  ip: optStr,
  user_agent: optStr,
  changes: fc.array(fc.record({ old: jsonSide, new: jsonSide }), { maxLength: 5 }),
});

function normalized(input: unknown): NormalizedEvent {
  const r = validateEvent(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.event;
}

describe('personal', () => {
  it('decodes what it encodes, keeping null distinct from an absent side', () => {
    fc.assert(
      fc.property(personalArb, (p) => {
        expect(decodePersonal(encodePersonal(p))).toEqual(p);
      }),
    );
    const p = decodePersonal(
      encodePersonal({
        ...GOLDEN_PERSONAL,
        changes: [
          { old: null, new: undefined },
          { old: undefined, new: 0 },
        ],
      }),
    );
    expect(p.changes).toStrictEqual([
      { old: null, new: undefined },
      { old: undefined, new: 0 },
    ]);
  });

  it('encodes the golden personal blob byte for byte (test/fixtures/personal-v1.hex)', () => {
    const bytes = encodePersonal(GOLDEN_PERSONAL);
    expect(hex(bytes)).toBe(hex(goldenBytes('personal-v1.hex', bytes)));
  });

  it('keeps every personal field out of the public part', () => {
    for (const event of normalizeAll(makeEvents(200))) {
      const { publicPart, personal } = splitPersonal(event);
      const text = JSON.stringify(publicPart);
      expect(text).not.toContain(`"${event.actor.id}"`);
      if (event.actor.email !== undefined) expect(text).not.toContain(event.actor.email);
      if (event.context?.ip !== undefined) expect(text).not.toContain(event.context.ip);
      if (event.context?.user_agent !== undefined) expect(text).not.toContain(event.context.user_agent);
      expect(personal.actor_id).toBe(event.actor.id);
      expect(joinPersonal(publicPart, personal)).toStrictEqual(event);
    }
  });

  it('splits changes into public field names and personal old/new values', () => {
    const event = normalized({
      tenant_id: 't',
      occurred_at: 0,
      actor: { id: 'u', type: 'user' },
      action: 'a',
      resource: { type: 'r', id: '1' },
      context: { ip: '192.0.2.1' },
      changes: [
        { field: 'role', old: 'viewer', new: 'admin' },
        { field: 'note', new: null },
      ],
    });
    const { publicPart, personal } = splitPersonal(event);
    expect(publicPart.change_fields).toEqual(['role', 'note']);
    expect(publicPart.context).toEqual({
      request_id: undefined,
      session_id: undefined,
      trace_id: undefined,
      component: undefined,
    });
    expect(personal.changes).toStrictEqual([
      { old: 'viewer', new: 'admin' },
      { old: undefined, new: null },
    ]);
    expect(joinPersonal(publicPart, personal)).toStrictEqual(event);
  });

  it('shows erased subjects with a placeholder id and no personal values', () => {
    const event = normalizeAll(makeEvents(1))[0]!;
    const joined = joinPersonal(splitPersonal(event).publicPart, undefined);
    expect(joined.actor.id).toBe('[erased]');
    expect(joined.actor.email).toBeUndefined();
    expect(joined.context?.ip).toBeUndefined();
    expect(joined.context?.request_id).toBe(event.context?.request_id);
  });

  it('rejects blobs of another version or shape', () => {
    const good = encodePersonal(GOLDEN_PERSONAL);
    const v2 = new Uint8Array(good);
    v2[1] = 2;
    expect(() => decodePersonal(v2)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
    expect(() => decodePersonal(new Uint8Array([0x96]))).toThrow(
      expect.objectContaining({ code: 'BAD_PERSONAL' }),
    );
    expect(() => decodePersonal(good.subarray(0, good.length - 2))).toThrow(/not valid msgpack/);
    const badFlags = new Uint8Array(good);
    badFlags[badFlags.indexOf(0x03, 10)] = 0x01;
    expect(() => decodePersonal(badFlags)).toThrow(/flags 1 to have 2 element\(s\), got 3/);
  });
});
