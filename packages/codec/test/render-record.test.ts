import { describe, expect, it } from 'vitest';
import { decodeRecord, renderPublicRecord } from '../src/index';
import { fromHex, readFixture } from './support/golden';

describe('render-record', () => {
  it('renders the public fields of the golden linked record with every key, nulls and hex', () => {
    const r = renderPublicRecord(decodeRecord(fromHex(readFixture('record-v1-linked.hex'))));
    expect(Object.keys(r)).toEqual([
      'event_id',
      'tenant_id',
      'occurred_at',
      'received_at',
      'actor_type',
      'subject_token',
      'action',
      'category',
      'resource',
      'result',
      'context',
      'change_fields',
      'metadata',
      'retention_class',
      'subject_key_id',
      'prev',
    ]);
    expect(r).toMatchObject({
      tenant_id: 'acme',
      occurred_at: expect.stringMatching(/^2026-11-23T\d\d:\d\d:\d\d\.\d{3}Z$/),
      subject_token: '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f',
      resource: { type: 'role', id: 'admin', name: null },
      prev: { leaf_index: 41, leaf_hash: expect.stringMatching(/^ffb7e7b9/) },
    });
    expect(JSON.stringify(r)).not.toContain('sealed_personal');
  });
});
