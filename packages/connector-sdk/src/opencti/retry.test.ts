import { describe, expect, it } from 'vitest';
import { backoffDelay, mayRetry, validateRetryPolicy } from './retry.js';

describe('backoffDelay', () => {
  const policy = { baseDelayMs: 500, maxDelayMs: 5_000 };

  it('doubles from the base delay, with the jittered half between ceiling/2 and ceiling', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([250, 500, 1_000, 2_000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 1))).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it('never exceeds the maximum, even for large attempt numbers', () => {
    expect(backoffDelay(5, policy, () => 1)).toBe(5_000);
    expect(backoffDelay(500, policy, () => 1)).toBe(5_000);
  });
});

describe('mayRetry', () => {
  it.each([
    ['transient', true, 'not-sent', true],
    ['transient', true, 'maybe', true],
    ['transient', true, 'processed', true],
    ['transient', false, 'not-sent', false],
    ['unsent', true, 'not-sent', true],
    ['unsent', true, 'maybe', false],
    ['unsent', true, 'processed', false],
    ['unsent', false, 'not-sent', false],
    ['none', true, 'not-sent', false],
  ] as const)('%s call, retryable=%s, delivery=%s → %s', (mode, retryable, delivery, expected) => {
    expect(mayRetry(mode, { retryable, delivery })).toBe(expected);
  });
});

describe('policy validation', () => {
  it('rejects nonsensical policies', () => {
    expect(() => validateRetryPolicy({ attempts: 0, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(RangeError);
    expect(() => validateRetryPolicy({ attempts: 2, baseDelayMs: 10, maxDelayMs: 1 })).toThrow(RangeError);
    expect(validateRetryPolicy({ attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }).attempts).toBe(1);
  });
});
