import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  isRetryableStatus,
  LONGEST_VENDOR_WAIT_MS,
  resolveRetryPolicy,
  retryAfterMs,
} from './retry.js';

const NOW = Date.parse('2026-11-24T10:00:00Z');

describe('retryAfterMs', () => {
  it('reads Retry-After as seconds or as an HTTP date, on any status', () => {
    expect(retryAfterMs(503, { 'retry-after': '120' }, NOW)).toBe(120_000);
    expect(retryAfterMs(503, { 'retry-after': 'Tue, 24 Nov 2026 10:00:30 GMT' }, NOW)).toBe(30_000);
    expect(retryAfterMs(429, { 'retry-after': 'Tue, 24 Nov 2026 09:00:00 GMT' }, NOW)).toBe(0);
    expect(retryAfterMs(503, { 'retry-after': 'soon' }, NOW)).toBeUndefined();
    expect(retryAfterMs(500, {}, NOW)).toBeUndefined();
  });

  it('measures dates against the server clock when it sends one', () => {
    const headers = { date: 'Tue, 24 Nov 2026 12:00:00 GMT', 'retry-after': 'Tue, 24 Nov 2026 12:00:10 GMT' };
    expect(retryAfterMs(429, headers, NOW)).toBe(10_000);
  });

  it('reads rate-limit reset headers on 429 only', () => {
    expect(retryAfterMs(429, { 'x-rate-limit-reset-after': '41' }, NOW)).toBe(41_000);
    expect(retryAfterMs(429, { 'x-ratelimit-reset-after': '1.5' }, NOW)).toBe(1500);
    expect(retryAfterMs(429, { 'ratelimit-reset': '9' }, NOW)).toBe(9000);
    expect(retryAfterMs(429, { ratelimit: 'limit=100, remaining=0, reset=17' }, NOW)).toBe(17_000);
    expect(retryAfterMs(429, { 'x-ratelimit-reset': String(NOW / 1000 + 90) }, NOW)).toBe(90_000);
    expect(retryAfterMs(429, { 'x-ratelimit-reset': String(NOW + 5000) }, NOW)).toBe(5000);
    expect(retryAfterMs(429, { 'x-rate-limit-reset': '2026-11-24T10:02:00Z' }, NOW)).toBe(120_000);
    // A small number is a delay, not a date in 1970.
    expect(retryAfterMs(429, { 'x-ratelimit-reset': '30' }, NOW)).toBe(30_000);
    // urlscan.io sends these on every answer: they mean nothing unless the quota ran out.
    expect(retryAfterMs(503, { 'x-rate-limit-reset-after': '41' }, NOW)).toBeUndefined();
  });

  it('prefers Retry-After over reset headers', () => {
    expect(retryAfterMs(429, { 'retry-after': '2', 'x-rate-limit-reset-after': '50' }, NOW)).toBe(2000);
  });

  it('reads an absurd announced wait as 100 years at most', () => {
    expect(retryAfterMs(429, { 'retry-after': '9'.repeat(30) }, NOW)).toBe(LONGEST_VENDOR_WAIT_MS);
    expect(retryAfterMs(429, { 'retry-after': '9'.repeat(400) }, NOW)).toBe(LONGEST_VENDOR_WAIT_MS);
    expect(retryAfterMs(429, { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' }, NOW)).toBe(LONGEST_VENDOR_WAIT_MS);
    expect(retryAfterMs(429, { ratelimit: `reset=${'9'.repeat(25)}` }, NOW)).toBe(LONGEST_VENDOR_WAIT_MS);
    expect(retryAfterMs(429, { 'x-ratelimit-reset': '9'.repeat(20) }, NOW)).toBe(LONGEST_VENDOR_WAIT_MS);
  });

  it('whatever the headers say, the wait is a whole number of ms from 0 to 100 years, and the moment it ends is a date', () => {
    const header = fc.oneof(
      fc.string(),
      fc.stringMatching(/^[0-9]{1,40}(\.[0-9]{1,5})?$/),
      fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.stringMatching(/^limit=[0-9]{1,5}, remaining=0, reset=[0-9]{1,30}$/),
    );
    const names = fc.constantFrom(
      'retry-after',
      'x-rate-limit-reset-after',
      'x-ratelimit-reset-after',
      'ratelimit-reset',
      'ratelimit',
      'x-ratelimit-reset',
      'x-rate-limit-reset',
      'date',
    );
    fc.assert(
      fc.property(fc.constantFrom(429, 503), fc.dictionary(names, header), (status, headers) => {
        const wait = retryAfterMs(status, headers, NOW);
        if (wait === undefined) return;
        expect(Number.isInteger(wait)).toBe(true);
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThanOrEqual(LONGEST_VENDOR_WAIT_MS);
        expect(new Date(NOW + wait).toISOString()).toMatch(/^\d{4}-/);
      }),
    );
  });
});

describe('backoff', () => {
  const policy = resolveRetryPolicy({ baseDelayMs: 500, maxDelayMs: 30_000 });

  it('draws uniformly below an exponentially growing, capped ceiling', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, policy, () => 0.999_999))).toEqual([499, 999, 1999, 3999]);
    expect(backoffDelayMs(20, policy, () => 0.999_999)).toBe(29_999);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
  });

  it('validates the policy', () => {
    expect(resolveRetryPolicy(undefined)).toEqual({
      maxAttempts: 4,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      maxRetryAfterMs: 120_000,
    });
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => resolveRetryPolicy({ baseDelayMs: -1 })).toThrow(RangeError);
  });
});

describe('isRetryableStatus', () => {
  it('retries 408, 429 and 5xx except 501; nothing else', () => {
    const retried = [200, 400, 401, 403, 404, 408, 409, 422, 429, 500, 501, 502, 503, 504, 599].filter(
      isRetryableStatus,
    );
    expect(retried).toEqual([408, 429, 500, 502, 503, 504, 599]);
  });
});
