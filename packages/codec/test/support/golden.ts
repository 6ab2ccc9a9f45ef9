/**
 * Fixed inputs of the golden fixtures (test/fixtures/*.hex) and of the worked example in
 * docs/FORMAT.md, plus helpers to read and (with SEALOG_UPDATE_FIXTURES=1) rewrite fixtures.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FrameHeaderFields } from '../../src/frame-header';
import type { PersonalFields } from '../../src/personal';
import type { EntityLink, RecordBody } from '../../src/record';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const BYTES_PER_LINE = 32;

function seq(length: number, start: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (start + i) & 0xff;
  return b;
}

/** Hex, 32 bytes per line (the fixture file format; whitespace is insignificant). */
export function toHexLines(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += BYTES_PER_LINE * 2) lines.push(hex.slice(i, i + BYTES_PER_LINE * 2));
  return `${lines.join('\n')}\n`;
}

/** Parses hex with any whitespace. */
export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** Reads a fixture's hex text. */
export function readFixture(name: string): string {
  return readFileSync(FIXTURES + name, 'utf8');
}

/** Returns the fixture's bytes; with SEALOG_UPDATE_FIXTURES=1 first rewrites it from `actual`. */
export function goldenBytes(name: string, actual: Uint8Array): Uint8Array {
  if (process.env.SEALOG_UPDATE_FIXTURES === '1') writeFileSync(FIXTURES + name, toHexLines(actual));
  return fromHex(readFixture(name));
}

/** RFC 9162 §2.1.1 leaf hash, SHA-256(0x00 ‖ leaf). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(Buffer.from([0]))
      .update(leaf)
      .digest(),
  );
}

/** RFC 9162 §2.1.1 interior node hash, SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(Buffer.from([1]))
      .update(left)
      .update(right)
      .digest(),
  );
}

/** 2026-11-23T10:00:00.123Z */
export const GOLDEN_OCCURRED_AT: number = Date.UTC(2026, 10, 23, 10, 0, 0, 123);

/** Body of the first golden record (entity's first record: prev = nil). */
export const GOLDEN_BODY_FIRST: RecordBody = {
  event_id: '01JDZ8X3K7Q2M9V4T6W1R5N0HB',
  tenant_id: 'acme',
  occurred_at: GOLDEN_OCCURRED_AT,
  received_at: GOLDEN_OCCURRED_AT + 7,
  actor_type: 'user',
  subject_token: seq(32, 0x10),
  action: 'role.upgrade',
  category: 'admin',
  resource: { type: 'role', id: 'admin', name: undefined },
  result: 'success',
  context: { request_id: 'req-1', session_id: undefined, trace_id: undefined, component: 'console' },
  change_fields: ['role'],
  metadata: { mfa: true },
  retention_class: 'default',
  subject_key_id: 'sk-1',
  sealed_personal: seq(16, 0xa0),
};

/** Body of the second golden record (same entity: linked to the first). */
export const GOLDEN_BODY_SECOND: RecordBody = {
  ...GOLDEN_BODY_FIRST,
  event_id: '01JDZ8X3K7Q2M9V4T6W1R5N0HC',
  occurred_at: GOLDEN_OCCURRED_AT + 1000,
  received_at: GOLDEN_OCCURRED_AT + 1004,
  action: 'role.downgrade',
  category: 'admin',
  result: 'failure',
  context: undefined,
  change_fields: undefined,
  metadata: undefined,
};

/** Leaf index of the first golden record; the second is the next leaf. */
export const GOLDEN_FIRST_LEAF_INDEX = 41;

/** The entity link of the second golden record, given the first record's leaf bytes. */
export function goldenLink(firstLeaf: Uint8Array): EntityLink {
  return { leafIndex: GOLDEN_FIRST_LEAF_INDEX, leafHash: leafHash(firstLeaf) };
}

/** Personal fields of the golden personal blob. */
export const GOLDEN_PERSONAL: PersonalFields = {
  actor_id: 'u-7',
  actor_name: 'Ada',
  actor_email: undefined,
  ip: '192.0.2.1',
  user_agent: undefined,
  changes: [{ old: 'viewer', new: 'admin' }],
};

/** Header fields of the golden plain frame (flags 0) holding the two golden records. */
export function goldenPlainFrameFields(plainBodyLength: number, batchRoot: Uint8Array): FrameHeaderFields {
  return {
    recordEncoding: 0,
    compressed: false,
    encrypted: false,
    logId: seq(16, 0x00),
    batchIndex: 7,
    firstLeafIndex: GOLDEN_FIRST_LEAF_INDEX,
    recordCount: 2,
    plainBodyLength,
    storedBodyLength: plainBodyLength,
    keyId: new Uint8Array(16),
    nonce: new Uint8Array(12),
    minOccurredAt: GOLDEN_OCCURRED_AT,
    maxOccurredAt: GOLDEN_OCCURRED_AT + 1000,
    batchRoot,
    prevChainHash: seq(32, 0xa0),
  };
}

/** Header fields of the golden encrypted+compressed frame header. */
export const GOLDEN_SEALED_HEADER: FrameHeaderFields = {
  recordEncoding: 0,
  compressed: true,
  encrypted: true,
  logId: seq(16, 0x00),
  batchIndex: 0x1_0000_0002,
  firstLeafIndex: 0x2_0000_0000,
  recordCount: 2048,
  plainBodyLength: 1_048_576,
  storedBodyLength: 262_160,
  keyId: seq(16, 0xe0),
  nonce: seq(12, 0xc0),
  minOccurredAt: GOLDEN_OCCURRED_AT,
  maxOccurredAt: GOLDEN_OCCURRED_AT + 999,
  batchRoot: seq(32, 0x80),
  prevChainHash: seq(32, 0xc0),
};

/** Converts Buffer views (what decoders return) to plain Uint8Arrays, deeply, for `toEqual`. */
export function plain<T>(value: T): T {
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  if (Array.isArray(value)) return value.map(plain) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out as T;
  }
  return value;
}
