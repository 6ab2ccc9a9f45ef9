/**
 * Deterministic, realistic audit events (CONTRACT.md §1) for the audit benchmark: 40 tenants,
 * 5000 actors, 6 resource types, every personal field present (actor name/email, ip, user agent,
 * `changes` on a third of them), ~500 bytes of JSON each. No client `event_id` (a pool that is
 * cycled would otherwise turn repeats into idempotent duplicates).
 *
 * Not here: anything timed. Events are generated once; the benchmark cycles through the pool.
 */

/** mulberry32: tiny, fast, good enough for benchmark data. */
function createRandom(seed: number): () => number {
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
  ['user.login', 'auth'],
  ['user.logout', 'auth'],
  ['role.upgrade', 'admin'],
  ['role.downgrade', 'admin'],
  ['document.read', 'read'],
  ['document.update', 'update'],
  ['document.delete', 'delete'],
  ['invoice.create', 'create'],
  ['apikey.rotate', 'admin'],
  ['settings.update', 'update'],
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
];
/** Tenants in the corpus. */
export const TENANTS = 40;
/** Actors (data subjects) in the corpus. */
export const ACTORS = 5000;

function hex(rnd: () => number, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += Math.floor(rnd() * 16).toString(16);
  return s;
}

/** `n` events as a client would submit them (JSON-compatible objects). */
export function makeAuditEvents(n: number, seed = 1): Record<string, unknown>[] {
  const rnd = createRandom(seed);
  const out: Record<string, unknown>[] = new Array(n);
  const base = Date.UTC(2026, 10, 23, 8, 0, 0);
  for (let i = 0; i < n; i++) {
    const a = Math.floor(rnd() * ACTIONS.length);
    const [action, category] = ACTIONS[a]!;
    const actorNo = Math.floor(rnd() * ACTORS);
    const first = FIRST[actorNo % FIRST.length]!;
    const last = LAST[Math.floor(actorNo / 10) % LAST.length]!;
    const rtype = RESOURCE_TYPES[Math.floor(rnd() * RESOURCE_TYPES.length)]!;
    const t = base + i * 37 + Math.floor(rnd() * 1000);
    const event: Record<string, unknown> = {
      tenant_id: `tenant-${(actorNo % TENANTS).toString().padStart(3, '0')}`,
      occurred_at: rnd() < 0.5 ? new Date(t).toISOString() : t,
      actor: {
        id: `user-${actorNo}`,
        type: actorNo % 17 === 0 ? 'service' : 'user',
        name: `${first} ${last}`,
        email: `${first.toLowerCase()}.${last.toLowerCase()}${actorNo}@example.com`,
      },
      action,
      category,
      resource: {
        type: rtype,
        id: `${rtype}-${Math.floor(rnd() * 100_000)}`,
        name: `${rtype} ${hex(rnd, 6)}`,
      },
      result: rnd() < 0.93 ? 'success' : 'failure',
      context: {
        ip: `10.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`,
        user_agent: AGENTS[Math.floor(rnd() * AGENTS.length)]!,
        request_id: `req-${hex(rnd, 16)}`,
      },
      metadata: { region: rnd() < 0.5 ? 'eu-west-1' : 'us-east-1', mfa: rnd() < 0.7, attempt: 1 },
    };
    if (category === 'admin' || category === 'update') {
      event.changes = [{ field: 'role', old: 'viewer', new: 'editor' }];
    }
    out[i] = event;
  }
  return out;
}
