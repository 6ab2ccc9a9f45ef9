import fc from 'fast-check';
import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newEventId } from '../src/event-id';

/** The Unix milliseconds in a UUIDv7. */
const msOf = (id: string): number => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('newEventId', () => {
  it('carries the wall clock (first: later tests move the clock far ahead)', () => {
    const before = Date.now();
    const id = newEventId();
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(Date.now() + 1);
    expect(new Set(Array.from({ length: 20_000 }, () => newEventId())).size).toBe(20_000);
  });
  it('makes valid, unique UUIDv7s that sort in the order they were made, at any clock', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 47 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 200 }),
        (clock, perTick) => {
          const ids: string[] = [];
          for (const now of clock) for (let i = 0; i < perTick; i++) ids.push(newEventId(now));
          for (let i = 0; i < ids.length; i++) {
            const id = ids[i]!;
            expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
            if (i > 0) expect(id > ids[i - 1]!).toBe(true);
          }
          expect(validate(ids[0]!) && version(ids[0]!)).toBe(7);
          // Each id carries its clock reading unless an earlier one was later (then it continues from that).
          let high = 0;
          let k = 0;
          for (const now of clock) {
            for (let i = 0; i < perTick; i++) {
              high = Math.max(high, now);
              expect(msOf(ids[k++]!)).toBeGreaterThanOrEqual(high);
            }
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
