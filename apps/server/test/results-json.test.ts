import { describe, expect, it } from 'vitest';
import { resultsJson } from '../src/app';

describe('resultsJson', () => {
  it('answers the same JSON as serializing the result objects, in schema field order', () => {
    const results = [
      {
        event_id: '019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071',
        status: 'stored',
        log_id: 'default',
        leaf_index: 7,
        leaf_hash: 'ab'.repeat(32),
        integrity: `ks::k1::1::${'ab'.repeat(32)}`,
      },
      { event_id: 'client "id" \\ é\u0001\ud800', status: 'accepted', log_id: 'pci' },
    ] as const;
    const expected = {
      results: [
        {
          event_id: results[0].event_id,
          status: 'stored',
          log_id: 'default',
          leaf_index: 7,
          verification_hash: results[0].leaf_hash,
          integrity: results[0].integrity,
        },
        { event_id: results[1].event_id, status: 'accepted', log_id: 'pci' },
      ],
    };
    expect(resultsJson(results)).toBe(JSON.stringify(expected));
    expect(resultsJson([])).toBe('{"results":[]}');
  });
});
