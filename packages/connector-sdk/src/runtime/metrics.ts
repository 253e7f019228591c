/**
 * Prometheus metrics with pycti's names (reference/protocol-notes.md#metrics) plus a few of our own, and a
 * /health answer for
 * orchestrators, served on CONNECTOR_METRICS_PORT when CONNECTOR_EXPOSE_METRICS=true. The exposition
 * format is small enough to write by hand, which keeps prom-client out of the images.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { ConfigError, RateLimitError, UpstreamApiError } from '../errors/index.js';

type Labels = Record<string, string>;

/**
 * How long the event loop was held by synchronous work, for the whole process (there is one loop). A hold
 * of seconds misses AMQP heartbeats and leaves pooled connections to go stale: this is what shows it.
 */
let loopDelay: ELDHistogram | undefined;
function processLoopDelay(): ELDHistogram {
  if (loopDelay === undefined) {
    loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
  }
  return loopDelay;
}

interface CounterSeries {
  help: string;
  values: Map<string, { labels: Labels; value: number }>;
}

export type ConnectorRunState = 'idle' | 'running' | 'stopped';

export class Metrics {
  private readonly counters = new Map<string, CounterSeries>();
  private runState: ConnectorRunState = 'idle';
  private readonly started = Date.now();

  constructor(private readonly prefix = '') {
    this.declare('bundles_sent_total', 'Bundles (one STIX object each) published to the platform');
    this.declare('records_sent_total', 'STIX objects sent to the platform');
    this.declare('runs_total', 'Import runs and enrichments started');
    this.declare('ping_api_total', 'Successful pings to OpenCTI');
    this.declare('ping_api_errors_total', 'Failed pings to OpenCTI');
    this.declare('errors_total', 'Errors: failed enrichments or runs, failed work reports, publish failures');
    this.declare('client_errors_total', 'Vendor API errors');
    this.declare('enrichments_total', 'Listen messages handled, by outcome');
    this.declare('enrichment_seconds_total', 'Time spent handling listen messages');
    this.declare('platform_wait_seconds_total', 'Time spent waiting on OpenCTI (works, entity reads, expectations)');
    this.declare('broker_wait_seconds_total', 'Time spent waiting on the broker to confirm published bundles');
    processLoopDelay();
  }

  /** The longest the event loop was held since start-up, in seconds. */
  get eventLoopMaxDelaySeconds(): number {
    const delay = processLoopDelay();
    return delay.count === 0 ? 0 : delay.max / 1e9;
  }

  /** Counts `err` in client_errors_total, by vendor, when it is a vendor API failure. */
  countVendorError(err: unknown): void {
    if (UpstreamApiError.is(err) || RateLimitError.is(err)) this.inc('client_errors_total', 1, { vendor: err.vendor });
  }

  /** Runs `fn`, adding its duration in seconds to the counter `name`. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.inc(name, (performance.now() - started) / 1000);
    }
  }

  private declare(name: string, help: string): void {
    this.counters.set(name, { help, values: new Map() });
  }

  inc(name: string, by = 1, labels: Labels = {}): void {
    let series = this.counters.get(name);
    if (!series) {
      series = { help: name, values: new Map() };
      this.counters.set(name, series);
    }
    const key = seriesKey(labels);
    const current = series.values.get(key);
    if (current) current.value += by;
    else series.values.set(key, { labels, value: by });
  }

  value(name: string, labels: Labels = {}): number {
    return this.counters.get(name)?.values.get(seriesKey(labels))?.value ?? 0;
  }

  setState(state: ConnectorRunState): void {
    this.runState = state;
  }

  get state(): ConnectorRunState {
    return this.runState;
  }

  /** The Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    const full = (n: string) => (this.prefix ? `${this.prefix}_${n}` : n);
    for (const [name, series] of this.counters) {
      lines.push(`# HELP ${full(name)} ${series.help}`, `# TYPE ${full(name)} counter`);
      if (series.values.size === 0) lines.push(`${full(name)} 0`);
      for (const { labels, value } of series.values.values())
        lines.push(`${full(name)}${renderLabels(labels)} ${value}`);
    }
    const stateName = full('state');
    lines.push(`# HELP ${stateName} Connector state`, `# TYPE ${stateName} stateset`);
    for (const s of ['idle', 'running', 'stopped'] as const) {
      lines.push(`${stateName}{${stateName}="${s}"} ${this.runState === s ? 1 : 0}`);
    }
    lines.push(
      '# HELP process_uptime_seconds Seconds since the process started',
      '# TYPE process_uptime_seconds gauge',
    );
    lines.push(`process_uptime_seconds ${((Date.now() - this.started) / 1000).toFixed(3)}`);
    lines.push(
      '# HELP nodejs_eventloop_lag_max_seconds Longest time the event loop was held since start-up',
      '# TYPE nodejs_eventloop_lag_max_seconds gauge',
      `nodejs_eventloop_lag_max_seconds ${this.eventLoopMaxDelaySeconds.toFixed(3)}`,
    );
    const mem = process.memoryUsage();
    lines.push('# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`);
    return `${lines.join('\n')}\n`;
  }
}

/** The key of a counter's series: most increments carry no label, and skip serialising an empty object. */
function seriesKey(labels: Labels): string {
  for (const _ in labels) return JSON.stringify(labels);
  return '{}';
}

function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

export interface HealthReport {
  alive: boolean;
  registered: boolean;
  /** Enrichment: consuming the listen queue. Import: the scheduler is running. */
  consuming: boolean;
  [key: string]: unknown;
}

/** Why a port cannot be listened on, in words, for the errors a setting can cause. */
const LISTEN_PROBLEMS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'is already in use (another process, or another connector in the same network namespace)',
  EACCES: 'needs privileges this process does not have (ports below 1024)',
  EADDRNOTAVAIL: 'cannot be bound on this host',
};

/**
 * Serves /metrics and /health; resolves once listening. A port that cannot be listened on is a
 * ConfigError naming CONNECTOR_METRICS_PORT, the setting that chose it.
 */
export async function startMetricsServer(
  port: number,
  metrics: Metrics,
  health: () => HealthReport,
  host = '0.0.0.0',
): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health' || path === '/healthz') {
      const report = health();
      const ok = report.alive && report.registered && report.consuming;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...report }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(metrics.render());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const problem = typeof code === 'string' ? LISTEN_PROBLEMS[code] : undefined;
    throw new ConfigError(
      [
        {
          variable: 'CONNECTOR_METRICS_PORT',
          message: `port ${port} on ${host} ${problem ?? 'cannot be listened on'} (${String(code ?? err)}): choose another port, or set CONNECTOR_EXPOSE_METRICS=false`,
        },
      ],
      { cause: err },
    );
  }
  server.unref();
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
