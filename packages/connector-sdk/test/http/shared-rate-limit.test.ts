/**
 * Rate limits shared through the local Redis (127.0.0.1:6379, or REDIS_URL): several limiters with the
 * same id behave as one budget, as replicas of a connector do.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/http/rate-limit.js';
import { closeSharedRateLimits, createSharedRateLimiter } from '../../src/http/shared-rate-limit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

afterAll(async () => {
  await closeSharedRateLimits();
});

describe('rate limits shared through Redis', () => {
  it('three replicas at 1 request/s send at most one request per second together', async () => {
    const id = `test-${randomUUID()}`;
    const replicas = [0, 1, 2].map((i) =>
      createSharedRateLimiter({ perSecond: 1, id, redisUrl: REDIS_URL }, `replica-${i}`),
    );
    const sends: number[] = [];
    // Every replica asks for slots as fast as it can for 3.5 s; waiting ones are cut off at the end.
    const stop = AbortSignal.timeout(3_500);
    await Promise.all(
      replicas.map(async (limiter) => {
        while (!stop.aborted) {
          await limiter.schedule(async () => sends.push(Date.now()), stop).catch(() => undefined);
        }
      }),
    );
    // With a 1 s window shared by all: t=0, 1, 2, 3 — four sends, never two within the same second.
    expect(sends.length).toBeGreaterThanOrEqual(3);
    expect(sends.length).toBeLessThanOrEqual(4);
    const sorted = [...sends].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++)
      expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(950);
    await Promise.all(replicas.map((r) => r.stop()));
  }, 20_000);

  it('without Redis each process keeps its own budget (the replicas add up)', async () => {
    const replicas = [0, 1, 2].map(() => createRateLimiter({ perSecond: 1 }, 'local'));
    let sends = 0;
    await Promise.all(replicas.map((r) => r.schedule(async () => sends++)));
    expect(sends).toBe(3);
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('falls back to the local limiter when Redis is unreachable, and still sends', async () => {
    const warnings: string[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_o: unknown, m: string) => void warnings.push(m),
    };
    const limiter = createSharedRateLimiter(
      { perSecond: 5, id: `down-${randomUUID()}`, redisUrl: 'redis://127.0.0.1:1' },
      'vendor',
      logger,
    );
    expect(await limiter.schedule(async () => 'sent')).toBe('sent');
    expect(warnings.join()).toMatch(/falls back to this process's own limit/);
    await limiter.stop();
  });
});
