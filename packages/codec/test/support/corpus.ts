/**
 * Deterministic, realistic audit events for tests and benchmarks: tens of tenants, thousands of
 * actors, ~500 bytes of JSON each. Seeded, so every run (and every golden fixture) sees the same data.
 */
import type { AuditEvent, NormalizedEvent } from '../../src/event';
import { encodePersonal, splitPersonal } from '../../src/personal';
import { makeRecordBody, type RecordBody } from '../../src/record';
import { validateEvent } from '../../src/validate-event';

/** mulberry32: tiny, fast, good enough for test data. */
export function createRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = [
  'user.login',
  'user.logout',
  'role.upgrade',
  'role.downgrade',
  'document.read',
  'document.update',
  'document.delete',
  'invoice.create',
  'apikey.rotate',
  'settings.update',
];
const CATEGORIES = [
  'auth',
  'auth',
  'admin',
  'admin',
  'read',
  'update',
  'delete',
  'create',
  'admin',
  'update',
] as const;
const RESOURCE_TYPES = ['document', 'invoice', 'role', 'user', 'project', 'apikey'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'curl/8.11.0',
  'sealog-client-go/0.3.1',
];
const FIRST = ['Ada', 'Grace', 'Alan', 'Barbara', 'Ken', 'Radia', 'Edsger', 'Frances', 'Dennis', 'Margaret'];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Liskov',
  'Thompson',
  'Perlman',
  'Dijkstra',
  'Allen',
  'Ritchie',
  'Hamilton',
];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function hex(rnd: () => number, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += Math.floor(rnd() * 16).toString(16);
  return s;
}

/** `n` realistic events as a client would submit them (JSON-compatible). */
export function makeEvents(n: number, seed = 1): AuditEvent[] {
  const rnd = createRandom(seed);
  const out: AuditEvent[] = [];
  const base = Date.UTC(2026, 10, 23, 8, 0, 0);
  for (let i = 0; i < n; i++) {
    const a = Math.floor(rnd() * ACTIONS.length);
    const actorNo = Math.floor(rnd() * 5000);
    const tenantNo = actorNo % 40;
    const rtype = pick(rnd, RESOURCE_TYPES);
    const first = FIRST[actorNo % FIRST.length]!;
    const last = LAST[Math.floor(actorNo / 10) % LAST.length]!;
    const t = base + i * 37 + Math.floor(rnd() * 1000);
    const e: AuditEvent = {
      event_id: `01JD${hex(rnd, 22).toUpperCase()}`,
      tenant_id: `tenant-${tenantNo.toString().padStart(3, '0')}`,
      occurred_at: rnd() < 0.5 ? new Date(t).toISOString() : t,
      actor: {
        id: `user-${actorNo}`,
        type: actorNo % 17 === 0 ? 'service' : 'user',
        name: `${first} ${last}`,
        email: `${first.toLowerCase()}.${last.toLowerCase()}${actorNo}@example.com`,
      },
      action: ACTIONS[a]!,
      category: CATEGORIES[a]!,
      resource: {
        type: rtype,
        id: `${rtype}-${Math.floor(rnd() * 100000)}`,
        name: `${rtype} ${hex(rnd, 6)}`,
      },
      result: rnd() < 0.93 ? 'success' : 'failure',
      context: {
        ip: `10.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`,
        user_agent: pick(rnd, AGENTS),
        request_id: `req-${hex(rnd, 16)}`,
        trace_id: hex(rnd, 32),
        component: 'api-gateway',
      },
      metadata: { region: pick(rnd, ['eu-west-1', 'us-east-1', 'ap-south-1']), mfa: rnd() < 0.7, attempt: 1 },
    };
    if (a === 2 || a === 3 || a === 5 || a === 9) {
      e.changes = [
        { field: 'role', old: 'viewer', new: 'editor' },
        { field: 'updated_at', old: t - 86_400_000, new: t },
      ];
    }
    out.push(e);
  }
  return out;
}

/** Validates `events` (they are valid by construction) and returns the normalized events. */
export function normalizeAll(events: readonly AuditEvent[]): NormalizedEvent[] {
  const out: NormalizedEvent[] = [];
  for (const e of events) {
    const r = validateEvent(e);
    if (!r.ok) throw new Error(`corpus event is invalid: ${JSON.stringify(r.errors)}`);
    out.push(r.event);
  }
  return out;
}

/** Envelope overhead the ledger adds to a sealed blob (12-byte nonce + 16-byte tag). */
const ENVELOPE_BYTES = 28;

/** Record bodies as the ledger would build them (fake token and "sealed" blob of realistic size). */
export function makeBodies(events: readonly NormalizedEvent[], seed = 2): RecordBody[] {
  const rnd = createRandom(seed);
  const out: RecordBody[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const { publicPart, personal } = splitPersonal(e);
    const personalBytes = encodePersonal(personal);
    const sealed = new Uint8Array(personalBytes.length + ENVELOPE_BYTES);
    for (let j = 0; j < sealed.length; j++) sealed[j] = Math.floor(rnd() * 256);
    const token = new Uint8Array(32);
    for (let j = 0; j < token.length; j++) token[j] = Math.floor(rnd() * 256);
    out.push(
      makeRecordBody(publicPart, {
        event_id: e.event_id ?? `evt-${i}`,
        received_at: e.occurred_at + 15,
        subject_token: token,
        subject_key_id: `sk-${e.tenant_id}-${e.actor.id}`,
        sealed_personal: sealed,
      }),
    );
  }
  return out;
}
