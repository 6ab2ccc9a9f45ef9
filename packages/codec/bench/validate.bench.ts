/**
 * Validation of realistic events: the hand-compiled validator vs ajv (the exported JSON Schema,
 * compiled) vs zod 4. Also: what measuring the 64 KiB limit with JSON.stringify would cost.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import { bench, describe } from 'vitest';
import { MAX_EPOCH_MS } from '../src/event';
import { EVENT_JSON_SCHEMA } from '../src/event-json-schema';
import { parseRfc3339 } from '../src/occurred-at';
import { validateEvent } from '../src/validate-event';
import { makeEvents } from '../test/support/corpus';
import { BATCH, check, OPTIONS } from './shared';
import { zodEvent } from './zod-event-schema';

const ajv = new Ajv2020({ strict: true, allErrors: false });
ajv.addFormat('date-time', {
  type: 'string',
  validate: (s: string) => {
    const ms = parseRfc3339(s);
    return ms >= 0 && ms <= MAX_EPOCH_MS;
  },
});
const ajvCheck = ajv.compile(EVENT_JSON_SCHEMA);

/** JSON-parsed events, as the HTTP layer hands them over. */
const valid = makeEvents(BATCH, 11).map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>);
/** Same events, every fourth one broken in a different way. */
const mixed = makeEvents(BATCH, 12).map((e, i) => {
  const x = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
  if (i % 4 === 0) {
    const kind = (i / 4) % 4;
    if (kind === 0) x.tenant_id = 'bad tenant';
    else if (kind === 1) (x.actor as Record<string, unknown>).type = 'robot';
    else if (kind === 2) x.unknown_field = true;
    else x.occurred_at = '2026-02-30T00:00:00Z';
  }
  return x;
});

function countValid(events: readonly unknown[], f: (e: unknown) => boolean): number {
  let n = 0;
  for (const e of events) if (f(e)) n++;
  return n;
}
const hand = (e: unknown) => validateEvent(e).ok;
const handWithStringify = (e: unknown) =>
  validateEvent(e, { byteLength: Buffer.byteLength(JSON.stringify(e), 'utf8') }).ok;
const viaAjv = (e: unknown) => ajvCheck(e) === true;
const viaZod = (e: unknown) => zodEvent.safeParse(e).success;

for (const f of [hand, handWithStringify, viaAjv, viaZod]) {
  check(countValid(valid, f) === valid.length, `${f.name} accepts every valid event`);
  check(
    countValid(mixed, f) === mixed.length - Math.ceil(mixed.length / 4),
    `${f.name} rejects exactly the broken events`,
  );
}

for (const [name, events] of [
  [`validate ${BATCH} valid events`, valid],
  [`validate ${BATCH} events, 1 in 4 invalid`, mixed],
] as const) {
  describe(name, () => {
    bench(
      'validateEvent (hand-compiled, normalizes too)',
      () => {
        countValid(events, hand);
      },
      OPTIONS,
    );
    bench(
      'validateEvent + exact JSON size via JSON.stringify',
      () => {
        countValid(events, handWithStringify);
      },
      OPTIONS,
    );
    bench(
      'ajv 8 (compiled EVENT_JSON_SCHEMA, no normalization)',
      () => {
        countValid(events, viaAjv);
      },
      OPTIONS,
    );
    bench(
      'zod 4 safeParse',
      () => {
        countValid(events, viaZod);
      },
      OPTIONS,
    );
  });
}
