/**
 * Parses RFC 3339 date-time strings (RFC 3339 §5.6) into integer epoch milliseconds.
 *
 * Hand-written (no `Date.parse`, no RegExp) because it runs once per event on the ingest hot path
 * and because `Date.parse` accepts many non-RFC 3339 forms and maps years 0–99 to 1900–1999.
 * It does not range-check the result against the contract (the validator does) and never
 * allocates. Fractional seconds beyond milliseconds are truncated, not rounded; a leap second
 * (`:60`) is read as the first millisecond of the next minute, as POSIX time has no leap seconds.
 */

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const MS_PER_DAY = 24 * MS_PER_HOUR;
/** Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar. */
const DAYS_0000_03_01_TO_EPOCH = 719_468;
const DAYS_PER_400_YEARS = 146_097;
const CHAR_0 = 48;
const CHAR_DASH = 45;
const CHAR_COLON = 58;
const CHAR_DOT = 46;
const CHAR_PLUS = 43;
const CHAR_T_UPPER = 84;
const CHAR_T_LOWER = 116;
const CHAR_Z_UPPER = 90;
const CHAR_Z_LOWER = 122;
/** Length of `YYYY-MM-DDTHH:MM:SS`. */
const DATE_TIME_CHARS = 19;

/** Reads `count` ASCII digits at `at`; returns -1 if any is not a digit. */
function digits(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) {
    const d = s.charCodeAt(at + i) - CHAR_0;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * DAYS_PER_400_YEARS + dayOfEra - DAYS_0000_03_01_TO_EPOCH;
}

/**
 * Parses an RFC 3339 `date-time` (`2026-11-23T10:15:30.123Z`, `…+01:00`; `T`/`Z` in either
 * case; 1+ fraction digits) into epoch milliseconds.
 *
 * @param s - the string; anything over 64 characters is rejected.
 * @returns integer epoch milliseconds (may be negative or beyond year 9999 after the offset is
 *   applied: the caller range-checks), or `NaN` when `s` is not a valid RFC 3339 date-time
 *   (bad syntax, month 13, February 30, hour 24, offset hour 24, …).
 * @example
 * ```ts
 * parseRfc3339('1970-01-01T01:00:00+01:00'); // 0
 * parseRfc3339('2026-02-30T00:00:00Z');      // NaN
 * ```
 */
export function parseRfc3339(s: string): number {
  const len = s.length;
  if (len < DATE_TIME_CHARS + 1 || len > 64) return Number.NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  const t = s.charCodeAt(10);
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 60 ||
    s.charCodeAt(4) !== CHAR_DASH ||
    s.charCodeAt(7) !== CHAR_DASH ||
    (t !== CHAR_T_UPPER && t !== CHAR_T_LOWER) ||
    s.charCodeAt(13) !== CHAR_COLON ||
    s.charCodeAt(16) !== CHAR_COLON ||
    day > daysInMonth(year, month)
  ) {
    return Number.NaN;
  }
  let at = DATE_TIME_CHARS;
  let millis = 0;
  if (s.charCodeAt(at) === CHAR_DOT) {
    at++;
    const start = at;
    let scale = 100;
    while (at < len) {
      const d = s.charCodeAt(at) - CHAR_0;
      if (d < 0 || d > 9) break;
      millis += d * scale;
      scale = scale / 10 >= 1 ? scale / 10 : 0;
      at++;
    }
    if (at === start) return Number.NaN;
  }
  let offsetMs = 0;
  const z = s.charCodeAt(at);
  if (z === CHAR_Z_UPPER || z === CHAR_Z_LOWER) {
    if (at + 1 !== len) return Number.NaN;
  } else if (z === CHAR_PLUS || z === CHAR_DASH) {
    if (at + 6 !== len || s.charCodeAt(at + 3) !== CHAR_COLON) return Number.NaN;
    const oh = digits(s, at + 1, 2);
    const om = digits(s, at + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN;
    // RFC 3339 §4.2: local time = UTC + offset, so UTC = local − offset.
    offsetMs = (z === CHAR_PLUS ? 1 : -1) * (oh * MS_PER_HOUR + om * MS_PER_MINUTE);
  } else {
    return Number.NaN;
  }
  return (
    daysFromCivil(year, month, day) * MS_PER_DAY +
    hour * MS_PER_HOUR +
    minute * MS_PER_MINUTE +
    second * MS_PER_SECOND +
    millis -
    offsetMs
  );
}
