import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTOR_TYPES, EVENT_CATEGORIES, EVENT_RESULTS } from '../src/event';
import { FORMAT_VERSION } from '../src/format-version';
import { packer } from '../src/msgpack';
import { MsgpackWriter } from '../src/msgpack-writer';
import { encodePersonal, type PersonalFields } from '../src/personal';
import { encodeRecordBody, type RecordBody } from '../src/record';
import { recordBodyArb } from './support/arbitraries';

/** Any UTF-16 code unit, lone surrogates included. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const strings = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: anyUnit, maxLength: 100 }),
  fc.string({ unit: 'binary', minLength: 60, maxLength: 300 }),
  fc.string({ unit: anyUnit, minLength: 60, maxLength: 300 }),
);
const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x10000,
    2 ** 32 - 1,
    2 ** 32,
    -0x20,
    -0x21,
    -0x80,
    -0x81,
    -0x8000,
    -0x8001,
    -(2 ** 31),
    -(2 ** 31) - 1,
    -0,
    Number.NaN,
    Number.MAX_SAFE_INTEGER,
    1_795_428_000_000,
  ),
);
const { value: valueArb } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    strings,
    numbers,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 18 }),
  ),
}));

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** The record body as the 16-element array msgpackr packed before the writer. */
function bodyArray(b: RecordBody): unknown[] {
  const r = b.resource;
  const c = b.context;
  return [
    b.event_id,
    b.tenant_id,
    b.occurred_at,
    b.received_at,
    ACTOR_TYPES.indexOf(b.actor_type),
    b.subject_token,
    b.action,
    b.category === undefined ? undefined : EVENT_CATEGORIES.indexOf(b.category),
    [r.type, r.id, r.name],
    EVENT_RESULTS.indexOf(b.result),
    c === undefined ? undefined : [c.request_id, c.session_id, c.trace_id, c.component],
    b.change_fields,
    b.metadata,
    b.retention_class,
    b.subject_key_id,
    b.sealed_personal,
  ];
}

describe('MsgpackWriter', () => {
  it('writes any value byte for byte as msgpackr packs it', () => {
    const w = new MsgpackWriter();
    fc.assert(
      fc.property(valueArb, (v) => {
        w.begin();
        w.value(v);
        expect(Buffer.from(w.finish()).toString('hex')).toBe(Buffer.from(packer.pack(v)).toString('hex'));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes strings at every header boundary, and values it does not know through msgpackr', () => {
    const w = new MsgpackWriter();
    const cases: unknown[] = [
      'a'.repeat(31),
      'a'.repeat(32),
      'é'.repeat(16),
      'é'.repeat(127),
      'é'.repeat(128),
      '€'.repeat(21),
      '€'.repeat(85),
      '€'.repeat(86),
      'x'.repeat(0xffff),
      'x'.repeat(0x10000),
      '€'.repeat(30_000),
      '\ud800x'.repeat(40),
      new Date(0),
      new Map([['k', 1]]),
      Object.assign(Object.create(null) as object, { a: 1 }),
      // Not a Uint16Array: msgpackr writes it as `bin` of its byte length but copies only one
      // byte per element, so the rest is whatever its buffer held (differs call to call).
      Buffer.from('buffer'),
      [1n],
    ];
    for (const v of cases) {
      w.begin();
      w.value(v);
      expect(same(w.finish(), packer.pack(v))).toBe(true);
    }
  });

  it('hands out views that stay intact while later values fill new slabs', () => {
    const w = new MsgpackWriter();
    const values: unknown[] = [];
    const views: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = { i, s: 'v'.repeat(i % 500), b: new Uint8Array(i % 97).fill(i & 0xff) };
      w.begin(16);
      w.value(v);
      values.push(v);
      views.push(w.finish());
    }
    for (let i = 0; i < values.length; i++) expect(same(views[i]!, packer.pack(values[i]))).toBe(true);
  });

  it('encodes record bodies and personal blobs exactly as msgpackr did', () => {
    fc.assert(
      fc.property(recordBodyArb, (body) => {
        expect(same(encodeRecordBody(body), packer.pack(bodyArray(body)))).toBe(true);
      }),
      { numRuns: 500 },
    );
    const optStr = fc.option(strings, { nil: undefined });
    const personalArb = fc.record({
      actor_id: strings,
      actor_name: optStr,
      actor_email: optStr,
      ip: optStr,
      user_agent: optStr,
      changes: fc.array(fc.record({ old: valueArb, new: valueArb }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(personalArb, (p) => {
        const changes = p.changes.map((c) => {
          const flags = (c.old === undefined ? 0 : 1) | (c.new === undefined ? 0 : 2);
          return [flags, ...(c.old === undefined ? [] : [c.old]), ...(c.new === undefined ? [] : [c.new])];
        });
        const reference = [
          FORMAT_VERSION,
          p.actor_id,
          p.actor_name,
          p.actor_email,
          p.ip,
          p.user_agent,
          changes,
        ];
        expect(same(encodePersonal(p as PersonalFields), packer.pack(reference))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
