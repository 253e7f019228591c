import { inspect } from 'node:util';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RateLimitError, UpstreamApiError } from '../errors/index.js';
import { clearRegisteredSecrets } from '../log/redact.js';
import { createHttpClientWith, type HttpRuntime } from './client.js';
import type { HttpClient, HttpClientOptions, HttpLogger } from './types.js';

const BASE = 'https://cti.api.example.test';
const API_KEY = 'ck-live-7f3a9b2c1d0e4f5a6b7c8d9e';
const BEARER = 'tok-0123456789abcdefABCDEF';

/** A clock that moves only when the client sleeps: waits are recorded, never spent. */
function testRuntime(env: Record<string, string | undefined> = {}) {
  const sleeps: number[] = [];
  let clock = Date.parse('2026-11-24T10:00:00Z');
  const runtime: HttpRuntime = {
    now: () => clock,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      clock += ms;
    },
    random: () => 0.5,
    env,
  };
  return { runtime, sleeps, advance: (ms: number) => (clock += ms) };
}

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const logger: HttpLogger = {
    debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
  return { logger, lines };
}

const clients: HttpClient[] = [];

function client(overrides: Partial<HttpClientOptions> = {}, runtime = testRuntime().runtime): HttpClient {
  const c = createHttpClientWith(
    {
      vendor: 'CrowdSec',
      baseURL: `${BASE}/v2`,
      auth: { type: 'header', name: 'x-api-key', value: API_KEY },
      proxy: false,
      ...overrides,
    },
    runtime,
  );
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<UpstreamApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamApiError);
    return err as UpstreamApiError;
  }
  throw new Error('expected the request to fail');
}

/** Every rendering of the error an operator could see holds neither credential. */
function expectNoSecrets(err: unknown): void {
  const renderings = [
    String(err),
    JSON.stringify(err),
    (err as Error).stack ?? '',
    inspect(err, { depth: 10, showHidden: true }),
  ];
  for (const text of renderings) {
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(BEARER);
    expect(text.toLowerCase()).not.toContain('x-api-key');
    expect(text.toLowerCase()).not.toContain('authorization');
  }
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => clearRegisteredSecrets());
afterEach(async () => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  expect(pending).toEqual([]);
});

describe('requests', () => {
  it('resolves relative URLs under the base path, sends the key, a default User-Agent and repeated params', async () => {
    let seen: Record<string, unknown> = {};
    nock(BASE)
      .get('/v2/smoke/1.2.3.4')
      .query({ severity: ['20', '25'], since: '2026-11-01' })
      .reply((req: Request) => {
        seen = Object.fromEntries(req.headers);
        return [200, { ip: '1.2.3.4' }, { 'set-cookie': 'session=abc', 'x-request-id': 'r-1' }];
      });
    const res = await client().get('/smoke/1.2.3.4', {
      params: { severity: [20, 25], since: '2026-11-01', unused: undefined },
      schema: z.object({ ip: z.string() }),
    });
    expect(res.ok).toBe(true);
    expect(res.data.ip).toBe('1.2.3.4');
    expect(seen['x-api-key']).toBe(API_KEY);
    expect(seen['user-agent']).toMatch(/^cti-connector-sdk\/\d+\.\d+\.\d+ \(\+CrowdSec\)$/);
    expect(seen.accept).toBe('application/json');
    expect(res.headers['x-request-id']).toBe('r-1');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('sends a bearer token and JSON bodies with POST', async () => {
    let auth: unknown;
    nock(BASE)
      .post('/v2/scan/', { url: 'https://x.test', visibility: 'public' })
      .reply((req: Request) => {
        auth = req.headers.get('authorization') ?? undefined;
        return [200, { uuid: 'u-1' }];
      });
    const res = await client({ auth: { type: 'bearer', token: BEARER } }).post('/scan/', {
      url: 'https://x.test',
      visibility: 'public',
    });
    expect(res.data).toEqual({ uuid: 'u-1' });
    expect(auth).toBe(`Bearer ${BEARER}`);
  });

  it('calls an auth function before each attempt (token refresh) and redacts what it returns', async () => {
    const tokens = ['first-token-aaaaaaaa', 'second-token-bbbbbbbb'];
    let calls = 0;
    const seen: unknown[] = [];
    nock(BASE)
      .get('/v2/reports')
      .twice()
      .reply((req: Request) => {
        seen.push(req.headers.get('authorization') ?? undefined);
        return seen.length === 1 ? [503, 'busy'] : [500, { message: 'leaked second-token-bbbbbbbb' }];
      });
    const err = await failure(
      client({
        auth: async () => ({ Authorization: `Bearer ${tokens[calls++]}` }),
        retry: { maxAttempts: 2 },
      }).get('/reports'),
    );
    expect(seen).toEqual(['Bearer first-token-aaaaaaaa', 'Bearer second-token-bbbbbbbb']);
    expect(err.message).not.toContain('second-token-bbbbbbbb');
    expect(err.message).toContain('[REDACTED]');
  });

  it('keeps an SDK error from the auth function (a failed token request) as the cause', async () => {
    const tokenError = new UpstreamApiError(
      'TeamT5 API answered 401 Unauthorized for POST https://t5.test/oauth/token',
      {
        vendor: 'TeamT5',
        status: 401,
        retryable: false,
        reason: 'auth',
      },
    );
    const err = await failure(
      client({
        auth: () => {
          throw tokenError;
        },
      }).get('/reports'),
    );
    expect(err.message).toContain('could not be obtained for GET https://cti.api.example.test/v2/reports: TeamT5 API');
    expect(err.cause).toBe(tokenError);
    expect(err.retryable).toBe(false);
  });

  it('reports a failing auth function as an auth error, without its raw error or secrets', async () => {
    const leaky = Object.assign(new Error(`token endpoint refused client secret ${BEARER}`), {
      config: { headers: { Authorization: `Basic ${API_KEY}` } },
    });
    const err = await failure(
      client({
        auth: async () => {
          throw leaky;
        },
      }).get('/reports'),
    );
    expect(err.reason).toBe('auth');
    expect(err.message).toBe(
      'CrowdSec credentials could not be obtained for GET https://cti.api.example.test/v2/reports: Error',
    );
    expect(err.cause).toBeUndefined();
    expectNoSecrets(err);
  });

  it('returns accepted statuses with ok: false instead of throwing, unvalidated and not retried', async () => {
    nock(BASE).get('/v2/smoke/10.0.0.1').reply(404, { message: 'IP address information not found' });
    const res = await client().get('/smoke/10.0.0.1', {
      schema: z.object({ ip: z.string() }),
      acceptStatus: [404],
    });
    expect(res.ok).toBe(false);
    expect(res.status).toBe(404);
    expect(res.data).toEqual({ message: 'IP address information not found' });
  });

  it('returns text when asked', async () => {
    nock(BASE).get('/v2/robots.txt').reply(200, 'User-agent: *\n', { 'content-type': 'text/plain' });
    const res = await client().get<string>('/robots.txt', { responseType: 'text' });
    expect(res.data).toBe('User-agent: *\n');
  });
});

describe('retries', () => {
  it('retries 503, 503 then succeeds: three requests, backoff waits in between', async () => {
    const { runtime, sleeps } = testRuntime();
    const scope = nock(BASE).get('/v2/smoke/1.2.3.4').times(2).reply(503).get('/v2/smoke/1.2.3.4').reply(200, {
      ip: '1.2.3.4',
    });
    const res = await client({}, runtime).get('/smoke/1.2.3.4');
    expect(res.status).toBe(200);
    expect(scope.isDone()).toBe(true);
    // Full jitter with random() = 0.5: half of 500 * 2^(attempt-1).
    expect(sleeps).toEqual([250, 500]);
  });

  it('gives up after maxAttempts on repeated 500 with an actionable message', async () => {
    const { runtime, sleeps } = testRuntime();
    nock(BASE).get('/v2/smoke/1.2.3.4').times(4).reply(500, { message: 'internal failure' });
    const err = await failure(client({}, runtime).get('/smoke/1.2.3.4'));
    expect(err.message).toBe(
      'CrowdSec API answered 500 Internal Server Error for GET https://cti.api.example.test/v2/smoke/1.2.3.4 after 4 attempts: "internal failure"',
    );
    expect(err).toMatchObject({ status: 500, retryable: true, reason: 'http', method: 'GET', vendor: 'CrowdSec' });
    expect(sleeps).toHaveLength(3);
    expect(sleeps.every((ms) => ms <= 30_000)).toBe(true);
    expectNoSecrets(err);
  });

  it('caps backoff at maxDelayMs', async () => {
    const { runtime, sleeps } = testRuntime();
    runtime.random = () => 0.999;
    nock(BASE).get('/v2/x').times(6).reply(502);
    await failure(client({ retry: { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 3000 } }, runtime).get('/x'));
    expect(sleeps).toEqual([999, 1998, 2997, 2997, 2997]);
  });

  it.each([400, 401, 403, 404, 422, 501])('never retries %i', async (status) => {
    const { runtime, sleeps } = testRuntime();
    nock(BASE).get('/v2/x').once().reply(status, { message: 'nope' });
    const err = await failure(client({}, runtime).get('/x'));
    expect(err.status).toBe(status);
    expect(sleeps).toEqual([]);
    expect(err.message).not.toContain('attempts');
    expect(err.reason).toBe(status === 401 || status === 403 ? 'auth' : 'http');
    expect(err.retryable).toBe(false);
    expectNoSecrets(err);
  });

  it('explains 401 and 403 in words an analyst can act on', async () => {
    nock(BASE).get('/v2/a').reply(401, { message: 'Invalid API key' }).get('/v2/b').reply(403, 'Forbidden');
    const c = client();
    const unauthorized = await failure(c.get('/a'));
    expect(unauthorized.message).toContain('401 Unauthorized');
    expect(unauthorized.message).toContain('"Invalid API key"');
    expect(unauthorized.message).toContain('check the API key');
    const forbidden = await failure(c.get('/b'));
    expect(forbidden.message).toContain('allow-listed');
  });

  it('honours Retry-After in seconds', async () => {
    const { runtime, sleeps } = testRuntime();
    nock(BASE).get('/v2/x').reply(429, '', { 'retry-after': '7' }).get('/v2/x').reply(200, {});
    await client({}, runtime).get('/x');
    expect(sleeps).toEqual([7000]);
  });

  it('honours Retry-After as an HTTP date, measured against the server clock', async () => {
    const { runtime, sleeps } = testRuntime();
    // The server's clock is an hour behind ours: only the difference between its two dates counts.
    nock(BASE)
      .get('/v2/x')
      .reply(503, '', { date: 'Tue, 24 Nov 2026 09:00:00 GMT', 'retry-after': 'Tue, 24 Nov 2026 09:00:20 GMT' })
      .get('/v2/x')
      .reply(200, {});
    await client({}, runtime).get('/x');
    expect(sleeps).toEqual([20_000]);
  });

  it.each([
    ['x-rate-limit-reset-after', '12', 12_000],
    ['ratelimit-reset', '3', 3000],
    ['x-ratelimit-reset', String(Date.parse('2026-11-24T10:00:45Z') / 1000), 45_000],
    ['x-rate-limit-reset', '2026-11-24T10:01:00.000Z', 60_000],
  ])('waits for the rate-limit reset header %s on 429', async (header, value, expected) => {
    const { runtime, sleeps } = testRuntime();
    nock(BASE)
      .get('/v2/x')
      .reply(429, { message: 'rate limited' }, { date: 'Tue, 24 Nov 2026 10:00:00 GMT', [header]: value })
      .get('/v2/x')
      .reply(200, {});
    await client({}, runtime).get('/x');
    expect(sleeps).toEqual([expected]);
  });

  it('fails at once with RateLimitError when the vendor asks to wait longer than maxRetryAfterMs', async () => {
    const { runtime, sleeps } = testRuntime();
    nock(BASE).get('/v2/smoke/1.2.3.4').once().reply(429, { message: 'Quota exceeded' }, { 'retry-after': '3600' });
    const err = await failure(client({}, runtime).get('/smoke/1.2.3.4'));
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBe(3_600_000);
    expect(err.reason).toBe('quota');
    expect(err.message).toContain('the vendor asks to wait 60 min');
    expect(sleeps).toEqual([]);
    expectNoSecrets(err);
  });

  it('ends repeated 429s with a RateLimitError carrying the last wait', async () => {
    const { runtime } = testRuntime();
    nock(BASE).get('/v2/x').times(2).reply(429, '', { 'retry-after': '2' });
    const err = await failure(client({ retry: { maxAttempts: 2 } }, runtime).get('/x'));
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBe(2000);
    expect(err.message).toContain('after 2 attempts');
  });

  it('does not repeat a POST the vendor may have processed (500), but does after 503', async () => {
    const { runtime, sleeps } = testRuntime();
    nock(BASE).post('/v2/scan/').once().reply(500);
    await failure(client({}, runtime).post('/scan/', { url: 'u' }));
    expect(sleeps).toEqual([]);

    nock(BASE).post('/v2/scan/').reply(503).post('/v2/scan/').reply(200, { uuid: 'u' });
    const res = await client({}, runtime).post('/scan/', { url: 'u' });
    expect(res.data).toEqual({ uuid: 'u' });
  });

  it('repeats a POST marked idempotent (OAuth token requests)', async () => {
    const { runtime } = testRuntime();
    nock(BASE).post('/v2/oauth/token').reply(502).post('/v2/oauth/token').reply(200, { access_token: 'a' });
    const res = await client({}, runtime).post('/oauth/token', new URLSearchParams({ grant_type: 'x' }), {
      idempotent: true,
    });
    expect(res.data).toEqual({ access_token: 'a' });
  });

  it('retries network errors and reports the code when they persist', async () => {
    const { runtime, sleeps } = testRuntime();
    nock(BASE)
      .get('/v2/x')
      .times(3)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const err = await failure(client({ retry: { maxAttempts: 3 } }, runtime).get('/x'));
    expect(err.reason).toBe('network');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('could not be reached');
    expect(err.message).toContain('ECONNRESET');
    expect(err.message).toContain('after 3 attempts');
    expect(err.cause).toEqual({ code: 'ECONNRESET' });
    expect(sleeps).toHaveLength(2);
    expectNoSecrets(err);
  });

  it('stops waiting when the signal aborts during backoff', async () => {
    const controller = new AbortController();
    const { runtime } = testRuntime();
    runtime.sleep = (_ms, signal) =>
      new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        controller.abort(new Error('shutting down'));
      });
    nock(BASE).get('/v2/x').once().reply(503);
    await expect(client({}, runtime).get('/x', { signal: controller.signal })).rejects.toThrow('shutting down');
  });

  it('refuses new requests once the client-wide signal has aborted', async () => {
    const controller = new AbortController();
    const c = client({ signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(c.get('/x')).rejects.toThrow('stop');
  });
});

describe('unusable bodies', () => {
  it('reports an HTML page with status 200 as invalid-response', async () => {
    nock(BASE)
      .get('/v2/x')
      .reply(200, '<!DOCTYPE html><html><title>Login</title></html>', { 'content-type': 'text/html' });
    const err = await failure(client().get('/x'));
    expect(err.reason).toBe('invalid-response');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('an HTML page instead of JSON');
    expectNoSecrets(err);
  });

  it('reports truncated JSON as invalid-response', async () => {
    nock(BASE).get('/v2/x').reply(200, '{"ip": "1.2.3.4", "scores": {', { 'content-type': 'application/json' });
    const err = await failure(client().get('/x'));
    expect(err.reason).toBe('invalid-response');
    expect(err.message).toContain('malformed or truncated JSON (29 bytes');
  });

  it('names the first failing fields of a body of the wrong shape, never the values', async () => {
    nock(BASE)
      .get('/v2/x')
      .reply(200, { ip: 1234, history: { first_seen: 'secret-looking-value' }, items: [{ id: 'a' }, { id: 7 }] });
    const schema = z.object({
      ip: z.string(),
      history: z.object({ first_seen: z.number() }),
      items: z.array(z.object({ id: z.string() })),
    });
    const err = await failure(client().get('/x', { schema }));
    expect(err.reason).toBe('invalid-response');
    expect(err.message).toContain('ip: ');
    expect(err.message).toContain('history.first_seen: ');
    expect(err.message).toContain('items[1].id: ');
    expect(err.message).not.toContain('secret-looking-value');
  });

  it('reports an empty body where the schema wants data', async () => {
    nock(BASE).get('/v2/x').reply(204);
    const err = await failure(client().get('/x', { schema: z.object({ a: z.string() }) }));
    expect(err.message).toContain('empty body');
  });
});

describe('credentials stay with the vendor', () => {
  it('sends an absolute URL on another host without credentials', async () => {
    let headers: Record<string, unknown> = {};
    nock('https://cdn.example.net')
      .get('/bundle.json')
      .reply((req: Request) => {
        headers = Object.fromEntries(req.headers);
        return [200, {}];
      });
    await client({ auth: { type: 'bearer', token: BEARER }, headers: { 'X-Api-Key': API_KEY } }).get(
      'https://cdn.example.net/bundle.json',
    );
    expect(headers.authorization).toBeUndefined();
    expect(headers['x-api-key']).toBeUndefined();
    expect(headers['user-agent']).toBeDefined();
  });

  it('sends credentials to origins listed in allowedOrigins', async () => {
    let auth: unknown;
    nock('https://files.example.test')
      .get('/r.stix')
      .reply((req: Request) => {
        auth = req.headers.get('authorization') ?? undefined;
        return [200, {}];
      });
    await client({
      auth: { type: 'bearer', token: BEARER },
      allowedOrigins: ['https://files.example.test'],
    }).get('https://files.example.test/r.stix');
    expect(auth).toBe(`Bearer ${BEARER}`);
  });

  it('refuses withAuth: true towards a foreign host, without sending anything', async () => {
    const err = await failure(client().get('https://evil.example.org/x', { withAuth: true }));
    expect(err.reason).toBe('auth');
    expect(err.message).toContain(
      'https://evil.example.org:443 is not among the origins allowed to receive them (https://cti.api.example.test:443)',
    );
    expectNoSecrets(err);
  });

  it('never sends credentials over plain HTTP when the vendor is HTTPS', async () => {
    let key: unknown = 'unset';
    nock('http://cti.api.example.test')
      .get('/v2/x')
      .reply((req: Request) => {
        key = req.headers.get('x-api-key') ?? undefined;
        return [200, {}];
      });
    await client().get('http://cti.api.example.test/v2/x');
    expect(key).toBeUndefined();
  });

  it('drops credentials when a redirect leaves the vendor host, keeps them on the same host', async () => {
    const seen: Record<string, unknown>[] = [];
    nock(BASE)
      .get('/v2/a')
      .reply((req: Request) => {
        seen.push(Object.fromEntries(req.headers));
        return [302, '', { location: '/v2/b' }];
      })
      .get('/v2/b')
      .reply((req: Request) => {
        seen.push(Object.fromEntries(req.headers));
        return [307, '', { location: 'https://storage.example.org/blob?sig=abc' }];
      });
    nock('https://storage.example.org')
      .get('/blob')
      .query({ sig: 'abc' })
      .reply((req: Request) => {
        seen.push(Object.fromEntries(req.headers));
        return [200, { done: true }];
      });
    const res = await client({ auth: { type: 'bearer', token: BEARER } }).get('/a');
    expect(res.data).toEqual({ done: true });
    expect(res.url).toBe('https://storage.example.org/blob?sig=[REDACTED]');
    expect(seen.map((h) => h.authorization)).toEqual([`Bearer ${BEARER}`, `Bearer ${BEARER}`, undefined]);
  });

  it('refuses a 307/308 that would re-send a request body to another host; follows it on the same host', async () => {
    const secretForm = 'grant_type=client_credentials&client_secret=s3cr3t-form-value';
    const elsewhere = nock('https://elsewhere.example.org').post('/token').reply(200, { stolen: true });
    nock(BASE).post('/v2/token').reply(307, '', { location: 'https://elsewhere.example.org/token' });
    const err = await failure(client().post('/token', secretForm));
    expect(err.message).toContain('re-send the request body to another host (https://elsewhere.example.org)');
    expect(elsewhere.isDone()).toBe(false);
    nock.cleanAll();

    // On the same host the body goes with it: nock matches the hop only when it carries the same form.
    nock(BASE).post('/v2/token').reply(308, '', { location: '/v2/token2' });
    const hop = nock(BASE).post('/v2/token2', secretForm).reply(200, { ok: 1 });
    await client().post('/token', secretForm);
    expect(hop.isDone()).toBe(true);
  });

  it('turns a POST into a GET on 303 and stops after maxRedirects', async () => {
    let method = '';
    nock(BASE).post('/v2/submit').reply(303, '', { location: '/v2/result' });
    nock(BASE)
      .get('/v2/result')
      .reply((req: Request) => {
        method = req.method;
        return [200, { ok: 1 }];
      });
    await client().post('/submit', { a: 1 });
    expect(method).toBe('GET');

    nock(BASE).get('/v2/loop').times(3).reply(302, '', { location: '/v2/loop' });
    const err = await failure(client({ maxRedirects: 2 }).get('/loop'));
    expect(err.message).toContain('more than 2 redirects');
  });
});

describe('redirects the client does not follow', () => {
  it('a Location that is not a URL, or not http(s), fails naming the redirect', async () => {
    nock(BASE).get('/v2/bad').reply(302, '', { location: 'http://[not-a-host' });
    const invalid = await failure(client().get('/bad'));
    expect(invalid.message).toContain('answered a redirect for GET https://cti.api.example.test/v2/bad');
    expect(invalid.message).toContain('the redirect target is not a valid URL');
    expect(invalid.retryable).toBe(false);

    nock(BASE).get('/v2/ftp').reply(301, '', { location: 'ftp://files.example.org/dump' });
    const ftp = await failure(client().get('/ftp'));
    expect(ftp.message).toContain('answered 301 Moved Permanently for GET');
    expect(ftp.message).toContain('the redirect goes to an unsupported ftp: URL');
    expect(ftp.status).toBe(301);
  });

  it('an auth function is called once per attempt; its credentials follow redirects on allowed origins only', async () => {
    let calls = 0;
    const seen: (string | undefined)[] = [];
    const record = (req: Request) => void seen.push(req.headers.get('authorization') ?? undefined);
    nock(BASE)
      .get('/v2/a')
      .reply((req: Request) => {
        record(req);
        return [302, '', { location: '/v2/b' }];
      })
      .get('/v2/b')
      .reply((req: Request) => {
        record(req);
        return [307, '', { location: 'https://storage.example.org/blob' }];
      });
    nock('https://storage.example.org')
      .get('/blob')
      .reply((req: Request) => {
        record(req);
        return [200, { done: true }];
      });
    const auth = () => {
      calls++;
      return { Authorization: `Bearer ${BEARER}` };
    };
    await client({ auth }).get('/a');
    expect(calls).toBe(1);
    expect(seen).toEqual([`Bearer ${BEARER}`, `Bearer ${BEARER}`, undefined]);
  });
});

describe('logging', () => {
  it('logs one debug line per attempt and one warn line per retry, without headers or secrets', async () => {
    const { logger, lines } = recordingLogger();
    nock(BASE)
      .get('/v2/x')
      .query({ apikey: API_KEY })
      .reply(503)
      .get('/v2/x')
      .query({ apikey: API_KEY })
      .reply(200, {});
    await client({ logger, auth: { type: 'bearer', token: BEARER } }).get('/x', { params: { apikey: API_KEY } });
    expect(lines.filter((l) => l.level === 'debug' && l.msg === 'vendor HTTP request')).toHaveLength(2);
    const warn = lines.find((l) => l.level === 'warn');
    expect(warn?.obj).toMatchObject({ vendor: 'CrowdSec', method: 'GET', attempt: 1, waitMs: 250, status: 503 });
    expect(warn?.obj.url).toBe('https://cti.api.example.test/v2/x?apikey=[REDACTED]');
    const dump = JSON.stringify(lines);
    expect(dump).not.toContain(API_KEY);
    expect(dump).not.toContain(BEARER);
    expect(dump.toLowerCase()).not.toContain('authorization');
  });
});

describe('rate limits', () => {
  it('never sends more than the hourly budget; the request over it fails without reaching the vendor', async () => {
    nock(BASE).get('/v2/smoke/1.1.1.1').reply(200, {}).get('/v2/smoke/2.2.2.2').reply(200, {});
    const c = client({ rateLimit: { perHour: 2 } });
    await c.get('/smoke/1.1.1.1');
    await c.get('/smoke/2.2.2.2');
    const err = await failure(c.get('/smoke/3.3.3.3'));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.reason).toBe('quota');
    expect(err.message).toContain('not sent: the configured budget of 2 requests per 1 hour is used up');
    expect((err as RateLimitError).retryAfterMs).toBeGreaterThan(59 * 60_000);
    expectNoSecrets(err);
  });

  it('counts retries against the budget, as the vendor does', async () => {
    nock(BASE).get('/v2/x').reply(503).get('/v2/x').reply(200, {});
    const c = client({ rateLimit: { perDay: 2 } });
    await c.get('/x');
    const err = await failure(c.get('/y'));
    expect(err).toBeInstanceOf(RateLimitError);
  });

  it('lets a queued request be aborted; it never reaches the vendor', async () => {
    nock(BASE).get('/v2/a').reply(200, {});
    const c = client({ rateLimit: { perHour: 1, maxWaitMs: Number.POSITIVE_INFINITY } });
    await c.get('/a');
    const controller = new AbortController();
    const queued = c.get('/b', { signal: controller.signal });
    controller.abort(new Error('enrichment cancelled'));
    await expect(queued).rejects.toThrow('enrichment cancelled');
  });

  it('fails queued requests when the client is closed', async () => {
    nock(BASE).get('/v2/a').reply(200, {});
    const c = client({ rateLimit: { perHour: 1, maxWaitMs: Number.POSITIVE_INFINITY } });
    await c.get('/a');
    const queued = c.get('/b').catch((err: unknown) => err);
    await c.close();
    expect(String(await queued)).toContain('the CrowdSec HTTP client was closed');
  });
});

describe('no error path leaks a credential', () => {
  const echoed = { message: `invalid credentials: ${API_KEY} / Bearer ${BEARER}` };
  const scenarios: [
    string,
    (scope: nock.Scope) => void,
    Partial<HttpClientOptions>,
    { withAuth?: boolean; url?: string },
  ][] = [
    ['5xx after retries', (s) => s.get('/v2/x').query(true).times(4).reply(500, echoed), {}, {}],
    ['401', (s) => s.get('/v2/x').query(true).reply(401, echoed), {}, {}],
    ['429 with a long wait', (s) => s.get('/v2/x').query(true).reply(429, echoed, { 'retry-after': '86400' }), {}, {}],
    [
      '429 after retries',
      (s) => s.get('/v2/x').query(true).times(2).reply(429, echoed, { 'retry-after': '1' }),
      { retry: { maxAttempts: 2 } },
      {},
    ],
    [
      'network error',
      (s) =>
        s
          .get('/v2/x')
          .query(true)
          .replyWithError(Object.assign(new Error(`reset while sending ${API_KEY}`), { code: 'EPROTO' })),
      {},
      {},
    ],
    ['HTML page', (s) => s.get('/v2/x').query(true).reply(200, `<html>${API_KEY}</html>`), {}, {}],
    ['truncated JSON', (s) => s.get('/v2/x').query(true).reply(200, `{"key": "${API_KEY}`), {}, {}],
    ['redirect loop', (s) => s.get('/v2/x').query(true).times(6).reply(302, '', { location: '/v2/x?again=1' }), {}, {}],
    ['credentials refused', () => undefined, {}, { withAuth: true, url: 'https://elsewhere.example.org/x' }],
  ];

  it.each(scenarios)('%s', async (_name, arrange, overrides, request) => {
    arrange(nock(BASE));
    const err = await failure(
      client({ auth: { type: 'bearer', token: BEARER }, headers: { 'X-Api-Key': API_KEY }, ...overrides }).get(
        request.url ?? '/x',
        { params: { apikey: API_KEY, ip: '1.2.3.4' }, ...(request.withAuth === undefined ? {} : { withAuth: true }) },
      ),
    );
    expect(err.url).toContain('apikey=[REDACTED]');
    expectNoSecrets(err);
  });

  it('the local budget error', async () => {
    nock(BASE).get('/v2/x').query(true).reply(200, {});
    const c = client({ auth: { type: 'bearer', token: BEARER }, rateLimit: { perDay: 1 } });
    await c.get('/x', { params: { apikey: API_KEY } });
    const err = await failure(c.get('/x', { params: { apikey: API_KEY } }));
    expect(err).toBeInstanceOf(RateLimitError);
    expectNoSecrets(err);
  });
});
