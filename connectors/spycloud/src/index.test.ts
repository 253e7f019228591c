import { readFileSync } from 'node:fs';
import {
  createHttpClientWith,
  defaultHttpRuntime,
  type ImportItem,
  type Logger,
  loadConfig,
  type StixObject,
  shapeOf,
} from '@cti/connector-sdk';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpycloudClient, spycloudHttpOptions } from './client.js';
import type { SpycloudConfig } from './config.js';
import spycloud, { RECORDS_PER_BUNDLE, type SpycloudState, stateKey } from './index.js';

const HOST = 'https://api.spycloud.io';
const WATCHLIST = '/enterprise-v2/breach/data/watchlist';
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
const firstPage = fixture('breach-records.json');
const lastPage = fixture('breach-records-last-page.json');
const catalog = fixture('breach-catalog.json');

const silent = new Proxy({}, { get: () => () => undefined }) as unknown as Logger;

function context(env: Record<string, string>, state: SpycloudState | null, now = '2025-01-31T12:00:00Z') {
  const config = loadConfig(shapeOf(spycloud), {
    env: {
      OPENCTI_URL: 'http://opencti:8080',
      OPENCTI_TOKEN: 'token',
      CONNECTOR_ID: 'c0ffee00-0000-4000-8000-000000000000',
      SPYCLOUD_API_BASE_URL: `${HOST}/enterprise-v2`,
      SPYCLOUD_API_KEY: 'key-0123456789',
      CONNECTOR_DURATION_PERIOD: 'PT1H',
      ...env,
    },
    dotenvPath: false,
  }) as unknown as SpycloudConfig;
  const http = createHttpClientWith(spycloudHttpOptions(config), {
    ...defaultHttpRuntime,
    sleep: async () => undefined,
  });
  const errors: string[] = [];
  const ctx = {
    config,
    client: new SpycloudClient({ http }),
    logger: silent,
    signal: new AbortController().signal,
    state,
    reportError: async (message: string) => {
      errors.push(message);
    },
    dryRun: false,
    now: () => new Date(now),
  };
  return { ctx, errors };
}

async function run(env: Record<string, string>, state: SpycloudState | null, now?: string) {
  const { ctx, errors } = context(env, state, now);
  const items: ImportItem<SpycloudState>[] = [];
  let error: unknown = null;
  try {
    for await (const item of spycloud.run(ctx)) items.push(item);
  } catch (err) {
    error = err;
  }
  const bundles = items.flatMap((i) => (i.bundle ? [i.bundle] : []));
  const objects: StixObject[] = bundles.flatMap((b) => b.objects);
  return { items, bundles, objects, errors, error, states: items.flatMap((i) => (i.state ? [i.state] : [])) };
}

/** Serves the two fixture pages for every query, and records the queries. */
function serveWatchlist(queries: Array<Record<string, unknown>>) {
  nock(HOST)
    .persist()
    .get(WATCHLIST)
    .query(true)
    .reply((uri: string) => {
      // nock 15 hands the reply function the fetch Request, typed as its URI string.
      const params = new URL((uri as unknown as { url: string }).url).searchParams;
      queries.push(
        Object.fromEntries(
          [...new Set(params.keys())].map((k) => [k, k === 'severity' ? params.getAll(k) : params.get(k)]),
        ),
      );
      return [200, params.has('cursor') ? lastPage : firstPage];
    });
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

describe('the SpyCloud import run', () => {
  it('streams one bundle per page, then saves the newest publish date under last_import_date', async () => {
    const queries: Array<Record<string, unknown>> = [];
    serveWatchlist(queries);
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/\d+/)
      .reply(200, catalog);
    const r = await run({}, null);
    expect(queries).toEqual([{ since: '1970-01-01' }, { since: '1970-01-01', cursor: firstPage.cursor }]);
    // The state comes after both bundles: the runner saves it once they are confirmed.
    expect(r.items.map((i) => (i.bundle ? 'bundle' : 'state'))).toEqual(['bundle', 'bundle', 'state']);
    expect(r.states).toEqual([{ last_import_date: '2024-12-04T00:00:00+00:00' }]);
    expect(r.objects.filter((o) => o.type === 'incident')).toHaveLength(14);
    expect(r.errors).toEqual([]);
  });

  it('asks SpyCloud for a page only once the bundle before it was taken (one page in memory)', async () => {
    const queries: Array<Record<string, unknown>> = [];
    serveWatchlist(queries);
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/\d+/)
      .reply(200, catalog);
    const items = spycloud.run(context({}, null).ctx)[Symbol.asyncIterator]();
    expect((await items.next()).value.bundle).toBeDefined();
    expect(queries).toHaveLength(1);
    expect((await items.next()).value.bundle).toBeDefined();
    expect(queries).toHaveLength(2);
    expect((await items.next()).value.state).toBeDefined();
    expect((await items.next()).done).toBe(true);
  });

  it('sends a large page as bundles of at most RECORDS_PER_BUNDLE records, the state after the last', async () => {
    const base = firstPage.results[0] as Record<string, unknown>;
    const results = Array.from({ length: 2 * RECORDS_PER_BUNDLE + 30 }, (_, i) => ({
      ...base,
      document_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      email: `user${i}@example.org`,
      username: `user${i}`,
    }));
    // A record colliding with the first one, at the end of the page: it goes with the first bundle.
    results.push({ ...results[0], document_id: 'collides-with-the-first' } as (typeof results)[number]);
    nock(HOST).get(WATCHLIST).query(true).reply(200, { cursor: '', hits: results.length, results });
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/\d+/)
      .reply(200, catalog);
    const r = await run({}, null);
    expect(r.error).toBeNull();
    expect(r.items.map((i) => (i.bundle ? 'bundle' : 'state'))).toEqual(['bundle', 'bundle', 'bundle', 'state']);
    const incidentsPerBundle = r.bundles.map((b) => b.objects.filter((o) => o.type === 'incident').length);
    // 231 records: the first bundle's 100 include both records of the merged incident.
    expect(incidentsPerBundle).toEqual([RECORDS_PER_BUNDLE - 1, RECORDS_PER_BUNDLE, 31]);
    const first = r.bundles[0]?.objects.find(
      (o) => o.type === 'incident' && o.name === 'Spycloud high alert on user0@example.org',
    );
    expect(first?.description).toMatch(/^SpyCloud reported 2 breach records/);
    // Each bundle stands alone: its author and marking, and no reference outside it.
    for (const bundle of r.bundles) {
      const ids = new Set(bundle.objects.map((o) => o.id));
      expect(bundle.objects.filter((o) => o.type === 'identity' || o.type === 'marking-definition')).toHaveLength(2);
      for (const o of bundle.objects) {
        if (o.type === 'relationship')
          expect(ids.has(o.source_ref as string) && ids.has(o.target_ref as string)).toBe(true);
      }
    }
  });

  it('runs one pass per watchlist type from its own saved date, keeps the other keys, and repeats severity', async () => {
    const queries: Array<Record<string, unknown>> = [];
    serveWatchlist(queries);
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/\d+/)
      .reply(200, catalog);
    const saved = {
      email_last_import_date: '2024-12-01T00:00:00+00:00',
      last_import_date: '2020-01-01T00:00:00+00:00',
    };
    const r = await run({ SPYCLOUD_WATCHLIST_TYPES: 'email,ip', SPYCLOUD_SEVERITY_LEVELS: '20,25' }, saved);
    expect(queries.filter((q) => !q.cursor)).toEqual([
      { watchlist_type: 'email', severity: ['20', '25'], since: '2024-12-01' },
      { watchlist_type: 'ip', severity: ['20', '25'], since: '1970-01-01' },
    ]);
    expect(r.states.at(-1)).toEqual({
      last_import_date: '2020-01-01T00:00:00+00:00',
      email_last_import_date: '2024-12-04T00:00:00+00:00',
      ip_last_import_date: '2024-12-04T00:00:00+00:00',
    });
    expect(r.items.map((i) => (i.bundle ? 'bundle' : 'state'))).toEqual([
      'bundle',
      'bundle',
      'state',
      'bundle',
      'bundle',
      'state',
    ]);
    expect(stateKey(null)).toBe('last_import_date');
  });

  it('starts a first run SPYCLOUD_IMPORT_START_DATE ago when it is a duration', async () => {
    const queries: Array<Record<string, unknown>> = [];
    nock(HOST)
      .get(WATCHLIST)
      .query((q) => {
        queries.push(q);
        return true;
      })
      .reply(200, { cursor: '', hits: 0, results: [] });
    const r = await run({ SPYCLOUD_IMPORT_START_DATE: 'P30D' }, null, '2025-01-31T12:00:00Z');
    expect(queries).toEqual([{ since: '2025-01-01' }]);
    // Nothing found: no bundle and no state, as upstream.
    expect(r.items).toEqual([]);
  });

  it('never moves the saved date backwards, and ignores a saved value that is not a date', async () => {
    nock(HOST).get(WATCHLIST).query({ since: '2025-01-10' }).reply(200, lastPage);
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/\d+/)
      .reply(200, catalog);
    const r = await run({}, { last_import_date: '2025-01-10T00:00:00+00:00' });
    expect(r.states).toEqual([{ last_import_date: '2025-01-10T00:00:00+00:00' }]);

    nock(HOST).get(WATCHLIST).query({ since: '1970-01-01' }).reply(200, { cursor: '', results: [] });
    expect((await run({}, { last_import_date: 'yesterday' })).items).toEqual([]);
  });

  it('degrades a catalog failure to the source "Unknown", reports it once, and goes on', async () => {
    nock(HOST).get(WATCHLIST).query(true).reply(200, firstPage);
    nock(HOST).get(WATCHLIST).query(true).reply(200, lastPage);
    nock(HOST).get('/enterprise-v2/breach/catalog/67701').reply(404, { message: 'no such catalog' });
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/(?!67701)\d+/)
      .reply(200, catalog);
    const r = await run({}, null);
    expect(r.errors).toEqual([
      expect.stringMatching(/^SpyCloud breach catalog 67701 could not be read; .*"Unknown".*404/),
    ]);
    const incidents = r.objects.filter((o) => o.type === 'incident');
    expect(incidents.find((o) => o.name === 'Spycloud high alert on grolfson@example.org')?.source).toBe('Unknown');
    expect(incidents.find((o) => o.name === 'Spycloud critical alert on rau.lindsey@example.org')?.source).toBe(
      'Telegram Combo Cloudxurl',
    );
    expect(r.states).toHaveLength(1);
  });

  it('reports invalid records on the work and imports the others', async () => {
    const results = [
      { document_id: 'bad-1', source_id: 1, severity: 7, spycloud_publish_date: '2024-12-04T00:00:00Z' },
      ...lastPage.results,
    ];
    nock(HOST).get(WATCHLIST).query(true).reply(200, { cursor: '', hits: 4, results });
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/\d+/)
      .reply(200, catalog);
    const r = await run({}, null);
    expect(r.errors).toEqual([expect.stringMatching(/^SpyCloud breach record bad-1 of page 1 skipped: severity: /)]);
    expect(r.objects.filter((o) => o.type === 'incident')).toHaveLength(3);
    expect(r.states).toEqual([{ last_import_date: '2024-07-26T00:00:00+00:00' }]);
  });

  it('stops without a state when a page fails', async () => {
    nock(HOST).get(WATCHLIST).query(true).reply(200, firstPage);
    nock(HOST).get(WATCHLIST).query(true).times(4).reply(500, 'down');
    nock(HOST)
      .persist()
      .get(/\/enterprise-v2\/breach\/catalog\/\d+/)
      .reply(200, catalog);
    const r = await run({}, null);
    expect((r.error as Error).message).toMatch(/SpyCloud API answered 500 .* after 4 attempts/);
    // The first page was sent; no state follows it, so the next run asks for the same dates again.
    expect(r.items.map((i) => (i.bundle ? 'bundle' : 'state'))).toEqual(['bundle']);
  });
});
