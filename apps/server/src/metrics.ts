/**
 * Prometheus metrics of the server (`GET /metrics`, CONTRACT §2): ingest counters, queue depth,
 * tree size, segment-store counters and fsync latency per log, HTTP request latency per route,
 * and prom-client's default process metrics. One registry per app, so several servers in one
 * process (tests) do not collide.
 *
 * Reveals no audit data: labels are log ids, route patterns (`/api/v1/logs/:log_id/...`, never
 * the concrete URL), methods, status codes and error codes; never tenants, actors or keys.
 * Not here: index lag (there is no index yet).
 */
import type { Ledger } from '@sealog/ledger';
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';

/** Request latency buckets in seconds (0.5 ms … 10 s): durable ingest waits on fsync (~ms). */
export const REQUEST_SECONDS_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Events-per-request buckets (1 … 10,000, the request maximum). */
export const REQUEST_EVENTS_BUCKETS: readonly number[] = [1, 10, 100, 500, 1000, 2500, 5000, 10_000];

/** Quantiles the segment store's fsync histogram answers (`LatencySummary`). */
const FSYNC_QUANTILES = [
  [0.5, 'p50Ms'],
  [0.9, 'p90Ms'],
  [0.99, 'p99Ms'],
] as const;

/** The metrics of one app; the HTTP layer records into it, the ledger is read at scrape time. */
export class ServerMetrics {
  /** The registry `GET /metrics` renders. */
  readonly registry: Registry = new Registry();
  private readonly events: Counter<'log' | 'status'>;
  private readonly rejected: Counter<'code'>;
  private readonly requestEvents: Histogram;
  private readonly requestSeconds: Histogram<'method' | 'route' | 'status_code'>;

  constructor(
    ledger: Ledger,
    options: { defaultMetrics?: boolean; indexLag?: () => number; indexWriterRestarts?: () => number } = {},
  ) {
    const registers = [this.registry];
    this.events = new Counter({
      name: 'sealog_events_total',
      help: 'Events answered by ingest, by log and result status (stored, accepted, duplicate).',
      labelNames: ['log', 'status'],
      registers,
    });
    this.rejected = new Counter({
      name: 'sealog_events_rejected_total',
      help: 'Events of rejected ingest requests (nothing of such a request is stored), by error code.',
      labelNames: ['code'],
      registers,
    });
    this.requestEvents = new Histogram({
      name: 'sealog_ingest_request_events',
      help: 'Events per ingest request (client batch size).',
      buckets: [...REQUEST_EVENTS_BUCKETS],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'sealog_http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [...REQUEST_SECONDS_BUCKETS],
      registers,
    });
    // Gauges read the ledger at scrape time: nothing is added to the append path.
    const perLog = (
      name: string,
      help: string,
      read: (log: ReturnType<Ledger['log']>) => number,
      type: 'gauge' | 'counter' = 'gauge',
    ): void => {
      if (type === 'gauge') {
        new Gauge({
          name,
          help,
          labelNames: ['log'],
          registers,
          collect() {
            for (const { logId } of ledger.logs()) this.set({ log: logId }, read(ledger.log(logId)));
          },
        });
      } else {
        // A monotonic value owned by the ledger, exposed with counter semantics.
        this.registry.registerMetric(ledgerCounter(name, help, ledger, read));
      }
    };
    perLog('sealog_queue_depth', 'Records waiting in the ledger queue of a log.', (l) => l.queueDepth());
    perLog('sealog_tree_size', 'Leaves in the Merkle tree of a log (durable).', (l) => l.treeSize);
    perLog(
      'sealog_store_unsynced_bytes',
      'Bytes written to the segment store but not yet fsync’d.',
      (l) => l.storeStats().unsyncedBytes,
    );
    perLog(
      'sealog_store_frames_total',
      'Batch frames appended since start (events / frames = mean batch size).',
      (l) => l.storeStats().framesAppended,
      'counter',
    );
    perLog(
      'sealog_store_bytes_written_total',
      'Bytes appended to segments since start.',
      (l) => l.storeStats().bytesWritten,
      'counter',
    );
    perLog(
      'sealog_store_syncs_total',
      'fdatasync calls since start.',
      (l) => l.storeStats().syncs,
      'counter',
    );
    perLog(
      'sealog_store_rotations_total',
      'Segment rotations since start.',
      (l) => l.storeStats().rotations,
      'counter',
    );
    this.registry.registerMetric(fsyncSummary(ledger));
    const indexLag = options.indexLag;
    if (indexLag !== undefined) {
      new Gauge({
        name: 'sealog_index_lag_records',
        help: 'Durable records not yet in the search index (searches may miss them meanwhile).',
        registers,
        collect() {
          this.set(indexLag());
        },
      });
    }
    const restarts = options.indexWriterRestarts;
    if (restarts !== undefined) {
      new Gauge({
        name: 'sealog_index_writer_restarts',
        help: 'Index writer threads started again after one died (searches lag meanwhile).',
        registers,
        collect() {
          this.set(restarts());
        },
      });
    }
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Records the results of one accepted ingest request. */
  recordIngest(results: readonly { log_id: string; status: string }[]): void {
    this.requestEvents.observe(results.length);
    // One counter update per (log, status) run, not per event: prom-client hashes the labels on
    // every `inc`, and a request's results nearly always share one log and one status.
    let i = 0;
    while (i < results.length) {
      const { log_id: log, status } = results[i]!;
      let j = i + 1;
      while (j < results.length && results[j]!.log_id === log && results[j]!.status === status) j++;
      this.events.inc({ log, status }, j - i);
      i = j;
    }
  }

  /** Records an ingest request of `count` events that was rejected with `code`. */
  recordRejected(code: string, count: number): void {
    this.rejected.inc({ code }, count);
  }

  /** Records one answered HTTP request; `route` is the route pattern or `unmatched`. */
  recordRequest(method: string, route: string, statusCode: number, ms: number): void {
    this.requestSeconds.observe({ method, route, status_code: String(statusCode) }, ms / 1000);
  }

  /** The Prometheus text exposition and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

// prom-client renders any registered object with `get()` → {name, help, type, values}; its
// typings only admit its own classes, hence the casts below (one per custom metric kind).

function ledgerCounter(
  name: string,
  help: string,
  ledger: Ledger,
  read: (log: ReturnType<Ledger['log']>) => number,
): Metric {
  const metric = {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    get: () => ({
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      values: ledger.logs().map(({ logId }) => ({ labels: { log: logId }, value: read(ledger.log(logId)) })),
    }),
    reset: () => {},
  };
  return metric as unknown as Metric;
}

/**
 * fsync latency as a Prometheus summary: the segment store keeps a fixed-memory histogram
 * (~4 % relative error) since the log was opened and answers p50/p90/p99, count and mean; the
 * sum is count × mean. The quantiles cover the whole process lifetime, not a sliding window.
 */
function fsyncSummary(ledger: Ledger): Metric {
  const name = 'sealog_store_fsync_seconds';
  const help = 'fdatasync latency of the segment store since start (quantiles over the process lifetime).';
  const metric = {
    name,
    help,
    type: 'summary',
    aggregator: 'sum',
    get: () => {
      const values: { metricName?: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const { logId } of ledger.logs()) {
        const f = ledger.log(logId).storeStats().fsync;
        if (f.count > 0) {
          for (const [q, field] of FSYNC_QUANTILES) {
            values.push({ labels: { log: logId, quantile: q }, value: f[field] / 1000 });
          }
        }
        values.push({
          metricName: `${name}_sum`,
          labels: { log: logId },
          value: f.count === 0 ? 0 : (f.count * f.meanMs) / 1000,
        });
        values.push({ metricName: `${name}_count`, labels: { log: logId }, value: f.count });
      }
      return { name, help, type: 'summary', aggregator: 'sum', values };
    },
    reset: () => {},
  };
  return metric as unknown as Metric;
}
