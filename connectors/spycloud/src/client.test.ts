import { readFileSync } from 'node:fs';
import { createHttpClientWith, defaultHttpRuntime, loadConfig, UpstreamApiError } from '@cti/connector-sdk';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type SpycloudClient as Client,
  parseRecords,
  SpycloudClient,
  spycloudHttpOptions,
  type WatchlistQuery,
} from './client.js';
import { type SpycloudConfig, spycloudConfig } from './config.js';

const KEY = 'spycloud-test-key-0123456789';
const HOST = 'https://api.spycloud.io';
const BASE = `${HOST}/enterprise-v2/`;
const WATCHLIST = '/enterprise-v2/breach/data/watchlist';
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
const firstPage = fixture('breach-records.json');
const lastPage = fixture('breach-records-last-page.json');
const catalog = fixture('breach-catalog.json');
const CURSOR = firstPage.cursor as string;

function config(env: Record<string, string> = {}): SpycloudConfig {
  return loadConfig(spycloudConfig, {
    env: { SPYCLOUD_API_BASE_URL: BASE, SPYCLOUD_API_KEY: KEY, CONNECTOR_DURATION_PERIOD: 'PT1H', ...env },
    dotenvPath: false,
  }) as SpycloudConfig;
}

/** A client whose waits are recorded instead of slept. */
function client(env: Record<string, string> = {}, overrides: { timeoutMs?: number; catalogCacheSize?: number } = {}) {
  const waits: number[] = [];
  const http = createHttpClientWith(
    { ...spycloudHttpOptions(config(env)), ...(overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {}) },
    {
      ...defaultHttpRuntime,
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 1,
    },
  );
  const c = new SpycloudClient({
    http,
    ...(overrides.catalogCacheSize ? { catalogCacheSize: overrides.catalogCacheSize } : {}),
  });
  return { c, waits };
}

async function allPages(
  c: Client,
  query: WatchlistQuery = { watchlistType: null, severities: [], since: '1970-01-01' },
) {
  const pages = [];
  for await (const page of c.watchlist(query)) pages.push(page);
  return pages;
}

async function failure(promise: Promise<unknown>): Promise<UpstreamApiError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamApiError);
  return err as UpstreamApiError;
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('SpycloudClient.watchlist', () => {
  it('GETs breach/data/watchlist with X-API-KEY, the filters and the cursor until the cursor is empty', async () => {
    nock(HOST, { reqheaders: { 'x-api-key': KEY, accept: 'application/json' } })
      .get(WATCHLIST)
      .query((q) => {
        expect(q).toEqual({ watchlist_type: 'email', severity: ['20', '25'], since: '2024-12-01' });
        return true;
      })
      .reply(200, firstPage)
      .get(WATCHLIST)
      .query({ watchlist_type: 'email', severity: ['20', '25'], since: '2024-12-01', cursor: CURSOR })
      .reply(200, lastPage);
    const pages = await allPages(client().c, { watchlistType: 'email', severities: [20, 25], since: '2024-12-01' });
    expect(pages.map((p) => [p.number, p.records.length, p.hits])).toEqual([
      [1, 12, 27444],
      [2, 3, 27444],
    ]);
  });

  it('leaves out watchlist_type and severity when none is configured; a base URL without a slash keeps its path', async () => {
    nock(HOST)
      .get(WATCHLIST)
      .query((q) => {
        expect(q).toEqual({ since: '1970-01-01' });
        return true;
      })
      .reply(200, lastPage);
    const pages = await allPages(client({ SPYCLOUD_API_BASE_URL: `${HOST}/enterprise-v2` }).c);
    expect(pages).toHaveLength(1);
  });

  it('asks for the next page only when the caller takes it (one page in memory at a time)', async () => {
    const first = nock(HOST).get(WATCHLIST).query(true).reply(200, firstPage);
    const second = nock(HOST).get(WATCHLIST).query({ since: '1970-01-01', cursor: CURSOR }).reply(200, lastPage);
    const pages = client().c.watchlist({ watchlistType: null, severities: [], since: '1970-01-01' });
    expect((await pages.next()).value).toMatchObject({ number: 1 });
    expect(first.isDone()).toBe(true);
    expect(second.isDone()).toBe(false);
    expect((await pages.next()).value).toMatchObject({ number: 2 });
    expect(second.isDone()).toBe(true);
    expect((await pages.next()).done).toBe(true);
  });

  it('keeps the fields it does not know and reports invalid records one by one', async () => {
    const records = [
      { ...firstPage.results[0], brand_new_field: { nested: true } },
      { ...firstPage.results[1], severity: 3 },
      { document_id: 'doc-no-date', source_id: 1, severity: 2 },
      'not a record',
    ];
    const { records: valid, invalid } = parseRecords(records);
    expect(valid).toHaveLength(1);
    expect(valid[0]).toMatchObject({ email: 'grolfson@example.org', brand_new_field: { nested: true } });
    expect(invalid.map((i) => [i.index, i.documentId])).toEqual([
      [1, '01ad29d3-dec5-4111-98aa-2570caf67c82'],
      [2, 'doc-no-date'],
      [3, null],
    ]);
    expect(invalid[0]?.problems).toMatch(/^severity: /);
    expect(invalid[1]?.problems).toMatch(/spycloud_publish_date/);
  });

  it('honours Retry-After on 429 and retries 5xx and network errors a bounded number of times', async () => {
    nock(HOST).get(WATCHLIST).query(true).reply(429, { message: 'slow down' }, { 'Retry-After': '7' });
    nock(HOST).get(WATCHLIST).query(true).reply(502, 'bad gateway');
    nock(HOST)
      .get(WATCHLIST)
      .query(true)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    nock(HOST).get(WATCHLIST).query(true).reply(200, lastPage);
    const t = client();
    expect(await allPages(t.c)).toHaveLength(1);
    // Retry-After first, then the full-jitter backoff (random() = 1): 2 s base, doubling.
    expect(t.waits).toEqual([7000, 4000, 8000]);
  });

  it('fails the run when a page still fails after the retries: it never reads as the last page', async () => {
    nock(HOST).get(WATCHLIST).query(true).reply(200, firstPage);
    nock(HOST).get(WATCHLIST).query({ since: '1970-01-01', cursor: CURSOR }).times(4).reply(500, 'boom');
    const t = client();
    const seen: number[] = [];
    const err = await failure(
      (async () => {
        for await (const page of t.c.watchlist({ watchlistType: null, severities: [], since: '1970-01-01' })) {
          seen.push(page.number);
        }
      })(),
    );
    expect(seen).toEqual([1]);
    expect(err.message).toMatch(/SpyCloud API answered 500 .* after 4 attempts/);
    expect(t.waits).toHaveLength(3);
  });

  it.each([401, 403])('fails at once on %i, saying to check the key and the IP allow-list', async (status) => {
    nock(HOST).get(WATCHLIST).query(true).reply(status, { message: 'Forbidden' });
    const t = client();
    const err = await failure(allPages(t.c));
    expect(err.message).toMatch(new RegExp(`^SpyCloud refused GET .*breach/data/watchlist.* \\(HTTP ${status}\\)`));
    expect(err.message).toContain('check SPYCLOUD_API_KEY');
    expect(err.message).toContain("SpyCloud's IP allow-list");
    expect(err.reason).toBe('auth');
    expect(t.waits).toEqual([]);
    expect(`${JSON.stringify(err)} ${err.stack} ${String((err.cause as Error).message)}`).not.toContain(KEY);
  });

  it('retries 504, then fails saying the filter combination times out at SpyCloud', async () => {
    nock(HOST).get(WATCHLIST).query(true).times(4).reply(504, 'Gateway Timeout');
    const t = client({ SPYCLOUD_SEVERITY_LEVELS: '5,20' });
    const err = await failure(allPages(t.c, { watchlistType: null, severities: [5, 20], since: '1970-01-01' }));
    expect(err.message).toMatch(
      /^SpyCloud timed out on GET .* \(HTTP 504, retried\): some filter combinations time out/,
    );
    expect(err.message).toContain('SPYCLOUD_SEVERITY_LEVELS');
    expect(t.waits).toHaveLength(3);
  });

  it('puts a timeout on every request', async () => {
    expect(spycloudHttpOptions(config()).timeoutMs).toBe(120_000);
    expect(spycloudHttpOptions(config({ SPYCLOUD_TIMEOUT_SECONDS: '5' })).timeoutMs).toBe(5_000);
    nock(HOST).get(WATCHLIST).query(true).times(4).delay(2_000).reply(200, lastPage);
    const err = await failure(allPages(client({}, { timeoutMs: 50 }).c));
    expect(err.message).toMatch(/did not answer .* in time after 4 attempts/);
  });

  it.each([
    ['an HTML page', '<html>maintenance</html>', 'text/html'],
    ['a body without results', '{"cursor": "", "hits": 0}', 'application/json'],
    ['truncated JSON', '{"cursor": "", "results": [', 'application/json'],
  ])('fails on %s instead of importing nothing', async (_what, body, type) => {
    nock(HOST).get(WATCHLIST).query(true).reply(200, body, { 'content-type': type });
    const err = await failure(allPages(client().c));
    expect(err.reason).toBe('invalid-response');
    expect(err.message).toMatch(/SpyCloud/);
  });

  it('stops when SpyCloud hands out a cursor it already gave', async () => {
    nock(HOST).get(WATCHLIST).query(true).reply(200, firstPage);
    nock(HOST).get(WATCHLIST).query({ since: '1970-01-01', cursor: CURSOR }).reply(200, firstPage);
    const err = await failure(allPages(client().c));
    expect(err.message).toMatch(/cursor of an earlier page again/);
  });
});

describe('SpycloudClient.catalogTitle', () => {
  it('reads breach/catalog/{id} and caches the title for the process', async () => {
    nock(HOST, { reqheaders: { 'x-api-key': KEY } })
      .get('/enterprise-v2/breach/catalog/67701')
      .once()
      .reply(200, catalog);
    const t = client();
    expect(await t.c.catalogTitle(67701)).toBe('Telegram Combo Cloudxurl');
    // nock would reject a second request
    expect(await t.c.catalogTitle(67701)).toBe('Telegram Combo Cloudxurl');
  });

  it('keeps the cache bounded, dropping the least recently used title', async () => {
    for (const id of [1, 2, 3]) {
      nock(HOST)
        .get(`/enterprise-v2/breach/catalog/${id}`)
        .reply(200, { results: [{ title: `T${id}` }] });
    }
    nock(HOST)
      .get('/enterprise-v2/breach/catalog/2')
      .reply(200, { results: [{ title: 'T2 again' }] });
    const t = client({}, { catalogCacheSize: 2 });
    await t.c.catalogTitle(1);
    await t.c.catalogTitle(2);
    await t.c.catalogTitle(1); // 1 is now the most recent
    await t.c.catalogTitle(3); // evicts 2
    expect(t.c.cachedCatalogs).toBe(2);
    expect(await t.c.catalogTitle(1)).toBe('T1');
    expect(await t.c.catalogTitle(2)).toBe('T2 again');
  });

  it('answers null when SpyCloud has no catalog or no title, and needs only the title', async () => {
    nock(HOST).get('/enterprise-v2/breach/catalog/5').reply(200, { cursor: '', hits: 0, results: [] });
    nock(HOST)
      .get('/enterprise-v2/breach/catalog/6')
      .reply(200, { results: [{ id: 6, title: '', type: 'SOMETHING-NEW' }] });
    const t = client();
    expect(await t.c.catalogTitle(5)).toBeNull();
    expect(await t.c.catalogTitle(6)).toBeNull();
  });

  it('throws on failure without caching it, so a later call asks again', async () => {
    nock(HOST).get('/enterprise-v2/breach/catalog/7').reply(404, { message: 'not found' });
    nock(HOST)
      .get('/enterprise-v2/breach/catalog/7')
      .reply(200, { results: [{ title: 'Found later' }] });
    const t = client();
    const err = await failure(t.c.catalogTitle(7));
    expect(err.status).toBe(404);
    expect(await t.c.catalogTitle(7)).toBe('Found later');
  });
});
