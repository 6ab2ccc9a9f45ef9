/** Shared test helpers: event factory and a fetch wrapper with a bearer key. */

export function event(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenant_id: 'acme',
    occurred_at: 1_795_428_000_000 + i,
    action: 'document.read',
    actor: { id: `u${i % 7}`, type: 'user', email: `u${i % 7}@example.com` },
    resource: { type: 'document', id: `d${i % 5}` },
    ...overrides,
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
  json: any;
}

export async function call(
  base: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; raw?: string; contentType?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
