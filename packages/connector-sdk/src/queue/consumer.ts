/**
 * Consumes the connector's listen queue: manual acks, bounded concurrency, survives reconnects.
 *
 * A message is acked only after its handler settles, so a process that dies mid-message loses nothing
 * (the broker redelivers it with `redelivered` set). The consumer never declares the queue: when the
 * broker says it is gone (404 on consume, or a basic.cancel) it emits 'queue-missing' so the runtime can
 * re-register the connector (which makes the platform re-create it) and it retries with backoff rather
 * than hammering the broker.
 */
import { EventEmitter } from 'node:events';
import type { Channel, ConsumeMessage } from 'amqplib';
import { ConfigError, PlatformError } from '../errors/index.js';
import { redactString } from '../log/redact.js';
import { type BackoffPolicy, backoffDelayMs, type Deferred, deferred, resolvePolicy, sleep } from './backoff.js';
import type { AmqpSession } from './connection.js';
import { amqpReplyCode, errorMessage, type QueueLogger, silentQueueLogger } from './types.js';

export interface Delivery {
  body: Buffer;
  /** The broker delivered this message before (to us or another consumer) without an ack. */
  redelivered: boolean;
  deliveryTag: number;
  messageId?: string | undefined;
}

/** What to do with a message once its handler is done: remove it, or put it back on the queue. */
export type DeliveryOutcome = 'ack' | 'requeue';

export interface ListenConsumerOptions {
  /** The listen queue (`config.listen` from registerConnector). */
  queue: string;
  /** Unacked messages the broker may hand us at once, hence handlers running at once (default 1). */
  prefetch?: number | undefined;
  onMessage: (delivery: Delivery) => Promise<DeliveryOutcome>;
  logger?: QueueLogger | undefined;
  /** Delay between re-subscriptions after the broker refused or cancelled us (default 1 s doubling to 30 s). */
  retry?: Partial<BackoffPolicy> | undefined;
}

export interface ListenConsumerCounters {
  delivered: number;
  acked: number;
  requeued: number;
  inFlight: number;
}

export interface QueueMissingEvent {
  queue: string;
  /** 'not-found': basic.consume answered 404; 'cancelled': the broker cancelled a running consumer. */
  reason: 'not-found' | 'cancelled';
  /** Consecutive subscription failures, including this one. */
  attempt: number;
}

export interface ListenConsumerEvents {
  /** A subscription is active (first start, and again after each recovery). */
  consuming: [{ queue: string; consumerTag: string }];
  /** The queue does not exist any more: re-register the connector so the platform re-creates it. */
  'queue-missing': [QueueMissingEvent];
}

export interface ListenConsumerStopOptions {
  /** How long in-flight handlers may run before their messages are requeued (default 30 s). */
  graceMs?: number | undefined;
}

type SubscriptionEnd = 'stopped' | 'session-closed' | 'connection-lost' | 'channel-closed' | 'cancelled' | 'failed';

interface InFlight {
  channel: Channel;
  message: ConsumeMessage;
  settled: boolean;
  done: Promise<void>;
}

const DEFAULT_RETRY: BackoffPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000 };
const DEFAULT_GRACE_MS = 30_000;
/** A subscription that ran at least this long resets the failure count: the next failure is a new incident. */
const STABLE_SUBSCRIPTION_MS = 30_000;

export class ListenConsumer extends EventEmitter<ListenConsumerEvents> {
  readonly queue: string;
  readonly prefetch: number;
  private readonly session: AmqpSession;
  private readonly onMessage: (delivery: Delivery) => Promise<DeliveryOutcome>;
  private readonly logger: QueueLogger;
  private readonly retry: BackoffPolicy;

  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  /** Every channel we opened and that is not closed yet, current or retired after a cancel. */
  private readonly openChannels = new Set<Channel>();
  private readonly inFlight = new Set<InFlight>();
  private readonly counts = { delivered: 0, acked: 0, requeued: 0 };
  private failures = 0;
  private loop: Promise<void> | undefined;
  private endSubscription: ((end: SubscriptionEnd) => void) | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private readonly stopController = new AbortController();
  private readonly firstSubscription: Deferred<void> = deferred<void>();

  constructor(session: AmqpSession, options: ListenConsumerOptions) {
    super();
    const prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
      throw new ConfigError([{ variable: 'prefetch', message: `must be an integer from 1 to 65535, got ${prefetch}` }]);
    }
    this.session = session;
    this.queue = options.queue;
    this.prefetch = prefetch;
    this.onMessage = options.onMessage;
    this.logger = options.logger ?? silentQueueLogger;
    this.retry = resolvePolicy(DEFAULT_RETRY, options.retry);
  }

  /**
   * Starts consuming. Resolves once the first subscription is active (or `stop()` was called first);
   * rejects only if the session is closed. Failures before that are retried with backoff and surface as
   * log lines and 'queue-missing' events. Idempotent.
   */
  start(): Promise<void> {
    if (!this.loop && !this.stopping) {
      this.loop = this.run();
    }
    return this.firstSubscription.promise;
  }

  /** True while a subscription is active on an open channel. */
  isConsuming(): boolean {
    return !this.stopping && this.channel !== undefined && this.consumerTag !== undefined;
  }

  get counters(): Readonly<ListenConsumerCounters> {
    return { ...this.counts, inFlight: this.inFlight.size };
  }

  /**
   * Cancels the subscription (no new deliveries), waits up to `graceMs` for running handlers, puts back
   * on the queue every message whose handler did not finish, and closes the channels. Idempotent.
   * A handler still running past the grace period keeps running; its late outcome is ignored.
   */
  stop(options: ListenConsumerStopOptions = {}): Promise<void> {
    if (!this.stopped) {
      this.stopping = true;
      this.stopController.abort();
      this.stopped = this.shutDown(options.graceMs ?? DEFAULT_GRACE_MS);
    }
    return this.stopped;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const startedAt = Date.now();
      const end = await this.subscribeOnce();
      if (this.stopping || end === 'stopped') break;
      if (end === 'session-closed') {
        this.firstSubscription.reject(
          new PlatformError(`Cannot consume ${this.queue}: the RabbitMQ session is closed`, {
            operation: 'amqp',
            retryable: false,
          }),
        );
        break;
      }
      // The session paces reconnects itself; a lost connection is not the queue's fault.
      if (end === 'connection-lost') continue;
      if (Date.now() - startedAt >= STABLE_SUBSCRIPTION_MS) this.failures = 0;
      this.failures += 1;
      const delayMs = backoffDelayMs(this.failures, this.retry);
      this.logger.warn(
        { queue: this.queue, reason: end, attempt: this.failures, delayMs },
        'Listen subscription ended; subscribing again after a delay',
      );
      await sleep(delayMs, this.stopController.signal);
    }
  }

  /** One subscription, from opening its channel to its end. */
  private async subscribeOnce(): Promise<SubscriptionEnd> {
    let channel: Channel;
    try {
      channel = await this.session.channel({ signal: this.stopController.signal });
    } catch (err) {
      if (this.stopping) return 'stopped';
      if (this.session.state === 'closed') return 'session-closed';
      this.logger.warn(
        { queue: this.queue, error: redactString(errorMessage(err)) },
        'Could not open a channel for the listen queue',
      );
      return 'failed';
    }
    this.openChannels.add(channel);
    let endThis: (end: SubscriptionEnd) => void = () => {};
    const ended = new Promise<SubscriptionEnd>((resolve) => {
      endThis = resolve;
    });
    this.endSubscription = endThis;
    let channelError: Error | undefined;
    channel.on('error', (err: Error) => {
      channelError = err;
    });
    channel.on('close', () => {
      this.openChannels.delete(channel);
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.consumerTag = undefined;
      if (channelError && !this.stopping) {
        this.logger.warn(
          { queue: this.queue, error: redactString(errorMessage(channelError)) },
          'RabbitMQ closed the listen channel',
        );
      }
      // amqplib closes channels before it reports the connection itself closed: look one macrotask later.
      setImmediate(() => endThis(this.session.isConnected() ? 'channel-closed' : 'connection-lost'));
    });
    if (this.stopping) {
      await closeQuietly(channel);
      return 'stopped';
    }
    this.channel = channel;
    let consumerTag: string;
    try {
      await channel.prefetch(this.prefetch);
      const reply = await channel.consume(this.queue, (message) => this.onDelivery(channel, message), {
        noAck: false,
      });
      consumerTag = reply.consumerTag;
      this.consumerTag = consumerTag;
    } catch (err) {
      if (this.channel === channel) this.channel = undefined;
      await closeQuietly(channel);
      if (this.stopping) return 'stopped';
      if (amqpReplyCode(err) === 404) {
        this.signalQueueMissing('not-found');
        return 'failed';
      }
      if (!this.session.isConnected()) return 'connection-lost';
      this.logger.warn(
        { queue: this.queue, error: redactString(errorMessage(err)) },
        'Could not subscribe to the listen queue',
      );
      return 'failed';
    }
    if (this.stopping) {
      // stop() ran while we were subscribing; it may have missed this consumer tag.
      await closeQuietly(channel);
      return 'stopped';
    }
    this.logger.info({ queue: this.queue, prefetch: this.prefetch, consumerTag }, 'Consuming the listen queue');
    this.emit('consuming', { queue: this.queue, consumerTag });
    this.firstSubscription.resolve();
    return ended;
  }

  private onDelivery(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      this.onBrokerCancel(channel);
      return;
    }
    this.counts.delivered += 1;
    if (this.stopping) {
      // Delivered between stop() and the broker's cancel-ok: hand it back untouched.
      this.settleOn(channel, message, 'requeue');
      return;
    }
    this.failures = 0;
    const entry: InFlight = { channel, message, settled: false, done: Promise.resolve() };
    this.inFlight.add(entry);
    entry.done = this.handle(entry);
  }

  private async handle(entry: InFlight): Promise<void> {
    const { message } = entry;
    const delivery: Delivery = {
      body: message.content,
      redelivered: message.fields.redelivered,
      deliveryTag: message.fields.deliveryTag,
      messageId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
    };
    let outcome: DeliveryOutcome;
    try {
      outcome = (await this.onMessage(delivery)) === 'requeue' ? 'requeue' : 'ack';
    } catch (err) {
      // The runtime catches its own errors; this is the last line of defence. A message that already
      // failed once is dropped rather than requeued again, so one bad message cannot loop forever.
      outcome = delivery.redelivered ? 'ack' : 'requeue';
      this.logger.error(
        {
          queue: this.queue,
          deliveryTag: delivery.deliveryTag,
          redelivered: delivery.redelivered,
          error: redactString(errorMessage(err)),
        },
        delivery.redelivered
          ? 'Listen handler failed on a redelivered message; acking it so it cannot loop'
          : 'Listen handler failed; requeueing the message once',
      );
    }
    this.settle(entry, outcome);
  }

  private settle(entry: InFlight, outcome: DeliveryOutcome): void {
    if (entry.settled) return; // stop() already handed it back
    entry.settled = true;
    this.inFlight.delete(entry);
    this.settleOn(entry.channel, entry.message, outcome);
    this.closeIfRetiredAndIdle(entry.channel);
  }

  private settleOn(channel: Channel, message: ConsumeMessage, outcome: DeliveryOutcome): void {
    try {
      if (outcome === 'ack') {
        channel.ack(message);
        this.counts.acked += 1;
      } else {
        channel.nack(message, false, true);
        this.counts.requeued += 1;
      }
    } catch (err) {
      // Delivery tags belong to their channel; once it is gone the broker requeues the message itself.
      this.logger.debug(
        { queue: this.queue, deliveryTag: message.fields.deliveryTag, outcome, error: errorMessage(err) },
        'Could not settle a message: its channel is closed; the broker will redeliver it',
      );
    }
  }

  private onBrokerCancel(channel: Channel): void {
    if (this.channel !== channel) return;
    // Keep the channel open until its running handlers have acked; a new one carries the next subscription.
    this.channel = undefined;
    this.consumerTag = undefined;
    if (this.stopping) return;
    this.logger.warn({ queue: this.queue }, 'RabbitMQ cancelled the listen consumer (was the queue deleted?)');
    this.signalQueueMissing('cancelled');
    this.closeIfRetiredAndIdle(channel);
    this.endSubscription?.('cancelled');
  }

  private signalQueueMissing(reason: QueueMissingEvent['reason']): void {
    const attempt = this.failures + 1;
    this.logger.warn(
      { queue: this.queue, reason, attempt },
      'The listen queue is missing; the connector must re-register',
    );
    this.emit('queue-missing', { queue: this.queue, reason, attempt });
  }

  private closeIfRetiredAndIdle(channel: Channel): void {
    if (channel === this.channel || !this.openChannels.has(channel)) return;
    for (const entry of this.inFlight) if (entry.channel === channel) return;
    void closeQuietly(channel);
  }

  private async shutDown(graceMs: number): Promise<void> {
    const channel = this.channel;
    const consumerTag = this.consumerTag;
    this.consumerTag = undefined;
    if (channel && consumerTag) {
      try {
        await channel.cancel(consumerTag);
      } catch (err) {
        this.logger.debug({ queue: this.queue, error: errorMessage(err) }, 'Could not cancel the listen consumer');
      }
    }
    if (this.inFlight.size > 0) {
      this.logger.info({ queue: this.queue, inFlight: this.inFlight.size, graceMs }, 'Waiting for running messages');
      const graceOver = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.inFlight].map((entry) => entry.done)),
        sleep(graceMs, graceOver.signal),
      ]);
      graceOver.abort();
    }
    for (const entry of [...this.inFlight]) {
      this.logger.warn(
        { queue: this.queue, deliveryTag: entry.message.fields.deliveryTag, graceMs },
        'A message was still running when the grace period ended; requeueing it',
      );
      this.settle(entry, 'requeue');
    }
    this.channel = undefined;
    await Promise.all([...this.openChannels].map((ch) => closeQuietly(ch)));
    this.openChannels.clear();
    this.endSubscription?.('stopped');
    await this.loop;
    this.firstSubscription.resolve();
    this.logger.info({ queue: this.queue, ...this.counters }, 'Stopped consuming the listen queue');
  }
}

async function closeQuietly(channel: Channel): Promise<void> {
  try {
    await channel.close();
  } catch {
    // Already closed with its connection: nothing to release.
  }
}
