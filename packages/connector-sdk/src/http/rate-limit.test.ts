import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { budgetWindows, createRateLimiter, type RateLimiter, RateLimitWaitError } from './rate-limit.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-24T10:00:00Z');

const limiters: RateLimiter[] = [];

function limiter(...args: Parameters<typeof createRateLimiter>): RateLimiter {
  const created = createRateLimiter(...args);
  limiters.push(created);
  return created;
}

/** Schedules `n` sends at once; each records the (fake) time it left at. */
function burst(rl: RateLimiter, n: number, signal?: AbortSignal) {
  const sentAt: number[] = [];
  const results = Array.from({ length: n }, (_, i) =>
    rl.schedule(async () => {
      sentAt.push(Date.now());
      return i;
    }, signal),
  );
  return { sentAt, results };
}

/** The largest number of sends inside any window [t, t + length). */
function maxInAnyWindow(times: readonly number[], length: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i] ?? 0;
    const inside = sorted.filter((t) => t >= start && t < start + length).length;
    max = Math.max(max, inside);
  }
  return max;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 });
});

afterEach(async () => {
  await Promise.all(limiters.splice(0).map((l) => l.stop()));
  vi.useRealTimers();
});

describe('budgetWindows', () => {
  it('orders windows longest first and rejects nonsense', () => {
    expect(budgetWindows({ perMinute: 60, perDay: 5000, perHour: 500 })).toEqual([
      { count: 5000, intervalMs: DAY },
      { count: 500, intervalMs: HOUR },
      { count: 60, intervalMs: MINUTE },
    ]);
    expect(budgetWindows({ perSecond: 5 })).toEqual([{ count: 5, intervalMs: SECOND }]);
    expect(budgetWindows({ perSecond: 0.5 })).toEqual([{ count: 1, intervalMs: 2 * SECOND }]);
    expect(() => budgetWindows({ perDay: 0 })).toThrow(RangeError);
    expect(() => budgetWindows({ perHour: 1.5 })).toThrow(RangeError);
    expect(() => budgetWindows({ count: 10 })).toThrow('give both or neither');
    expect(() => budgetWindows({ perSecond: -1 })).toThrow(RangeError);
  });
});

describe('spacing', () => {
  it('perSecond: 1 sends the first request at once and the others one second apart', async () => {
    const rl = limiter({ perSecond: 1 }, 'test');
    const { sentAt, results } = burst(rl, 5);
    await vi.advanceTimersByTimeAsync(10 * SECOND);
    await Promise.all(results);
    expect(sentAt).toHaveLength(5);
    expect(sentAt[0]).toBeLessThan(T0 + 100);
    const gaps = sentAt.slice(1).map((t, i) => t - (sentAt[i] ?? 0));
    expect(gaps.every((g) => g >= SECOND)).toBe(true);
    expect(maxInAnyWindow(sentAt, SECOND)).toBe(1);
  });

  it('maxConcurrent bounds requests in flight', async () => {
    const rl = limiter({ maxConcurrent: 2 }, 'test');
    let inFlight = 0;
    let peak = 0;
    const jobs = Array.from({ length: 6 }, () =>
      rl.schedule(async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 100));
        inFlight--;
      }),
    );
    await vi.advanceTimersByTimeAsync(2 * SECOND);
    await Promise.all(jobs);
    expect(peak).toBe(2);
  });
});

describe('budgets', () => {
  it('perHour never lets more than the budget through in any hour, bursts at start included', async () => {
    const rl = limiter({ perHour: 3, maxWaitMs: Number.POSITIVE_INFINITY }, 'test');
    const { sentAt, results } = burst(rl, 10);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(sentAt).toHaveLength(3);
    expect(sentAt.every((t) => t < T0 + 100)).toBe(true);
    await vi.advanceTimersByTimeAsync(4 * HOUR);
    await Promise.all(results);
    expect(sentAt).toHaveLength(10);
    expect(maxInAnyWindow(sentAt, HOUR)).toBe(3);
    // A sliding window, not a fixed one: the fourth goes one hour after the first, not later.
    expect((sentAt[3] ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(HOUR);
    expect((sentAt[3] ?? 0) - (sentAt[0] ?? 0)).toBeLessThan(HOUR + 100);
  });

  it('counts from the moment a request is sent, not when it was queued', async () => {
    const rl = limiter({ perMinute: 2, maxWaitMs: Number.POSITIVE_INFINITY }, 'test');
    const first = burst(rl, 2);
    await vi.advanceTimersByTimeAsync(30 * SECOND);
    const second = burst(rl, 3);
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await Promise.all([...first.results, ...second.results]);
    const all = [...first.sentAt, ...second.sentAt];
    expect(maxInAnyWindow(all, MINUTE)).toBe(2);
    // The third request waits for the first token: one minute after the first send.
    expect((second.sentAt[0] ?? 0) - (first.sentAt[0] ?? 0)).toBeGreaterThanOrEqual(MINUTE);
    expect((second.sentAt[0] ?? 0) - (first.sentAt[0] ?? 0)).toBeLessThan(MINUTE + 100);
  });

  it('combines windows: every one of them holds', async () => {
    const rl = limiter({ perMinute: 2, perHour: 5, maxWaitMs: Number.POSITIVE_INFINITY }, 'test');
    const { sentAt, results } = burst(rl, 12);
    await vi.advanceTimersByTimeAsync(3 * HOUR);
    await Promise.all(results);
    expect(sentAt).toHaveLength(12);
    expect(maxInAnyWindow(sentAt, MINUTE)).toBe(2);
    expect(maxInAnyWindow(sentAt, HOUR)).toBe(5);
  });

  it('fails at once, with the time until a slot frees, when a daily budget is used up', async () => {
    const rl = limiter({ perDay: 2 }, 'test');
    const { results } = burst(rl, 2);
    await vi.advanceTimersByTimeAsync(SECOND);
    await Promise.all(results);
    await vi.advanceTimersByTimeAsync(HOUR);
    let sent = false;
    const refused = await rl
      .schedule(async () => {
        sent = true;
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RateLimitWaitError);
    // The budget comes back one day after the first send, i.e. about 23 h from now.
    const retryAfterMs = (refused as RateLimitWaitError).retryAfterMs ?? 0;
    expect(retryAfterMs).toBeGreaterThan(DAY - HOUR - 2 * SECOND);
    expect(retryAfterMs).toBeLessThanOrEqual(DAY - HOUR);
    expect((refused as RateLimitWaitError).budget).toBe('2 requests per 1 day');
    expect(sent).toBe(false);
  });

  it('a window longer than setTimeout can wait (a monthly quota) still holds its token for the whole window', async () => {
    const rl = limiter({ count: 2, intervalMs: 30 * DAY }, 'test');
    const { results } = burst(rl, 2);
    await vi.advanceTimersByTimeAsync(SECOND);
    await Promise.all(results);
    // setTimeout past 2^31-1 ms (24.8 days) would have handed the tokens back after 1 ms.
    await vi.advanceTimersByTimeAsync(25 * DAY);
    const refused = await rl.schedule(async () => 'sent').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RateLimitWaitError);
    expect((refused as RateLimitWaitError).budget).toBe('2 requests per 30 days');
    expect((refused as RateLimitWaitError).retryAfterMs).toBeGreaterThan(5 * DAY - 2 * SECOND);
    await vi.advanceTimersByTimeAsync(5 * DAY);
    const again = rl.schedule(async () => 'sent');
    await vi.advanceTimersByTimeAsync(SECOND);
    await expect(again).resolves.toBe('sent');
  });

  it('a maxWaitMs past 24.8 days waits that long, not 1 ms', async () => {
    const rl = limiter({ perDay: 1, maxWaitMs: 40 * DAY }, 'test');
    const first = rl.schedule(async () => 'first');
    await vi.advanceTimersByTimeAsync(SECOND);
    await first;
    let outcome: unknown = 'pending';
    rl.schedule(async () => 'second').then(
      (v) => {
        outcome = v;
      },
      (err: unknown) => {
        outcome = err;
      },
    );
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(outcome).toBe('pending');
    await vi.advanceTimersByTimeAsync(DAY);
    expect(outcome).toBe('second');
  });

  it('gives up after maxWaitMs and the abandoned request never goes out', async () => {
    const rl = limiter({ perMinute: 1, maxWaitMs: 10 * SECOND }, 'test');
    const sent: number[] = [];
    // Both pass the up-front estimate (nothing sent yet), so the second one queues behind the
    // first one's token and is given up by the maxWaitMs timer.
    const first = rl.schedule(async () => sent.push(1));
    const second = rl.schedule(async () => sent.push(2)).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(11 * SECOND);
    await first;
    expect(await second).toBeInstanceOf(RateLimitWaitError);
    // When the token returns the abandoned request is skipped, and its token handed on.
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    expect(sent).toEqual([1]);
    const third = rl.schedule(async () => sent.push(3));
    await vi.advanceTimersByTimeAsync(SECOND);
    await third;
    expect(sent).toEqual([1, 3]);
  });

  it('an aborted wait frees its place: later requests are not held back by it', async () => {
    const rl = limiter({ perMinute: 1, maxWaitMs: Number.POSITIVE_INFINITY }, 'test');
    const sent: string[] = [];
    const first = rl.schedule(async () => sent.push('a'));
    await vi.advanceTimersByTimeAsync(SECOND);
    await first;
    const controller = new AbortController();
    const aborted = rl.schedule(async () => sent.push('b'), controller.signal).catch((err: unknown) => err);
    const later = rl.schedule(async () => sent.push('c'));
    await vi.advanceTimersByTimeAsync(10 * SECOND);
    controller.abort(new Error('shutdown'));
    expect(await aborted).toEqual(new Error('shutdown'));
    await vi.advanceTimersByTimeAsync(MINUTE);
    await later;
    expect(sent).toEqual(['a', 'c']);
  });

  it('stop() rejects queued requests', async () => {
    const rl = createRateLimiter({ perHour: 1, maxWaitMs: Number.POSITIVE_INFINITY }, 'test');
    const first = rl.schedule(async () => undefined);
    await vi.advanceTimersByTimeAsync(SECOND);
    await first;
    const queued = rl.schedule(async () => 'never').catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(SECOND);
    await rl.stop();
    expect(await queued).toBeInstanceOf(Error);
  });
});
