import { readFileSync } from 'node:fs';
import {
  createHttpClientWith,
  defaultHttpRuntime,
  InputError,
  loadConfig,
  RateLimitError,
  UpstreamApiError,
} from '@cti/connector-sdk';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScoutClient, scoutHttpOptions, scoutQuery } from './client.js';
import { type ScoutConfig, scoutConfig } from './config.js';

const TOKEN = 'scout-test-token-0123456789';
const HOST = 'https://taxii.cymru.com';
const ipFoundation = readFileSync(new URL('../test/fixtures/ip-foundation.json', import.meta.url), 'utf8');
const search = readFileSync(new URL('../test/fixtures/search.json', import.meta.url), 'utf8');
const JSON_TYPE = { 'content-type': 'application/json' };

const configOf = (env: Record<string, string> = {}) =>
  loadConfig(scoutConfig, { env: { PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN, ...env }, dotenvPath: false }) as ScoutConfig;

/**
 * A client whose waits are recorded instead of slept and whose clock the test moves. The per-second
 * spacing is left out here (it is proven with fake timers below), so retries are not slowed by it.
 */
function client(env: Record<string, string> = {}) {
  const waits: number[] = [];
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const { rateLimit: _spacing, ...options } = scoutHttpOptions(configOf(env));
  const http = createHttpClientWith(options, {
    ...defaultHttpRuntime,
    now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    random: () => 1,
  });
  const c = new ScoutClient({ http, now: () => clock });
  return { c, waits, advance: (ms: number) => (clock += ms) };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  vi.useRealTimers();
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('ScoutClient requests', () => {
  it('IPv4: GET {url}/ip/foundation?ips=<ip> with the bearer token', async () => {
    nock(HOST, { reqheaders: { authorization: `Bearer ${TOKEN}`, accept: 'application/json' } })
      .get('/api/scout/ip/foundation')
      .query({ ips: '1.1.1.1' })
      .reply(200, ipFoundation, JSON_TYPE);
    const bundle = await client().c.lookup('IPv4-Addr', '1.1.1.1');
    expect(bundle.objects).toHaveLength(9);
  });

  it('IPv6: the same endpoint', async () => {
    nock(HOST)
      .get('/api/scout/ip/foundation')
      .query({ ips: '2606:4700:4700::1111' })
      .reply(200, ipFoundation, JSON_TYPE);
    expect((await client().c.lookup('IPv6-Addr', '2606:4700:4700::1111')).objects).toHaveLength(9);
  });

  it('Domain-Name: GET {url}/search?query=<domain>, with a trailing slash on the configured URL', async () => {
    nock(HOST).get('/api/scout/search').query({ query: 'one.one.one.one' }).reply(200, search, JSON_TYPE);
    const t = client({ PURE_SIGNAL_SCOUT_API_URL: 'https://taxii.cymru.com/api/scout/' });
    expect((await t.c.lookup('Domain-Name', 'one.one.one.one')).objects).toHaveLength(27);
  });

  it.each([
    ['HTTP 204', 204, ''],
    ['an empty body', 200, ''],
    ['null', 200, 'null'],
    ['{}', 200, '{}'],
    ['a bundle without objects', 200, '{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000"}'],
    ['a bundle with an empty list', 200, '{"type":"bundle","objects":[]}'],
  ])('reads %s as "nothing known"', async (_what, status, body) => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).reply(status, body, JSON_TYPE);
    expect((await client().c.lookup('IPv4-Addr', '192.0.2.1')).objects).toEqual([]);
  });

  it('tolerates unknown fields and passes them through', async () => {
    nock(HOST)
      .get('/api/scout/ip/foundation')
      .query(true)
      .reply(200, {
        type: 'bundle',
        x_scout_usage: { remaining_queries: 10 },
        objects: [
          { type: 'ipv4-addr', id: 'ipv4-addr--cbd67181-b9f8-595b-8bc3-3971e34fa1cc', value: '1.1.1.1', x_tag: 1 },
        ],
      });
    const bundle = await client().c.lookup('IPv4-Addr', '1.1.1.1');
    expect(bundle.objects[0]).toMatchObject({ x_tag: 1 });
  });
});

describe('ScoutClient validation of the answer', () => {
  it.each([
    ['an HTML page', '<html>maintenance</html>', 'text/html', /HTML page/],
    ['truncated JSON', '{"type": "bundle", "objects": [', 'application/json', /malformed or truncated JSON/],
    ['a list instead of a bundle', '[]', 'application/json', /unexpected shape/],
    ['another type', '{"type": "report", "objects": []}', 'application/json', /type/],
    [
      'an object without an id',
      '{"type":"bundle","objects":[{"type":"ipv4-addr","value":"1.1.1.1"}]}',
      'application/json',
      /objects\[0\]\.id/,
    ],
    [
      'an id of another type',
      '{"type":"bundle","objects":[{"type":"ipv4-addr","id":"domain-name--ec0c1df5-b581-5086-b219-ab40147f96ac"}]}',
      'application/json',
      /does not match the type/,
    ],
    [
      'a relationship without its target',
      '{"type":"bundle","objects":[{"type":"relationship","id":"relationship--e871fa60-c356-50e4-a358-2662b4313a98","relationship_type":"indicates","source_ref":"indicator--950b5555-1593-587d-8e6f-e4767fb3caed"}]}',
      'application/json',
      /objects\[0\]\.target_ref/,
    ],
  ])('rejects %s with an error naming Team Cymru Scout', async (_what, body, type, detail) => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).reply(200, body, { 'content-type': type });
    const err = (await client()
      .c.lookup('IPv4-Addr', '1.1.1.1')
      .catch((e: unknown) => e)) as UpstreamApiError;
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.reason).toBe('invalid-response');
    expect(err.message).toMatch(/^Team Cymru Scout API answered GET/);
    expect(err.message).toMatch(detail);
  });
});

describe('ScoutClient errors', () => {
  it.each([401, 403])('fails at once on %i: the token was rejected', async (status) => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).reply(status, { message: 'Unauthorized' });
    const t = client();
    const err = await t.c.lookup('IPv4-Addr', '1.1.1.1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect((err as Error).message).toBe(
      `Team Cymru Scout rejected the API token (HTTP ${status}): check PURE_SIGNAL_SCOUT_API_TOKEN`,
    );
    expect(t.waits).toEqual([]);
    expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain(TOKEN);
  });

  it('honours Retry-After on 429 and succeeds when the quota frees up', async () => {
    nock(HOST)
      .get('/api/scout/search')
      .query(true)
      .reply(429, { message: 'Too Many Requests' }, { 'Retry-After': '7' });
    nock(HOST).get('/api/scout/search').query(true).reply(200, search, JSON_TYPE);
    const t = client();
    expect((await t.c.lookup('Domain-Name', 'one.one.one.one')).objects).toHaveLength(27);
    expect(t.waits).toEqual([7000]);
  });

  it('backs off a bounded number of times on 429, then fails with "quota exhausted" and fails fast meanwhile', async () => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).times(4).reply(429, {}, { 'Retry-After': '30' });
    const t = client();
    const err = await t.c.lookup('IPv4-Addr', '1.1.1.1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as Error).message).toMatch(/^Team Cymru Scout quota exhausted \(HTTP 429\): no lookup is sent before /);
    expect(t.waits).toEqual([30_000, 30_000, 30_000]);
    // no request while the vendor's wait lasts (nock would fail on an unexpected one)
    await expect(t.c.lookup('IPv4-Addr', '8.8.8.8')).rejects.toThrow(/quota exhausted/);
    t.advance(30_001);
    nock(HOST).get('/api/scout/ip/foundation').query({ ips: '8.8.8.8' }).reply(204);
    expect((await t.c.lookup('IPv4-Addr', '8.8.8.8')).objects).toEqual([]);
  });

  it('on 429 without Retry-After backs off exponentially, as many times as PURE_SIGNAL_SCOUT_MAX_RETRIES', async () => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).times(3).reply(429, 'slow down');
    const t = client({ PURE_SIGNAL_SCOUT_MAX_RETRIES: '2' });
    await expect(t.c.lookup('IPv4-Addr', '1.1.1.1')).rejects.toThrow(
      'Team Cymru Scout quota exhausted (HTTP 429): retry later',
    );
    expect(t.waits).toEqual([1000, 2000]);
    // without a vendor wait, the next lookup is tried
    nock(HOST).get('/api/scout/ip/foundation').query(true).reply(204);
    expect((await t.c.lookup('IPv4-Addr', '1.1.1.1')).objects).toEqual([]);
  });

  it('fails at once when Retry-After is longer than the client waits', async () => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).reply(429, {}, { 'Retry-After': '3600' });
    const t = client();
    await expect(t.c.lookup('IPv4-Addr', '1.1.1.1')).rejects.toThrow(/quota exhausted/);
    expect(t.waits).toEqual([]);
    await expect(t.c.lookup('IPv4-Addr', '1.1.1.1')).rejects.toThrow(/quota exhausted/);
  });

  it('retries 5xx a bounded number of times', async () => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).times(2).reply(503, 'unavailable');
    nock(HOST).get('/api/scout/ip/foundation').query(true).reply(200, ipFoundation, JSON_TYPE);
    const t = client();
    expect((await t.c.lookup('IPv4-Addr', '1.1.1.1')).objects).toHaveLength(9);
    expect(t.waits).toEqual([1000, 2000]);
    nock(HOST).get('/api/scout/ip/foundation').query(true).times(4).reply(500, { message: 'boom' });
    await expect(client().c.lookup('IPv4-Addr', '1.1.1.1')).rejects.toThrow(
      /^Team Cymru Scout API answered .*500.* after 4 attempts.*boom/,
    );
  });

  it('retries network errors a bounded number of times, then says Scout could not be reached', async () => {
    nock(HOST)
      .get('/api/scout/ip/foundation')
      .query(true)
      .times(4)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const t = client();
    const err = (await t.c.lookup('IPv4-Addr', '1.1.1.1').catch((e: unknown) => e)) as UpstreamApiError;
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.message).toMatch(/^Team Cymru Scout API could not be reached/);
    expect(t.waits).toHaveLength(3);
  });

  it('gives up on a request that takes longer than PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS', async () => {
    nock(HOST).get('/api/scout/ip/foundation').query(true).delay(1500).reply(200, ipFoundation, JSON_TYPE);
    const t = client({ PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS: '1', PURE_SIGNAL_SCOUT_MAX_RETRIES: '0' });
    const err = (await t.c.lookup('IPv4-Addr', '1.1.1.1').catch((e: unknown) => e)) as UpstreamApiError;
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/did not answer .* in time/);
  });
});

describe('scoutQuery', () => {
  it('refuses what Scout cannot be asked about, before any request', () => {
    expect(() => scoutQuery('IPv4-Addr', '1.2.3.0/24')).toThrow(InputError);
    expect(() => scoutQuery('IPv4-Addr', '2606:4700:4700::1111')).toThrow('Not a single IPv4 address');
    expect(() => scoutQuery('IPv6-Addr', '1.1.1.1')).toThrow('Not a single IPv6 address');
    expect(() => scoutQuery('Domain-Name', '')).toThrow('Not a domain name');
    expect(() => scoutQuery('Domain-Name', 'a.com b.com')).toThrow('Not a domain name');
    expect(() => scoutQuery('Url', 'https://a.com/')).toThrow('enriches IPv4-Addr, IPv6-Addr and Domain-Name, not Url');
    expect(scoutQuery('Domain-Name', ' example.com ')).toEqual({ path: '/search', params: { query: 'example.com' } });
  });
});

describe('the rate limit', () => {
  /** Three lookups at once through the real limiter, with fake timers; returns when each left. */
  async function burst(env: Record<string, string>, advanceMs: number): Promise<number[]> {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const sentAt: number[] = [];
    nock(HOST)
      .get('/api/scout/ip/foundation')
      .query(true)
      .times(3)
      .reply(() => {
        sentAt.push(Date.now());
        return [204, ''];
      });
    const http = createHttpClientWith(scoutHttpOptions(configOf(env)), defaultHttpRuntime);
    const c = new ScoutClient({ http });
    const lookups = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => c.lookup('IPv4-Addr', ip));
    await vi.advanceTimersByTimeAsync(advanceMs);
    await Promise.all(lookups);
    await http.close();
    return sentAt;
  }

  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] ?? 0));

  it('spaces requests by at least one second by default', async () => {
    const sentAt = await burst({}, 5000);
    expect(sentAt).toHaveLength(3);
    expect(gaps(sentAt).every((g) => g >= 1000)).toBe(true);
  });

  it('follows PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND', async () => {
    const sentAt = await burst({ PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '0.5' }, 10_000);
    expect(sentAt).toHaveLength(3);
    expect(gaps(sentAt).every((g) => g >= 2000)).toBe(true);
  });
});
