import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAudit } from '../src/audit';
import { summarizeLatency, summarizeWeightedLatency } from '../src/measure';
import { scalabilitySvg } from '../src/scalability';
import { runThesis, runThesisBaseline } from '../src/thesis';
import { createEntryPool, ENTRY_BYTES, makePayload } from '../src/thesis-entries';

const finite = (x: number): boolean => Number.isFinite(x) && x >= 0;

describe('thesis benchmark', () => {
  it('builds payloads of the requested kind and size', () => {
    const text = makePayload('thesis', ENTRY_BYTES, 3).toString('latin1');
    expect(text.length).toBe(ENTRY_BYTES);
    // The last word may be cut off at the entry size.
    const words = text.slice(0, text.lastIndexOf(' ')).split(' ');
    expect(new Set(words)).toEqual(new Set(['the', 'data']));
    const the = words.filter((w) => w === 'the').length;
    expect(the / words.length).toBeGreaterThan(0.6);
    expect(the / words.length).toBeLessThan(0.73);
    const mixed = makePayload('mixed', ENTRY_BYTES, 3);
    expect(mixed.subarray(ENTRY_BYTES / 2).toString('latin1')).toMatch(/^[A-Za-z .]+$/);
  });

  it('stores every entry durably and reports sane figures', async () => {
    const pool = createEntryPool('mixed', 64);
    const r = await runThesis({
      entries: 3000,
      producers: 2,
      writers: 2,
      writerBatch: 256,
      producerBatch: 500,
      pool,
    });
    expect(r.entries).toBe(3000);
    expect(r.durable).toBe(true);
    expect(r.input_bytes).toBe(3000 * ENTRY_BYTES);
    expect(r.stored_bytes).toBeGreaterThan(0);
    // Half of each entry is random: storage cannot shrink below ~half the input.
    expect(r.write_amplification).toBeGreaterThan(0.4);
    expect(r.entries_per_sec).toBeGreaterThan(0);
    expect(r.latency_ms.samples).toBe(3000);
    for (const v of [r.latency_ms.p50, r.latency_ms.avg, r.latency_ms.max]) expect(finite(v)).toBe(true);
    expect(r.latency_ms.p50).toBeLessThanOrEqual(r.latency_ms.max);

    const b = runThesisBaseline(pool, 3000, 256);
    expect(b.entries_per_sec).toBeGreaterThan(0);
    expect(b.stored_bytes).toBeGreaterThan(0.4 * b.input_bytes);
  });
});

describe('audit benchmark', () => {
  it('appends every event durably, paces, and times pino', async () => {
    const r = await runAudit({
      events: 1500,
      poolEvents: 300,
      concurrency: 3,
      appendBatch: 250,
      pacedSeconds: 0.3,
    });
    expect(r.events).toBe(1500);
    expect(r.durable).toBe(true);
    expect(r.input_bytes).toBeGreaterThan(1500 * 300);
    expect(r.events_per_sec).toBeGreaterThan(0);
    expect(r.latency_ms.samples).toBe(6);
    for (const v of [r.latency_ms.p50, r.latency_ms.p99, r.latency_ms.max]) expect(finite(v)).toBe(true);
    expect(r.new_subjects.events).toBeGreaterThan(0);
    expect(r.paced).toBeDefined();
    expect(r.paced!.events).toBeGreaterThan(0);
    expect(finite(r.paced!.latency_ms.p99)).toBe(true);
    expect(r.pino!.events_per_sec).toBeGreaterThan(0);
    expect(r.pino!.output_bytes).toBeGreaterThan(r.input_bytes);
    // The ledger's peak is read before pino's phase; the process peak cannot be below it.
    expect(r.peak_rss_bytes).toBeGreaterThan(0);
    expect(r.process_peak_rss_bytes).toBeGreaterThanOrEqual(r.peak_rss_bytes);
  });
});

describe('scalability chart', () => {
  it('draws one line per payload', () => {
    const point = {
      seconds: 1,
      gib_per_sec: 0.1,
      latency_p50_ms: 5,
      write_amplification: 0.5,
      efficiency: 1,
    };
    const svg = scalabilitySvg([
      { ...point, payload: 'mixed', writers: 1, producers: 1, entries: 10, entries_per_sec: 100 },
      { ...point, payload: 'mixed', writers: 2, producers: 2, entries: 20, entries_per_sec: 150 },
      { ...point, payload: 'thesis', writers: 1, producers: 1, entries: 10, entries_per_sec: 120 },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
  });
});

describe('latency summaries', () => {
  it('weighs each latency by its count exactly as the expanded samples would', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 1e4, noNaN: true }), fc.integer({ min: 1, max: 50 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (calls) => {
          const expanded: number[] = [];
          for (const [latency, count] of calls) for (let k = 0; k < count; k++) expanded.push(latency);
          const want = summarizeLatency(Float64Array.from(expanded));
          const got = summarizeWeightedLatency(
            Float64Array.from(calls.map((c) => c[0])),
            Uint32Array.from(calls.map((c) => c[1])),
          );
          expect(got.p50).toBe(want.p50);
          expect(got.p99).toBe(want.p99);
          expect(got.max).toBe(want.max);
          expect(got.samples).toBe(want.samples);
          expect(got.avg).toBeCloseTo(want.avg, 6);
        },
      ),
    );
  });

  it('refuses mismatched or empty input', () => {
    expect(() => summarizeWeightedLatency(Float64Array.of(1), Uint32Array.of())).toThrow(
      /1 latencies but 0 weights/,
    );
    expect(() => summarizeWeightedLatency(Float64Array.of(), Uint32Array.of())).toThrow(/at least one/);
    expect(() => summarizeWeightedLatency(Float64Array.of(1), Uint32Array.of(0))).toThrow(/expected ≥ 1/);
  });
});
