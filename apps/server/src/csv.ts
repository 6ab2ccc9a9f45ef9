/**
 * CSV rendering of record views for `export?format=csv`: one fixed column set (RFC 4180 quoting by
 * csv-stringify), nested values (`metadata`, `changes`) as JSON text, and cells that a spreadsheet
 * would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) prefixed with `'` (OWASP
 * "CSV injection") — audit data is attacker-influenced and gets opened in spreadsheets.
 */
import { stringify } from 'csv-stringify/sync';

/** Columns, in order. */
export const CSV_COLUMNS: readonly string[] = [
  'event_id',
  'tenant_id',
  'occurred_at',
  'received_at',
  'actor_id',
  'actor_type',
  'actor_name',
  'actor_email',
  'action',
  'category',
  'resource_type',
  'resource_id',
  'resource_name',
  'result',
  'ip',
  'user_agent',
  'request_id',
  'session_id',
  'trace_id',
  'component',
  'changes',
  'metadata',
  'retention_class',
  'log_id',
  'leaf_index',
  'block_index',
  'block_hash',
  'verification_hash',
  'integrity',
  'prev_entity_leaf_index',
];

const FORMULA_START = /^[=+\-@\t\r]/;

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return FORMULA_START.test(s) ? `'${s}` : s;
}

/** The header line. */
export function csvHeader(): string {
  return stringify([CSV_COLUMNS as string[]]);
}

/** One record view (`Ledger.view`) as a CSV line ending in `\n`. */
export function csvRow(view: Record<string, unknown>): string {
  const actor = (view.actor ?? {}) as Record<string, unknown>;
  const resource = (view.resource ?? {}) as Record<string, unknown>;
  const context = (view.context ?? {}) as Record<string, unknown>;
  const values: Record<string, unknown> = {
    ...view,
    actor_id: actor.id,
    actor_type: actor.type,
    actor_name: actor.name,
    actor_email: actor.email,
    resource_type: resource.type,
    resource_id: resource.id,
    resource_name: resource.name,
    ip: context.ip,
    user_agent: context.user_agent,
    request_id: context.request_id,
    session_id: context.session_id,
    trace_id: context.trace_id,
    component: context.component,
  };
  return stringify([CSV_COLUMNS.map((c) => cell(values[c]))]);
}
