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
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CrowdsecClient, crowdsecHttpOptions } from './client.js';
import { crowdsecConfig } from './config.js';

const KEY = 'crowdsec-test-key-0123456789';
const API = 'https://cti.api.crowdsec.net';
const smoke = readFileSync(new URL('../test/fixtures/smoke-ip-146.70.186.190.json', import.meta.url), 'utf8');

/** A client whose waits are recorded instead of slept, and whose clock the test moves. */
function client(env: Record<string, string> = {}) {
  const waits: number[] = [];
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const config = loadConfig(crowdsecConfig, { env: { CROWDSEC_KEY: KEY, ...env }, dotenvPath: false });
  const http = createHttpClientWith(crowdsecHttpOptions(config as never), {
    ...defaultHttpRuntime,
    now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    random: () => 1,
  });
  const c = new CrowdsecClient({ http, apiVersion: 'v2', quotaWindowMs: 120_000, now: () => clock });
  return { c, waits, advance: (ms: number) => (clock += ms) };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('CrowdsecClient', () => {
  it('GETs /v2/smoke/{ip} with x-api-key and an honest user agent', async () => {
    nock(API, { reqheaders: { 'x-api-key': KEY, 'user-agent': /cti-connector-sdk/ } })
      .get('/v2/smoke/146.70.186.190')
      .reply(200, smoke, { 'content-type': 'application/json' });
    const res = await client().c.smoke('146.70.186.190');
    expect(res.found && res.data.reputation).toBe('malicious');
  });

  it('tolerates missing optional fields and null lists', async () => {
    nock(API)
      .get('/v2/smoke/1.2.3.4')
      .reply(200, { ip: '1.2.3.4', behaviors: null, cves: 'None', extra: { x: 1 } });
    const res = await client().c.smoke('1.2.3.4');
    expect(res).toMatchObject({ found: true, data: { ip: '1.2.3.4', reputation: 'unknown', behaviors: [], cves: [] } });
  });

  it('treats 404 as an IP CrowdSec does not know', async () => {
    nock(API).get('/v2/smoke/10.0.0.1').reply(404, { message: 'IP address information not found' });
    expect(await client().c.smoke('10.0.0.1')).toEqual({ found: false });
  });

  it('backs off exponentially on 429 within the budget, then fails fast while the quota is exhausted', async () => {
    nock(API).get('/v2/smoke/1.2.3.4').times(4).reply(429, { message: 'Limit Exceeded' });
    const t = client({ CROWDSEC_QUOTA_BACKOFF_SECONDS: '120' });
    const err = await t.c.smoke('1.2.3.4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as Error).message).toMatch(/CrowdSec CTI quota exhausted \(HTTP 429\)/);
    expect(t.waits).toHaveLength(3);
    expect(t.waits[1]).toBeGreaterThan(t.waits[0] as number);
    expect(t.waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(120_000);
    // no request is sent while the window lasts (nock would fail on an unexpected request)
    await expect(t.c.smoke('5.6.7.8')).rejects.toThrow(/quota exhausted/);
    t.advance(121_000);
    nock(API).get('/v2/smoke/5.6.7.8').reply(200, { ip: '5.6.7.8', reputation: 'safe' });
    expect((await t.c.smoke('5.6.7.8')).found).toBe(true);
  });

  it('honours Retry-After on 429', async () => {
    nock(API).get('/v2/smoke/1.2.3.4').reply(429, {}, { 'Retry-After': '7' });
    nock(API).get('/v2/smoke/1.2.3.4').reply(200, { ip: '1.2.3.4', reputation: 'known' });
    const t = client();
    expect((await t.c.smoke('1.2.3.4')).found).toBe(true);
    expect(t.waits).toEqual([7000]);
  });

  it('reads an absurd Retry-After as 100 years: the quota error names a real date, now and on later lookups', async () => {
    nock(API)
      .get('/v2/smoke/1.2.3.4')
      .reply(429, {}, { 'Retry-After': '9'.repeat(30) });
    const t = client();
    const err = await t.c.smoke('1.2.3.4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as Error).message).toMatch(/quota exhausted \(HTTP 429\): no lookup is sent before \d{4}-\d\d-\d\dT/);
    expect(t.waits).toEqual([]);
    await expect(t.c.smoke('5.6.7.8')).rejects.toThrow(/no lookup is sent before \d{4}-/);
  });

  it.each([401, 403])('fails at once on %i: CrowdSec rejected the API key', async (status) => {
    nock(API).get('/v2/smoke/1.2.3.4').reply(status, { message: 'Forbidden' });
    const t = client();
    const err = await t.c.smoke('1.2.3.4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect((err as Error).message).toBe(`CrowdSec rejected the API key (HTTP ${status}): check CROWDSEC_KEY`);
    expect(t.waits).toEqual([]);
    expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain(KEY);
  });

  it('retries 5xx a bounded number of times', async () => {
    nock(API).get('/v2/smoke/1.2.3.4').times(2).reply(503, 'unavailable');
    nock(API).get('/v2/smoke/1.2.3.4').reply(200, { ip: '1.2.3.4', reputation: 'safe' });
    expect((await client().c.smoke('1.2.3.4')).found).toBe(true);
    nock(API).get('/v2/smoke/1.2.3.5').times(4).reply(500, 'boom');
    await expect(client().c.smoke('1.2.3.5')).rejects.toThrow(/CrowdSec.*500/);
  });

  it.each([
    ['an HTML page', '<html>maintenance</html>', 'text/html'],
    ['truncated JSON', '{"ip": "1.2.3.4", "reputation": "mal', 'application/json'],
    ['the wrong shape', '{"reputation": 42}', 'application/json'],
  ])('rejects %s with an error naming CrowdSec', async (_what, body, type) => {
    nock(API).get('/v2/smoke/1.2.3.4').reply(200, body, { 'content-type': type });
    const err = (await client()
      .c.smoke('1.2.3.4')
      .catch((e: unknown) => e)) as UpstreamApiError;
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.reason).toBe('invalid-response');
    expect(err.message).toMatch(/CrowdSec/);
  });

  it('refuses an invalid IP without any request', async () => {
    await expect(client().c.smoke('TEST.IP.186.190')).rejects.toBeInstanceOf(InputError);
    await expect(client().c.smoke('1.2.3')).rejects.toThrow('Invalid IP address: 1.2.3');
  });
});
