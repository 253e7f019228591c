import { readFileSync } from 'node:fs';
import {
  createHttpClientWith,
  defaultHttpRuntime,
  type EnrichContext,
  type EnrichmentEntity,
  type HttpClient,
  InputError,
  loadConfig,
  observableId,
  shapeOf,
  silentLogger,
  TLP_MARKING_IDS,
  type TlpLevel,
  toEnrichmentEntity,
} from '@cti/connector-sdk';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UrlscanClient, urlscanHttpOptions } from './client.js';
import type { UrlscanConfig } from './config.js';
import urlscan, { assertVisibilityAllowed } from './index.js';

const API = 'https://urlscan.io';
const KEY = 'urlscan-test-key-0123456789abcdef';
const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8');
const JSON_TYPE = { 'content-type': 'application/json' };
const SCAN = '4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71';
const clients: HttpClient[] = [];

function entity(entityType: 'Url' | 'Domain-Name', value: string, tlp: TlpLevel = 'TLP:GREEN'): EnrichmentEntity {
  const type = entityType === 'Url' ? 'url' : 'domain-name';
  const id = observableId(type, { value });
  return toEnrichmentEntity(
    {
      standard_id: id,
      entity_type: entityType,
      observable_value: value,
      objectMarking: [{ standard_id: TLP_MARKING_IDS[tlp], definition_type: 'TLP', definition: tlp }],
    },
    { type, id, spec_version: '2.1', value },
  );
}

/** Runs the connector's enrich() as the SDK would, against nock, with settings from `env`. */
async function enrich(target: EnrichmentEntity, env: Record<string, string> = {}) {
  const config = loadConfig(shapeOf(urlscan), {
    // Screenshots are tested end to end (test/urlscan.test.ts): off here unless a test turns them on.
    env: {
      OPENCTI_TOKEN: 'x',
      URLSCAN_API_KEY: KEY,
      URLSCAN_SUBMIT_WAIT_SECONDS: '10',
      URLSCAN_IMPORT_SCREENSHOT: 'false',
      ...env,
    },
    dotenvPath: false,
  }) as unknown as UrlscanConfig;
  const http = createHttpClientWith(urlscanHttpOptions(config), { ...defaultHttpRuntime, env: {} });
  clients.push(http);
  const client = new UrlscanClient({
    http,
    hasApiKey: true,
    maxWaitMs: 0,
    perHour: 100,
    // Polls are not what this file tests: no waiting.
    sleep: async () => undefined,
  });
  const ctx: EnrichContext<UrlscanConfig, UrlscanClient> = {
    config,
    client,
    logger: silentLogger(),
    signal: new AbortController().signal,
    confidence: config.CONNECTOR_CONFIDENCE_LEVEL,
    playbook: false,
    auto: false,
    stixObjects: [],
    now: () => new Date('2026-03-02T10:00:00.000Z'),
  };
  return urlscan.enrich(target, ctx);
}

beforeAll(() => nock.disableNetConnect());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('enrich', () => {
  it('searches, reads only the newest hit, and sends one bundle', async () => {
    nock(API)
      .get('/api/v1/search/')
      .query({ q: 'domain:ayyza.com AND date:>now-1y', size: '10' })
      .reply(200, fixture('search.json'), JSON_TYPE);
    // The newest of the six hits, and no other (the community connector fetched all of them).
    nock(API)
      .get('/api/v1/result/bb3f2cf4-96ef-4e4d-b5f5-f14740c6728f/')
      .reply(
        200,
        fixture('result.json').replaceAll(
          '105d1aac-ccc0-4393-b421-da95bd4faafd',
          'bb3f2cf4-96ef-4e4d-b5f5-f14740c6728f',
        ),
        JSON_TYPE,
      );
    const result = await enrich(entity('Domain-Name', 'ayyza.com'));
    expect(result.message).toMatch(
      /^urlscan\.io: ayyza\.com is not malicious \(newest scan bb3f2cf4-96ef-4e4d-b5f5-f14740c6728f of 2020-05-27T15:03:15\.638Z\), \d+ objects sent$/,
    );
    expect(result.bundle?.objects.some((o) => o.type === 'note')).toBe(true);
  });

  it('with ONLY_ACTIVE_URLS, asks for more hits and reads the newest live one', async () => {
    const hits = {
      results: [
        {
          _id: '11111111-1111-4111-8111-111111111111',
          task: { time: '2025-03-05T00:00:00Z' },
          page: { status: '404' },
        },
        { _id: SCAN, task: { time: '2025-03-04T00:00:00Z' }, page: { status: '200' } },
      ],
    };
    nock(API)
      .get('/api/v1/search/')
      .query({ q: `page.url:"https://office365-login.example.net/" AND date:>now-1y`, size: '50' })
      .reply(200, hits);
    nock(API).get(`/api/v1/result/${SCAN}/`).reply(200, fixture('result-malicious.json'), JSON_TYPE);
    const result = await enrich(entity('Url', 'https://office365-login.example.net/'), { ONLY_ACTIVE_URLS: 'true' });
    expect(result.message).toMatch(/is malicious \(newest scan 4f1d7a2c/);
    expect(result.bundle?.objects.some((o) => o.type === 'indicator')).toBe(true);
  });

  it('ends successfully with "no urlscan.io scan found" and no bundle when there is none', async () => {
    nock(API).get('/api/v1/search/').query(true).reply(200, { results: [], total: 0 });
    expect(await enrich(entity('Url', 'https://nothing.example/'))).toEqual({
      message: 'No urlscan.io scan found for https://nothing.example/',
    });
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .reply(200, { results: [{ _id: SCAN, task: { time: '2025-03-04T00:00:00Z' }, page: { status: '500' } }] });
    expect(await enrich(entity('Url', 'https://down.example/'), { ONLY_ACTIVE_URLS: 'true' })).toEqual({
      message: 'No active urlscan.io scan (HTTP 200) found for https://down.example/ among the 1 newest',
    });
  });

  it('submits a scan only when asked, then reads its result', async () => {
    nock(API).get('/api/v1/search/').query(true).reply(200, { results: [] });
    nock(API, { reqheaders: { 'api-key': KEY } })
      .post('/api/v1/scan/', { url: 'https://office365-login.example.net/', visibility: 'unlisted' })
      .reply(200, fixture('scan-submission.json'), JSON_TYPE);
    nock(API).get(`/api/v1/result/${SCAN}/`).reply(404, fixture('result-not-finished-404.json'), JSON_TYPE);
    nock(API).get(`/api/v1/result/${SCAN}/`).reply(200, fixture('result-malicious.json'), JSON_TYPE);
    const result = await enrich(entity('Url', 'https://office365-login.example.net/', 'TLP:AMBER'), {
      URLSCAN_SUBMIT_SCAN: 'true',
    });
    expect(result.message).toMatch(/is malicious \(new unlisted scan 4f1d7a2c/);
  });

  it("reports urlscan's refusal to scan as the outcome", async () => {
    nock(API).get('/api/v1/search/').query(true).reply(200, { results: [] });
    nock(API).post('/api/v1/scan/').reply(400, fixture('scan-error-400.json'), JSON_TYPE);
    const result = await enrich(entity('Domain-Name', 'office365-login.example.invalid'), {
      URLSCAN_SUBMIT_SCAN: 'true',
    });
    expect(result.bundle).toBeUndefined();
    expect(result.message).toMatch(
      /^No urlscan\.io scan found for office365-login\.example\.invalid; urlscan\.io refused a new scan: DNS Error/,
    );
  });

  it('does not take the verdict of a site that only contacted the domain', async () => {
    nock(API)
      .get('/api/v1/search/')
      .query(true)
      .reply(200, {
        results: [
          {
            _id: SCAN,
            task: { time: '2025-03-04T00:00:00Z', domain: 'phish.example' },
            page: { domain: 'phish.example' },
          },
        ],
      });
    expect(await enrich(entity('Domain-Name', 'cdn.example'))).toEqual({
      message: 'No urlscan.io scan of a page on cdn.example among the 1 newest scans that contacted it',
    });
  });

  it('refuses a public scan of an observable above TLP:GREEN: the search happens, the submission never', async () => {
    nock(API).get('/api/v1/search/').query(true).reply(200, { results: [] });
    // No POST route: a submission would fail the test with a different error.
    const refused = enrich(entity('Url', 'https://secret.example/', 'TLP:AMBER'), {
      URLSCAN_SUBMIT_SCAN: 'true',
      URLSCAN_VISIBILITY: 'public',
    });
    await expect(refused).rejects.toBeInstanceOf(InputError);
    await expect(refused).rejects.toThrow(
      'Refused to submit a public urlscan.io scan of an observable marked TLP:AMBER: public scans are visible to everyone; set URLSCAN_VISIBILITY=unlisted or private',
    );
  });
});

describe('assertVisibilityAllowed', () => {
  it.each([
    ['public', 'TLP:CLEAR', true],
    ['public', 'TLP:GREEN', true],
    ['public', 'TLP:AMBER', false],
    ['public', 'TLP:AMBER+STRICT', false],
    ['public', 'TLP:RED', false],
    ['unlisted', 'TLP:AMBER', true],
    ['private', 'TLP:RED', true],
  ] as const)('%s scan of a %s observable: allowed %s', (visibility, tlp, allowed) => {
    const check = () => assertVisibilityAllowed(visibility, tlp);
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(InputError);
  });
});
