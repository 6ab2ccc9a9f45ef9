/**
 * The read side of the HTTP API (CONTRACT §2): search (`audit-logs`), one event with its proof,
 * resource history with the per-entity chain checked, streamed export (ndjson, csv, verifiable
 * bundle) and crypto-shredding erasure. Handlers translate HTTP ↔ packages: the index finds record
 * positions, the ledger reads, opens and renders records, every access is recorded (access-log.ts).
 *
 * Tenancy: every route is under `/tenants/{tenant_id}`; a key scoped to another tenant gets 403
 * before anything is read, and each record read back is checked to belong to the tenant asked.
 */
import { openCheckpoint } from '@sealog/crypto-envelope';
import type { SearchHit } from '@sealog/index';
import { type Ledger, LedgerError, type ReadRecord, subjectStoreIdOfToken } from '@sealog/ledger';
import { hashLeaf } from '@sealog/merkle';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AccessLog, apiKeyActor, ERASE_ACTION, isReservedActor } from './access-log';
import type { Principal, Role } from './api-keys';
import { HttpError } from './errors';
import { type ExportFormat, MAX_CONSISTENCY_FROM, parseConsistencyFrom, startExport } from './export-stream';
import {
  badParam,
  checkKnownParams,
  DEFAULT_LIMIT,
  FILTER_PARAMS,
  FILTER_SCHEMA_PROPERTIES,
  filterMetadata,
  MAX_LIMIT,
  parseFilter,
  type RecordFilter,
} from './filters';
import { indexCall, type ReadIndex, readHits, searchQuery } from './search';

/** What the read routes need from the app. */
export interface ReadRoutesDeps {
  readonly ledger: Ledger;
  readonly index: ReadIndex;
  readonly access: AccessLog;
  readonly requireRole: (role: Role) => (request: FastifyRequest) => Promise<void>;
  readonly principalOf: (request: FastifyRequest) => Principal;
}

type Query = Record<string, string | undefined>;
interface TenantParams {
  tenant_id: string;
}

const tenantParam = { tenant_id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' } } as const;
const pagingProps = {
  limit: {
    type: 'string',
    pattern: '^[0-9]{1,4}$',
    description: `1..${MAX_LIMIT}, default ${DEFAULT_LIMIT}`,
  },
  cursor: { type: 'string', maxLength: 1024, description: 'next_cursor of the previous page' },
  order: { type: 'string', enum: ['desc', 'asc'] },
} as const;
const recordSchema = {
  type: 'object',
  description: 'A stored record (CONTRACT §2 Record)',
  additionalProperties: true,
} as const;
const pageSchema = {
  type: 'object',
  required: ['tenant_id', 'records', 'next_cursor'],
  properties: {
    tenant_id: { type: 'string' },
    records: { type: 'array', items: recordSchema },
    next_cursor: { type: ['string', 'null'] },
  },
} as const;

/** Registers the read routes on `app`. */
export function registerReadRoutes(app: FastifyInstance, deps: ReadRoutesDeps): void {
  const { ledger, index, access, requireRole, principalOf } = deps;

  /** The principal, after checking it reaches `tenant`. */
  function principalFor(request: FastifyRequest, tenant: string): Principal {
    const p = principalOf(request);
    if (p.tenantId !== '*' && p.tenantId !== tenant) {
      throw new HttpError(403, 'FORBIDDEN', `this key only reaches tenant ${p.tenantId}`);
    }
    return p;
  }

  const views = (reads: readonly ReadRecord[], personal: boolean) =>
    Promise.all(reads.map((r) => ledger.view(r, { personal })));

  function pageArgs(q: Query): { limit: number; cursor: string | undefined; order: 'asc' | 'desc' } {
    const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw badParam('limit', `expected an integer 1..${MAX_LIMIT}, got ${JSON.stringify(q.limit)}`);
    }
    return { limit, cursor: q.cursor, order: q.order === 'asc' ? 'asc' : 'desc' };
  }

  function tokenOf(tenant: string, f: RecordFilter): Uint8Array | undefined {
    return f.actorId === undefined ? undefined : ledger.keyMaterial.subjectToken(tenant, f.actorId);
  }

  const searchParams = new Set([...FILTER_PARAMS, 'limit', 'cursor', 'order']);
  app.get<{ Params: TenantParams; Querystring: Query }>(
    '/api/v1/tenants/:tenant_id/audit-logs',
    {
      onRequest: requireRole('read'),
      preValidation: async (request) => checkKnownParams(request.query, searchParams),
      schema: {
        params: { type: 'object', required: ['tenant_id'], properties: tenantParam },
        querystring: { type: 'object', properties: { ...FILTER_SCHEMA_PROPERTIES, ...pagingProps } },
        response: { 200: { ...pageSchema, description: 'One page of records, newest first by default' } },
      },
      config: {
        doc: {
          summary: 'Search the audit log of a tenant',
          tag: 'read',
          role: 'read',
          errors: [400, 401, 403, 429, 503],
        },
      },
    },
    async (request) => {
      const tenant = request.params.tenant_id;
      const principal = principalFor(request, tenant);
      const filter = parseFilter(request.query);
      const { limit, cursor, order } = pageArgs(request.query);
      const token = tokenOf(tenant, filter);
      const page = indexCall(() =>
        index.search({
          ...searchQuery(tenant, filter, token),
          limit,
          order,
          ...(cursor === undefined ? {} : { cursor }),
        }),
      );
      const records = await views(await readHits(ledger, tenant, page.hits), true);
      await access.record(apiKeyActor(principal), tenant, 'sealog.audit_logs.search', {
        ...filterMetadata(filter, token),
        count: records.length,
      });
      return { tenant_id: tenant, records, next_cursor: page.nextCursor };
    },
  );

  app.get<{ Params: TenantParams & { event_id: string } }>(
    '/api/v1/tenants/:tenant_id/events/:event_id',
    {
      onRequest: requireRole('read'),
      schema: {
        params: {
          type: 'object',
          required: ['tenant_id', 'event_id'],
          properties: { ...tenantParam, event_id: { type: 'string', minLength: 1, maxLength: 128 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['record', 'proof'],
            description: 'The record and its inclusion proof against a signed checkpoint',
            properties: {
              record: recordSchema,
              proof: {
                type: 'object',
                required: ['log_id', 'leaf_index', 'tree_size', 'leaf_hash', 'inclusion', 'checkpoint'],
                properties: {
                  log_id: { type: 'string' },
                  leaf_index: { type: 'integer' },
                  tree_size: { type: 'integer' },
                  leaf_hash: { type: 'string' },
                  inclusion: { type: 'array', items: { type: 'string' } },
                  checkpoint: { type: 'string', description: 'C2SP signed checkpoint (note text)' },
                },
              },
            },
          },
        },
      },
      config: {
        doc: {
          summary: 'One event with its inclusion proof',
          tag: 'read',
          role: 'read',
          errors: [400, 401, 403, 404, 429, 503],
        },
      },
    },
    async (request) => {
      const tenant = request.params.tenant_id;
      const principal = principalFor(request, tenant);
      const eventId = request.params.event_id;
      const hit = findEvent(tenant, eventId);
      if (hit === undefined)
        throw new HttpError(404, 'NOT_FOUND', `no event ${JSON.stringify(eventId)} in tenant ${tenant}`);
      const [read] = await readHits(ledger, tenant, [hit]);
      if (read!.record.event_id !== eventId) {
        throw new HttpError(
          500,
          'INDEX_INCONSISTENT',
          'the search index points at another event; run `sealog reindex`',
        );
      }
      const proof = await proofOf(read!);
      const record = await ledger.view(read!, { personal: true });
      await access.record(apiKeyActor(principal), tenant, 'sealog.event.read', {
        event_id: eventId,
        count: 1,
      });
      return { record, proof };
    },
  );

  /** Position of an event: the index, else the ledger's idempotency memory (not indexed yet). */
  function findEvent(tenant: string, eventId: string): SearchHit | undefined {
    const hit = indexCall(() => index.findEvent(tenant, eventId));
    if (hit !== undefined) return hit;
    for (const log of ledger.logs()) {
      const known = log.duplicateOf(tenant, eventId);
      if (known !== undefined && !(known instanceof Promise) && known.leaf_index !== undefined) {
        return { logId: log.logId, leafIndex: known.leaf_index, occurredAt: 0 };
      }
    }
    return undefined;
  }

  /** Inclusion proof of a record against the latest signed checkpoint that covers it. */
  async function proofOf(read: ReadRecord): Promise<Record<string, unknown>> {
    const log = ledger.log(read.logId);
    let note = log.latestCheckpoint();
    let size = note === undefined ? 0 : openCheckpoint(note, [log.noteVerifier]).checkpoint.size;
    if (size <= read.leafIndex) {
      await log.checkpoint();
      note = log.latestCheckpoint()!;
      size = openCheckpoint(note, [log.noteVerifier]).checkpoint.size;
    }
    const inclusion = await log.inclusionProof(read.leafIndex, size);
    return {
      log_id: read.logId,
      leaf_index: read.leafIndex,
      tree_size: size,
      leaf_hash: Buffer.from(read.leafHash).toString('hex'),
      inclusion: inclusion.map((h) => Buffer.from(h).toString('hex')),
      checkpoint: note,
    };
  }

  const historyParams = new Set(['limit', 'cursor']);
  app.get<{ Params: TenantParams & { resource_type: string; resource_id: string }; Querystring: Query }>(
    '/api/v1/tenants/:tenant_id/resources/:resource_type/:resource_id/history',
    {
      onRequest: requireRole('read'),
      preValidation: async (request) => checkKnownParams(request.query, historyParams),
      schema: {
        params: {
          type: 'object',
          required: ['tenant_id', 'resource_type', 'resource_id'],
          properties: {
            ...tenantParam,
            resource_type: { type: 'string', minLength: 1, maxLength: 256 },
            resource_id: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        },
        querystring: { type: 'object', properties: { limit: pagingProps.limit, cursor: pagingProps.cursor } },
        response: {
          200: {
            ...pageSchema,
            description: 'Records of one entity, oldest first, with the per-entity chain checked',
            required: [...pageSchema.required, 'chain'],
            properties: {
              ...pageSchema.properties,
              chain: {
                type: 'object',
                required: ['verified', 'length', 'broken_at'],
                properties: {
                  verified: { type: 'boolean' },
                  length: { type: 'integer', description: 'Records of this page whose links were checked' },
                  broken_at: { type: ['integer', 'null'], description: 'Leaf index of the first bad link' },
                },
              },
            },
          },
        },
      },
      config: {
        doc: {
          summary: 'History of one resource with its per-entity chain verified',
          tag: 'read',
          role: 'read',
          errors: [400, 401, 403, 429, 503],
        },
      },
    },
    async (request) => {
      const { tenant_id: tenant, resource_type: type, resource_id: id } = request.params;
      const principal = principalFor(request, tenant);
      const { limit, cursor } = pageArgs(request.query);
      const page = indexCall(() =>
        index.history({
          tenantId: tenant,
          resourceType: type,
          resourceId: id,
          limit,
          ...(cursor === undefined ? {} : { cursor }),
        }),
      );
      const reads = await readHits(ledger, tenant, page.hits);
      const chain = await checkChain(reads, tenant, type, id);
      const records = await views(reads, true);
      await access.record(apiKeyActor(principal), tenant, 'sealog.history.read', {
        'filter.resource_type': type,
        'filter.resource_id': id,
        count: records.length,
      });
      return { tenant_id: tenant, records, next_cursor: page.nextCursor, chain };
    },
  );

  /**
   * Checks the per-entity links of `reads` (oldest first): within a log, each record's `prev` must
   * name the record before it (or, for the first one seen, a leaf of the same entity whose hash
   * matches), and the first record of the entity in a log has no `prev`.
   */
  async function checkChain(
    reads: readonly ReadRecord[],
    tenant: string,
    type: string,
    id: string,
  ): Promise<{ verified: boolean; length: number; broken_at: number | null }> {
    const last = new Map<string, ReadRecord>();
    for (const r of reads) {
      const rec = r.record;
      const sameEntity = rec.tenant_id === tenant && rec.resource.type === type && rec.resource.id === id;
      const before = last.get(r.logId);
      last.set(r.logId, r);
      let ok = sameEntity;
      const prev = rec.prev;
      if (ok && before !== undefined) {
        ok =
          prev !== null &&
          prev.leafIndex === before.leafIndex &&
          Buffer.from(prev.leafHash).equals(Buffer.from(before.leafHash));
      } else if (ok && prev !== null) {
        // First record of this page in its log: its predecessor is on an earlier page (or the
        // index missed it) — read it and check hash and entity.
        ok = prev.leafIndex < r.leafIndex;
        if (ok) {
          try {
            const [p] = await ledger.readMany(r.logId, [prev.leafIndex]);
            const pr = p!.record;
            ok =
              Buffer.from(hashLeaf(p!.leaf)).equals(Buffer.from(prev.leafHash)) &&
              pr.tenant_id === tenant &&
              pr.resource.type === type &&
              pr.resource.id === id;
          } catch (error) {
            if (!(error instanceof LedgerError)) throw error;
            ok = false;
          }
        }
      }
      if (!ok) return { verified: false, length: reads.length, broken_at: r.leafIndex };
    }
    return { verified: true, length: reads.length, broken_at: null };
  }

  const exportParams = new Set([...FILTER_PARAMS, 'format', 'order', 'log_id', 'consistency_from']);
  app.get<{ Params: TenantParams; Querystring: Query }>(
    '/api/v1/tenants/:tenant_id/export',
    {
      onRequest: requireRole('export'),
      preValidation: async (request) => checkKnownParams(request.query, exportParams),
      schema: {
        params: { type: 'object', required: ['tenant_id'], properties: tenantParam },
        querystring: {
          type: 'object',
          properties: {
            ...FILTER_SCHEMA_PROPERTIES,
            format: { type: 'string', enum: ['ndjson', 'csv', 'bundle'] },
            order: {
              type: 'string',
              enum: ['asc', 'desc'],
              description: 'ndjson/csv: default asc (oldest first)',
            },
            log_id: {
              type: 'string',
              pattern: '^[A-Za-z0-9._-]{1,64}$',
              description: 'bundle: the log (required when there are several)',
            },
            consistency_from: {
              // An array so that the parameter may repeat (fastify coerces a single value to one).
              type: 'array',
              maxItems: MAX_CONSISTENCY_FROM,
              items: { type: 'string', pattern: '^[0-9]{1,16}(,[0-9]{1,16})*$' },
              description: `bundle: tree size(s) to add RFC 9162 consistency proofs from, to the bundle's checkpoint (1 ≤ size ≤ the log's tree size); repeat the parameter or separate with commas; at most ${MAX_CONSISTENCY_FROM}`,
            },
          },
        },
      },
      config: {
        doc: {
          summary: 'Export records (ndjson, csv, or a verifiable bundle), streamed',
          tag: 'read',
          role: 'export',
          textResponses: {
            200: {
              description: 'ndjson, csv or bundle (JSON Lines) stream',
              contentType: 'application/x-ndjson',
            },
          },
          errors: [400, 401, 403, 404, 429, 503],
        },
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenant_id;
      const principal = principalFor(request, tenant);
      const filter = parseFilter(request.query);
      const format = (request.query.format ?? 'ndjson') as ExportFormat;
      // Schema-checked and coerced to an array of strings (the `Query` type says string).
      const consistencyFrom = parseConsistencyFrom(
        (request.query as Record<string, unknown>).consistency_from,
      );
      // Before the access event is recorded: a rejected request changes nothing (CONTRACT §2).
      if (consistencyFrom !== undefined && format !== 'bundle') {
        throw badParam('consistency_from', 'only with format=bundle');
      }
      if (filter.actorId !== undefined && !principal.roles.has('read')) {
        // Without `read`, an actor filter would tell an export-only key which records are whose.
        throw new HttpError(403, 'FORBIDDEN', 'filtering by actor_id needs the "read" role');
      }
      const token = tokenOf(tenant, filter);
      const meta = {
        ...filterMetadata(filter, token),
        format,
        ...(consistencyFrom === undefined ? {} : { consistency_from: consistencyFrom.join(',') }),
      };
      // Fail closed: the export is recorded durably before its first byte leaves (429/503 if that
      // cannot be done); a second event records how it ended.
      await access.record(
        apiKeyActor(principal),
        tenant,
        'sealog.export',
        { ...meta, phase: 'started' },
        'durable',
      );
      const started = startExport({
        ledger,
        index,
        tenant,
        filter,
        format,
        personal: principal.roles.has('read'),
        order: request.query.order === 'desc' ? 'desc' : 'asc',
        ...(request.query.log_id === undefined ? {} : { logId: request.query.log_id }),
        ...(consistencyFrom === undefined ? {} : { consistencyFrom }),
      });
      // Recorded when the stream ends (count known), also when the client went away.
      void started.done.then(({ count, completed }) =>
        access
          .record(apiKeyActor(principal), tenant, 'sealog.export', {
            ...meta,
            phase: 'ended',
            count,
            completed,
          })
          .catch((error: unknown) =>
            request.log.error({ reason: (error as Error).message }, 'export access not recorded'),
          ),
      );
      return reply
        .type(started.contentType)
        .header('content-disposition', `attachment; filename="${started.fileName}"`)
        .send(started.stream);
    },
  );

  app.post<{ Params: TenantParams & { actor_id: string } }>(
    '/api/v1/tenants/:tenant_id/subjects/:actor_id/erase',
    {
      onRequest: requireRole('erase'),
      schema: {
        params: {
          type: 'object',
          required: ['tenant_id', 'actor_id'],
          properties: { ...tenantParam, actor_id: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['erased', 'subject', 'event_id'],
            description: 'The subject key is shredded; the erasure is recorded as an event',
            properties: {
              erased: { type: 'boolean', const: true },
              subject: { type: 'string' },
              event_id: { type: 'string', description: 'Event id of the erasure audit event' },
            },
          },
        },
      },
      config: {
        doc: {
          summary: 'Erase a data subject (crypto-shredding; proofs stay valid)',
          tag: 'erase',
          role: 'erase',
          errors: [400, 401, 403, 429, 503],
        },
      },
    },
    async (request) => {
      const { tenant_id: tenant, actor_id: actorId } = request.params;
      const principal = principalFor(request, tenant);
      if (isReservedActor(actorId)) {
        // The access trail names keys and CLI users as actors: erasing them would erase the trail.
        throw new HttpError(
          400,
          'INVALID_REQUEST',
          'API keys and CLI users in access events cannot be erased',
          {
            details: [{ path: 'actor_id', code: 'reserved', message: 'reserved actor id' }],
          },
        );
      }
      const token = ledger.keyMaterial.subjectToken(tenant, actorId);
      const existed = await ledger.keyMaterial.subjects.has(subjectStoreIdOfToken(tenant, token));
      // The erasure is recorded durably first: a failure here (429/503) changes nothing, and an
      // erasure is never done without its record (a crash after it leaves a recorded erasure to
      // retry, which is idempotent).
      const eventId = await access.record(
        apiKeyActor(principal),
        tenant,
        ERASE_ACTION,
        { subject_token: Buffer.from(token).toString('hex'), key_existed: existed },
        'durable',
      );
      await ledger.eraseSubject(tenant, actorId);
      // Every record sealed under the shredded key was received before now (received_at is taken
      // before the key is loaded): the erasure covers the subject's records appended up to now,
      // and its records received later (a new key) stay searchable. Resolves once committed and
      // visible to searches: a search after this answer finds none of the covered records.
      await index.eraseSubject(tenant, token, { time: Date.now() });
      return { erased: true, subject: actorId, event_id: eventId };
    },
  );
}
