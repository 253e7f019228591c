import { afterEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../src/errors/index.js';
import {
  type AmqpSession,
  type Delivery,
  type DeliveryOutcome,
  ListenConsumer,
  type ListenConsumerOptions,
  type QueueMissingEvent,
} from '../../src/queue/index.js';
import {
  Broker,
  destroySocket,
  forceCloseConnections,
  LogRecorder,
  newSession,
  uniqueName,
  waitFor,
} from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A handler the test drives: each delivery waits until the test releases it with an outcome or an error. */
class ControlledHandler {
  readonly deliveries: Delivery[] = [];
  private readonly releases: Array<(outcome: DeliveryOutcome | Error) => void> = [];
  running = 0;

  readonly onMessage = (delivery: Delivery): Promise<DeliveryOutcome> => {
    this.deliveries.push(delivery);
    this.running += 1;
    return new Promise<DeliveryOutcome>((resolve, reject) => {
      this.releases.push((outcome) => {
        this.running -= 1;
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      });
    });
  };

  /** Settles the handler of delivery number `index` (0-based, in arrival order). */
  release(index: number, outcome: DeliveryOutcome | Error = 'ack'): void {
    const release = this.releases[index];
    if (!release) throw new Error(`no delivery #${index} yet`);
    release(outcome);
  }

  bodies(): string[] {
    return this.deliveries.map((d) => d.body.toString());
  }
}

async function setUp(
  prefix: string,
  options: Partial<ListenConsumerOptions> & Pick<ListenConsumerOptions, 'onMessage'>,
  sessionOverrides: Parameters<typeof newSession>[1] = {},
): Promise<{
  broker: Broker;
  session: AmqpSession;
  consumer: ListenConsumer;
  queue: string;
  logs: LogRecorder;
  connectionName: string;
}> {
  const broker = new Broker();
  cleanups.push(() => broker.close());
  const queue = uniqueName(`${prefix}-listen`);
  await broker.declareQueue(queue);
  const logs = new LogRecorder();
  const connectionName = uniqueName(`${prefix}-listen`);
  const session = newSession(connectionName, { logger: logs, ...sessionOverrides });
  cleanups.push(() => session.close());
  const consumer = new ListenConsumer(session, {
    queue,
    logger: logs,
    retry: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  cleanups.push(() => consumer.stop({ graceMs: 0 }));
  return { broker, session, consumer, queue, logs, connectionName };
}

describe('ListenConsumer against the real broker', () => {
  it('with prefetch 1, does not get the second message before the first is acked', async () => {
    const handler = new ControlledHandler();
    const { broker, consumer, queue } = await setUp('cons-prefetch1', { onMessage: handler.onMessage });
    await broker.send(queue, 'first');
    await broker.send(queue, 'second');

    await consumer.start();
    await waitFor(() => handler.deliveries.length === 1, 'the first delivery');

    // The broker still holds the second one: it was never sent to us.
    expect(await broker.ready(queue)).toBe(1);
    expect(consumer.counters).toEqual({ delivered: 1, acked: 0, requeued: 0, inFlight: 1 });

    handler.release(0, 'ack');
    await waitFor(() => handler.deliveries.length === 2, 'the second delivery');
    expect(handler.bodies()).toEqual(['first', 'second']);
    expect(handler.deliveries[1]?.redelivered).toBe(false);
    expect(handler.deliveries[1]?.messageId).toBe('second');
    handler.release(1, 'ack');
    await waitFor(() => consumer.counters.acked === 2, 'two acks');
    await consumer.stop();
    expect(await broker.ready(queue)).toBe(0);
  });

  it('runs up to prefetch handlers at once', async () => {
    const handler = new ControlledHandler();
    const { broker, consumer, queue } = await setUp('cons-prefetch3', { onMessage: handler.onMessage, prefetch: 3 });
    for (const body of ['m1', 'm2', 'm3', 'm4', 'm5']) await broker.send(queue, body);

    await consumer.start();
    await waitFor(() => handler.running === 3, 'three handlers running');

    expect(await broker.ready(queue)).toBe(2);
    handler.release(1, 'ack');
    await waitFor(() => handler.deliveries.length === 4, 'a fourth delivery once one slot is free');
    expect(handler.running).toBe(3);
    for (const i of [0, 2, 3]) handler.release(i, 'ack');
    await waitFor(() => handler.deliveries.length === 5, 'the fifth delivery');
    handler.release(4, 'ack');
    await waitFor(() => consumer.counters.acked === 5, 'five acks');
    expect(consumer.counters).toEqual({ delivered: 5, acked: 5, requeued: 0, inFlight: 0 });
  });

  it('acks only after the handler: a connection lost mid-handler brings the message back, redelivered', async () => {
    const handler = new ControlledHandler();
    const { broker, session, consumer, queue, logs } = await setUp('cons-redeliver', { onMessage: handler.onMessage });
    const consuming: string[] = [];
    consumer.on('consuming', ({ consumerTag }) => consuming.push(consumerTag));
    await broker.send(queue, 'job');
    await consumer.start();
    await waitFor(() => handler.deliveries.length === 1, 'the delivery');

    destroySocket(session);
    await waitFor(() => handler.deliveries.length === 2, 'the redelivery to the re-created consumer');

    expect(handler.deliveries[1]?.body.toString()).toBe('job');
    expect(handler.deliveries[1]?.redelivered).toBe(true);
    expect(consuming).toHaveLength(2);
    expect(consumer.isConsuming()).toBe(true);
    // The first handler finishing late cannot ack on its dead channel; that is logged and ignored.
    handler.release(0, 'ack');
    await waitFor(() => logs.matching(/Could not settle a message/).length === 1, 'the failed late ack logged');
    expect(logs.matching(/Could not settle a message/)[0]?.level).toBe('debug');
    handler.release(1, 'ack');
    await waitFor(() => consumer.counters.acked === 1, 'the ack of the redelivery');
    await consumer.stop();
    expect(await broker.ready(queue)).toBe(0);
  });

  it('re-consumes after the broker force-closes its connection', async () => {
    const received: string[] = [];
    const { broker, consumer, queue, connectionName } = await setUp('cons-forced', {
      onMessage: async (d) => {
        received.push(d.body.toString());
        return 'ack';
      },
    });
    await consumer.start();
    await broker.send(queue, 'before');
    await waitFor(() => received.length === 1, 'the first message');

    await forceCloseConnections(connectionName);
    await waitFor(async () => consumer.isConsuming() && (await broker.consumers(queue)) === 1, 'consuming again');
    await broker.send(queue, 'after');

    await waitFor(() => received.length === 2, 'the message sent after the recovery');
    expect(received).toEqual(['before', 'after']);
  });

  it('requeues once when the handler throws, then acks the redelivered message that throws again', async () => {
    const seen: Delivery[] = [];
    const { broker, consumer, queue, logs } = await setUp('cons-poison', {
      onMessage: async (d) => {
        seen.push(d);
        throw new Error('handler bug');
      },
    });
    await broker.send(queue, 'poison');

    await consumer.start();
    await waitFor(() => consumer.counters.acked === 1, 'the poison message acked');

    expect(seen.map((d) => d.redelivered)).toEqual([false, true]);
    expect(consumer.counters).toEqual({ delivered: 2, acked: 1, requeued: 1, inFlight: 0 });
    expect(logs.matching(/Listen handler failed/).map((r) => r.level)).toEqual(['error', 'error']);
    await consumer.stop();
    expect(await broker.ready(queue)).toBe(0);
    expect(seen).toHaveLength(2);
  });

  it("requeues when the handler answers 'requeue'", async () => {
    const seen: Delivery[] = [];
    const { broker, consumer, queue } = await setUp('cons-requeue', {
      onMessage: async (d) => {
        seen.push(d);
        return d.redelivered ? 'ack' : 'requeue';
      },
    });
    await broker.send(queue, 'again');
    await consumer.start();
    await waitFor(() => consumer.counters.acked === 1, 'the second attempt acked');
    expect(seen.map((d) => d.redelivered)).toEqual([false, true]);
    expect(consumer.counters.requeued).toBe(1);
  });

  it('stop() cancels the subscription, waits for the running handler, acks it, then resolves', async () => {
    const handler = new ControlledHandler();
    const { broker, consumer, queue } = await setUp('cons-stop-wait', { onMessage: handler.onMessage });
    await broker.send(queue, 'long job');
    await broker.send(queue, 'next job');
    await consumer.start();
    await waitFor(() => handler.deliveries.length === 1, 'the delivery');

    let stopped = false;
    const stopping = consumer.stop({ graceMs: 60_000 }).then(() => {
      stopped = true;
    });
    await waitFor(async () => (await broker.consumers(queue)) === 0, 'the consumer cancelled on the broker');
    expect(consumer.isConsuming()).toBe(false);
    expect(stopped).toBe(false);

    handler.release(0, 'ack');
    await stopping;

    expect(consumer.counters).toEqual({ delivered: 1, acked: 1, requeued: 0, inFlight: 0 });
    // The second message was never taken: it waits for the next consumer.
    expect(await broker.ready(queue)).toBe(1);
    expect(await broker.takeAll(queue)).toEqual(['next job']);
    await consumer.stop(); // idempotent
  });

  it('stop() past the grace period requeues the unfinished message and ignores its late outcome', async () => {
    const handler = new ControlledHandler();
    const { broker, consumer, queue, logs } = await setUp('cons-stop-grace', { onMessage: handler.onMessage });
    await broker.send(queue, 'slow job');
    await consumer.start();
    await waitFor(() => handler.deliveries.length === 1, 'the delivery');

    await consumer.stop({ graceMs: 10 });

    expect(consumer.counters).toEqual({ delivered: 1, acked: 0, requeued: 1, inFlight: 0 });
    expect(logs.matching(/grace period ended; requeueing/)).toHaveLength(1);
    expect(await broker.takeAll(queue)).toEqual(['slow job']);
    handler.release(0, 'ack');
    await new Promise((resolve) => setImmediate(resolve));
    expect(consumer.counters.acked).toBe(0);
  });

  it('a missing queue is reported, retried with backoff, and consumed once it exists', async () => {
    const received: string[] = [];
    const { broker, consumer, queue, logs } = await setUp('cons-missing', {
      onMessage: async (d) => {
        received.push(d.body.toString());
        return 'ack';
      },
    });
    await broker.deleteQueue(queue);
    const missing: QueueMissingEvent[] = [];
    consumer.on('queue-missing', (event) => missing.push(event));

    const started = consumer.start();
    await waitFor(() => missing.length >= 3, 'three queue-missing events');
    expect(missing.slice(0, 3).map((e) => [e.reason, e.attempt])).toEqual([
      ['not-found', 1],
      ['not-found', 2],
      ['not-found', 3],
    ]);
    // Paced by backoff, not a tight loop: each retry logged with a growing delay.
    const delays = logs
      .matching(/subscribing again after a delay/)
      .map((r) => (r.obj as { delayMs: number }).delayMs)
      .slice(0, 3);
    expect(delays).toHaveLength(3);
    expect(delays[2]).toBeGreaterThan(delays[0] ?? 0);

    // What the runtime does on the event: re-register, and the platform re-creates the queue.
    await broker.declareQueue(queue);
    await started;
    await broker.send(queue, 'hello');
    await waitFor(() => received.length === 1, 'the message');
    expect(received).toEqual(['hello']);
  });

  it('the queue deleted under a running consumer: reported as cancelled, consumed again once re-created', async () => {
    const received: string[] = [];
    const { broker, consumer, queue } = await setUp('cons-deleted', {
      onMessage: async (d) => {
        received.push(d.body.toString());
        return 'ack';
      },
    });
    const missing: QueueMissingEvent[] = [];
    consumer.on('queue-missing', (event) => missing.push(event));
    await consumer.start();

    await broker.deleteQueue(queue);
    await waitFor(() => missing.length >= 1, 'a queue-missing event');
    expect(missing[0]?.reason).toBe('cancelled');

    await broker.declareQueue(queue);
    await waitFor(async () => consumer.isConsuming() && (await broker.consumers(queue)) === 1, 'consuming again');
    await broker.send(queue, 'back');
    await waitFor(() => received.length === 1, 'the message on the re-created queue');
  });

  it('start() rejects when the session is closed before it could consume', async () => {
    const { session, consumer } = await setUp('cons-closed', { onMessage: async () => 'ack' });
    await session.close();
    await expect(consumer.start()).rejects.toBeInstanceOf(PlatformError);
  });
});
