import { describe, expect, it } from 'vitest';
import { backoffDelayMs, resolvePolicy, sleep } from './backoff.js';

const policy = { initialDelayMs: 1000, maxDelayMs: 30_000 };

describe('backoffDelayMs', () => {
  it('doubles from the initial delay when jitter takes nothing', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(attempt, policy, () => 0));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('never exceeds the cap, however many attempts', () => {
    expect(backoffDelayMs(6, policy, () => 0)).toBe(30_000);
    expect(backoffDelayMs(50, policy, () => 0)).toBe(30_000);
    expect(backoffDelayMs(5000, policy, () => 0)).toBe(30_000);
  });

  it('jitter shortens the delay by at most a fifth', () => {
    expect(backoffDelayMs(1, policy, () => 1)).toBe(800);
    expect(backoffDelayMs(1, policy, () => 0.5)).toBe(900);
    expect(backoffDelayMs(60, policy, () => 1)).toBe(24_000);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelayMs(3, policy);
      expect(delay).toBeGreaterThanOrEqual(3200);
      expect(delay).toBeLessThanOrEqual(4000);
    }
  });

  it('treats attempt 0 or below like the first attempt and tolerates a random source out of range', () => {
    expect(backoffDelayMs(0, policy, () => 0)).toBe(1000);
    expect(backoffDelayMs(-3, policy, () => 0)).toBe(1000);
    expect(backoffDelayMs(1, policy, () => 7)).toBe(800);
    expect(backoffDelayMs(1, policy, () => -1)).toBe(1000);
  });

  it('keeps a cap below the initial delay from producing nonsense', () => {
    expect(backoffDelayMs(3, { initialDelayMs: 500, maxDelayMs: 100 }, () => 0)).toBe(500);
  });
});

describe('resolvePolicy', () => {
  it('keeps the defaults for fields left out or undefined', () => {
    expect(resolvePolicy(policy, undefined)).toEqual(policy);
    expect(resolvePolicy(policy, { initialDelayMs: undefined, maxDelayMs: 5 })).toEqual({
      initialDelayMs: 1000,
      maxDelayMs: 5,
    });
  });
});

describe('sleep', () => {
  it('resolves true when the time has passed', async () => {
    expect(await sleep(1)).toBe(true);
  });

  it('resolves false as soon as the signal aborts, and at once if it already has', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    expect(await sleep(60_000, controller.signal)).toBe(false);
  });
});
