import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../src/occurred-at';

describe('occurred-at', () => {
  it('agrees with Date.parse on ISO strings across the supported range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        expect(parseRfc3339(new Date(ms).toISOString())).toBe(ms);
      }),
    );
  });

  it('applies numeric offsets as local time minus offset (RFC 3339 §4.2)', () => {
    expect(parseRfc3339('1970-01-01T01:00:00+01:00')).toBe(0);
    expect(parseRfc3339('1969-12-31T23:30:00-00:30')).toBe(0);
    expect(parseRfc3339('2026-11-23T10:15:30.5-05:45')).toBe(Date.UTC(2026, 10, 23, 16, 0, 30, 500));
  });

  it('accepts lower-case t and z, and truncates fractions beyond milliseconds', () => {
    expect(parseRfc3339('2026-01-02t03:04:05.123999z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
    expect(parseRfc3339('2026-01-02T03:04:05.1Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 100));
  });

  it('handles leap years and reads a leap second as the next minute', () => {
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseRfc3339('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseRfc3339('1900-02-29T00:00:00Z')).toBeNaN();
    expect(parseRfc3339('2016-12-31T23:59:60Z')).toBe(Date.UTC(2017, 0, 1));
  });

  it('rejects strings that are not RFC 3339 date-times', () => {
    for (const s of [
      '',
      '2026-11-23',
      '2026-11-23 10:00:00Z',
      '2026-11-23T10:00:00',
      '2026-11-23T10:00:00.Z',
      '2026-13-01T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-11-23T24:00:00Z',
      '2026-11-23T10:60:00Z',
      '2026-11-23T10:00:61Z',
      '2026-11-23T10:00:00+24:00',
      '2026-11-23T10:00:00+0100',
      '2026-11-23T10:00:00Z ',
      '+02026-11-23T10:00:00Z',
      '2026-11-23T10:00:00.1234567890123456789012345678901234567890123456Z',
    ]) {
      expect(parseRfc3339(s), s).toBeNaN();
    }
  });
});
