/**
 * Publisher behaviour that a real broker cannot be made to show on demand (a connection that stops
 * confirming, an endless stream of nacks), driven with a scripted channel and fake timers.
 */
import { EventEmitter } from 'node:events';
import type { ConfirmChannel } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BundleError, PlatformError } from '../errors/index.js';
import type { AmqpSession } from './connection.js';
import { BundlePublisher } from './publisher.js';

type Confirm = (err: unknown) => void;

/** A confirm channel whose broker answers as the test says. */
class ScriptedChannel extends EventEmitter {
  readonly sent: Array<{ body: string; messageId: string; confirm: Confirm }> = [];
  constructor(private readonly answer: 'ack' | 'nack' | 'silence') {
    super();
  }
  publish(_exchange: string, _routingKey: string, body: Buffer, options: { messageId: string }, confirm: Confirm) {
    this.sent.push({ body: body.toString(), messageId: options.messageId, confirm });
    if (this.answer !== 'silence') {
      queueMicrotask(() => confirm(this.answer === 'ack' ? null : new Error('message nacked')));
    }
    return true;
  }
  async close(): Promise<void> {
    this.emit('close');
  }
}

function fakeSession(channel: ScriptedChannel): { session: AmqpSession; opened: () => number } {
  let opened = 0;
  const session = {
    state: 'connected',
    confirmChannel: async () => {
      opened += 1;
      return channel as unknown as ConfirmChannel;
    },
  } as unknown as AmqpSession;
  return { session, opened: () => opened };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('BundlePublisher (scripted broker)', () => {
  it('refuses an oversized or non-Buffer body before opening any channel', async () => {
    const { session, opened } = fakeSession(new ScriptedChannel('ack'));
    const publisher = new BundlePublisher(session, { exchange: 'x', routingKey: 'r', maxMessageBytes: 8 });

    await expect(publisher.publish([Buffer.from('12345678'), Buffer.from('123456789')])).rejects.toThrow(
      /message 2 of 2 is 9 bytes, over the 8-byte limit/,
    );
    await expect(publisher.publish(['text' as unknown as Buffer])).rejects.toBeInstanceOf(BundleError);
    expect(opened()).toBe(0);
    expect(publisher.counters.published).toBe(0);
  });

  it('resolves an empty publish at once', async () => {
    const { session, opened } = fakeSession(new ScriptedChannel('ack'));
    await new BundlePublisher(session, { exchange: 'x', routingKey: 'r' }).publish([]);
    expect(opened()).toBe(0);
  });

  it('keeps at most `window` messages unconfirmed', async () => {
    const channel = new ScriptedChannel('silence');
    const { session } = fakeSession(channel);
    const publisher = new BundlePublisher(session, { exchange: 'x', routingKey: 'r', window: 3 });

    const publishing = publisher.publish(['a', 'b', 'c', 'd', 'e'].map((s) => Buffer.from(s)));
    await vi.advanceTimersByTimeAsync(0);
    expect(channel.sent.map((m) => m.body)).toEqual(['a', 'b', 'c']);

    channel.sent[1]?.confirm(null);
    await vi.advanceTimersByTimeAsync(0);
    expect(channel.sent.map((m) => m.body)).toEqual(['a', 'b', 'c', 'd']);

    for (const m of [...channel.sent]) m.confirm(null);
    await vi.advanceTimersByTimeAsync(0);
    channel.sent[4]?.confirm(null);
    await publishing;
    expect(publisher.counters).toMatchObject({ published: 5, confirmed: 5 });
  });

  it('retries nacked messages with growing delays and gives up after maxRetryMs with a PlatformError', async () => {
    const channel = new ScriptedChannel('nack');
    const { session } = fakeSession(channel);
    const publisher = new BundlePublisher(session, {
      exchange: 'x',
      routingKey: 'r',
      maxRetryMs: 60_000,
      retry: { initialDelayMs: 1000, maxDelayMs: 30_000 },
    });

    const outcome = publisher.publish([Buffer.from('refused')]).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(channel.sent).toHaveLength(1);
    // The first retry waits between 0.8 s and 1 s.
    await vi.advanceTimersByTimeAsync(799);
    expect(channel.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(201);
    expect(channel.sent).toHaveLength(2);

    await vi.advanceTimersByTimeAsync(60_000);
    const error = await outcome;
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).message).toMatch(/nacked by the broker/);
    expect((error as PlatformError).retryable).toBe(true);
    const attempts = channel.sent.length;
    // 1 s, 2 s, 4 s, 8 s, 16 s, then capped by the deadline: a handful of attempts, not a tight loop.
    expect(attempts).toBeGreaterThanOrEqual(6);
    expect(attempts).toBeLessThanOrEqual(8);
    expect(publisher.counters.nacked).toBe(attempts);
    expect(publisher.counters.republished).toBe(attempts - 1);

    await vi.advanceTimersByTimeAsync(120_000);
    expect(channel.sent).toHaveLength(attempts);
  });

  it('gives up when the broker confirms nothing for maxRetryMs (a blocked connection), then uses a fresh channel', async () => {
    const channel = new ScriptedChannel('silence');
    const { session, opened } = fakeSession(channel);
    const publisher = new BundlePublisher(session, { exchange: 'x', routingKey: 'r', maxRetryMs: 30_000 });

    const outcome = publisher.publish([Buffer.from('stuck')]).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await vi.advanceTimersByTimeAsync(29_999);
    expect(await Promise.race([outcome, Promise.resolve('pending')])).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).message).toMatch(/confirmed none of 1/);
    expect(publisher.pending).toBe(0);

    // A late confirm of the abandoned message changes nothing.
    channel.sent[0]?.confirm(null);
    expect(publisher.counters.confirmed).toBe(0);
    const next = publisher.publish([Buffer.from('next')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(opened()).toBe(2);
    channel.sent[1]?.confirm(null);
    await next;
    expect(publisher.counters.confirmed).toBe(1);
  });
});
