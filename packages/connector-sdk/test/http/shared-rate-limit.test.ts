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
    // Every replica asks for two slots at once; all six are granted, one per second.
    await Promise.all(
      replicas.flatMap((limiter) => [0, 1].map(() => limiter.schedule(async () => sends.push(Date.now())))),
    );
    expect(sends).toHaveLength(6);
    // Slots are reserved in Redis one second apart; a job may start late (a busy event loop: LATE_MS), never
    // early, so k + 1 consecutive sends span at least k s - LATE_MS. Budgets of their own would let the
    // three replicas send three at a time.
    const LATE_MS = 800;
    const sorted = [...sends].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i++)
      for (let j = i + 1; j < sorted.length; j++)
        expect((sorted[j] as number) - (sorted[i] as number), `sends ${i} to ${j}`).toBeGreaterThanOrEqual(
          (j - i) * 1_000 - LATE_MS,
        );
    await Promise.all(replicas.map((r) => r.stop()));
  }, 30_000);

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
