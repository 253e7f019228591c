/**
 * Liveness and state, as pycti's PingAlive thread does it (reference/protocol-notes.md#ping-and-state), with
 * two fixes:
 * a state change reaches the platform at once (pycti waits for the next ping and loses it on a crash),
 * and only an explicit reset from the UI replaces the local state (a stale echo is ignored, issue #17472).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log/index.js';
import { type ConnectorInfo, detectRemoteReset, parseState } from '../opencti/index.js';
import type { Metrics } from './metrics.js';

export interface PingPlatform {
  pingConnector(
    id: string,
    state: Record<string, unknown> | null,
    info: ConnectorInfo,
  ): Promise<{ connector_state: string | null }>;
}

export interface ConnectorPingerOptions {
  platform: PingPlatform;
  connectorId: string;
  /** The raw connector_state from registration. */
  initialState: string | null;
  info: ConnectorInfo;
  logger: Logger;
  metrics: Metrics;
  intervalMs?: number;
}

export class ConnectorPinger extends EventEmitter<{ reset: [] }> {
  private local: Record<string, unknown> | null;
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> | null = null;
  /** The state the platform echoed last (registration first): tells a repeated reset echo from a new one. */
  private lastRemote: string | null;
  readonly info: ConnectorInfo;
  lastPingAt: Date | null = null;

  constructor(private readonly o: ConnectorPingerOptions) {
    super();
    this.local = parseState(o.initialState);
    this.lastRemote = o.initialState;
    this.info = { ...o.info };
  }

  get state(): Record<string, unknown> | null {
    return this.local;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.ping().catch(() => undefined);
    }, this.o.intervalMs ?? 40_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Saves the state locally and on the platform at once. Throws when the platform cannot be reached. */
  async setState(state: Record<string, unknown> | null): Promise<void> {
    this.local = state;
    await this.ping({ strict: true });
  }

  /** One ping; pings are serialised so a state write is never overtaken by an older one. */
  async ping(options: { strict?: boolean } = {}): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => undefined);
    const run = this.pingOnce();
    this.inflight = run;
    try {
      await run;
    } catch (err) {
      if (options.strict) throw err;
    } finally {
      this.inflight = null;
    }
  }

  private async pingOnce(): Promise<void> {
    const sent = this.local;
    try {
      const result = await this.o.platform.pingConnector(this.o.connectorId, sent, this.info);
      this.o.metrics.inc('ping_api_total');
      this.lastPingAt = new Date();
      const verdict = detectRemoteReset(sent, result.connector_state, this.lastRemote);
      this.lastRemote = result.connector_state;
      if (verdict.reset) {
        this.o.logger.warn(
          'Connector state has been reset from the platform: the next run starts from the first-run settings',
        );
        // A state saved while this ping was in flight is newer than the reset and survives it.
        if (this.local === sent) {
          this.local = null;
          this.emit('reset');
        }
      } else if (verdict.reason === 'stale-echo') {
        this.o.logger.debug('the platform echoed an older state; keeping the local one');
      }
    } catch (err) {
      this.o.metrics.inc('ping_api_errors_total');
      this.o.logger.warn({ err }, 'ping to OpenCTI failed; retrying at the next interval');
      throw err;
    }
  }
}
