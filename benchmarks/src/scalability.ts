/**
 * Scalability of the thesis workload: for n = 1..maxWriters, n producers and n writers (logs),
 * each producer submitting `entriesPerProducer` entries (proportional load, as in the thesis),
 * once per payload kind. Writes `scalability.json` and a hand-written `scalability.svg`
 * (entries/s against writers, one line per payload).
 *
 * All writers sequence on one Node.js thread (the event loop) and finish their frames (leaf
 * hashes, snappy, AES-256-GCM, chain hash) in the ledger's one worker; file writes and fdatasync
 * run on the libuv pool. So on our 2-core machine more writers add contention, not cores.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatInt } from './measure';
import { runThesis } from './thesis';
import { createEntryPool, type ThesisPayload } from './thesis-entries';

/** Options of {@link runScalability}. */
export interface ScalabilityOptions {
  /** Largest number of writers (and producers), ≥ 1. */
  readonly maxWriters: number;
  /** Entries per producer, ≥ 1. */
  readonly entriesPerProducer: number;
  /** Directory for `scalability.json` and `scalability.svg`. */
  readonly outDir: string;
  /** Payloads to run (one line each in the chart). */
  readonly payloads: readonly ThesisPayload[];
}

/** One point of the scalability run. */
export interface ScalabilityPoint {
  readonly payload: ThesisPayload;
  readonly writers: number;
  readonly producers: number;
  readonly entries: number;
  readonly seconds: number;
  readonly entries_per_sec: number;
  readonly gib_per_sec: number;
  readonly latency_p50_ms: number;
  readonly write_amplification: number;
  /** entries/s ÷ (n × entries/s at n = 1). */
  readonly efficiency: number;
}

/** Runs the grid, prints one line per point, writes the JSON and the SVG; returns the points. */
export async function runScalability(options: ScalabilityOptions): Promise<ScalabilityPoint[]> {
  const points: ScalabilityPoint[] = [];
  for (const payload of options.payloads) {
    const pool = createEntryPool(payload);
    let single = 0;
    for (let n = 1; n <= options.maxWriters; n++) {
      const r = await runThesis({
        entries: n * options.entriesPerProducer,
        producers: n,
        writers: n,
        payload,
        pool,
      });
      if (n === 1) single = r.entries_per_sec;
      const point: ScalabilityPoint = {
        payload,
        writers: n,
        producers: n,
        entries: r.entries,
        seconds: r.seconds,
        entries_per_sec: r.entries_per_sec,
        gib_per_sec: r.gib_per_sec,
        latency_p50_ms: r.latency_ms.p50,
        write_amplification: r.write_amplification,
        efficiency: r.entries_per_sec / (n * single),
      };
      points.push(point);
      console.log(
        `${payload.padEnd(6)} writers=producers=${n}: ${formatInt(point.entries_per_sec)} entries/s, ` +
          `${point.gib_per_sec.toFixed(3)} GiB/s, p50 ${point.latency_p50_ms.toFixed(1)} ms, efficiency ${(100 * point.efficiency).toFixed(0)}%`,
      );
    }
  }
  mkdirSync(options.outDir, { recursive: true });
  const meta = {
    entries_per_producer: options.entriesPerProducer,
    entry_bytes: 4096,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  };
  writeFileSync(
    join(options.outDir, 'scalability.json'),
    `${JSON.stringify({ ...meta, points }, null, 2)}\n`,
  );
  writeFileSync(join(options.outDir, 'scalability.svg'), scalabilitySvg(points));
  return points;
}

const COLORS: Record<ThesisPayload, string> = { mixed: '#1f77b4', thesis: '#d62728' };

/** A small line chart: entries/s (y) against writers = producers (x), one line per payload. */
export function scalabilitySvg(points: readonly ScalabilityPoint[]): string {
  const width = 560;
  const height = 340;
  const left = 80;
  const right = 130;
  const top = 40;
  const bottom = 50;
  const maxX = Math.max(1, ...points.map((p) => p.writers));
  const maxY = niceCeiling(Math.max(1, ...points.map((p) => p.entries_per_sec)));
  const x = (v: number): number => left + (maxX === 1 ? 0 : ((v - 1) / (maxX - 1)) * (width - left - right));
  const y = (v: number): number => height - bottom - (v / maxY) * (height - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<title>sealog thesis workload: entries per second against writers and producers</title>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">Thesis workload: entries/s vs writers (= producers), 4 KiB entries, durable</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="black"/>`,
    `<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle">writers = producers</text>`,
    `<text x="16" y="${(top + height - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + height - bottom) / 2})">entries/s</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4;
    parts.push(
      `<line x1="${left}" y1="${y(v)}" x2="${width - right}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${formatInt(v)}</text>`,
    );
  }
  for (let n = 1; n <= maxX; n++) {
    parts.push(`<text x="${x(n)}" y="${height - bottom + 18}" text-anchor="middle">${n}</text>`);
  }
  const payloads = [...new Set(points.map((p) => p.payload))];
  payloads.forEach((payload, k) => {
    const line = points.filter((p) => p.payload === payload).sort((a, b) => a.writers - b.writers);
    const color = COLORS[payload];
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${line.map((p) => `${x(p.writers).toFixed(1)},${y(p.entries_per_sec).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of line) {
      parts.push(
        `<circle cx="${x(p.writers).toFixed(1)}" cy="${y(p.entries_per_sec).toFixed(1)}" r="3.5" fill="${color}"/>`,
      );
    }
    const ly = top + 10 + k * 20;
    parts.push(
      `<line x1="${width - right + 15}" y1="${ly}" x2="${width - right + 35}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${width - right + 40}" y="${ly + 4}">${payload}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The next 1, 2 or 5 × 10^k at or above `v`. */
function niceCeiling(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
