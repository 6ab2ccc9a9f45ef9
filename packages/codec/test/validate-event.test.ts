import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_JSON_BYTES } from '../src/event';
import { MAX_VALIDATION_ISSUES, validateBatch, validateEvent } from '../src/validate-event';
import { validEventArb } from './support/arbitraries';
import { makeEvents } from './support/corpus';

const minimal = () => ({
  tenant_id: 'acme',
  occurred_at: '2026-11-23T10:00:00Z',
  actor: { id: 'u1', type: 'user' },
  action: 'role.upgrade',
  resource: { type: 'role', id: 'admin' },
});

function issues(input: unknown, opts?: Parameters<typeof validateEvent>[1]) {
  const r = validateEvent(input, opts);
  if (r.ok) throw new Error('expected the event to be rejected');
  return r.errors.map((e) => [e.path, e.code] as const);
}

describe('validate-event', () => {
  it('normalizes occurred_at to epoch ms and fills result and retention_class defaults', () => {
    const r = validateEvent(minimal());
    expect(r).toStrictEqual({
      ok: true,
      event: {
        event_id: undefined,
        tenant_id: 'acme',
        occurred_at: Date.UTC(2026, 10, 23, 10),
        actor: { id: 'u1', type: 'user', name: undefined, email: undefined },
        action: 'role.upgrade',
        category: undefined,
        resource: { type: 'role', id: 'admin', name: undefined },
        result: 'success',
        context: undefined,
        changes: undefined,
        metadata: undefined,
        retention_class: 'default',
      },
    });
  });

  it('gives every normalized event the same keys in the same order', () => {
    const keys = new Set<string>();
    fc.assert(
      fc.property(validEventArb, (e) => {
        const r = validateEvent(e);
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        keys.add(Object.keys(r.event).join(','));
        keys.add(Object.keys(r.event.actor).join(',') + Object.keys(r.event.resource).join(','));
      }),
      { numRuns: 200 },
    );
    expect(keys.size).toBe(2);
  });

  it('copies metadata so later changes to the input do not reach the event', () => {
    const input = { ...minimal(), metadata: { a: 1 } };
    const r = validateEvent(input);
    input.metadata.a = 2;
    expect(r.ok && r.event.metadata).toEqual({ a: 1 });
  });

  it('reports unknown fields at every level with their paths', () => {
    const e = {
      ...minimal(),
      extra: 1,
      actor: { id: 'u', type: 'user', role: 'x' },
      resource: { type: 'r', id: '1', owner: 'x' },
      context: { ip: '192.0.2.1', 'x-y': 1 },
      changes: [{ field: 'a' }, { field: 'b', before: 1 }],
    };
    expect(issues(e)).toEqual([
      ['actor.role', 'unknown_field'],
      ['resource.owner', 'unknown_field'],
      ['context["x-y"]', 'unknown_field'],
      ['changes[1].before', 'unknown_field'],
      ['extra', 'unknown_field'],
    ]);
  });

  it('names the path and got-vs-expected for type, enum, length and pattern errors', () => {
    const r = validateEvent({
      ...minimal(),
      tenant_id: 'has space',
      actor: { id: '', type: 'admin' },
      changes: [{ field: 'a' }, { field: 'b' }, { field: 7 }],
      metadata: { 'a.b': { nested: true } },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      {
        path: 'tenant_id',
        code: 'pattern',
        message: 'tenant_id: expected characters matching ^[A-Za-z0-9._-]+$, got "has space"',
      },
      { path: 'actor.id', code: 'too_short', message: 'actor.id: expected at least 1 character(s), got 0' },
      {
        path: 'actor.type',
        code: 'enum',
        message: 'actor.type: expected one of user, service, system, got "admin"',
      },
      { path: 'changes[2].field', code: 'type', message: 'changes[2].field: expected a string, got number' },
      {
        path: 'metadata["a.b"]',
        code: 'type',
        message: 'metadata["a.b"]: expected a string, number or boolean, got object',
      },
    ]);
  });

  it('reports missing required fields', () => {
    expect(issues({ actor: {}, resource: {} })).toEqual([
      ['tenant_id', 'required'],
      ['occurred_at', 'required'],
      ['actor.id', 'required'],
      ['actor.type', 'required'],
      ['action', 'required'],
      ['resource.type', 'required'],
      ['resource.id', 'required'],
    ]);
    expect(issues(null)).toEqual([['', 'type']]);
    expect(issues([minimal()])).toEqual([['', 'type']]);
  });

  it('counts string limits in code points, not UTF-16 units', () => {
    expect(validateEvent({ ...minimal(), action: '😀'.repeat(128) }).ok).toBe(true);
    expect(issues({ ...minimal(), action: '😀'.repeat(129) })).toEqual([['action', 'too_long']]);
  });

  it('checks occurred_at: integer ms in range or a real RFC 3339 date-time', () => {
    expect(issues({ ...minimal(), occurred_at: 1.5 })).toEqual([['occurred_at', 'not_integer']]);
    expect(issues({ ...minimal(), occurred_at: -1 })).toEqual([['occurred_at', 'out_of_range']]);
    expect(issues({ ...minimal(), occurred_at: '2026-02-30T00:00:00Z' })).toEqual([
      ['occurred_at', 'invalid_date'],
    ]);
    expect(issues({ ...minimal(), occurred_at: '1970-01-01T00:30:00+01:00' })).toEqual([
      ['occurred_at', 'out_of_range'],
    ]);
    expect(issues({ ...minimal(), occurred_at: null })).toEqual([['occurred_at', 'type']]);
  });

  it('accepts any JSON in changes old/new but not non-JSON, too deep or __proto__ keys', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 17; i++) deep = [deep];
    const change = (old: unknown) => ({ ...minimal(), changes: [{ field: 'f', old }] });
    expect(validateEvent(change({ a: [1, 'x', null, { b: false }] })).ok).toBe(true);
    expect(issues(change(deep))[0]).toEqual([`changes[0].old${'[0]'.repeat(16)}`, 'too_deep']);
    expect(issues(change({ a: [1, Number.NaN] }))).toEqual([['changes[0].old.a[1]', 'not_finite']]);
    expect(issues(change(new Date(0)))).toEqual([['changes[0].old', 'type']]);
    expect(issues(change(JSON.parse('{"x":{"__proto__":1}}')))).toEqual([
      ['changes[0].old.x.__proto__', 'reserved_key'],
    ]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(issues(change(cyclic))[0]?.[1]).toBe('too_deep');
  });

  it('limits metadata to 64 scalar values with non-empty keys other than __proto__', () => {
    const m: Record<string, number> = {};
    for (let i = 0; i < 65; i++) m[`k${i}`] = i;
    expect(issues({ ...minimal(), metadata: m })).toEqual([['metadata', 'too_many']]);
    expect(issues({ ...minimal(), metadata: JSON.parse('{"__proto__":1}') })).toEqual([
      ['metadata.__proto__', 'reserved_key'],
    ]);
    expect(issues({ ...minimal(), metadata: { '': 1, n: Number.POSITIVE_INFINITY } })).toEqual([
      ['metadata[""]', 'too_short'],
      ['metadata.n', 'not_finite'],
    ]);
  });

  it('treats undefined-valued properties as absent', () => {
    const r = validateEvent({
      ...minimal(),
      category: undefined,
      actor: { id: 'u', type: 'user', name: undefined },
    });
    expect(r.ok).toBe(true);
  });

  it('checks retention_class against configured classes when given', () => {
    const classes = new Set(['default', 'security']);
    expect(
      validateEvent({ ...minimal(), retention_class: 'security' }, { retentionClasses: classes }).ok,
    ).toBe(true);
    expect(issues({ ...minimal(), retention_class: 'gold' }, { retentionClasses: classes })).toEqual([
      ['retention_class', 'unknown_retention_class'],
    ]);
    expect(issues(minimal(), { retentionClasses: new Set(['security']) })).toEqual([
      ['retention_class', 'unknown_retention_class'],
    ]);
  });

  it('rejects events over 64 KiB of JSON, measured exactly when the cheap bound is exceeded', () => {
    const big = (chars: number) => {
      const metadata: Record<string, string> = {};
      for (let i = 0; chars > 0; i++, chars -= 4000) metadata[`k${i}`] = 'x'.repeat(Math.min(4000, chars));
      return { ...minimal(), metadata };
    };
    // ~20 KiB of ASCII: the 6-bytes-per-unit bound (~120 KiB) is over the limit, the exact size is not.
    expect(validateEvent(big(20_000)).ok).toBe(true);
    const over = big(MAX_EVENT_JSON_BYTES);
    const r = validateEvent(over);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const size = Buffer.byteLength(JSON.stringify(over));
      expect(r.errors).toEqual([
        { path: '', code: 'too_large', message: `event: expected at most 65536 bytes of JSON, got ${size}` },
      ]);
    }
    // A caller-supplied byteLength replaces the measurement.
    expect(validateEvent(over, { byteLength: 1000 }).ok).toBe(true);
    expect(issues(minimal(), { byteLength: 65_537 })).toEqual([['', 'too_large']]);
  });

  it('caps the number of issues reported', () => {
    const metadata: Record<string, unknown> = {};
    for (let i = 0; i < 64; i++) metadata[`k${i}`] = null;
    const r = validateEvent({ ...minimal(), metadata, extra1: 1, extra2: 2 });
    expect(r.ok === false && r.errors.length).toBe(MAX_VALIDATION_ISSUES);
  });

  it('validates a batch as a whole, reporting the index of each invalid event', () => {
    const events = makeEvents(5).map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>);
    const ok = validateBatch(events);
    expect(ok.ok && ok.events.length).toBe(5);
    events[1]!.tenant_id = '';
    delete events[3]!.action;
    const r = validateBatch(events);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.index, e.path, e.code])).toEqual([
      [1, 'tenant_id', 'too_short'],
      [3, 'action', 'required'],
    ]);
    expect(r.errors[0]?.message).toBe('[1] tenant_id: expected at least 1 character(s), got 0');
  });

  it('uses per-event byteLengths in a batch', () => {
    const r = validateBatch([minimal(), minimal()], { byteLengths: [10, 70_000] });
    expect(r.ok === false && r.errors.map((e) => [e.index, e.code])).toEqual([[1, 'too_large']]);
  });
});
