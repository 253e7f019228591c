import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { BundleError, PlatformError } from '../../src/errors/index.js';
import { type AmqpSession, BundlePublisher, type BundlePublisherOptions } from '../../src/queue/index.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { AmqpBundleSink } from '../../src/runtime/sinks.js';
import { assembleBundle, buildAuthor, buildObservable, splitBundle } from '../../src/stix/index.js';
import {
  Broker,
  brokerMaxMessageSize,
  connectionOf,
  forceCloseConnections,
  LogRecorder,
  newSession,
  setBrokerMaxMessageSize,
  uniqueName,
  waitFor,
} from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setUp(
  prefix: string,
  declare: Parameters<Broker['declare']>[1] = {},
  options: Partial<BundlePublisherOptions> = {},
): Promise<{
  broker: Broker;
  session: AmqpSession;
  publisher: BundlePublisher;
  names: { exchange: string; queue: string; routingKey: string };
  logs: LogRecorder;
  connectionName: string;
}> {
  const broker = new Broker();
  cleanups.push(() => broker.close());
  const names = await broker.declare(prefix, declare);
  const logs = new LogRecorder();
  const connectionName = uniqueName(`${prefix}-push`);
  const session = newSession(connectionName, { logger: logs });
  cleanups.push(() => session.close());
  const publisher = new BundlePublisher(session, {
    exchange: names.exchange,
    routingKey: names.routingKey,
    logger: logs,
    retry: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  cleanups.push(() => publisher.close());
  return { broker, session, publisher, names, logs, connectionName };
}

function bodies(count: number, tag: string): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`${tag}-${i}`));
}

describe('BundlePublisher against the real broker', () => {
  it('publishes 5,000 messages, resolving once all are confirmed, and they sit on the queue in order', async () => {
    const { broker, publisher, names } = await setUp('pub-bulk');
    const sent = bodies(5000, 'bulk');

    await publisher.publish(sent);

    expect(publisher.counters).toMatchObject({
      published: 5000,
      confirmed: 5000,
      nacked: 0,
      returned: 0,
      republished: 0,
    });
    expect(publisher.pending).toBe(0);
    expect(await broker.takeAll(names.queue)).toEqual(sent.map((b) => b.toString()));
  });

  it('sets the pycti message properties and a message id', async () => {
    const { broker, publisher, names } = await setUp('pub-props');
    await publisher.publish([Buffer.from('{"a":1}')]);

    const message = await broker.takeOne(names.queue);
    expect(message).not.toBe(false);
    if (message === false) return;
    expect(message.content.toString()).toBe('{"a":1}');
    expect(message.properties.deliveryMode).toBe(2);
    expect(message.properties.contentEncoding).toBe('utf-8');
    expect(message.properties.contentType).toBeUndefined();
    expect(message.properties.messageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('waits for drain when the channel buffer is full, losing and duplicating nothing', async () => {
    const { broker, publisher, names } = await setUp('pub-drain', {}, { channelHighWaterMark: 1, window: 64 });
    const sent = bodies(2000, 'drain');

    // Two concurrent calls share the channel and keep their relative order.
    await Promise.all([publisher.publish(sent.slice(0, 1000)), publisher.publish(sent.slice(1000))]);

    expect(publisher.counters.drainWaits).toBeGreaterThan(0);
    expect(publisher.counters.confirmed).toBe(2000);
    expect(await broker.takeAll(names.queue)).toEqual(sent.map((b) => b.toString()));
  });

  it('retries an unroutable message until a binding appears, and it lands on the queue once', async () => {
    const { broker, publisher, names, logs } = await setUp('pub-unroutable', { bind: false });

    const publishing = publisher.publish([Buffer.from('late-binding')]);
    await waitFor(() => publisher.counters.returned >= 2, 'the broker returning the message twice');
    await broker.bind(names.queue, names.exchange, names.routingKey);
    await publishing;

    expect(await broker.takeAll(names.queue)).toEqual(['late-binding']);
    expect(publisher.counters.published).toBe(1);
    expect(publisher.counters.confirmed).toBe(1);
    expect(publisher.counters.republished).toBe(publisher.counters.returned);
    expect(logs.matching(/did not accept some messages; retrying/).length).toBeGreaterThanOrEqual(2);
  });

  it('gives up with a PlatformError once maxRetryMs has passed', async () => {
    const { publisher } = await setUp('pub-giveup', { bind: false }, { maxRetryMs: 150 });

    const error = await publisher.publish([Buffer.from('never-routed')]).then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).message).toMatch(/unroutable/);
    expect((error as PlatformError).message).toMatch(/routing key/);
    expect(publisher.counters.confirmed).toBe(0);
    expect(publisher.pending).toBe(0);
  });

  it('treats nacks (a full queue with reject-publish) as back-pressure: retried until there is room', async () => {
    const { broker, publisher, names } = await setUp('pub-nack', {
      queueOptions: { maxLength: 3, overflow: 'reject-publish' },
    });
    const sent = bodies(12, 'nack');
    const received: string[] = [];

    const publishing = publisher.publish(sent);
    await waitFor(() => publisher.counters.nacked >= 1, 'a nack from the full queue');
    // Make room, as a worker would.
    while (received.length < sent.length) {
      received.push(...(await broker.takeAll(names.queue)));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await publishing;

    // Nacked messages were not enqueued, so nothing is duplicated, and the order survives the retries.
    expect(received).toEqual(sent.map((b) => b.toString()));
    expect(publisher.counters.confirmed).toBe(12);
    expect(publisher.counters.republished).toBe(publisher.counters.nacked);
  });

  it('republishes what was unconfirmed when the connection is closed mid-publish, and resolves', async () => {
    const { broker, session, publisher, names } = await setUp('pub-conn-close', {}, { window: 100 });
    const sent = bodies(5000, 'reconn');
    let reconnected = 0;
    session.on('reconnected', () => {
      reconnected += 1;
    });
    // The connection is closed as the publisher reads a body, from body 1,000 on, while some it sent are not
    // confirmed yet: a state of the publisher, not a moment a poll may miss on a loaded machine.
    let confirmedAtClose: number | undefined;
    function* closingMidway(): Generator<Buffer> {
      for (const body of sent) {
        const { published, confirmed } = publisher.counters;
        if (confirmedAtClose === undefined && published >= 1000 && published > confirmed) {
          confirmedAtClose = confirmed;
          void connectionOf(session).close();
        }
        yield body;
      }
    }

    await publisher.publish(closingMidway());

    expect(confirmedAtClose, 'closed with bodies in flight, before the end').toBeLessThan(sent.length);
    expect(publisher.counters.republished).toBeGreaterThan(0);
    expect(reconnected).toBe(1);
    const onQueue = await broker.takeAll(names.queue);
    // At least once: every message is there; duplicates are allowed (and only from the republished ones).
    expect(new Set(onQueue)).toEqual(new Set(sent.map((b) => b.toString())));
    expect(onQueue.length - sent.length).toBeLessThanOrEqual(publisher.counters.republished);
  });

  it('survives the broker force-closing its connection mid-publish', async () => {
    const { broker, session, publisher, names, connectionName } = await setUp('pub-forced', {}, { window: 1 });
    const sent = bodies(2000, 'forced');
    let confirmedAtLoss: number | undefined;
    let lost: () => void = () => undefined;
    const disconnected = new Promise<void>((resolve) => {
      lost = resolve;
    });
    session.on('disconnected', () => {
      confirmedAtLoss = publisher.counters.confirmed;
      lost();
    });
    // The broker's close (rabbitmqctl takes seconds on a loaded machine) is asked for at body 1,000, and the
    // source holds body 1,010 back until it has landed: the publish is midway, not over, when it does.
    let forcedClose: Promise<number> | undefined;
    async function* forcedMidway(): AsyncGenerator<Buffer> {
      for (const [i, body] of sent.entries()) {
        if (i === 1000) forcedClose = forceCloseConnections(connectionName);
        if (i === 1010) await disconnected;
        yield body;
      }
    }

    await publisher.publish(forcedMidway());

    expect(await forcedClose).toBe(1);
    expect(confirmedAtLoss).toBeGreaterThanOrEqual(1000);
    expect(confirmedAtLoss).toBeLessThan(sent.length);
    const onQueue = await broker.takeAll(names.queue);
    expect(new Set(onQueue)).toEqual(new Set(sent.map((b) => b.toString())));
  });

  it('rejects an oversized body up front with a BundleError naming its size, sending nothing', async () => {
    const { broker, publisher, names } = await setUp('pub-oversize', {}, { maxMessageBytes: 1024 });

    const error = await publisher.publish([Buffer.alloc(10), Buffer.alloc(1025)]).then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).message).toContain('1025 bytes');
    expect(publisher.counters.published).toBe(0);
    expect(await broker.ready(names.queue)).toBe(0);
  });

  it('learns a lower broker max_message_size from the channel it closed: that bundle fails, the others pass', async () => {
    const { broker, publisher, names } = await setUp('pub-broker-max');
    // The broker reads the limit when a channel opens: lower it only while the publisher opens its channel,
    // so other suites sharing the broker never see it.
    const original = await brokerMaxMessageSize();
    await setBrokerMaxMessageSize(1024 * 1024);
    try {
      await publisher.publish([Buffer.from('warm-up')]);
    } finally {
      await setBrokerMaxMessageSize(original);
    }
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);

    const error = await publisher.publish([Buffer.from('small-1'), big, Buffer.from('small-2')]).then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).message).toContain(`${big.length} bytes`);
    expect((error as BundleError).message).toContain('max_message_size of 1048576');
    // A new channel carries on, and the learnt limit now refuses such a body before sending it.
    await publisher.publish([Buffer.from('after')]);
    await expect(publisher.publish([big])).rejects.toThrow(/over the 1048576-byte limit/);
    const onQueue = await broker.takeAll(names.queue);
    expect(onQueue).toContain('warm-up');
    expect(onQueue).toContain('after');
    expect(onQueue.some((body) => body.length === big.length)).toBe(false);
  });

  it('close() rejects what is still pending and later publishes', async () => {
    const { publisher } = await setUp('pub-close', { bind: false });
    const pending = publisher.publish([Buffer.from('stuck')]);
    await waitFor(() => publisher.counters.returned >= 1, 'a return');

    await publisher.close();

    await expect(pending).rejects.toBeInstanceOf(PlatformError);
    await expect(publisher.publish([Buffer.from('after')])).rejects.toBeInstanceOf(PlatformError);
  });

  describe('reading a lazy source', () => {
    /**
     * `count` bodies built one at a time as the publisher reads them; records, at each read, how many
     * bodies the publisher has read and not seen confirmed (this one included), and whether it was closed.
     */
    function source(publisher: BundlePublisher, count: number, tag: string) {
      const seen = { read: 0, maxUnconfirmed: 0, finished: false };
      function* bodies(): Generator<Buffer> {
        try {
          for (let i = 0; i < count; i++) {
            seen.read += 1;
            seen.maxUnconfirmed = Math.max(seen.maxUnconfirmed, seen.read - publisher.counters.confirmed);
            yield Buffer.from(`${tag}-${i}`);
          }
        } finally {
          seen.finished = true;
        }
      }
      return { seen, bodies: bodies() };
    }

    it('never holds more than `window` unconfirmed bodies, fills the window, and keeps the order', async () => {
      const window = 50;
      const { broker, publisher, names } = await setUp('pub-lazy', {}, { window });
      const { seen, bodies } = source(publisher, 3000, 'lazy');

      await publisher.publish(bodies);

      expect(seen.read).toBe(3000);
      // Bounded by the window, and pipelined up to it (not one at a time).
      expect(seen.maxUnconfirmed).toBe(window);
      expect(publisher.counters).toMatchObject({ published: 3000, confirmed: 3000, republished: 0 });
      expect(publisher.pending).toBe(0);
      expect(await broker.takeAll(names.queue)).toEqual(Array.from({ length: 3000 }, (_, i) => `lazy-${i}`));
    });

    it('reads no further once the unconfirmed bodies add up to `windowBytes`, and still fills that', async () => {
      // 1 KiB bodies, a window of 8 KiB: at most 8 held plus the one read last, whatever the count window.
      const { broker, publisher, names } = await setUp('pub-bytes', {}, { window: 10_000, windowBytes: 8 * 1024 });
      let read = 0;
      let maxUnconfirmed = 0;
      function* large(): Generator<Buffer> {
        for (let i = 0; i < 600; i++) {
          read += 1;
          maxUnconfirmed = Math.max(maxUnconfirmed, read - publisher.counters.confirmed);
          yield Buffer.from(`big-${String(i).padStart(4, '0')}-`.padEnd(1024, 'x'));
        }
      }

      await publisher.publish(large());

      expect(maxUnconfirmed).toBeLessThanOrEqual(9);
      expect(maxUnconfirmed).toBeGreaterThanOrEqual(8);
      const delivered = await broker.takeAll(names.queue);
      expect(delivered).toHaveLength(600);
      expect(delivered.map((body) => body.slice(4, 8))).toEqual(
        Array.from({ length: 600 }, (_, i) => String(i).padStart(4, '0')),
      );
    });

    it('lets one body larger than `windowBytes` through, then the next', async () => {
      const { broker, publisher, names } = await setUp('pub-bytes-one', {}, { windowBytes: 16 });
      await publisher.publish([Buffer.alloc(64, 'a'), Buffer.alloc(64, 'b')]);
      expect((await broker.takeAll(names.queue)).map((body) => body[0])).toEqual(['a', 'b']);
    });

    it('keeps no body once it is confirmed: an idle publisher holds none of what it sent', async () => {
      setFlagsFromString('--expose-gc');
      const collectGarbage = runInNewContext('gc') as () => void;
      const { broker, publisher, names } = await setUp('pub-forget', {});
      // Bodies the caller drops once published; 30 pushes of 3 messages each, as 30 small enrichments make.
      const sent: Array<WeakRef<Buffer>> = [];
      const publishFresh = (push: number): Promise<void> => {
        const bodies = [0, 1, 2].map((i) => Buffer.alloc(64 * 1024, push * 3 + i));
        for (const body of bodies) sent.push(new WeakRef(body));
        return publisher.publish(bodies);
      };
      for (let push = 0; push < 30; push++) await publishFresh(push);
      expect(await broker.takeAll(names.queue)).toHaveLength(90);
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      expect(sent.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    });

    it('reads an async iterable the same way', async () => {
      const { broker, publisher, names } = await setUp('pub-async', {}, { window: 8 });
      let maxUnconfirmed = 0;
      async function* bodies(): AsyncGenerator<Buffer> {
        for (let i = 0; i < 200; i++) {
          if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
          maxUnconfirmed = Math.max(maxUnconfirmed, i + 1 - publisher.counters.confirmed);
          yield Buffer.from(`async-${i}`);
        }
      }

      await publisher.publish(bodies());

      expect(maxUnconfirmed).toBeLessThanOrEqual(8);
      expect(await broker.takeAll(names.queue)).toEqual(Array.from({ length: 200 }, (_, i) => `async-${i}`));
    });

    it('keeps the order of concurrent calls: an array published after a lazy source goes after all of it', async () => {
      const { broker, publisher, names } = await setUp('pub-lazy-order', {}, { window: 16 });
      const { bodies } = source(publisher, 500, 'first');

      await Promise.all([publisher.publish(bodies), publisher.publish([Buffer.from('second')])]);

      const onQueue = await broker.takeAll(names.queue);
      expect(onQueue).toEqual([...Array.from({ length: 500 }, (_, i) => `first-${i}`), 'second']);
    });

    it('rejects with the error a source throws, after sending what came before, and carries on', async () => {
      const { broker, publisher, names } = await setUp('pub-lazy-throw', {}, { window: 4 });
      function* bodies(): Generator<Buffer> {
        for (let i = 0; i < 10; i++) yield Buffer.from(`ok-${i}`);
        throw new Error('chunk 11 cannot be serialised');
      }

      await expect(publisher.publish(bodies())).rejects.toThrow('chunk 11 cannot be serialised');
      await publisher.publish([Buffer.from('next')]);

      expect(await broker.takeAll(names.queue)).toEqual([...Array.from({ length: 10 }, (_, i) => `ok-${i}`), 'next']);
    });

    it('rejects an oversized body when it reads it, with a BundleError, and stops reading the source', async () => {
      const { broker, publisher, names } = await setUp('pub-lazy-oversize', {}, { maxMessageBytes: 1024, window: 4 });
      let finished = false;
      let read = 0;
      function* bodies(): Generator<Buffer> {
        try {
          for (let i = 0; i < 100; i++) {
            read += 1;
            yield i === 6 ? Buffer.alloc(2000) : Buffer.from(`small-${i}`);
          }
        } finally {
          finished = true;
        }
      }

      const error = await publisher.publish(bodies()).then(
        () => undefined,
        (err: unknown) => err,
      );

      expect(error).toBeInstanceOf(BundleError);
      expect((error as BundleError).problems.join()).toContain('message 7 is 2000 bytes, over the 1024-byte limit');
      expect(read).toBe(7);
      expect(finished).toBe(true);
      expect(await broker.takeAll(names.queue)).toEqual(Array.from({ length: 6 }, (_, i) => `small-${i}`));
    });

    it('close() stops reading a source and rejects its call', async () => {
      const { publisher } = await setUp('pub-lazy-close', { bind: false }, { window: 2 });
      const { seen, bodies } = source(publisher, 1000, 'closed');
      const publishing = publisher.publish(bodies);
      await waitFor(() => publisher.counters.returned >= 1, 'a return');

      await publisher.close();

      await expect(publishing).rejects.toBeInstanceOf(PlatformError);
      expect(seen.finished).toBe(true);
      expect(seen.read).toBeLessThanOrEqual(2);
    });

    it('carries a split bundle from AmqpBundleSink: every chunk in order, numbered, never more than `window` built ahead', async () => {
      const window = 32;
      const { broker, publisher, names } = await setUp('pub-sink', {}, { window });
      const author = buildAuthor('Sink Broker Org');
      const bundle = assembleBundle({
        author,
        objects: Array.from({ length: 1500 }, (_, i) =>
          buildObservable('ipv4-addr', { value: `10.1.${i >> 8}.${i & 255}` }, { author }),
        ),
      });
      let read = 0;
      let maxUnconfirmed = 0;
      const counting = {
        publish(bodies: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
          expect(Array.isArray(bodies)).toBe(false);
          const iterator = (bodies as Iterable<Buffer>)[Symbol.iterator]();
          return publisher.publish({
            [Symbol.iterator]: () => ({
              next: () => {
                const step = iterator.next();
                if (!step.done) {
                  read += 1;
                  maxUnconfirmed = Math.max(maxUnconfirmed, read - publisher.counters.confirmed);
                }
                return step;
              },
            }),
          });
        },
      };
      const expectations: number[] = [];
      const sink = new AmqpBundleSink(
        { workAddExpectations: async (_work, n) => void expectations.push(n) },
        counting,
        new Metrics(),
      );

      const result = await sink.send(bundle, { workId: 'work-1', applicantId: 'user-1', draftId: null, update: false });

      const chunks = splitBundle(bundle).chunks;
      expect(result.objects).toBe(chunks.length);
      expect(expectations).toEqual([chunks.length]);
      expect(maxUnconfirmed).toBeLessThanOrEqual(window);
      const onQueue = (await broker.takeAll(names.queue)).map(
        (body) => JSON.parse(body) as { action_sequence: number; content: string; work_id: string },
      );
      expect(onQueue.map((m) => m.action_sequence)).toEqual(chunks.map((_, i) => i + 1));
      expect(onQueue.map((m) => JSON.parse(Buffer.from(m.content, 'base64').toString('utf8')))).toEqual(
        JSON.parse(JSON.stringify(chunks)),
      );
      expect(onQueue.every((m) => m.work_id === 'work-1')).toBe(true);
    });
  });
});
