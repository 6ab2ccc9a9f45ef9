/**
 * The event contract written with zod 4, only to compare validator speed (zod is a devDependency).
 * Same rules as EVENT_JSON_SCHEMA except the 64 KiB size and nesting limits.
 */
import { z } from 'zod';
import { LIMITS, MAX_EPOCH_MS } from '../src/event';
import { parseRfc3339 } from '../src/occurred-at';

const cp = (min: number, max: number) =>
  z.string().refine((s) => {
    const n = [...s].length;
    return n >= min && n <= max;
  });
const rfc3339 = z.string().refine((s) => {
  const ms = parseRfc3339(s);
  return ms >= 0 && ms <= MAX_EPOCH_MS;
});
type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
const json: z.ZodType<Json> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]),
);

export const zodEvent: z.ZodType = z.strictObject({
  event_id: z
    .string()
    .min(1)
    .max(LIMITS.eventIdChars)
    .regex(/^[A-Za-z0-9._:-]+$/)
    .optional(),
  tenant_id: z
    .string()
    .min(1)
    .max(LIMITS.tenantIdChars)
    .regex(/^[A-Za-z0-9._-]+$/),
  occurred_at: z.union([rfc3339, z.number().int().min(0).max(MAX_EPOCH_MS)]),
  actor: z.strictObject({
    id: cp(1, LIMITS.actorIdChars),
    type: z.enum(['user', 'service', 'system']),
    name: cp(0, LIMITS.actorNameChars).optional(),
    email: cp(0, LIMITS.actorEmailChars).optional(),
  }),
  action: cp(1, LIMITS.actionChars),
  category: z.enum(['create', 'read', 'update', 'delete', 'auth', 'admin', 'other']).optional(),
  resource: z.strictObject({
    type: cp(1, LIMITS.resourceTypeChars),
    id: cp(1, LIMITS.resourceIdChars),
    name: cp(0, LIMITS.resourceNameChars).optional(),
  }),
  result: z.enum(['success', 'failure', 'unknown']).optional(),
  context: z
    .strictObject({
      ip: cp(1, LIMITS.ipChars).optional(),
      user_agent: cp(0, LIMITS.userAgentChars).optional(),
      request_id: cp(1, LIMITS.contextIdChars).optional(),
      session_id: cp(1, LIMITS.contextIdChars).optional(),
      trace_id: cp(1, LIMITS.contextIdChars).optional(),
      component: cp(1, LIMITS.contextIdChars).optional(),
    })
    .optional(),
  changes: z
    .array(
      z.strictObject({ field: cp(1, LIMITS.changeFieldChars), old: json.optional(), new: json.optional() }),
    )
    .max(LIMITS.maxChanges)
    .optional(),
  metadata: z
    .record(
      z
        .string()
        .min(1)
        .max(LIMITS.metadataKeyChars)
        .refine((k) => k !== '__proto__'),
      z.union([z.string().max(LIMITS.metadataStringChars), z.number(), z.boolean()]),
    )
    .refine((m) => Object.keys(m).length <= LIMITS.metadataKeys)
    .optional(),
  retention_class: z
    .string()
    .min(1)
    .max(LIMITS.retentionClassChars)
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional(),
});
