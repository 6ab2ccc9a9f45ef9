/** Deterministic realistic audit events (CONTRACT §1) for tests and crash children. */
export function auditEvent(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const tenant = `tenant-${i % 7}`;
  const actor = `user-${i % 101}`;
  return {
    tenant_id: tenant,
    occurred_at: 1_795_428_000_000 + i * 1000,
    actor: { id: actor, type: 'user', name: `Person ${i % 101}`, email: `${actor}@example.com` },
    action: i % 3 === 0 ? 'document.update' : 'user.login',
    category: i % 3 === 0 ? 'update' : 'auth',
    resource: { type: 'document', id: `doc-${i % 13}` },
    result: 'success',
    context: {
      ip: `198.51.100.${i % 250}`,
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      request_id: `req-${i}`,
    },
    changes: i % 3 === 0 ? [{ field: 'title', old: `Title ${i - 1}`, new: `Title ${i}` }] : undefined,
    metadata: { attempt: i % 4, mfa: i % 2 === 0 },
    ...overrides,
  };
}
