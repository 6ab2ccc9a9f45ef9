import { mkdtempSync, rmSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Client,
  credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createLedger, type Ledger, type LedgerOptions } from '@sealog/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../src/api-keys';
import type { ServerState } from '../src/app';
import { resolveServeConfig } from '../src/config';
import { PROTO_PATH, type RunningGrpcServer, startGrpcServer } from '../src/grpc';
import { type RunningServer, startServer } from '../src/serve';
import { call } from './helpers';

const ADMIN = 'test-admin-key-0123456789abcdef';
const T0 = 1_795_428_000_000;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealog-grpc-'));
  dirs.push(dir);
  return dir;
}

// A client as another program would build one: the same .proto, its own loader options.
const definition = loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true, arrays: true });
const AuditLogService = (
  loadPackageDefinition(definition) as unknown as {
    sealog: { v1: { AuditLogService: ServiceClientConstructor } };
  }
).sealog.v1.AuditLogService;

interface EventResult {
  event_id: string;
  verification_hash: string;
  status: boolean;
  leaf_index: number;
  log_id: string;
  integrity: string;
  result_status: string;
}
type Unary = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response?: unknown) => void,
) => void;

function clientFor(port: number): Client {
  return new AuditLogService(`127.0.0.1:${port}`, credentials.createInsecure());
}

function invoke(client: Client, method: string, request: unknown, key?: string): Promise<unknown> {
  const metadata = new Metadata();
  if (key !== undefined) metadata.set('authorization', `Bearer ${key}`);
  const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
  return new Promise((resolve, reject) =>
    fn(request, metadata, (error, response) => (error === null ? resolve(response) : reject(error))),
  );
}

const recordEvent = (c: Client, request: unknown, key?: string): Promise<EventResult> =>
  invoke(c, 'RecordEvent', request, key) as Promise<EventResult>;
const recordEvents = (c: Client, request: unknown, key?: string): Promise<{ results: EventResult[] }> =>
  invoke(c, 'RecordEvents', request, key) as Promise<{ results: EventResult[] }>;

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** The JSON of the details trailer. */
function detailsOf(error: ServiceError): {
  code: string;
  message: string;
  details: { index: number; path: string; event_path: string; code: string; message: string }[];
  omitted?: number;
} {
  const [raw] = error.metadata.get('sealog-error-details-bin');
  return JSON.parse((raw as Buffer).toString('utf8'));
}

/** A minimal valid request message, varied by `i`. */
function message(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenant_id: 'acme',
    occurred_at_timestamp: T0 + i,
    action: 'document.read',
    actor_id: `u${i % 7}`,
    actor_type: 'user',
    resource_type: 'document',
    resource_id: `d${i % 5}`,
    ...overrides,
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('gRPC AuditLogService', () => {
  let ledger: Ledger;
  let keys: ApiKeyStore;
  const state: ServerState = { phase: 'ready' };
  let grpc: RunningGrpcServer;
  let client: Client;
  let acmeKey: string;
  let readKey: string;
  const calls: [string, string][] = [];
  const rejected: [string, number][] = [];

  beforeAll(async () => {
    const dir = tempDir();
    ledger = await createLedger({ dir, onNotice: () => {} });
    keys = (await ApiKeyStore.open(dir, ADMIN)).store;
    acmeKey = (await keys.create('acme', ['ingest'])).key;
    readKey = (await keys.create('*', ['read'])).key;
    grpc = await startGrpcServer({
      ledger,
      keys,
      state,
      host: '127.0.0.1',
      port: 0,
      onRequest: (rpc, code) => calls.push([rpc, code]),
      onRejected: (code, n) => rejected.push([code, n]),
    });
    client = clientFor(grpc.port);
  });

  afterAll(async () => {
    client?.close();
    await grpc?.close();
    await ledger?.close();
  });

  const treeSize = (): number => ledger.log('default').treeSize;

  it('stores one event durably and answers its leaf, verification hash and integrity', async () => {
    const r = await recordEvent(client, message(0, { event_id: 'g-1' }), ADMIN);
    expect(r).toMatchObject({
      event_id: 'g-1',
      status: true,
      result_status: 'stored',
      log_id: 'default',
    });
    const stored = await ledger.read(r.log_id, r.leaf_index);
    expect(r.verification_hash).toBe(hex(stored.leafHash));
    expect(r.integrity.endsWith(`::${r.verification_hash}`)).toBe(true);
    expect(stored.record).toMatchObject({
      event_id: 'g-1',
      tenant_id: 'acme',
      occurred_at: T0,
      actor_type: 'user',
      action: 'document.read',
      resource: { type: 'document', id: 'd0' },
      result: 'success',
    });
    expect(calls).toContainEqual(['RecordEvent', 'OK']);
  });

  it('answers a repeated event_id with the original leaf and status true', async () => {
    const first = await recordEvent(client, message(1, { event_id: 'g-idem' }), ADMIN);
    const size = treeSize();
    const again = await recordEvent(client, message(1, { event_id: 'g-idem' }), acmeKey);
    expect(again).toMatchObject({
      event_id: 'g-idem',
      status: true,
      result_status: 'duplicate',
      leaf_index: first.leaf_index,
      verification_hash: first.verification_hash,
    });
    expect(treeSize()).toBe(size);
  });

  it('assigns an event id when the request has none', async () => {
    const r = await recordEvent(client, message(2), ADMIN);
    expect(r.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(r.status).toBe(true);
  });

  it('records a batch in order, and accepts one without waiting for fsync when asked', async () => {
    const batch = await recordEvents(
      client,
      { events: [0, 1, 2].map((i) => message(10 + i, { event_id: `b-${i}` })) },
      acmeKey,
    );
    expect(batch.results.map((r) => [r.event_id, r.result_status, r.status])).toEqual([
      ['b-0', 'stored', true],
      ['b-1', 'stored', true],
      ['b-2', 'stored', true],
    ]);
    const leaves = batch.results.map((r) => r.leaf_index);
    expect(leaves).toEqual([leaves[0]!, leaves[0]! + 1, leaves[0]! + 2]);

    const accepted = await recordEvents(
      client,
      { events: [message(20, { event_id: 'a-0' }), message(21, { event_id: 'a-1' })], wait_accepted: true },
      acmeKey,
    );
    for (const r of accepted.results) {
      expect(r).toMatchObject({
        status: false,
        result_status: 'accepted',
        verification_hash: '',
        integrity: '',
      });
    }
    // Waiting durably on the same ids answers the stored originals.
    const durable = await recordEvents(
      client,
      { events: [message(20, { event_id: 'a-0' }), message(21, { event_id: 'a-1' })] },
      acmeKey,
    );
    expect(durable.results.map((r) => [r.result_status, r.status])).toEqual([
      ['duplicate', true],
      ['duplicate', true],
    ]);
    expect(durable.results[0]!.verification_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads actor_type, category and result case-insensitively', async () => {
    const r = await recordEvents(
      client,
      {
        events: [
          message(30, { actor_type: 'USER', category: 'UPDATE', result: 'Failure' }),
          message(31, { actor_type: 'System' }),
          message(32, { actor_type: 'sErViCe' }),
        ],
      },
      ADMIN,
    );
    const records = await Promise.all(r.results.map((x) => ledger.read(x.log_id, x.leaf_index)));
    expect(records.map((x) => x.record.actor_type)).toEqual(['user', 'system', 'service']);
    expect(records[0]!.record).toMatchObject({ category: 'update', result: 'failure' });
  });

  describe('errors', () => {
    it('answers UNAUTHENTICATED without a key or with an unknown key', async () => {
      const none = await failure(recordEvent(client, message(40)));
      expect(none.code).toBe(status.UNAUTHENTICATED);
      expect(none.metadata.get('sealog-error-code')).toEqual(['UNAUTHENTICATED']);
      const wrong = await failure(recordEvent(client, message(40), 'sealog_not-a-key'));
      expect(wrong.code).toBe(status.UNAUTHENTICATED);
      expect(wrong.details).toBe('unknown API key');
    });

    it('answers PERMISSION_DENIED to a key without the ingest role', async () => {
      const e = await failure(recordEvent(client, message(41), readKey));
      expect(e.code).toBe(status.PERMISSION_DENIED);
      expect(e.details).toContain('ingest');
    });

    it('answers PERMISSION_DENIED to a batch reaching outside the key scope, storing nothing', async () => {
      const size = treeSize();
      const e = await failure(
        recordEvents(
          client,
          {
            events: [
              message(42, { event_id: 'scope-0' }),
              message(43, { event_id: 'scope-1', tenant_id: 'globex' }),
            ],
          },
          acmeKey,
        ),
      );
      expect(e.code).toBe(status.PERMISSION_DENIED);
      expect(detailsOf(e)).toMatchObject({
        code: 'FORBIDDEN',
        details: [{ index: 1, path: 'tenant_id', code: 'forbidden_tenant' }],
      });
      expect(treeSize()).toBe(size);
      expect(rejected).toContainEqual(['FORBIDDEN', 2]);
      // Had the in-scope event been stored, this would answer "duplicate".
      const r = await recordEvent(client, message(42, { event_id: 'scope-0' }), acmeKey);
      expect(r.result_status).toBe('stored');
    });

    it('answers INVALID_ARGUMENT naming the index and proto field of every issue, storing nothing', async () => {
      const size = treeSize();
      const e = await failure(
        recordEvents(
          client,
          {
            events: [
              message(50, { event_id: 'inv-0' }),
              message(51, { actor_type: 'robot' }),
              message(52, { resource_id: '', client_ip: 'x'.repeat(65) }),
            ],
          },
          ADMIN,
        ),
      );
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(e.details).toMatch(/nothing stored/);
      expect(e.details).toMatch(/events\[1\]\.actor_type: expected/);
      expect(e.details).toContain('events[2].resource_id: required field is missing');
      expect(e.details).toContain('events[2].client_ip: expected at most 64 characters');
      const body = detailsOf(e);
      expect(body.code).toBe('INVALID_EVENT');
      expect(body.details).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ index: 1, path: 'actor_type', event_path: 'actor.type', code: 'enum' }),
          expect.objectContaining({
            index: 2,
            path: 'resource_id',
            event_path: 'resource.id',
            code: 'required',
          }),
          expect.objectContaining({
            index: 2,
            path: 'client_ip',
            event_path: 'context.ip',
            code: 'too_long',
          }),
        ]),
      );
      expect(treeSize()).toBe(size);
      const r = await recordEvent(client, message(50, { event_id: 'inv-0' }), ADMIN);
      expect(r.result_status).toBe('stored');
    });

    it('answers INVALID_ARGUMENT for metadata_json that is not a JSON object of scalars', async () => {
      const cases: [string, string, string][] = [
        ['[1,2]', 'metadata_json', 'type'],
        ['not json', 'metadata_json', 'invalid_json'],
        ['null', 'metadata_json', 'type'],
        ['{"nested":{"a":1}}', 'metadata_json.nested', 'type'],
      ];
      for (const [text, path, code] of cases) {
        const e = await failure(recordEvent(client, message(60, { metadata_json: text }), ADMIN));
        expect(e.code).toBe(status.INVALID_ARGUMENT);
        expect(e.details).toContain(`${path}: `);
        expect(detailsOf(e).details[0]).toMatchObject({ index: 0, path, code });
      }
      const badChange = await failure(
        recordEvent(client, message(61, { changes: [{ field: 'a', old_json: '{oops' }] }), ADMIN),
      );
      expect(detailsOf(badChange).details[0]).toMatchObject({
        path: 'changes[0].old_json',
        code: 'invalid_json',
      });
      // The client's text is not echoed back (it may be personal data).
      expect(badChange.details).not.toContain('oops');
    });

    it('reports untranslatable fields and validation issues of the same request together', async () => {
      const e = await failure(
        recordEvent(
          client,
          message(65, { metadata_json: 'not json', actor_type: 'robot', occurred_at_timestamp: 0 }),
          ADMIN,
        ),
      );
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(
        detailsOf(e)
          .details.map((d) => [d.path, d.code])
          .sort(),
      ).toEqual([
        ['actor_type', 'enum'],
        ['metadata_json', 'invalid_json'],
        ['occurred_at_timestamp', 'required'],
      ]);
    });

    it('answers INVALID_ARGUMENT for a missing, doubled or out-of-range occurred_at', async () => {
      const missing = await failure(recordEvent(client, message(70, { occurred_at_timestamp: 0 }), ADMIN));
      expect(missing.code).toBe(status.INVALID_ARGUMENT);
      expect(missing.details).toContain('occurred_at_timestamp: required');
      const both = await failure(
        recordEvent(client, message(71, { occurred_at: '2026-11-23T10:00:00Z' }), ADMIN),
      );
      expect(detailsOf(both).details[0]).toMatchObject({ path: 'occurred_at', code: 'conflict' });
      const negative = await failure(recordEvent(client, message(72, { occurred_at_timestamp: -5 }), ADMIN));
      expect(detailsOf(negative).details[0]).toMatchObject({
        path: 'occurred_at_timestamp',
        code: 'out_of_range',
      });
      const badDate = await failure(
        recordEvent(client, message(73, { occurred_at_timestamp: 0, occurred_at: 'yesterday' }), ADMIN),
      );
      expect(detailsOf(badDate).details[0]).toMatchObject({ path: 'occurred_at', code: 'invalid_date' });
    });

    it('answers INVALID_ARGUMENT to an empty batch and to more than 10,000 events', async () => {
      const empty = await failure(recordEvents(client, { events: [] }, ADMIN));
      expect(empty.code).toBe(status.INVALID_ARGUMENT);
      const size = treeSize();
      const tooMany = await failure(
        recordEvents(client, { events: Array.from({ length: 10_001 }, (_, i) => message(i)) }, ADMIN),
      );
      expect(tooMany.code).toBe(status.INVALID_ARGUMENT);
      expect(tooMany.metadata.get('sealog-error-code')).toEqual(['TOO_MANY_EVENTS']);
      expect(treeSize()).toBe(size);
    });

    it('keeps message and trailers small when a batch has many issues', async () => {
      const e = await failure(
        recordEvents(
          client,
          { events: Array.from({ length: 100 }, (_, i) => message(i, { actor_type: `robot-${i}` })) },
          ADMIN,
        ),
      );
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(Buffer.byteLength(e.details)).toBeLessThanOrEqual(1024);
      expect(e.details).toMatch(/more in the sealog-error-details-bin trailer$/);
      const body = detailsOf(e);
      expect(body.details.length).toBeGreaterThan(0);
      expect(body.details.length + (body.omitted ?? 0)).toBe(64);
    });

    it('answers RESOURCE_EXHAUSTED to a message over 16 MiB', async () => {
      const e = await failure(
        recordEvent(client, message(80, { user_agent: 'x'.repeat(16 * 1024 * 1024 + 1) }), ADMIN),
      );
      expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
    });

    it('answers UNAVAILABLE with retry-after while the server is not ready', async () => {
      state.phase = 'draining';
      try {
        const e = await failure(recordEvent(client, message(90), ADMIN));
        expect(e.code).toBe(status.UNAVAILABLE);
        expect(e.metadata.get('retry-after')).toEqual(['5']);
        expect(e.details).toBe('server is draining');
      } finally {
        state.phase = 'ready';
      }
      expect(calls).toContainEqual(['RecordEvent', 'UNAVAILABLE']);
    });
  });
});

describe('gRPC next to the JSON API', () => {
  let server: RunningServer;
  let client: Client;
  let base: string;

  beforeAll(async () => {
    const dir = tempDir();
    server = await startServer(
      resolveServeConfig({ dataDir: dir, port: '0', grpcPort: '0' }, { SEALOG_ADMIN_KEY: ADMIN }),
      {
        logger: false,
        onNotice: () => {},
        processMetrics: false,
      },
    );
    base = server.url;
    // `sealog serve` serves gRPC next to HTTP: same ledger, same API keys.
    client = clientFor(server.grpcPort);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('stores the same record as the JSON API for an event that uses every field', async () => {
    const grpcMessage = {
      event_id: 'full-grpc',
      tenant_id: 'acme',
      occurred_at: '2026-11-23T10:00:00.123Z',
      actor_id: 'u-7',
      actor_type: 'USER',
      actor_name: 'Ada Lovelace',
      actor_email: 'ada@example.com',
      action: 'role.upgrade',
      category: 'admin',
      result: 'failure',
      resource_type: 'role',
      resource_id: 'admin',
      resource_name: 'Administrators',
      client_ip: '203.0.113.9',
      user_agent: 'curl/8.5.0',
      request_id: 'req-1',
      session_id: 'sess-1',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      component: 'billing',
      changes: [
        { field: 'role', old_json: '"viewer"', new_json: '"admin"' },
        { field: 'limits', old_json: 'null', new_json: '{"seats":[1,2.5,true]}' },
        { field: 'note', new_json: '"created"' },
      ],
      metadata_json: '{"plan":"pro","seats":5,"trial":false}',
      retention_class: 'default',
    };
    const httpEvent = {
      event_id: 'full-http',
      tenant_id: 'acme',
      occurred_at: '2026-11-23T10:00:00.123Z',
      actor: { id: 'u-7', type: 'user', name: 'Ada Lovelace', email: 'ada@example.com' },
      action: 'role.upgrade',
      category: 'admin',
      result: 'failure',
      resource: { type: 'role', id: 'admin', name: 'Administrators' },
      context: {
        ip: '203.0.113.9',
        user_agent: 'curl/8.5.0',
        request_id: 'req-1',
        session_id: 'sess-1',
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        component: 'billing',
      },
      changes: [
        { field: 'role', old: 'viewer', new: 'admin' },
        { field: 'limits', old: null, new: { seats: [1, 2.5, true] } },
        { field: 'note', new: 'created' },
      ],
      metadata: { plan: 'pro', seats: 5, trial: false },
      retention_class: 'default',
    };
    const viaGrpc = await recordEvent(client, grpcMessage, ADMIN);
    const viaHttp = await call(base, 'POST', '/api/v1/events', { key: ADMIN, body: httpEvent });
    expect(viaHttp.status).toBe(200);
    const a = await server.ledger.read(viaGrpc.log_id, viaGrpc.leaf_index);
    const b = await server.ledger.read('default', viaHttp.json.results[0].leaf_index);
    // Server-assigned or position-dependent: the id, receive time, entity link, and the sealed
    // blob (fresh nonce); the personal fields inside it are compared opened.
    const comparable = (r: typeof a.record) => {
      const { event_id, received_at, prev, sealed_personal, ...rest } = r;
      return rest;
    };
    expect(comparable(a.record)).toEqual(comparable(b.record));
    expect(await server.ledger.openPersonal(a.record)).toEqual(await server.ledger.openPersonal(b.record));
    expect(await server.ledger.openPersonal(a.record)).toMatchObject({
      actor_id: 'u-7',
      actor_email: 'ada@example.com',
      ip: '203.0.113.9',
      changes: [
        { old: 'viewer', new: 'admin' },
        { old: null, new: { seats: [1, 2.5, true] } },
        { old: undefined, new: 'created' },
      ],
    });
  });
});

describe('gRPC under load and shutdown', () => {
  async function start(
    ledgerOptions: Omit<LedgerOptions, 'dir'>,
    extra: { receiveTimeoutMs?: number } = {},
  ): Promise<{ ledger: Ledger; grpc: RunningGrpcServer; client: Client; state: ServerState }> {
    const dir = tempDir();
    const ledger = await createLedger({ ...ledgerOptions, dir, onNotice: () => {} });
    const { store } = await ApiKeyStore.open(dir, ADMIN);
    const state: ServerState = { phase: 'ready' };
    const grpc = await startGrpcServer({ ledger, keys: store, state, host: '127.0.0.1', port: 0, ...extra });
    return { ledger, grpc, client: clientFor(grpc.port), state };
  }

  it('answers RESOURCE_EXHAUSTED with retry-after 1 when the ledger queue is full, storing nothing', async () => {
    // A queue of 4 records flushed only after a minute (or on close): the 5th must bounce.
    const s = await start({ queueMaxRecords: 4, batchMaxWaitMs: 60_000 });
    try {
      const queued = await recordEvents(
        s.client,
        { events: [0, 1, 2, 3].map((i) => message(i, { event_id: `q-${i}` })), wait_accepted: true },
        ADMIN,
      );
      expect(queued.results.every((r) => r.result_status === 'accepted')).toBe(true);
      expect(s.ledger.log('default').queueDepth()).toBe(4);
      const e = await failure(recordEvent(s.client, message(9, { event_id: 'bounced' }), ADMIN));
      expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(e.metadata.get('retry-after')).toEqual(['1']);
      expect(e.metadata.get('sealog-error-code')).toEqual(['BACKPRESSURE']);
      expect(s.ledger.log('default').queueDepth()).toBe(4);
    } finally {
      s.client.close();
      await s.grpc.close();
      await s.ledger.close(); // drains the 4 queued records
    }
  });

  it('lets an in-flight durable call finish on close and refuses calls afterwards', async () => {
    // Durable writes wait ~1 s for their batch: long enough to start closing meanwhile.
    const s = await start({ batchMaxWaitMs: 1000 });
    try {
      const inFlight = recordEvent(s.client, message(1, { event_id: 'in-flight' }), ADMIN);
      // The first call also connects and starts the ledger's worker: allow for a loaded machine.
      for (let i = 0; i < 1000 && s.ledger.log('default').queueDepth() === 0; i++) {
        await new Promise((res) => setTimeout(res, 5));
      }
      expect(s.ledger.log('default').queueDepth()).toBe(1);
      s.state.phase = 'draining';
      const closing = s.grpc.close();
      const r = await inFlight;
      expect(r).toMatchObject({ event_id: 'in-flight', result_status: 'stored', status: true });
      await closing;
      const late = await failure(recordEvent(s.client, message(2, { event_id: 'late' }), ADMIN));
      expect(late.code).toBe(status.UNAVAILABLE);
      expect(s.ledger.log('default').treeSize).toBe(1);
    } finally {
      s.client.close();
      await s.grpc.close();
      await s.ledger.close();
    }
  });

  it('ends a call whose request does not arrive in time, without running it', async () => {
    const s = await start({}, { receiveTimeoutMs: 200 });
    const session = http2Connect(`http://127.0.0.1:${s.grpc.port}`);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/sealog.v1.AuditLogService/RecordEvent',
        'content-type': 'application/grpc',
        te: 'trailers',
        authorization: `Bearer ${ADMIN}`,
      });
      // Half a gRPC frame header, then nothing: a client that stalls mid-request.
      stream.write(Buffer.from([0, 0, 0]));
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        stream.on('trailers', (t) => resolve(t as Record<string, unknown>));
        stream.on('response', (h) => {
          if (h['grpc-status'] !== undefined) resolve(h as Record<string, unknown>);
        });
        stream.on('error', reject);
        stream.resume();
      });
      expect(trailers['grpc-status']).toBe(String(status.DEADLINE_EXCEEDED));
      stream.close();
      expect(s.ledger.log('default').treeSize).toBe(0);
    } finally {
      session.close();
      s.client.close();
      await s.grpc.close();
      await s.ledger.close();
    }
  });
});
