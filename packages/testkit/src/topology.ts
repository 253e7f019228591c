/**
 * The RabbitMQ side of the platform (platform.md a): the two durable direct exchanges, the `listen_<id>` /
 * `push_<id>` queues with the platform's arguments and bindings (re-asserted on every register and ping),
 * publishing to a connector's listen queue, purging and deleting queues, and reading queue depths.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';

export const LISTEN_EXCHANGE = 'amqp.connector.exchange';
export const PUSH_EXCHANGE = 'amqp.worker.exchange';

/** The names a connector receives in `config`, prefix included. */
export interface ConnectorQueueNames {
  listen: string;
  listen_routing: string;
  listen_exchange: string;
  push: string;
  push_routing: string;
  push_exchange: string;
  dead_letter_routing: string;
}

/** The broker credentials handed out in `config.connection` (the platform hands out its own). */
export interface BrokerConnection {
  host: string;
  port: number;
  vhost: string;
  user: string;
  pass: string;
  use_ssl: boolean;
}

/** Parses an AMQP URL into what `config.connection` carries. */
export function brokerConnectionOf(amqpUrl: string): BrokerConnection {
  const url = new URL(amqpUrl);
  const useSsl = url.protocol === 'amqps:';
  const path = url.pathname.replace(/^\//, '');
  return {
    host: url.hostname,
    port: url.port === '' ? (useSsl ? 5671 : 5672) : Number(url.port),
    vhost: path === '' ? '/' : decodeURIComponent(path),
    user: url.username === '' ? 'guest' : decodeURIComponent(url.username),
    pass: url.password === '' ? 'guest' : decodeURIComponent(url.password),
    use_ssl: useSsl,
  };
}

export class Topology {
  readonly #model: ChannelModel;
  readonly #prefix: string;
  readonly #limits = new Map<string, Record<string, unknown>>();
  #admin: ConfirmChannel | undefined;
  #closing = false;

  private constructor(model: ChannelModel, prefix: string) {
    this.#model = model;
    this.#prefix = prefix;
  }

  static async connect(amqpUrl: string, queuePrefix: string): Promise<Topology> {
    // Nagle off, as the SDK's sessions: amqplib writes a message's frames separately, and with Nagle the
    // last ones waited for the broker's delayed ACK (tens of milliseconds per listen message published).
    const model = await amqp.connect(amqpUrl, { noDelay: true });
    // An error event without a listener would crash the test process; the facade reports closures itself.
    model.on('error', () => {});
    return new Topology(model, queuePrefix ? `${queuePrefix}_` : '');
  }

  get model(): ChannelModel {
    return this.#model;
  }

  /** The names of a connector's queues and routing keys; the platform prefixes every name. */
  names(connectorId: string): ConnectorQueueNames {
    const p = this.#prefix;
    return {
      listen: `${p}listen_${connectorId}`,
      listen_routing: `${p}listen_routing_${connectorId}`,
      listen_exchange: `${p}${LISTEN_EXCHANGE}`,
      push: `${p}push_${connectorId}`,
      push_routing: `${p}push_routing_${connectorId}`,
      push_exchange: `${p}${PUSH_EXCHANGE}`,
      dead_letter_routing: `${p}listen_routing_too-large-bundle`,
    };
  }

  /**
   * `registerConnectorQueues`: both exchanges, both queues (durable, not exclusive, not auto-delete, with
   * `{ name, config: { id, type, scope }, 'x-queue-type': 'classic' }`) and both bindings.
   */
  async registerConnectorQueues(
    connectorId: string,
    name: string,
    type: string,
    scope: readonly string[] | null,
  ): Promise<ConnectorQueueNames> {
    const names = this.names(connectorId);
    const channel = await this.#channel();
    const args = { name, config: { id: connectorId, type, scope: scope ?? null }, 'x-queue-type': 'classic' };
    const queueOptions = (queue: string) => ({
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: { ...args, ...this.#limits.get(queue) },
    });
    await channel.assertExchange(names.listen_exchange, 'direct', { durable: true });
    await channel.assertExchange(names.push_exchange, 'direct', { durable: true });
    await channel.assertQueue(names.listen, queueOptions(names.listen));
    await channel.bindQueue(names.listen, names.listen_exchange, names.listen_routing);
    await channel.assertQueue(names.push, queueOptions(names.push));
    await channel.bindQueue(names.push, names.push_exchange, names.push_routing);
    return names;
  }

  /**
   * Fault: re-creates `queue` with a length limit, like an operator's max-length + reject-publish policy, so
   * publishers get nacks once it is full (the platform itself never limits queues). Later re-assertions keep
   * the limit until `unlimit`. The queue's messages are lost, as when an operator re-creates a queue.
   */
  async limit(queue: string, maxLength: number, overflow: 'reject-publish' | 'drop-head'): Promise<void> {
    this.#limits.set(queue, { 'x-max-length': maxLength, 'x-overflow': overflow });
    await this.deleteQueue(queue);
  }

  /** Removes a limit set by `limit` (the queue is re-created without it). */
  async unlimit(queue: string): Promise<void> {
    if (!this.#limits.delete(queue)) return;
    await this.deleteQueue(queue);
  }

  /** Publishes to the connector exchange with the listen routing key, persistent, awaiting the confirm. */
  async publishListen(connectorId: string, body: Buffer): Promise<void> {
    const names = this.names(connectorId);
    await this.#publish(names.listen_exchange, names.listen_routing, body);
  }

  /** Publishes to the worker exchange with the push routing key (what `stixBundlePush` does). */
  async publishPush(connectorId: string, body: Buffer): Promise<void> {
    const names = this.names(connectorId);
    await this.#publish(names.push_exchange, names.push_routing, body);
  }

  /** Empties both queues of a connector (the platform does it through the management API on reset). */
  async purge(connectorId: string): Promise<void> {
    const names = this.names(connectorId);
    await this.#withScratchChannel((ch) => ch.purgeQueue(names.listen));
    await this.#withScratchChannel((ch) => ch.purgeQueue(names.push));
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.#withScratchChannel((ch) => ch.deleteQueue(queue));
  }

  async deleteQueues(connectorId: string): Promise<void> {
    const names = this.names(connectorId);
    await this.deleteQueue(names.listen);
    await this.deleteQueue(names.push);
  }

  /** The number of ready messages in a queue, or undefined when the queue does not exist. */
  async messageCount(queue: string): Promise<number | undefined> {
    return this.#withScratchChannel(async (ch) => (await ch.checkQueue(queue)).messageCount);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#model.close().catch(() => {});
  }

  async #publish(exchange: string, routingKey: string, body: Buffer): Promise<void> {
    const channel = await this.#channel();
    await new Promise<void>((resolve, reject) => {
      channel.publish(exchange, routingKey, body, { deliveryMode: 2 }, (err: unknown) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
      );
    });
  }

  async #channel(): Promise<ConfirmChannel> {
    if (this.#admin !== undefined) return this.#admin;
    if (this.#closing) throw new Error('The test platform is closed');
    const channel = await this.#model.createConfirmChannel();
    channel.on('error', () => {});
    channel.on('close', () => {
      if (this.#admin === channel) this.#admin = undefined;
    });
    this.#admin = channel;
    return channel;
  }

  // Operations that may fail with a channel-closing error (404 on a missing queue) get their own channel,
  // so a failure never takes the shared channel down. Returns undefined when the broker refused.
  async #withScratchChannel<T>(operation: (channel: Channel) => Promise<T>): Promise<T | undefined> {
    const channel = await this.#model.createChannel();
    channel.on('error', () => {});
    try {
      return await operation(channel);
    } catch {
      return undefined;
    } finally {
      await channel.close().catch(() => {});
    }
  }
}
