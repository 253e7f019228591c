/**
 * Helpers for the queue integration tests: a real broker, uniquely named topology per test, a log
 * recorder, broker-side connection control and a polling wait (no timed assertions).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import { type Channel, type ChannelModel, connect, type GetMessage, type Options } from 'amqplib';
import { AmqpSession, type AmqpSessionOptions, amqpOptionsFromUrl } from '../../src/queue/index.js';
import type { QueueLogger } from '../../src/queue/types.js';

const run = promisify(execFile);

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function uniqueName(prefix: string): string {
  return `cti-test-${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 30_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: object;
}

/** Records every log call verbatim (no redaction), so tests see exactly what the code wrote. */
export class LogRecorder implements QueueLogger {
  readonly records: LogRecord[] = [];
  debug(obj: object, msg: string): void {
    this.records.push({ level: 'debug', msg, obj });
  }
  info(obj: object, msg: string): void {
    this.records.push({ level: 'info', msg, obj });
  }
  warn(obj: object, msg: string): void {
    this.records.push({ level: 'warn', msg, obj });
  }
  error(obj: object, msg: string): void {
    this.records.push({ level: 'error', msg, obj });
  }
  /** Every record as one JSON text, to search for a leaked value. */
  text(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n');
  }
  matching(msg: RegExp): LogRecord[] {
    return this.records.filter((r) => msg.test(r.msg));
  }
}

export function sessionOptions(
  connectionName: string,
  overrides: Partial<AmqpSessionOptions> = {},
): AmqpSessionOptions {
  return {
    ...amqpOptionsFromUrl(AMQP_URL),
    connectionName,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    ...overrides,
  };
}

export function newSession(connectionName: string, overrides: Partial<AmqpSessionOptions> = {}): AmqpSession {
  return new AmqpSession(sessionOptions(connectionName, overrides));
}

/** The session's current amqplib connection (private), to break it from the test. */
export function connectionOf(session: AmqpSession): ChannelModel {
  const model = (session as unknown as { connection: ChannelModel | undefined }).connection;
  if (!model) throw new Error('the session has no open connection');
  return model;
}

/**
 * Cuts the TCP socket under the session with an error, like a connection reset. (A socket destroyed
 * without an error is only noticed by heartbeats, as a silently dead network would be.)
 */
export function destroySocket(session: AmqpSession): void {
  const raw = connectionOf(session).connection as unknown as { stream: net.Socket };
  raw.stream.destroy(Object.assign(new Error('read ECONNRESET (simulated)'), { code: 'ECONNRESET' }));
}

/** Broker-side pids of the connections that carry this connection name. */
export async function brokerConnections(connectionName: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', [
    'list_connections',
    '-q',
    '--no-table-headers',
    'pid',
    'client_properties',
  ]);
  return stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${connectionName}"}`))
    .map((line) => line.split('\t')[0] ?? '')
    .filter((pid) => pid !== '');
}

/**
 * Closes, from the broker, every connection with this name (320 CONNECTION_FORCED, as in a failover).
 * Only ours: other suites share the broker. Returns how many were closed.
 */
export async function forceCloseConnections(connectionName: string): Promise<number> {
  const pids = await brokerConnections(connectionName);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'test failover']);
  return pids.length;
}

/** The broker's max_message_size (bytes), read from the running node. */
export async function brokerMaxMessageSize(): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['eval', 'application:get_env(rabbit, max_message_size).']);
  const match = /\{ok,(\d+)\}/.exec(stdout);
  if (!match?.[1]) throw new Error(`unexpected max_message_size answer: ${stdout}`);
  return Number(match[1]);
}

/** Changes max_message_size at runtime; it applies to channels opened afterwards. */
export async function setBrokerMaxMessageSize(bytes: number): Promise<void> {
  if (!Number.isInteger(bytes) || bytes <= 0) throw new Error(`bad size ${bytes}`);
  await run('rabbitmqctl', ['eval', `application:set_env(rabbit, max_message_size, ${bytes}).`]);
}

/** A raw connection the tests use to declare topology and inspect queues. */
export class Broker {
  private model: ChannelModel | undefined;
  private channelPromise: Promise<Channel> | undefined;
  private readonly queues = new Set<string>();
  private readonly exchanges = new Set<string>();

  private async channel(): Promise<Channel> {
    if (!this.channelPromise) {
      this.channelPromise = (async () => {
        this.model = await connect(AMQP_URL, { clientProperties: { connection_name: 'cti-test-admin' } });
        this.model.on('error', () => {});
        const channel = await this.model.createChannel();
        channel.on('error', () => {});
        return channel;
      })();
    }
    return this.channelPromise;
  }

  /** A fresh direct exchange and a queue bound to it with `routingKey` (unless `bind` is false). */
  async declare(
    prefix: string,
    options: { bind?: boolean; queueOptions?: Options.AssertQueue } = {},
  ): Promise<{ exchange: string; queue: string; routingKey: string }> {
    const ch = await this.channel();
    const exchange = uniqueName(`${prefix}-ex`);
    const queue = uniqueName(`${prefix}-q`);
    const routingKey = `${queue}-routing`;
    await ch.assertExchange(exchange, 'direct', { durable: false, autoDelete: false });
    this.exchanges.add(exchange);
    await this.declareQueue(queue, options.queueOptions);
    if (options.bind !== false) await ch.bindQueue(queue, exchange, routingKey);
    return { exchange, queue, routingKey };
  }

  async declareQueue(queue: string, options: Options.AssertQueue = {}): Promise<void> {
    const ch = await this.channel();
    await ch.assertQueue(queue, { durable: false, autoDelete: false, ...options });
    this.queues.add(queue);
  }

  async bind(queue: string, exchange: string, routingKey: string): Promise<void> {
    await (await this.channel()).bindQueue(queue, exchange, routingKey);
  }

  async deleteQueue(queue: string): Promise<void> {
    await (await this.channel()).deleteQueue(queue);
  }

  async send(queue: string, body: string): Promise<void> {
    const ch = await this.channel();
    ch.sendToQueue(queue, Buffer.from(body), { messageId: body });
    // A round trip after the publish: the message is on the queue once this returns.
    await ch.checkQueue(queue);
  }

  /** Messages ready for delivery (not counting unacked ones held by a consumer). */
  async ready(queue: string): Promise<number> {
    return (await (await this.channel()).checkQueue(queue)).messageCount;
  }

  async consumers(queue: string): Promise<number> {
    return (await (await this.channel()).checkQueue(queue)).consumerCount;
  }

  /** Removes and returns the next ready message, with its properties. */
  async takeOne(queue: string): Promise<GetMessage | false> {
    return (await this.channel()).get(queue, { noAck: true });
  }

  /** Removes and returns every ready message, in queue order. */
  async takeAll(queue: string): Promise<string[]> {
    const ch = await this.channel();
    const bodies: string[] = [];
    for (;;) {
      const message = await ch.get(queue, { noAck: true });
      if (message === false) return bodies;
      bodies.push(message.content.toString('utf8'));
    }
  }

  async close(): Promise<void> {
    if (!this.channelPromise) return;
    const ch = await this.channelPromise;
    for (const queue of this.queues) await ch.deleteQueue(queue).catch(() => {});
    for (const exchange of this.exchanges) await ch.deleteExchange(exchange).catch(() => {});
    await this.model?.close().catch(() => {});
  }
}

/**
 * A TCP relay in front of the broker that the test can take down and bring back, to simulate a broker
 * outage for one client only (other suites share the real broker).
 */
export class BrokerRelay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async start(port = 0): Promise<void> {
    const target = amqpOptionsFromUrl(AMQP_URL);
    this.server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
  }

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
