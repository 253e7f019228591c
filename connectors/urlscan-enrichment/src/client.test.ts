import { readFileSync } from 'node:fs';
import {
  createHttpClientWith,
  defaultHttpRuntime,
  type HttpClient,
  InputError,
  LONGEST_VENDOR_WAIT_MS,
  loadConfig,
  RateLimitError,
  shapeOf,
  UpstreamApiError,
} from '@cti/connector-sdk';
import fc from 'fast-check';
import nock from 'nock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { quotaResetMs, UrlscanClient, urlscanHttpOptions } from './client.js';
import type { UrlscanConfig } from './config.js';
import urlscan from './index.js';

const KEY = 'urlscan-test-key-0123456789abcdef';
const API = 'https://urlscan.io';
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8');
const search = fixture('search.json');
const result = fixture('result.json');
const RESULT_UUID = '105d1aac-ccc0-4393-b421-da95bd4faafd';
const JSON_TYPE = { 'content-type': 'application/json' };

const clients: HttpClient[] = [];

/** A client on the real SDK HTTP client; time is vitest's fake clock, driven by each test. */
function client(env: Record<string, string> = {}, now?: () => number) {
  const config = loadConfig(shapeOf(urlscan), {
    env: { OPENCTI_TOKEN: 'x', URLSCAN_API_KEY: KEY, ...env },
    dotenvPath: false,
  }) as unknown as UrlscanConfig;
  const http = createHttpClientWith(urlscanHttpOptions(config), { ...defaultHttpRuntime, env: {} });
  clients.push(http);
  return new UrlscanClient({
    http,
    hasApiKey: config.URLSCAN_API_KEY !== undefined,
    maxWaitMs: config.URLSCAN_MAX_WAIT_SECONDS * SECOND,
    perHour: config.URLSCAN_RATE_LIMIT_PER_HOUR,
    ...(now ? { now } : {}),
  });
}

/** The outcome of a promise, after `ms` of fake time (the fake clock also follows real time). */
async function settle<T>(promise: Promise<T>, ms = 0): Promise<{ value?: T; error?: unknown }> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.advanceTimersByTimeAsync(ms);
  return outcome;
}

/** Watches a promise without waiting for it. */
function track<T>(promise: Promise<T>): { done: boolean; promise: Promise<T> } {
  const state = { done: false, promise };
  promise.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
}

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0, shouldAdvanceTime: true });
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('UrlscanClient: the API', () => {
  it('searches with the API-Key header, an honest user agent, a URL-encoded query and a small size', async () => {
    const q = 'page.url:"https://example.com/a b"&x AND date:>now-1y';
    nock(API, { reqheaders: { 'api-key': KEY, 'user-agent': /^cti-connector-sdk\/.*urlscan\.io/ } })
      .get('/api/v1/search/')
      .query({ q, size: '10' })
      .reply(200, search, JSON_TYPE);
    const { value } = await settle(client().search(q, 10));
    expect(value?.map((h) => h._id)).toHaveLength(6);
    expect(value?.[0]?.page?.status).toBe('200');
  });

  it('searches anonymously without a key: no API-Key header at all', async () => {
    nock(API, { badheaders: ['api-key'] })
      .get('/api/v1/search/')
      .query(true)
      .reply(200, { results: [], total: 0 });
    const { value } = await settle(client({ URLSCAN_API_KEY: '' }).search('domain:example.com', 10));
    expect(value).toEqual([]);
  });

  it('fetches one result by uuid, and null when urlscan no longer has it', async () => {
    nock(API).get(`/api/v1/result/${RESULT_UUID}/`).reply(200, result, JSON_TYPE);
    nock(API).get('/api/v1/result/00000000-0000-4000-8000-000000000000/').reply(404, { message: 'Not found' });
    const c = client();
    expect((await settle(c.result(RESULT_UUID))).value?.task.uuid).toBe(RESULT_UUID);
    expect((await settle(c.result('00000000-0000-4000-8000-000000000000'))).value).toBeNull();
  });

  it('refuses a uuid that is not one, without any request', async () => {
    await expect(client().result('../../user/quotas')).rejects.toBeInstanceOf(InputError);
  });

  it.each([
    [true, 'urlscan.io rejected the API key (HTTP 401): check URLSCAN_API_KEY'],
    [false, 'urlscan.io refused an anonymous request (HTTP 401): set URLSCAN_API_KEY'],
  ])('names the setting on 401 (key set: %s), and never the key', async (withKey, message) => {
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .reply(401, { message: `bad key ${KEY}` });
    const { error } = await settle(client(withKey ? {} : { URLSCAN_API_KEY: '' }).search('domain:a.example', 10));
    expect(error).toBeInstanceOf(UpstreamApiError);
    expect((error as Error).message).toBe(message);
    expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain(KEY);
  });

  it('retries 5xx a bounded number of times, then names urlscan.io', async () => {
    nock(API).get('/api/v1/search/').query(true).times(3).reply(503, 'unavailable');
    const { error } = await settle(client().search('domain:a.example', 10), MINUTE);
    expect((error as Error).message).toMatch(/urlscan\.io API answered 503 .* after 3 attempts/);
  });

  it('rejects an unusable answer with an error naming urlscan.io', async () => {
    nock(API).get(`/api/v1/result/${RESULT_UUID}/`).reply(200, '<html>maintenance</html>', {
      'content-type': 'text/html',
    });
    const { error } = await settle(client().result(RESULT_UUID));
    expect((error as UpstreamApiError).reason).toBe('invalid-response');
    expect((error as Error).message).toMatch(/urlscan\.io/);
  });
});

describe('UrlscanClient: rate limits', () => {
  it('reads the reset headers: relative Reset-After first, else the absolute Reset, else Retry-After', () => {
    expect(quotaResetMs({ 'x-rate-limit-reset-after': '17', 'x-rate-limit-reset': 'x' }, T0)).toBe(17 * SECOND);
    expect(quotaResetMs({ 'x-rate-limit-reset': new Date(T0 + 42 * SECOND).toISOString() }, T0)).toBe(42 * SECOND);
    expect(quotaResetMs({ 'retry-after': '5' }, T0)).toBe(5 * SECOND);
    expect(quotaResetMs({}, T0)).toBeUndefined();
  });

  it('reads any reset urlscan announces as a wait from 0 to 100 years, ending on a real date', () => {
    const value = fc.oneof(
      fc.string(),
      fc.stringMatching(/^[0-9]{1,40}(\.[0-9]{1,4})?$/),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
    const headers = fc.dictionary(
      fc.constantFrom('x-rate-limit-reset-after', 'x-rate-limit-reset', 'retry-after'),
      value,
    );
    fc.assert(
      fc.property(headers, (h) => {
        const wait = quotaResetMs(h, T0);
        if (wait === undefined) return;
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThanOrEqual(LONGEST_VENDOR_WAIT_MS);
        expect(new Date(T0 + wait).toISOString()).toMatch(/^\d{4}-/);
      }),
    );
    expect(quotaResetMs({ 'x-rate-limit-reset-after': '9'.repeat(30) }, T0)).toBe(LONGEST_VENDOR_WAIT_MS);
  });

  it('on 429, waits for a reset within URLSCAN_MAX_WAIT_SECONDS and tries once more', async () => {
    const sentAt: number[] = [];
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .reply(() => {
        sentAt.push(Date.now());
        return [
          429,
          { message: 'Rate limit exceeded' },
          { 'X-Rate-Limit-Reset-After': '30', 'X-Rate-Limit-Remaining': '0' },
        ];
      })
      .get('/api/v1/search/')
      .query(true)
      .reply(() => {
        sentAt.push(Date.now());
        return [200, search, JSON_TYPE];
      });
    const pending = track(client({ URLSCAN_MAX_WAIT_SECONDS: '60' }).search('domain:ayyza.com', 10));
    await vi.advanceTimersByTimeAsync(29 * SECOND);
    expect(sentAt).toHaveLength(1); // nothing is sent before the reset
    expect(pending.done).toBe(false);
    await vi.advanceTimersByTimeAsync(2 * SECOND);
    expect((await settle(pending.promise)).value).toHaveLength(6);
    expect(sentAt).toHaveLength(2);
    expect((sentAt[1] ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(30 * SECOND);
  });

  it('on a 429 that persists after the announced reset, says so instead of blaming URLSCAN_MAX_WAIT_SECONDS', async () => {
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .times(2)
      .reply(429, { message: 'Too Many Requests' }, { 'Retry-After': '1' });
    const c = client({ URLSCAN_MAX_WAIT_SECONDS: '2' });
    const { error } = await settle(c.search('domain:a.example', 10), 2 * SECOND);
    expect(error).toBeInstanceOf(RateLimitError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^urlscan\.io search quota exhausted \(HTTP 429\): still refused after waiting once for the reset urlscan announced; no search request is sent before \d{4}-\d\d-\d\dT/,
    );
    expect(message).not.toContain('more than URLSCAN_MAX_WAIT_SECONDS');
  });

  it('names the 429 that taught it, not X-Rate-Limit-Remaining, when a later request finds the quota used up', async () => {
    nock(API).get('/api/v1/search/').query(true).reply(429, {}, { 'X-Rate-Limit-Reset-After': '600' });
    const c = client({ URLSCAN_MAX_WAIT_SECONDS: '60' });
    await settle(c.search('domain:a.example', 10));
    const again = await settle(c.search('domain:b.example', 10));
    expect((again.error as Error).message).toMatch(/^urlscan\.io search quota exhausted \(HTTP 429\): it resets at /);
  });

  it('on 429 with a far reset, fails at once with the reset time, and sends no more of that action until then', async () => {
    const reset = new Date(T0 + 47 * MINUTE).toISOString();
    nock(API).get('/api/v1/search/').query(true).reply(
      429,
      { message: 'Rate limit exceeded' },
      {
        'X-Rate-Limit-Reset': reset,
        'X-Rate-Limit-Window': 'hour',
        'X-Rate-Limit-Limit': '100',
      },
    );
    const c = client({ URLSCAN_MAX_WAIT_SECONDS: '120' });
    const { error } = await settle(c.search('domain:a.example', 10));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as Error).message).toBe(
      `urlscan.io search quota exhausted (HTTP 429, hour window, limit 100): it resets at ${reset}, more than URLSCAN_MAX_WAIT_SECONDS (120 s) away; no search request is sent before then`,
    );
    expect((error as RateLimitError).retryAfterMs).toBeLessThanOrEqual(47 * MINUTE);
    expect((error as RateLimitError).retryAfterMs).toBeGreaterThan(46 * MINUTE);

    // No request (nock has no route left): the next search fails fast, with the same reset time.
    const again = await settle(c.search('domain:b.example', 10));
    expect((again.error as Error).message).toContain(`it resets at ${reset}`);
    // urlscan's quotas are per action: results can still be read.
    nock(API).get(`/api/v1/result/${RESULT_UUID}/`).reply(200, result, JSON_TYPE);
    expect((await settle(c.result(RESULT_UUID))).value?.task.uuid).toBe(RESULT_UUID);
    // After the reset, searches go again.
    vi.setSystemTime(T0 + 48 * MINUTE);
    nock(API).get('/api/v1/search/').query(true).reply(200, { results: [] });
    expect((await settle(c.search('domain:c.example', 10))).value).toEqual([]);
  });

  it('on 429 with an absurd reset, fails at once naming a reset 100 years away, not an invalid date', async () => {
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .reply(429, { message: 'Rate limit exceeded' }, { 'X-Rate-Limit-Reset-After': '9'.repeat(30) });
    const c = client({ URLSCAN_MAX_WAIT_SECONDS: '120' });
    const { error } = await settle(c.search('domain:a.example', 10));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as Error).message).toContain(
      `it resets at ${new Date(T0 + LONGEST_VENDOR_WAIT_MS).toISOString().slice(0, 10)}`,
    );
    const again = await settle(c.search('domain:b.example', 10));
    expect((again.error as Error).message).toMatch(/quota exhausted .* it resets at \d{4}-/);
  });

  it('names the exact reset instant of X-Rate-Limit-Reset even when the clock ticks while the answer is read', async () => {
    const reset = '2099-01-01T00:00:00.000Z';
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .reply(429, { message: 'Rate limit exceeded' }, { 'X-Rate-Limit-Reset': reset });
    // A clock that moves one millisecond at every reading, as a busy process's does.
    let tick = T0;
    const c = client({ URLSCAN_MAX_WAIT_SECONDS: '120' }, () => tick++);
    const { error } = await settle(c.search('domain:a.example', 10));
    expect((error as Error).message).toContain(`it resets at ${reset},`);
  });

  it('reads X-Rate-Limit-Remaining: 0 on a success and waits for the reset before the next request', async () => {
    const sentAt: number[] = [];
    // The first answer says the search quota is now used up, for 40 s.
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .reply(
        200,
        () => {
          sentAt.push(Date.now());
          return search;
        },
        { ...JSON_TYPE, 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset-After': '40' },
      )
      .get('/api/v1/search/')
      .query(true)
      .reply(
        200,
        () => {
          sentAt.push(Date.now());
          return search;
        },
        JSON_TYPE,
      );
    const c = client({ URLSCAN_MAX_WAIT_SECONDS: '60' });
    await settle(c.search('domain:ayyza.com', 10));
    const second = track(c.search('domain:ayyza.com', 10));
    await vi.advanceTimersByTimeAsync(39 * SECOND);
    expect(sentAt).toHaveLength(1);
    expect(second.done).toBe(false);
    await vi.advanceTimersByTimeAsync(2 * SECOND);
    expect((await settle(second.promise)).value).toHaveLength(6);
    expect(sentAt).toHaveLength(2);
    expect((sentAt[1] ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(40 * SECOND);
  });

  it('stays under URLSCAN_RATE_LIMIT_PER_HOUR: a request over it fails without reaching urlscan', async () => {
    nock(API).get('/api/v1/search/').query(true).times(2).reply(200, { results: [] });
    const c = client({ URLSCAN_RATE_LIMIT_PER_HOUR: '2', URLSCAN_MAX_WAIT_SECONDS: '60' });
    await settle(c.search('domain:a.example', 10));
    await settle(c.search('domain:b.example', 10));
    const { error } = await settle(c.search('domain:c.example', 10));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as Error).message).toMatch(
      /^urlscan\.io request not sent: URLSCAN_RATE_LIMIT_PER_HOUR \(2 requests per hour\) is used up; the next slot frees up at 2026-03-02T1[01]:/,
    );
    // An hour later the budget is back.
    await vi.advanceTimersByTimeAsync(HOUR);
    nock(API).get('/api/v1/search/').query(true).reply(200, { results: [] });
    expect((await settle(c.search('domain:c.example', 10))).value).toEqual([]);
  });

  it('waits for a budget slot that frees up within URLSCAN_MAX_WAIT_SECONDS', async () => {
    const sentAt: number[] = [];
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .times(2)
      .reply(() => {
        sentAt.push(Date.now());
        return [200, { results: [] }];
      });
    const c = client({ URLSCAN_RATE_LIMIT_PER_HOUR: '1', URLSCAN_MAX_WAIT_SECONDS: '900' });
    await settle(c.search('domain:a.example', 10));
    await vi.advanceTimersByTimeAsync(50 * MINUTE);
    const queued = track(c.search('domain:b.example', 10));
    await vi.advanceTimersByTimeAsync(9 * MINUTE);
    expect(sentAt).toHaveLength(1);
    expect(queued.done).toBe(false);
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    expect((await settle(queued.promise)).value).toEqual([]);
    expect(sentAt).toHaveLength(2);
    expect((sentAt[1] ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(HOUR);
  });
});

describe('UrlscanClient: submissions', () => {
  const scanUuid = '4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71';

  it('POSTs the URL with its visibility and reads the uuid', async () => {
    nock(API, { reqheaders: { 'api-key': KEY } })
      .post('/api/v1/scan/', { url: 'https://office365-login.example.net/', visibility: 'unlisted' })
      .reply(200, fixture('scan-submission.json'), JSON_TYPE);
    const { value } = await settle(client().submit('https://office365-login.example.net/', 'unlisted'));
    expect(value).toEqual({ accepted: true, uuid: scanUuid });
  });

  it("reports urlscan's refusal of the URL (400) as an answer, with its reason", async () => {
    nock(API).post('/api/v1/scan/').reply(400, fixture('scan-error-400.json'), JSON_TYPE);
    const { value } = await settle(client().submit('office365-login.example.invalid', 'private'));
    expect(value).toEqual({
      accepted: false,
      reason: expect.stringMatching(/^DNS Error - Could not resolve domain: The domain .* could not be resolved/),
    });
  });

  it('polls the result after 10 s, then every 5 s, while urlscan says it is not finished', async () => {
    const polledAt: number[] = [];
    const notFinished = fixture('result-not-finished-404.json');
    nock(API)
      .get(`/api/v1/result/${scanUuid}/`)
      .times(2)
      .reply(() => {
        polledAt.push(Date.now() - T0);
        return [404, notFinished, JSON_TYPE];
      })
      .get(`/api/v1/result/${scanUuid}/`)
      .reply(() => {
        polledAt.push(Date.now() - T0);
        return [200, fixture('result-malicious.json'), JSON_TYPE];
      });
    const { value } = await settle(client().waitForResult(scanUuid, 120 * SECOND), 30 * SECOND);
    expect(value?.verdicts?.overall.malicious).toBe(true);
    // 10 s, 15 s and 20 s after the start (plus the real milliseconds the fake clock also follows).
    expect(polledAt).toHaveLength(3);
    polledAt.forEach((at, i) => {
      expect(at).toBeGreaterThanOrEqual((10 + 5 * i) * SECOND);
      expect(at).toBeLessThan((10 + 5 * i) * SECOND + 2 * SECOND);
    });
  });

  it('gives up at the bound with the result page in the message', async () => {
    nock(API)
      .get(`/api/v1/result/${scanUuid}/`)
      .times(4)
      .reply(404, fixture('result-not-finished-404.json'), JSON_TYPE);
    const { error } = await settle(client().waitForResult(scanUuid, 25 * SECOND), MINUTE);
    expect((error as Error).message).toBe(
      `urlscan.io scan ${scanUuid} did not finish within 25 s (URLSCAN_SUBMIT_WAIT_SECONDS): its result will be at https://urlscan.io/result/${scanUuid}/`,
    );
  });
});
