import { afterEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../src/errors/index.js';
import type { AmqpSession } from '../../src/queue/index.js';
import {
  BrokerRelay,
  brokerConnections,
  connectionOf,
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

function track(session: AmqpSession): AmqpSession {
  cleanups.push(() => session.close());
  return session;
}

/** Counts the session's events from now on. */
function eventCounter(session: AmqpSession): Record<'connected' | 'disconnected' | 'reconnected' | 'closed', number> {
  const counts = { connected: 0, disconnected: 0, reconnected: 0, closed: 0 };
  for (const name of Object.keys(counts) as Array<keyof typeof counts>) {
    session.on(name, () => {
      counts[name] += 1;
    });
  }
  return counts;
}

describe('AmqpSession against the real broker', () => {
  it('opens one named connection even when several channels are asked for at once', async () => {
    const name = uniqueName('session-name');
    const session = track(newSession(name));
    const events = eventCounter(session);

    const channels = await Promise.all([session.channel(), session.confirmChannel(), session.channel()]);

    expect(channels).toHaveLength(3);
    expect(session.state).toBe('connected');
    expect(events.connected).toBe(1);
    expect(await brokerConnections(name)).toHaveLength(1);
  });

  it('reconnects once after the broker force-closes the connection, and channels work again', async () => {
    const name = uniqueName('session-forced');
    const session = track(newSession(name));
    const events = eventCounter(session);
    await session.connect();
    const before = connectionOf(session);

    expect(await forceCloseConnections(name)).toBe(1);
    await waitFor(() => events.reconnected === 1, 'reconnected');

    expect(events.disconnected).toBe(1);
    expect(connectionOf(session)).not.toBe(before);
    const channel = await session.channel();
    await channel.checkExchange('amq.direct');
    // Both 'error' and 'close' may fire for one loss; only one new connection may result.
    expect(await brokerConnections(name)).toHaveLength(1);
    expect(events.reconnected).toBe(1);
  });

  it('reconnects once after the socket is reset under it', async () => {
    const name = uniqueName('session-socket');
    const session = track(newSession(name));
    const events = eventCounter(session);
    await session.connect();

    destroySocket(session);
    await waitFor(() => events.reconnected === 1, 'reconnected');

    await (await session.channel()).checkExchange('amq.direct');
    await waitFor(async () => (await brokerConnections(name)).length === 1, 'one live connection on the broker');
    expect(events.disconnected).toBe(1);
    expect(events.reconnected).toBe(1);
  });

  it('waits out a broker outage with logged backoff attempts, then reconnects; channel() waits for it', async () => {
    const relay = new BrokerRelay();
    await relay.start();
    cleanups.push(() => relay.stop());
    const logs = new LogRecorder();
    const session = track(
      newSession(uniqueName('session-outage'), {
        hostname: '127.0.0.1',
        port: relay.port,
        logger: logs,
        reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
      }),
    );
    const events = eventCounter(session);
    await session.connect();

    const port = relay.port;
    await relay.stop();
    await waitFor(() => logs.matching(/connection attempt failed; retrying/).length >= 3, 'three failed attempts');
    const waitingChannel = session.channel();
    expect(session.state).toBe('reconnecting');

    await relay.start(port);
    const channel = await waitingChannel;
    await channel.checkExchange('amq.direct');

    expect(events.reconnected).toBe(1);
    const attempts = logs.matching(/connection attempt failed; retrying/);
    // One line per attempt, numbered, each with its delay, the delays bounded by the policy.
    expect(attempts.map((r) => (r.obj as { attempt: number }).attempt).slice(0, 3)).toEqual([1, 2, 3]);
    for (const record of attempts) {
      const { delayMs } = record.obj as { delayMs: number };
      expect(delayMs).toBeGreaterThan(0);
      expect(delayMs).toBeLessThanOrEqual(100);
    }
    expect(logs.matching(/^Reconnected to RabbitMQ$/)).toHaveLength(1);
  });

  it('close() does not reconnect, rejects later channel requests and leaves no connection behind', async () => {
    const name = uniqueName('session-close');
    const session = newSession(name);
    const events = eventCounter(session);
    await session.connect();
    expect(await brokerConnections(name)).toHaveLength(1);

    await session.close();
    await session.close(); // idempotent

    expect(session.state).toBe('closed');
    expect(events).toEqual({ connected: 1, disconnected: 0, reconnected: 0, closed: 1 });
    await expect(session.channel()).rejects.toBeInstanceOf(PlatformError);
    await waitFor(async () => (await brokerConnections(name)).length === 0, 'connection gone from the broker');
    expect(events.reconnected).toBe(0);
  });

  it('close() during an outage stops the reconnect loop and fails the waiters', async () => {
    const relay = new BrokerRelay();
    await relay.start();
    cleanups.push(() => relay.stop());
    const logs = new LogRecorder();
    const session = newSession(uniqueName('session-close-outage'), {
      hostname: '127.0.0.1',
      port: relay.port,
      logger: logs,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    await session.connect();
    await relay.stop();
    await waitFor(() => logs.matching(/retrying/).length >= 1, 'a failed attempt');
    const waiter = session.channel();

    await session.close();

    // The waiter follows the reconnect loop itself: it can only reject once that loop has ended.
    await expect(waiter).rejects.toBeInstanceOf(PlatformError);
    expect(session.state).toBe('closed');
  });

  it('gives up at once on refused credentials, and never prints the password', async () => {
    const password = 'Wr0ng-Passw0rd-7f3a';
    const logs = new LogRecorder();
    const session = newSession(uniqueName('session-badpass'), { password, logger: logs });

    const error = await session.connect().then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).auth).toBe(true);
    expect((error as PlatformError).retryable).toBe(false);
    expect((error as PlatformError).message).toMatch(/refused/);
    expect(logs.matching(/retrying/)).toHaveLength(0);
    expect(JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack })).not.toContain(
      password,
    );
    expect(logs.text()).not.toContain(password);
    expect(logs.text()).toContain('guest'); // the user name is fine to show
    // A failed first connect is not cached: asking again makes a new attempt.
    expect(session.state).toBe('idle');
    await expect(session.connect()).rejects.toBeInstanceOf(PlatformError);
    expect(logs.matching(/giving up/)).toHaveLength(2);
    await session.close();
  });

  it('notices a silently dead socket through heartbeats', async () => {
    const name = uniqueName('session-heartbeat');
    const session = track(newSession(name, { heartbeatSec: 1 }));
    const events = eventCounter(session);
    await session.connect();

    // No error, no FIN seen by amqplib: only the missing heartbeats reveal it.
    (connectionOf(session).connection as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitFor(() => events.reconnected === 1, 'reconnected after the heartbeat timeout', { timeoutMs: 15_000 });

    await (await session.channel()).checkExchange('amq.direct');
    expect(events.disconnected).toBe(1);
  });

  it('stops after maxInitialAttempts against an unreachable broker, logging each attempt without the password', async () => {
    const password = 'Unreachable-S3cret-91c2';
    const relay = new BrokerRelay();
    await relay.start();
    const port = relay.port;
    await relay.stop(); // nothing listens there any more
    const logs = new LogRecorder();
    const session = newSession(uniqueName('session-unreachable'), {
      hostname: '127.0.0.1',
      port,
      password,
      logger: logs,
      maxInitialAttempts: 4,
      reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    });

    await expect(session.connect()).rejects.toThrow(/after 4 attempts/);

    expect(logs.matching(/connection attempt failed; retrying/)).toHaveLength(3);
    expect(logs.matching(/giving up/)).toHaveLength(1);
    expect(logs.text()).not.toContain(password);
    await session.close();
  });
});
