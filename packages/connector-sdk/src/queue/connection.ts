/**
 * One long-lived AMQP connection that comes back by itself.
 *
 * amqplib has no automatic recovery on the plain connection, so this class owns it: a single connect
 * loop with exponential backoff, one recovery per lost connection (RabbitMQ emits both 'error' and
 * 'close' when it stops), and channel openers that wait for the connection in progress instead of
 * starting a second one. The platform owns the queues and exchanges: nothing here declares them.
 */
import { EventEmitter } from 'node:events';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  connect,
  type Options,
  type SocketOptions,
} from 'amqplib';
import { ConfigError, PlatformError } from '../errors/index.js';
import { redactString, registerSecret } from '../log/redact.js';
import { type BackoffPolicy, backoffDelayMs, resolvePolicy, sleep } from './backoff.js';
import { errorMessage, type QueueLogger, silentQueueLogger } from './types.js';

export interface AmqpSessionOptions {
  hostname: string;
  port: number;
  vhost: string;
  username: string;
  password: string;
  useSsl: boolean;
  /** PEM text of the CA that signed the broker's certificate (TLS only). */
  ca?: string | Buffer | undefined;
  /** PEM client certificate for mutual TLS. */
  cert?: string | Buffer | undefined;
  /** PEM private key of the client certificate. */
  key?: string | Buffer | undefined;
  passphrase?: string | undefined;
  /** Verify the broker's certificate. pycti's MQ_USE_SSL_REJECT_UNAUTHORIZED defaults to false. */
  rejectUnauthorized?: boolean | undefined;
  /** AMQP heartbeat in seconds (pycti: 10). Must be positive: amqplib 2 reads 0 as "no heartbeats". */
  heartbeatSec?: number | undefined;
  /** Shown in the RabbitMQ management UI, e.g. "CrowdSec listen" or "CrowdSec push". */
  connectionName: string;
  /** TCP + AMQP handshake timeout of one attempt, in milliseconds (default 30 s). */
  connectTimeoutMs?: number | undefined;
  logger?: QueueLogger | undefined;
  /** Backoff between connection attempts (default 1 s doubling to 30 s, with jitter). */
  reconnect?: Partial<BackoffPolicy> | undefined;
  /**
   * Attempts `connect()` makes before it rejects (default: no limit, a broker that starts after the
   * connector is normal under Docker). Recovery of a lost connection never gives up.
   */
  maxInitialAttempts?: number | undefined;
}

export interface AmqpSessionEvents {
  /** The first connection is open. */
  connected: [];
  /** The connection was lost (not by `close()`); a reconnect is under way. */
  disconnected: [error: Error | undefined];
  /** A new connection replaced a lost one: channels must be reopened and consumers re-created. */
  reconnected: [];
  /** The broker stopped reading from this connection (resource alarm); publishes will stall. */
  blocked: [reason: string];
  unblocked: [];
  /** `close()` finished. */
  closed: [];
}

export type AmqpSessionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ChannelRequest {
  /** Stops waiting for a connection (the promise rejects with a PlatformError). */
  signal?: AbortSignal | undefined;
}

export interface ConfirmChannelRequest extends ChannelRequest {
  /** Frames buffered before `publish()` returns false (amqplib's default is 1024). */
  highWaterMark?: number | undefined;
}

const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000 };
const DEFAULT_HEARTBEAT_SEC = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** A connection that dies sooner than this counts as a failed attempt, so a flapping broker is not hammered. */
const STABLE_CONNECTION_MS = 10_000;
/** How long `close()` waits for the broker's close-ok before cutting the socket. */
const CLOSE_TIMEOUT_MS = 5000;

export class AmqpSession extends EventEmitter<AmqpSessionEvents> {
  readonly connectionName: string;
  private readonly logger: QueueLogger;
  private readonly backoff: BackoffPolicy;
  private readonly connectOptions: Options.Connect;
  private readonly socketOptions: SocketOptions;
  private readonly maxInitialAttempts: number;
  private readonly where: { host: string; port: number; vhost: string; user: string; connectionName: string };

  /** The open connection, if any. Named `connection` so tests can reach it to simulate a failure. */
  private connection: ChannelModel | undefined;
  /** The connect loop in progress, or the one that produced `connection`. */
  private ready: Promise<ChannelModel> | undefined;
  private connectedAt = 0;
  /** Consecutive connections that died young; drives the delay before the next attempt. */
  private shortLivedCount = 0;
  private everConnected = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  private readonly closeController = new AbortController();

  constructor(options: AmqpSessionOptions) {
    super();
    const heartbeat = options.heartbeatSec ?? DEFAULT_HEARTBEAT_SEC;
    if (!Number.isFinite(heartbeat) || heartbeat <= 0) {
      throw new ConfigError([
        {
          variable: 'heartbeatSec',
          message: `must be a positive number of seconds, got ${heartbeat} (0 would disable AMQP heartbeats)`,
        },
      ]);
    }
    registerSecret(options.password);
    registerSecret(options.passphrase);
    this.connectionName = options.connectionName;
    this.logger = options.logger ?? silentQueueLogger;
    this.backoff = resolvePolicy(DEFAULT_BACKOFF, options.reconnect);
    this.maxInitialAttempts = options.maxInitialAttempts ?? Number.POSITIVE_INFINITY;
    this.where = {
      host: options.hostname,
      port: options.port,
      vhost: options.vhost,
      user: options.username,
      connectionName: options.connectionName,
    };
    this.connectOptions = {
      protocol: options.useSsl ? 'amqps' : 'amqp',
      hostname: options.hostname,
      port: options.port,
      vhost: options.vhost,
      username: options.username,
      password: options.password,
      heartbeat: Math.ceil(heartbeat),
    };
    this.socketOptions = {
      // Without TCP_NODELAY every publisher confirm waits on Nagle's algorithm (~40 ms per message).
      noDelay: true,
      keepAlive: true,
      timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      clientProperties: { connection_name: options.connectionName },
      ...(options.useSsl
        ? {
            ca: options.ca,
            cert: options.cert,
            key: options.key,
            passphrase: options.passphrase,
            rejectUnauthorized: options.rejectUnauthorized ?? false,
          }
        : {}),
    };
  }

  get state(): AmqpSessionState {
    if (this.closing) return 'closed';
    if (this.connection) return 'connected';
    if (this.ready) return this.everConnected ? 'reconnecting' : 'connecting';
    return 'idle';
  }

  isConnected(): boolean {
    return this.connection !== undefined && !this.closing;
  }

  /**
   * Opens the connection, retrying with backoff. Resolves once connected; rejects on bad credentials or
   * vhost (403/530: retrying cannot help), after `maxInitialAttempts`, or when `close()` is called.
   */
  async connect(): Promise<void> {
    await this.whenConnected();
  }

  /** The open connection, waiting for the connect in progress (starting one if needed). */
  private async whenConnected(signal?: AbortSignal): Promise<ChannelModel> {
    const ready = this.startConnecting();
    if (!signal) return ready;
    if (signal.aborted) throw abortedError();
    return new Promise<ChannelModel>((resolve, reject) => {
      const onAbort = (): void => reject(abortedError());
      signal.addEventListener('abort', onAbort, { once: true });
      ready.then(
        (model) => {
          signal.removeEventListener('abort', onAbort);
          resolve(model);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /** A new channel on the current connection; waits for a reconnect in progress. */
  channel(request: ChannelRequest = {}): Promise<Channel> {
    return this.openChannel((model) => model.createChannel(), request.signal);
  }

  /** A new channel in confirm mode on the current connection; waits for a reconnect in progress. */
  confirmChannel(request: ConfirmChannelRequest = {}): Promise<ConfirmChannel> {
    const options = request.highWaterMark === undefined ? undefined : { highWaterMark: request.highWaterMark };
    return this.openChannel((model) => model.createConfirmChannel(options), request.signal);
  }

  /** Closes the connection for good: no reconnect, pending waits reject. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    this.closeController.abort();
    const model = this.connection;
    this.connection = undefined;
    this.closed = (async () => {
      if (model) await closeQuietly(model);
      this.logger.info(this.where, 'RabbitMQ connection closed');
      this.emit('closed');
    })();
    return this.closed;
  }

  private startConnecting(): Promise<ChannelModel> {
    if (this.closing) return Promise.reject(closedError());
    if (!this.ready) {
      const ready = this.connectLoop();
      // A failed first connect is not cached: the next request tries again. (This handler also keeps an
      // unobserved failure from crashing Node; callers attach their own.)
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
      this.ready = ready;
    }
    return this.ready;
  }

  private async connectLoop(): Promise<ChannelModel> {
    const reconnecting = this.everConnected;
    // A connection that died young is treated like a failed attempt: wait before trying again.
    if (reconnecting && this.shortLivedCount > 0) {
      const delayMs = backoffDelayMs(this.shortLivedCount, this.backoff);
      this.logger.warn(
        { ...this.where, delayMs, shortLivedConnections: this.shortLivedCount },
        'RabbitMQ connection dropped soon after opening; waiting before reconnecting',
      );
      await sleep(delayMs, this.closeController.signal);
    }
    for (let attempt = 1; ; attempt++) {
      if (this.closing) throw closedError();
      let model: ChannelModel;
      try {
        model = await connect(this.connectOptions, this.socketOptions);
      } catch (err) {
        if (this.closing) throw closedError(err);
        const refused = isRefusedHandshake(err);
        if (!reconnecting && (refused || attempt >= this.maxInitialAttempts)) {
          const reason = redactString(errorMessage(err));
          this.logger.error({ ...this.where, attempt, error: reason }, 'Could not connect to RabbitMQ; giving up');
          throw new PlatformError(
            refused
              ? `RabbitMQ at ${this.where.host}:${this.where.port} refused user '${this.where.user}' on vhost '${this.where.vhost}' (check the user, password and vhost): ${reason}`
              : `Could not connect to RabbitMQ at ${this.where.host}:${this.where.port} after ${attempt} attempts: ${reason}`,
            { operation: 'amqp', retryable: !refused, auth: refused },
            { cause: err },
          );
        }
        const delayMs = backoffDelayMs(attempt, this.backoff);
        this.logger.warn(
          { ...this.where, attempt, delayMs, error: redactString(errorMessage(err)) },
          'RabbitMQ connection attempt failed; retrying',
        );
        await sleep(delayMs, this.closeController.signal);
        continue;
      }
      if (this.closing) {
        await closeQuietly(model);
        throw closedError();
      }
      this.attach(model);
      this.logger.info({ ...this.where, attempt }, reconnecting ? 'Reconnected to RabbitMQ' : 'Connected to RabbitMQ');
      this.everConnected = true;
      this.emit(reconnecting ? 'reconnected' : 'connected');
      return model;
    }
  }

  private attach(model: ChannelModel): void {
    this.connection = model;
    this.connectedAt = Date.now();
    // Both events fire when the broker goes away; onLoss keeps only the first one per connection.
    model.on('error', (err: Error) => this.onLoss(model, err));
    model.on('close', (err?: Error) => this.onLoss(model, err));
    model.on('blocked', (reason: string) => {
      this.logger.warn({ ...this.where, reason }, 'RabbitMQ blocked this connection (resource alarm)');
      this.emit('blocked', reason);
    });
    model.on('unblocked', () => {
      this.logger.info(this.where, 'RabbitMQ unblocked this connection');
      this.emit('unblocked');
    });
  }

  private onLoss(model: ChannelModel, err: Error | undefined): void {
    if (this.connection !== model) return; // the second event for this connection, or a stale one
    this.connection = undefined;
    this.ready = undefined;
    if (this.closing) return;
    const lived = Date.now() - this.connectedAt;
    this.shortLivedCount = lived < STABLE_CONNECTION_MS ? this.shortLivedCount + 1 : 0;
    this.logger.warn(
      { ...this.where, error: err ? redactString(errorMessage(err)) : 'closed', connectedForMs: lived },
      'Lost the RabbitMQ connection; reconnecting',
    );
    this.emit('disconnected', err);
    this.startConnecting();
  }

  private async openChannel<T extends Channel>(
    open: (model: ChannelModel) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    // Callers often reopen from a channel's 'close' handler, which amqplib runs while the connection is
    // still tearing itself down; one macrotask later that teardown (and onLoss) has finished.
    await nextMacrotask();
    for (;;) {
      const model = await this.whenConnected(signal);
      try {
        const channel = await open(model);
        // Without an 'error' listener a broker-side channel close would be thrown as an uncaught error.
        channel.on('error', (err: Error) => {
          this.logger.debug({ ...this.where, error: redactString(errorMessage(err)) }, 'AMQP channel error');
        });
        return channel;
      } catch (err) {
        if (this.closing) throw closedError(err);
        if (this.connection === model && !isConnectionGone(err)) {
          throw new PlatformError(
            `Could not open an AMQP channel on ${this.where.host}:${this.where.port}: ${redactString(errorMessage(err))}`,
            { operation: 'amqp', retryable: true },
            { cause: err },
          );
        }
        // The connection died under us: recover it (once) and try again on the next one.
        this.onLoss(model, err instanceof Error ? err : undefined);
      }
    }
  }
}

/**
 * Connection options from an AMQP URL (`amqp://user:pass@host:port/vhost`, `amqps://...`), for tests and
 * tools. Missing credentials default to guest/guest and a missing vhost to "/", as amqplib does.
 */
export function amqpOptionsFromUrl(
  url: string,
): Pick<AmqpSessionOptions, 'hostname' | 'port' | 'vhost' | 'username' | 'password' | 'useSsl'> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ConfigError([{ variable: 'AMQP_URL', message: 'is not a valid URL' }], { cause: err });
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new ConfigError([
      { variable: 'AMQP_URL', message: `must start with amqp:// or amqps://, got ${parsed.protocol}//` },
    ]);
  }
  const useSsl = parsed.protocol === 'amqps:';
  const hasCredentials = parsed.username !== '' || parsed.password !== '';
  const vhost = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : useSsl ? 5671 : 5672,
    vhost: vhost === '' ? '/' : vhost,
    username: hasCredentials ? decodeURIComponent(parsed.username) : 'guest',
    password: hasCredentials ? decodeURIComponent(parsed.password) : 'guest',
    useSsl,
  };
}

/** 403 ACCESS_REFUSED (credentials) or 530 NOT_ALLOWED (vhost) during the handshake. */
function isRefusedHandshake(err: unknown): boolean {
  const message = errorMessage(err);
  return /Handshake terminated by server: (403|530)\b/.test(message) || /ACCESS[-_]REFUSED/.test(message);
}

/** amqplib's way of saying the connection is closed or closing. */
function isConnectionGone(err: unknown): boolean {
  return err instanceof Error && (err.name === 'IllegalOperationError' || /^Connection clos(ed|ing)/.test(err.message));
}

function closedError(cause?: unknown): PlatformError {
  return new PlatformError(
    'The RabbitMQ session is closed',
    { operation: 'amqp', retryable: false },
    cause === undefined ? undefined : { cause },
  );
}

function abortedError(): PlatformError {
  return new PlatformError('Stopped waiting for the RabbitMQ connection', { operation: 'amqp', retryable: true });
}

async function closeQuietly(model: ChannelModel): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([model.close().then(() => 'closed' as const), timedOut]);
    if (outcome === 'timeout') destroySocket(model);
  } catch {
    // Already closed or the socket is gone: nothing left to release.
  } finally {
    clearTimeout(timer);
  }
}

/** Last resort when the broker never answers close: drop the TCP socket. */
function destroySocket(model: ChannelModel): void {
  const stream = (model.connection as { stream?: { destroy?: () => void } }).stream;
  stream?.destroy?.();
}
