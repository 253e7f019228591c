import { readFileSync } from 'node:fs';
import { createHttpClientWith, defaultHttpRuntime, loadConfig, UpstreamApiError } from '@cti/connector-sdk';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Listed, type ReportRef, Teamt5AuthError, Teamt5Client } from './client.js';
import { resolveAuth, type Teamt5Config, teamt5Config } from './config.js';

const API = 'https://api.threatvision.org';
const CLIENT_ID = 'teamt5-client-id-0042';
const CLIENT_SECRET = 'teamt5-client-SECRET-must-not-leak-77';
const TOKEN_1 = 'eyJhbGciOiJSUzI1NiJ9.first-token.sig';
const TOKEN_2 = 'eyJhbGciOiJSUzI1NiJ9.second-token.sig';
const API_KEY = 'static-teamt5-api-key-0099';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
const reportsPage = fixture('reports.json');
const reportStix = fixture('report-stix.json');
const iocPage = fixture('indicator-bundles.json');

/** A client whose waits are recorded instead of slept, and whose clock the test moves. */
function harness(env: Record<string, string> = { TEAMT5_CLIENT_ID: CLIENT_ID, TEAMT5_CLIENT_SECRET: CLIENT_SECRET }) {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const retryWaits: number[] = [];
  const pauses: number[] = [];
  const config = loadConfig(teamt5Config, { env, dotenvPath: false }) as unknown as Teamt5Config;
  const runtime = {
    ...defaultHttpRuntime,
    now: () => clock,
    sleep: async (ms: number) => {
      retryWaits.push(ms);
      clock += ms;
    },
    random: () => 1,
  };
  const client = new Teamt5Client({
    config,
    auth: resolveAuth(config).auth,
    http: (options) => createHttpClientWith(options, runtime),
    now: () => clock,
    sleep: async (ms) => {
      pauses.push(ms);
      clock += ms;
    },
  });
  return { client, retryWaits, pauses, advance: (ms: number) => (clock += ms) };
}

const tokenForm = (body: unknown) =>
  typeof body === 'object' &&
  body !== null &&
  (body as Record<string, string>).grant_type === 'client_credentials' &&
  (body as Record<string, string>).client_id === CLIENT_ID &&
  (body as Record<string, string>).client_secret === CLIENT_SECRET;

/** The token endpoint: a form POST without any Authorization header. */
function tokenEndpoint(token: string, expiresIn = 3600) {
  return nock(API, { badheaders: ['authorization'] })
    .matchHeader('content-type', /application\/x-www-form-urlencoded/)
    .post('/oauth/token', tokenForm)
    .reply(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn });
}

const bearer = (token: string) => ({ reqheaders: { authorization: `Bearer ${token}` } });

async function collect<T>(listing: AsyncIterable<Listed<T>>): Promise<Array<Listed<T>>> {
  const items: Array<Listed<T>> = [];
  for await (const item of listing) items.push(item);
  return items;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('OAuth 2.0 client credentials', () => {
  it('POSTs the form at start-up, then sends the token as Bearer and reuses it', async () => {
    tokenEndpoint(TOKEN_1);
    nock(API, bearer(TOKEN_1))
      .get('/api/v2/reports')
      .query({ offset: '0', 'date[from]': '0' })
      .times(2)
      .reply(200, { success: true, reports: [] });
    const t = harness();
    await t.client.authenticate();
    expect(await collect(t.client.listReports(0))).toEqual([]);
    expect(await collect(t.client.listReports(0))).toEqual([]);
  });

  it('renews the token 60 s before it expires', async () => {
    tokenEndpoint(TOKEN_1, 120);
    nock(API, bearer(TOKEN_1)).get('/api/v2/reports').query(true).reply(200, { success: true, reports: [] });
    const t = harness();
    await collect(t.client.listReports(0));
    t.advance(59_000);
    nock(API, bearer(TOKEN_1)).get('/api/v2/reports').query(true).reply(200, { success: true, reports: [] });
    await collect(t.client.listReports(0));
    t.advance(2_000); // 61 s after issue: within the last minute of its life
    tokenEndpoint(TOKEN_2, 120);
    nock(API, bearer(TOKEN_2)).get('/api/v2/reports').query(true).reply(200, { success: true, reports: [] });
    await collect(t.client.listReports(0));
  });

  it('renews the token once on a 401 and goes on', async () => {
    tokenEndpoint(TOKEN_1);
    nock(API, bearer(TOKEN_1)).get('/api/v2/reports').query(true).reply(401, { message: 'token revoked' });
    tokenEndpoint(TOKEN_2);
    nock(API, bearer(TOKEN_2)).get('/api/v2/reports').query(true).reply(200, { success: true, reports: [] });
    const t = harness();
    expect(await collect(t.client.listReports(0))).toEqual([]);
  });

  it('fails with a clear auth error when the fresh token is refused too', async () => {
    tokenEndpoint(TOKEN_1);
    nock(API).get('/api/v2/ioc_bundles/1.stix').reply(401, { message: 'Unauthorized' });
    tokenEndpoint(TOKEN_2);
    nock(API).get('/api/v2/ioc_bundles/1.stix').reply(401, { message: 'Unauthorized' });
    const t = harness();
    const err = await failure(t.client.downloadBundle(`${API}/api/v2/ioc_bundles/1.stix`));
    expect(err).toBeInstanceOf(Teamt5AuthError);
    expect(err.message).toMatch(/^TeamT5 rejected a freshly issued OAuth token \(HTTP 401 for GET https:\/\/api/);
    expect(t.retryWaits).toEqual([]);
  });

  it.each([400, 401])('fails at start-up when the token endpoint answers %i, naming the settings', async (status) => {
    nock(API).post('/oauth/token').reply(status, { error: 'invalid_client' });
    const err = await failure(harness().client.authenticate());
    expect(err).toBeInstanceOf(Teamt5AuthError);
    expect(err.message).toBe(
      `TeamT5 refused the OAuth client credentials (HTTP ${status} from POST ${API}/oauth/token): check TEAMT5_CLIENT_ID and TEAMT5_CLIENT_SECRET`,
    );
    expect(`${JSON.stringify(err)} ${err.stack} ${String(err.cause)}`).not.toContain(CLIENT_SECRET);
  });

  it('retries the token request on 5xx with backoff (it is safe to repeat)', async () => {
    nock(API).post('/oauth/token').reply(503, 'busy');
    tokenEndpoint(TOKEN_1);
    const t = harness();
    await t.client.authenticate();
    expect(t.retryWaits).toEqual([1000]);
  });

  it('refuses a token answer without access_token', async () => {
    nock(API).post('/oauth/token').reply(200, { token_type: 'Bearer' });
    const err = await failure(harness().client.authenticate());
    expect(err).toBeInstanceOf(Teamt5AuthError);
    expect(err.message).toMatch(
      /^No TeamT5 OAuth token \(POST https:\/\/api.threatvision.org\/oauth\/token\): .*access_token/,
    );
  });

  it('uses TEAMT5_OAUTH_TOKEN_URL when set', async () => {
    nock('https://sso.example').post('/realms/tv/token', tokenForm).reply(200, { access_token: TOKEN_1 });
    nock(API, bearer(TOKEN_1)).get('/api/v2/reports').query(true).reply(200, { success: true, reports: [] });
    const t = harness({
      TEAMT5_CLIENT_ID: CLIENT_ID,
      TEAMT5_CLIENT_SECRET: CLIENT_SECRET,
      TEAMT5_OAUTH_TOKEN_URL: 'https://sso.example/realms/tv/token',
    });
    await collect(t.client.listReports(0));
  });
});

describe('the deprecated API key', () => {
  it('is sent as a static Bearer token, and a 401 fails at once naming it', async () => {
    nock(API, bearer(API_KEY)).get('/api/v2/reports').query(true).reply(200, { success: true, reports: [] });
    nock(API, bearer(API_KEY)).get('/api/v2/ioc_bundles').query(true).reply(401, {});
    const t = harness({ TEAMT5_API_KEY: API_KEY });
    await t.client.authenticate(); // nothing to ask for
    await collect(t.client.listReports(0));
    const err = await failure(collect(t.client.listIndicatorBundles(0)));
    expect(err).toBeInstanceOf(Teamt5AuthError);
    expect(err.message).toMatch(/^TeamT5 rejected TEAMT5_API_KEY \(HTTP 401/);
    expect(`${JSON.stringify(err)} ${err.stack}`).not.toContain(API_KEY);
  });
});

describe('listings', () => {
  it('pages with offset and date[from] until an empty page, a second apart, newest first', async () => {
    const [r1, r2, r3, r4] = reportsPage.reports;
    const auth = { reqheaders: { authorization: `Bearer ${API_KEY}` } };
    nock(API, auth)
      .get('/api/v2/reports')
      .query({ offset: '0', 'date[from]': '1740000000' })
      .reply(200, { success: true, reports: [r1, r2] });
    nock(API, auth)
      .get('/api/v2/reports')
      .query({ offset: '2', 'date[from]': '1740000000' })
      .reply(200, { success: true, reports: [r3, r4] });
    nock(API, auth)
      .get('/api/v2/reports')
      .query({ offset: '4', 'date[from]': '1740000000' })
      .reply(200, fixture('reports-empty.json'));
    const t = harness({ TEAMT5_API_KEY: API_KEY });
    const items = await collect(t.client.listReports(1_740_000_000));
    expect(items.map((i) => i.ok && i.ref.alias)).toEqual([
      'flash-2025-0412',
      'monthly-2025-03',
      'ctr-2025-007',
      'vir-2025-002',
    ]);
    expect(t.pauses).toEqual([1000, 1000]);
    expect(items[0]).toEqual({
      ok: true,
      ref: {
        title: 'Flash Report: Phishing campaign delivering a backdoor via fake software updates',
        alias: 'flash-2025-0412',
        digest: r1.digest,
        date: 1744329600,
        typeName: 'Flash Report',
        stixUrl: 'https://api.threatvision.org/api/v2/reports/flash-2025-0412.stix',
        pdfUrl: 'https://threatvision.org/reports/detail?alias=flash-2025-0412',
      },
    } satisfies Listed<ReportRef>);
    // Items without stix_url: upstream's URL from the alias.
    expect(items[1]).toMatchObject({
      ok: true,
      ref: { stixUrl: `${API}/api/v2/reports/monthly-2025-03.stix`, pdfUrl: null },
    });
  });

  it('reads indicator bundles, a missing stix_url included', async () => {
    nock(API).get('/api/v2/ioc_bundles').query({ offset: '0', 'date[from]': '0' }).reply(200, iocPage);
    nock(API).get('/api/v2/ioc_bundles').query({ offset: '3', 'date[from]': '0' }).reply(200, { success: true });
    const items = await collect(harness({ TEAMT5_API_KEY: API_KEY }).client.listIndicatorBundles(0));
    expect(items).toEqual([
      { ok: true, ref: { id: '20931', date: 1744358400, stixUrl: `${API}/api/v2/ioc_bundles/20931.stix` } },
      { ok: true, ref: { id: '20917', date: 1744272000, stixUrl: `${API}/api/v2/ioc_bundles/20917.stix` } },
      { ok: true, ref: { id: '20902', date: 1744185600, stixUrl: null } },
    ]);
  });

  it('asks again, with backoff, for a page answered success:false', async () => {
    nock(API).get('/api/v2/reports').query(true).times(2).reply(200, fixture('listing-unsuccessful.json'));
    nock(API).get('/api/v2/reports').query({ offset: '0', 'date[from]': '0' }).reply(200, reportsPage);
    nock(API)
      .get('/api/v2/reports')
      .query({ offset: '4', 'date[from]': '0' })
      .reply(200, { success: true, reports: [] });
    const t = harness({ TEAMT5_API_KEY: API_KEY });
    expect(await collect(t.client.listReports(0))).toHaveLength(4);
    expect(t.pauses).toEqual([1000, 2000, 1000]);
  });

  it('gives up after five success:false answers in a row', async () => {
    nock(API).get('/api/v2/reports').query(true).times(5).reply(200, fixture('listing-unsuccessful.json'));
    const t = harness({ TEAMT5_API_KEY: API_KEY });
    const err = await failure(collect(t.client.listReports(0)));
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.message).toBe(
      'TeamT5 answered success:false to the report listing (offset 0) 5 times in a row: "Unauthorized"',
    );
    expect(t.pauses).toEqual([1000, 2000, 4000, 8000]);
  });

  it('stops when the API answers the same page whatever the offset', async () => {
    nock(API).get('/api/v2/reports').query(true).times(2).reply(200, reportsPage);
    const err = await failure(collect(harness({ TEAMT5_API_KEY: API_KEY }).client.listReports(0)));
    expect(err.message).toMatch(/same report page for offset 4 as for the previous one/);
  });

  it('names an unreadable item instead of failing the page', async () => {
    const bad = { alias: 'no-title', date: 1744329600 };
    const undated = { title: 'x', alias: 'no-date' };
    nock(API)
      .get('/api/v2/reports')
      .query({ offset: '0', 'date[from]': '0' })
      .reply(200, {
        success: true,
        reports: [bad, undated, 'junk'],
      });
    nock(API)
      .get('/api/v2/reports')
      .query({ offset: '3', 'date[from]': '0' })
      .reply(200, { success: true, reports: [] });
    const items = await collect(harness({ TEAMT5_API_KEY: API_KEY }).client.listReports(0));
    expect(items).toEqual([
      { ok: false, label: 'report no-title', date: 1744329600, problem: expect.stringMatching(/title/) },
      { ok: false, label: 'report no-date', date: null, problem: expect.stringMatching(/date/) },
      { ok: false, label: 'report #3 of the listing', date: null, problem: expect.stringMatching(/unreadable/) },
    ]);
  });

  it('names an item dated after 9999 (milliseconds for seconds) instead of failing the run on an invalid date', async () => {
    nock(API)
      .get('/api/v2/reports')
      .query({ offset: '0', 'date[from]': '0' })
      .reply(200, {
        success: true,
        reports: [
          { title: 'in ms', alias: 'ms-date', date: 1744329600000 },
          { title: 'absurd', alias: 'huge-date', date: '99999999999999999999' },
        ],
      });
    nock(API)
      .get('/api/v2/reports')
      .query({ offset: '2', 'date[from]': '0' })
      .reply(200, { success: true, reports: [] });
    const items = await collect(harness({ TEAMT5_API_KEY: API_KEY }).client.listReports(0));
    expect(items).toEqual([
      {
        ok: false,
        label: 'report ms-date',
        date: null,
        problem: expect.stringMatching(/date: a date after 9999-12-31/),
      },
      {
        ok: false,
        label: 'report huge-date',
        date: null,
        problem: expect.stringMatching(/date: a date after 9999-12-31/),
      },
    ]);
  });

  it('waits as long as Retry-After says on 429, and retries 5xx a bounded number of times', async () => {
    nock(API).get('/api/v2/reports').query(true).reply(429, {}, { 'Retry-After': '7' });
    nock(API).get('/api/v2/reports').query(true).reply(200, { success: true, reports: [] });
    const t = harness({ TEAMT5_API_KEY: API_KEY });
    await collect(t.client.listReports(0));
    expect(t.retryWaits).toEqual([7000]);

    nock(API).get('/api/v2/ioc_bundles').query(true).times(4).reply(502, 'bad gateway');
    const err = await failure(collect(t.client.listIndicatorBundles(0)));
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.message).toMatch(/^TeamT5 API answered 502 Bad Gateway for GET .* after 4 attempts/);
    expect(t.retryWaits).toEqual([7000, 1000, 2000, 4000]);
  });
});

describe('STIX downloads', () => {
  it("GETs a stix_url on TeamT5's host with the token", async () => {
    tokenEndpoint(TOKEN_1);
    nock(API, bearer(TOKEN_1)).get('/api/v2/reports/flash-2025-0412.stix').reply(200, reportStix);
    const objects = await harness().client.downloadBundle(`${API}/api/v2/reports/flash-2025-0412.stix`);
    expect(objects).toEqual(reportStix.objects);
  });

  it('fetches a stix_url on another host without the token (upstream sends it there)', async () => {
    tokenEndpoint(TOKEN_1);
    nock('https://cdn.example.net', { badheaders: ['authorization'] })
      .get('/bundles/20931.stix')
      .query({ sig: 'abc' })
      .reply(200, reportStix);
    const t = harness();
    await t.client.authenticate();
    expect(await t.client.downloadBundle('https://cdn.example.net/bundles/20931.stix?sig=abc')).toHaveLength(
      reportStix.objects.length,
    );
  });

  it("never sends the token over plain HTTP, even to TeamT5's host", async () => {
    nock('http://api.threatvision.org', { badheaders: ['authorization'] })
      .get('/x.stix')
      .reply(200, reportStix);
    await harness({ TEAMT5_API_KEY: API_KEY }).client.downloadBundle('http://api.threatvision.org/x.stix');
  });

  it('refuses a foreign stix_url with TEAMT5_FOREIGN_STIX_URLS=refuse, without any request', async () => {
    const t = harness({ TEAMT5_API_KEY: API_KEY, TEAMT5_FOREIGN_STIX_URLS: 'refuse' });
    const err = await failure(t.client.downloadBundle('https://cdn.example.net/bundles/20931.stix'));
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.message).toBe(
      "Refused to fetch https://cdn.example.net/bundles/20931.stix: https://cdn.example.net is not the TeamT5 API's origin (https://api.threatvision.org) and TEAMT5_FOREIGN_STIX_URLS=refuse",
    );
  });

  it('does not blame the token for a 401 from another host', async () => {
    nock('https://cdn.example.net').get('/b.stix').reply(401, {});
    const err = await failure(
      harness({ TEAMT5_API_KEY: API_KEY }).client.downloadBundle('https://cdn.example.net/b.stix'),
    );
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err).not.toBeInstanceOf(Teamt5AuthError);
  });

  it('resolves a relative stix_url against the API', async () => {
    nock(API, bearer(API_KEY)).get('/api/v2/ioc_bundles/7.stix').reply(200, { objects: [] });
    expect(await harness({ TEAMT5_API_KEY: API_KEY }).client.downloadBundle('/api/v2/ioc_bundles/7.stix')).toEqual([]);
  });

  it.each([
    ['an HTML page', '<html>maintenance</html>', 'text/html'],
    ['truncated JSON', '{"objects": [{"type": "mal', 'application/json'],
    ['a body without objects', '{"type": "bundle"}', 'application/json'],
  ])('rejects %s with an error naming TeamT5', async (_what, body, type) => {
    nock(API).get('/b.stix').reply(200, body, { 'content-type': type });
    const err = (await failure(
      harness({ TEAMT5_API_KEY: API_KEY }).client.downloadBundle(`${API}/b.stix`),
    )) as UpstreamApiError;
    expect(err).toBeInstanceOf(UpstreamApiError);
    expect(err.reason).toBe('invalid-response');
    expect(err.message).toMatch(/^TeamT5 API answered GET/);
  });

  it('bounds every request with TEAMT5_TIMEOUT_SECONDS', async () => {
    nock(API).get('/slow.stix').times(4).delay(1500).reply(200, reportStix);
    const err = (await failure(
      harness({ TEAMT5_API_KEY: API_KEY, TEAMT5_TIMEOUT_SECONDS: '1' }).client.downloadBundle(`${API}/slow.stix`),
    )) as UpstreamApiError;
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/^TeamT5 API did not answer GET .* in time after 4 attempts/);
  });
});
