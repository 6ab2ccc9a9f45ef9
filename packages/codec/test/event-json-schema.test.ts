import Ajv2020 from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EPOCH_MS } from '../src/event';
import { EVENT_JSON_SCHEMA } from '../src/event-json-schema';
import { parseRfc3339 } from '../src/occurred-at';
import { validateEvent } from '../src/validate-event';
import { mutatedEventArb, noiseArb, validEventArb } from './support/arbitraries';
import { makeEvents } from './support/corpus';

/** Ajv with `date-time` meaning what the contract means (RFC 3339, 1970…9999 after the offset). */
export function compileSchema(): (x: unknown) => boolean {
  const ajv = new Ajv2020({ strict: true, allErrors: false });
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) => {
      const ms = parseRfc3339(s);
      return ms >= 0 && ms <= MAX_EPOCH_MS;
    },
  });
  const check = ajv.compile(EVENT_JSON_SCHEMA);
  return (x) => check(x) === true;
}

describe('event-json-schema', () => {
  const schemaAccepts = compileSchema();

  it('compiles under ajv strict mode as JSON Schema 2020-12', () => {
    expect(EVENT_JSON_SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.isFrozen(EVENT_JSON_SCHEMA)).toBe(true);
  });

  it('accepts every realistic corpus event, as the validator does', () => {
    for (const e of makeEvents(300)) {
      const plain = JSON.parse(JSON.stringify(e)) as unknown;
      expect(schemaAccepts(plain)).toBe(true);
      expect(validateEvent(plain).ok).toBe(true);
    }
  });

  it('agrees with validateEvent on generated valid events', () => {
    fc.assert(
      fc.property(validEventArb, (e) => {
        const json = JSON.parse(JSON.stringify(e)) as unknown;
        expect(validateEvent(json).ok).toBe(true);
        expect(schemaAccepts(json)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with validateEvent on generated invalid events and noise', () => {
    let rejected = 0;
    let total = 0;
    fc.assert(
      fc.property(
        fc.oneof({ weight: 5, arbitrary: mutatedEventArb }, { weight: 1, arbitrary: noiseArb }),
        (x) => {
          const mine = validateEvent(x).ok;
          expect(schemaAccepts(x), JSON.stringify(x).slice(0, 300)).toBe(mine);
          total++;
          if (!mine) rejected++;
        },
      ),
      { numRuns: 1500 },
    );
    // The corpus must mostly be on the invalid side, or the agreement says little.
    expect(rejected / total).toBeGreaterThan(0.8);
  });
});
