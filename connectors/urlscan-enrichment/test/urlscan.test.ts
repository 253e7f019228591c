/**
 * The URLScan daemon as users run it: against the stand-in platform, the real broker and a fake
 * urlscan.io on 127.0.0.1 that serves the recorded fixtures and records every request.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runConnector } from '@cti/connector-sdk';
import {
  assertValidStix,
  connectorTestbed,
  type FakeRequest,
  startFakeVendor,
  timestampFormProblems,
  waitUntil,
} from '@cti/connector-testkit';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTOR_ID } from '../src/config.js';
import urlscan from '../src/index.js';

const KEY = 'URLSCAN-KEY-must-never-be-logged-7d1f';
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const PHISH_URL = 'https://office365-login.example.net/common/oauth2/authorize';
const PHISH_DOMAIN = 'office365-login.example.net';
const PHISH_SCAN = '4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71';
const LIVE_SCAN = '105d1aac-ccc0-4393-b421-da95bd4faafd';
const DEAD_SCAN = '8fb2fc51-7653-46b4-bbb0-a4cde38e549d';

/** Search answers by query: the phishing URL and domain, example.com (a dead newest scan), a quota error. */
function searchRoute(req: FakeRequest) {
  if (req.headers['api-key'] !== undefined && req.headers['api-key'] !== KEY) {
    return { status: 401, body: { message: 'Invalid API key' } };
  }
  const q = req.query.get('q') ?? '';
  const hit = (id: string, time: string, status: string) => ({ _id: id, task: { time }, page: { status } });
  if (q.startsWith(`page.url:"${PHISH_URL}"`) || q.startsWith(`domain:office365\\-login.example.net`)) {
    return { body: { results: [hit(PHISH_SCAN, '2025-03-04T09:12:45.123Z', '200')], total: 1 } };
  }
  if (q.startsWith('domain:example.com') || q.startsWith('(page.url:"https://example.com')) {
    return {
      body: {
        results: [hit(DEAD_SCAN, '2025-02-01T00:00:00Z', '404'), hit(LIVE_SCAN, '2025-01-01T00:00:00Z', '200')],
        total: 2,
      },
    };
  }
  if (q.startsWith('ip:"203.0.113.10"')) return { body: fixture('search-ip.json') };
  if (q.includes('limited.example')) {
    return {
      status: 429,
      body: { message: 'Rate limit for search exceeded' },
      headers: { 'X-Rate-Limit-Reset': '2099-01-01T00:00:00.000Z', 'X-Rate-Limit-Remaining': '0' },
    };
  }
  return { body: { results: [], total: 0 } };
}

function resultRoute(req: FakeRequest) {
  const uuid = req.path.split('/').filter(Boolean).pop();
  if (uuid === PHISH_SCAN) return { body: fixture('result-malicious.json') };
  if (uuid === LIVE_SCAN) return { body: fixture('result.json') };
  if (uuid === DEAD_SCAN) return { body: fixture('result-failed.json') };
  return { status: 404, body: { message: 'Not found' } };
}

/** A real PNG (4×3 pixels), what urlscan serves at /screenshots/<uuid>.png. */
const SCREENSHOT = PNG.sync.write(
  Object.assign(new PNG({ width: 4, height: 3 }), { data: Buffer.alloc(4 * 3 * 4, 0x7f) }),
);

/**
 * Screenshots: the phishing scan's is a PNG; the live example.com scan's answers an HTML page with status
 * 200 (a proxy's error page, not a PNG); every other one is missing.
 */
function screenshotRoute(req: FakeRequest) {
  const uuid = req.path
    .split('/')
    .pop()
    ?.replace(/\.png$/, '');
  if (uuid === PHISH_SCAN) return { body: SCREENSHOT, headers: { 'content-type': 'image/png' } };
  if (uuid === LIVE_SCAN)
    return { body: '<html><body>Access denied</body></html>', headers: { 'content-type': 'image/png' } };
  return { status: 404, body: { message: 'Not found' } };
}

const bed = connectorTestbed({
  definition: urlscan,
  routes: {
    'GET /api/v1/search/': searchRoute,
    'GET /api/v1/result/:uuid': resultRoute,
    'GET /screenshots/:file': screenshotRoute,
  },
  env: (vendor) => ({ URLSCAN_API_KEY: KEY, URLSCAN_API_URL: vendor.url }),
});
beforeAll(() => bed.setup());
afterEach(() => bed.reset());
afterAll(() => bed.close());
const { start } = bed;

/**
 * Asks for an enrichment and waits for its work to be complete AND its outcome reported: the worker may
 * complete a work (every object imported) before the connector's closing message reaches it.
 */
async function enrichAndWait(connectorId: string, entityId: string) {
  const workId = await bed.platform.askEnrichment(connectorId, entityId);
  await bed.platform.waitForWork(workId, { timeoutMs: 30_000 });
  await waitUntil(() => Boolean(bed.platform.work(workId)?.processed_time), {
    timeoutMs: 30_000,
    message: `work ${workId} to be reported processed`,
  });
  const work = bed.platform.work(workId);
  if (work === undefined) throw new Error(`work ${workId} is gone`);
  return work;
}

describe('URLScan connector end to end', () => {
  it('registers with the seed defaults and enriches a Url into one bundle', async () => {
    const d = await start();
    expect(bed.platform.connector(d.connectorId)?.registrations.at(-1)?.input).toMatchObject({
      type: 'INTERNAL_ENRICHMENT',
      scope: ['Domain-Name', 'Hostname', 'IPv4-Addr', 'IPv6-Addr', 'Url'],
      name: 'URLScan.io',
      auto: true,
      playbook_compatible: true,
    });
    const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL, markings: ['TLP:AMBER'] });
    const work = await enrichAndWait(d.connectorId, url.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join()).toMatch(/is malicious \(newest scan 4f1d7a2c/);

    // Three requests: the search, that one result, its screenshot.
    expect(bed.vendor.requests.map((r) => r.path)).toEqual([
      '/api/v1/search/',
      `/api/v1/result/${PHISH_SCAN}/`,
      `/screenshots/${PHISH_SCAN}.png`,
    ]);
    expect(work.messages.map((m) => m.message).join()).toMatch(/objects sent, with its screenshot/);
    const search = bed.vendor.requests[0] as FakeRequest;
    expect(search.query.get('q')).toBe(`page.url:"${PHISH_URL}" AND date:>now-1y`);
    expect(search.query.get('size')).toBe('10');
    expect(search.url).not.toMatch(/[" ]/); // URL-encoded on the wire
    expect(search.headers['api-key']).toBe(KEY);
    expect(search.headers['user-agent']).toMatch(/^cti-connector-sdk\//);

    const ingested = bed.platform.objects({ workId: work.id });
    expect(ingested.every((o) => o.update === true)).toBe(true); // UPDATE_EXISTING_DATA defaults to true
    const objects = ingested.map((o) => o.object);
    expect(new Set(objects.map((o) => o.type))).toEqual(
      new Set([
        'identity',
        'marking-definition',
        'url',
        'domain-name',
        'hostname',
        'ipv4-addr',
        'ipv6-addr',
        'autonomous-system',
        'relationship',
        'note',
        'indicator',
      ]),
    );
    const observable = objects.find((o) => o.type === 'url');
    expect(observable?.id).toBe(url.standard_id);
    expect(observable?.x_opencti_labels).toEqual([
      'urlscan',
      'malicious',
      'microsoft',
      'phishing',
      'urlscan: nginx',
      'urlscan: cloudflare',
    ]);
    expect(JSON.stringify(observable)).toContain(`https://urlscan.io/result/${PHISH_SCAN}/`);
    const note = objects.find((o) => o.type === 'note');
    expect(note?.object_marking_refs).toEqual([url.objectMarking[0]?.standard_id]);
    expect(objects.find((o) => o.type === 'identity' && o.name === 'URLScan.io')).toBeDefined();
  });

  it('attaches the screenshot to the observable as a file the platform stores, PNG bytes intact', async () => {
    // The result names its screenshot on another host: it is never asked, with or without the key.
    const elsewhere = await startFakeVendor({ 'GET /*': { body: SCREENSHOT } });
    const result = JSON.parse(fixture('result-malicious.json')) as { task: { screenshotURL: string } };
    result.task.screenshotURL = `${elsewhere.url}/screenshots/${PHISH_SCAN}.png`;
    bed.vendor.route('GET /api/v1/result/:uuid', { body: result });
    try {
      const d = await start({ CONNECTOR_LOG_LEVEL: 'debug' });
      const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL, markings: ['TLP:GREEN'] });
      const work = await enrichAndWait(d.connectorId, url.standard_id);
      expect(work.status).toBe('complete');
      const shot = bed.vendor.requests.find((r) => r.path.startsWith('/screenshots/'));
      // Fetched from the API's own origin (urlscan's), with its key; never from the host the result names.
      expect(shot?.headers['api-key']).toBe(KEY);
      expect(elsewhere.requests).toEqual([]);
      const files = bed.platform.knowledge(url.standard_id)?.files ?? [];
      expect(files.map((f) => [f.name, f.mimeType, f.noTriggerImport])).toEqual([
        [`Sign-in-to-your-account_${PHISH_SCAN}.png`, 'image/png', true],
      ]);
      expect(Buffer.from(files[0]?.data ?? []).equals(SCREENSHOT)).toBe(true);
      // Only the observable carries it: the indicator and the note do not repeat megabytes.
      const withFiles = bed.platform.objects({ workId: work.id }).filter((o) => 'x_opencti_files' in o.object);
      expect(withFiles.map((o) => o.object.id)).toEqual([url.standard_id]);
      expect(bed.platform.stixViolations()).toEqual([]);
      // Never logged, even at debug level.
      expect(d.logs.some((l) => l.includes('"level":"DEBUG"'))).toBe(true);
      expect(d.logs.join('\n')).not.toContain(SCREENSHOT.toString('base64').slice(0, 24));
    } finally {
      bed.vendor.route('GET /api/v1/result/:uuid', resultRoute);
      await elsewhere.close();
    }
  });

  it('leaves out a screenshot that is not a PNG, and says so on the work', async () => {
    // The live example.com scan (result.json, no page title) has a screenshot URL; the dead one has none.
    const d = await start({ ONLY_ACTIVE_URLS: 'true' });
    const domain = bed.platform.addEntity({ entity_type: 'Domain-Name', value: 'example.com' });
    const work = await enrichAndWait(d.connectorId, domain.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join(' | ')).toContain(
      `screenshot left out: Cannot attach "${LIVE_SCAN}.png": its content is not image/png`,
    );
    expect(bed.platform.knowledge(domain.standard_id)?.files).toEqual([]);
    expect(bed.platform.objects({ workId: work.id }).some((o) => 'x_opencti_files' in o.object)).toBe(false);
  });

  it('stops downloading a screenshot over URLSCAN_SCREENSHOT_MAX_MB and enriches without it', async () => {
    const d = await start({ URLSCAN_SCREENSHOT_MAX_MB: '1' });
    const huge = Buffer.concat([SCREENSHOT, Buffer.alloc(3 * 1024 * 1024, 1)]);
    bed.vendor.route('GET /screenshots/:file', { body: huge, headers: { 'content-type': 'image/png' } });
    try {
      const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL });
      const work = await enrichAndWait(d.connectorId, url.standard_id);
      expect(work.status).toBe('complete');
      expect(work.errors).toEqual([]);
      const message = work.messages.map((m) => m.message).join();
      expect(message).toMatch(/screenshot left out: .*larger than the 1 MiB accepted/);
      expect(message).toContain('raise URLSCAN_SCREENSHOT_MAX_MB');
      expect(bed.platform.objects({ workId: work.id }).some((o) => 'x_opencti_files' in o.object)).toBe(false);
      expect(bed.platform.objects({ workId: work.id }).some((o) => o.object.type === 'indicator')).toBe(true);
      // The oversized answer is not asked for again.
      expect(bed.vendor.requests.filter((r) => r.path.startsWith('/screenshots/'))).toHaveLength(1);
    } finally {
      bed.vendor.route('GET /screenshots/:file', screenshotRoute);
    }
  });

  it('at URLSCAN_SCREENSHOT_MAX_MB=10, a screenshot too large for one broker message is left out, not the result', async () => {
    // 9.5 MiB of PNG is 12.7 MiB of base64 in the observable: over what one push message carries (16 MiB - 64 KiB
    // as base64 of the object's JSON), so the observable with it could never be sent.
    const d = await start({ URLSCAN_SCREENSHOT_MAX_MB: '10' });
    const large = Buffer.concat([SCREENSHOT, Buffer.alloc(9.5 * 1024 * 1024, 1)]);
    bed.vendor.route('GET /screenshots/:file', { body: large, headers: { 'content-type': 'image/png' } });
    try {
      const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL });
      const work = await enrichAndWait(d.connectorId, url.standard_id);
      expect(work.errors).toEqual([]);
      expect(work.status).toBe('complete');
      expect(work.messages.map((m) => m.message).join()).toMatch(/screenshot left out: .*one broker message/);
      const objects = bed.platform.objects({ workId: work.id }).map((o) => o.object);
      expect(objects.some((o) => 'x_opencti_files' in o)).toBe(false);
      expect(objects.some((o) => o.type === 'indicator')).toBe(true);
    } finally {
      bed.vendor.route('GET /screenshots/:file', screenshotRoute);
    }
  });

  it('URLSCAN_ENRICHMENT_IMPORT_SCREENSHOT=false (the official name): no screenshot request at all', async () => {
    const d = await start({ URLSCAN_ENRICHMENT_IMPORT_SCREENSHOT: 'false' });
    const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL });
    const work = await enrichAndWait(d.connectorId, url.standard_id);
    expect(work.status).toBe('complete');
    expect(bed.vendor.requests.map((r) => r.path)).toEqual(['/api/v1/search/', `/api/v1/result/${PHISH_SCAN}/`]);
    expect(bed.platform.objects({ workId: work.id }).some((o) => 'x_opencti_files' in o.object)).toBe(false);
  });

  it('enriches a Domain-Name, with UPDATE_EXISTING_DATA=false taken as the update flag', async () => {
    const d = await start({ UPDATE_EXISTING_DATA: 'false' });
    const domain = bed.platform.addEntity({ entity_type: 'Domain-Name', value: PHISH_DOMAIN, markings: ['TLP:GREEN'] });
    const work = await enrichAndWait(d.connectorId, domain.standard_id);
    expect(work.status).toBe('complete');
    expect(bed.vendor.requests[0]?.query.get('q')).toBe('domain:office365\\-login.example.net AND date:>now-1y');
    const ingested = bed.platform.objects({ workId: work.id });
    expect(ingested.every((o) => o.update === false)).toBe(true);
    const objects = ingested.map((o) => o.object);
    const resolvesTo = objects.filter(
      (o) => o.relationship_type === 'resolves-to' && o.source_ref === domain.standard_id,
    );
    expect(resolvesTo).toHaveLength(2);
    // The third-party host the page contacted resolves to its own address, as the official connector builds it.
    const cdn = objects.find((o) => o.type === 'hostname');
    expect(cdn?.value).toBe('cdn.example.org');
    expect(objects.some((o) => o.relationship_type === 'resolves-to' && o.source_ref === cdn?.id)).toBe(true);
    expect(objects.filter((o) => o.type === 'ipv6-addr').map((o) => o.value)).toEqual(['2001:db8::10']);
  });

  it('enriches a Hostname through the same search-first flow as a Domain-Name', async () => {
    const d = await start();
    const host = bed.platform.addEntity({ entity_type: 'Hostname', value: PHISH_DOMAIN, markings: ['TLP:GREEN'] });
    const work = await enrichAndWait(d.connectorId, host.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(bed.vendor.requests.map((r) => r.path)).toEqual([
      '/api/v1/search/',
      `/api/v1/result/${PHISH_SCAN}/`,
      `/screenshots/${PHISH_SCAN}.png`,
    ]);
    expect(bed.vendor.requests[0]?.query.get('q')).toBe('domain:office365\\-login.example.net AND date:>now-1y');
    const objects = bed.platform.objects({ workId: work.id }).map((o) => o.object);
    expect(objects.find((o) => o.id === host.standard_id)?.type).toBe('hostname');
    expect(objects.filter((o) => o.relationship_type === 'resolves-to').map((o) => o.source_ref)).toContain(
      host.standard_id,
    );
    expect(objects.find((o) => o.type === 'indicator')?.pattern).toBe(`[hostname:value = '${PHISH_DOMAIN}']`);
  });

  it('enriches an IPv4-Addr from the Search API alone: the scans that contacted it, their domains', async () => {
    const d = await start();
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.10' });
    const work = await enrichAndWait(d.connectorId, ip.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join()).toMatch(
      /3 newest scans contacted 203\.0\.113\.10 \(1 malicious, 2 page domains\)/,
    );
    // One search, no result read, nothing submitted.
    expect(bed.vendor.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/search/']);
    expect(bed.vendor.requests[0]?.query.get('q')).toBe('ip:"203.0.113.10" AND date:>now-1y');
    expect(bed.vendor.requests[0]?.query.get('size')).toBe('20');
    const objects = bed.platform.objects({ workId: work.id }).map((o) => o.object);
    const knowledge = bed.platform.knowledge(ip.standard_id);
    expect(knowledge?.externalReferences.map((r) => r.url)).toContain(
      'https://urlscan.io/search#ip%3A203.0.113.10%20AND%20date%3A%3Enow-1y',
    );
    expect(objects.filter((o) => o.type === 'domain-name').map((o) => o.value)).toEqual([
      'office365-login.example.net',
      'shop.example.com',
    ]);
    expect(objects.find((o) => o.type === 'note')?.content).toContain('1 with a malicious verdict');
    expect(bed.platform.stixViolations()).toEqual([]);
  });

  it('an IPv6-Addr that no scan contacted: "no scan" and nothing sent', async () => {
    const d = await start();
    const ip = bed.platform.addEntity({ entity_type: 'IPv6-Addr', value: '2001:db8::99' });
    const work = await enrichAndWait(d.connectorId, ip.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message)).toContain('No urlscan.io scan contacted 2001:db8::99');
    expect(bed.vendor.requests[0]?.query.get('q')).toBe('ip:"2001:db8::99" AND date:>now-1y');
    expect(bed.platform.objects({ workId: work.id })).toEqual([]);
  });

  it('enriches an Indicator of a URL through that URL, relating the results to the indicator', async () => {
    const d = await start({ CONNECTOR_SCOPE: 'Url,Domain-Name,Indicator' });
    const indicator = bed.platform.addEntity({
      entity_type: 'Indicator',
      name: 'Office 365 phishing',
      pattern: `[url:value = '${PHISH_URL}']`,
      pattern_type: 'stix',
      markings: ['TLP:GREEN'],
    });
    const work = await enrichAndWait(d.connectorId, indicator.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(bed.vendor.requests[0]?.query.get('q')).toBe(`page.url:"${PHISH_URL}" AND date:>now-1y`);
    const objects = bed.platform.objects({ workId: work.id }).map((o) => o.object);
    const url = objects.find((o) => o.type === 'url');
    expect(url?.value).toBe(PHISH_URL);
    expect(url?.object_marking_refs).toEqual([indicator.objectMarking[0]?.standard_id]);
    expect(
      objects.find(
        (o) => o.relationship_type === 'based-on' && o.source_ref === indicator.standard_id && o.target_ref === url?.id,
      ),
    ).toBeDefined();
    expect(objects.find((o) => o.type === 'note')?.object_refs).toEqual([url?.id, indicator.standard_id]);
    // The indicator is the enriched one: not re-sent, no second indicator of the same pattern.
    expect(objects.filter((o) => o.type === 'indicator')).toEqual([]);
    expect(bed.platform.knowledge(url?.id as string)?.files.map((f) => f.mimeType)).toEqual(['image/png']);
    expect(bed.platform.stixViolations()).toEqual([]);
  });

  it('refuses an Indicator whose pattern is not a simple URL or domain, without any request', async () => {
    const d = await start({ CONNECTOR_SCOPE: 'Url,Domain-Name,Indicator' });
    for (const pattern of [
      "[ipv4-addr:value = '203.0.113.10']",
      `[url:value = '${PHISH_URL}' OR domain-name:value = 'example.com']`,
    ]) {
      const indicator = bed.platform.addEntity({
        entity_type: 'Indicator',
        name: pattern,
        pattern,
        pattern_type: 'stix',
      });
      const work = await enrichAndWait(d.connectorId, indicator.standard_id);
      expect(work.errors.map((e) => e.message).join()).toMatch(
        /^Indicator not enriched: its pattern is not one comparison of a url, domain-name or hostname value/,
      );
      expect(bed.platform.objects({ workId: work.id })).toEqual([]);
    }
    expect(bed.vendor.requests).toEqual([]);
  });

  it('reads the newest live scan with ONLY_ACTIVE_URLS, and ends with "no scan found" when there is none', async () => {
    const d = await start({ ONLY_ACTIVE_URLS: 'true' });
    const domain = bed.platform.addEntity({ entity_type: 'Domain-Name', value: 'example.com' });
    await enrichAndWait(d.connectorId, domain.standard_id);
    expect(bed.vendor.requests.map((r) => r.path)).toEqual([
      '/api/v1/search/',
      `/api/v1/result/${LIVE_SCAN}/`,
      `/screenshots/${LIVE_SCAN}.png`,
    ]);
    expect(bed.vendor.requests[0]?.query.get('size')).toBe('50');

    const unknown = bed.platform.addEntity({ entity_type: 'Url', value: 'https://unknown.example/x' });
    const work = await enrichAndWait(d.connectorId, unknown.standard_id);
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message)).toContain('No urlscan.io scan found for https://unknown.example/x');
    expect(bed.platform.objects({ workId: work.id })).toEqual([]);
  });

  it('refuses a TLP:RED observable without any request to urlscan.io', async () => {
    const d = await start();
    const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL, markings: ['TLP:RED'] });
    const work = await enrichAndWait(d.connectorId, url.standard_id);
    expect(work.errors.map((e) => e.message).join()).toMatch(/TLP:RED/);
    expect(bed.vendor.requests).toHaveLength(0);
  });

  it('fails an enrichment on a far quota reset with the reset time, without blocking the next one', async () => {
    const d = await start();
    const limited = bed.platform.addEntity({ entity_type: 'Domain-Name', value: 'limited.example' });
    const w1 = await enrichAndWait(d.connectorId, limited.standard_id);
    expect(w1.errors.map((e) => e.message).join()).toContain('it resets at 2099-01-01T00:00:00.000Z');
    // The search quota is known to be used up: the next search is not even sent.
    const other = bed.platform.addEntity({ entity_type: 'Domain-Name', value: 'other.example' });
    const w2 = await enrichAndWait(d.connectorId, other.standard_id);
    expect(w2.errors.map((e) => e.message).join()).toContain('search quota exhausted');
    expect(bed.vendor.requests).toHaveLength(1);
  });

  it('never logs URLSCAN_API_KEY, even at debug level and on errors', async () => {
    const d = await start({ CONNECTOR_LOG_LEVEL: 'debug' });
    for (const value of [PHISH_URL, 'https://unknown.example/y']) {
      const url = bed.platform.addEntity({ entity_type: 'Url', value });
      await enrichAndWait(d.connectorId, url.standard_id);
    }
    bed.vendor.route('GET /api/v1/search/', { status: 401, body: { message: `Invalid API key ${KEY}` } });
    try {
      const failing = bed.platform.addEntity({ entity_type: 'Url', value: 'https://fails.example/' });
      const work = await enrichAndWait(d.connectorId, failing.standard_id);
      expect(work.errors.map((e) => e.message).join()).toContain('urlscan.io rejected the API key (HTTP 401)');
    } finally {
      bed.vendor.route('GET /api/v1/search/', searchRoute);
    }
    expect(d.logs.some((l) => l.includes('"level":"DEBUG"'))).toBe(true);
    expect(d.logs.some((l) => l.includes('vendor HTTP request'))).toBe(true);
    expect(d.logs.join('\n')).not.toContain(KEY);
    expect(JSON.stringify(bed.platform.worksOf(d.connectorId))).not.toContain(KEY);
  });

  it('starts from OPENCTI_API_URL and OPENCTI_API_KEY alone, as the fixed default connector', async () => {
    const stop = new AbortController();
    const logs: string[] = [];
    const exited = runConnector(urlscan, {
      argv: [],
      env: { OPENCTI_API_URL: bed.platform.url, OPENCTI_API_KEY: bed.platform.token, URLSCAN_API_URL: bed.vendor.url },
      dotenvPath: false,
      handleSignals: false,
      signal: stop.signal,
      logDestination: { write: (line: string) => logs.push(line) },
      stdout: (t) => void logs.push(t),
      stderr: (t) => void logs.push(t),
    });
    try {
      await waitUntil(() => logs.some((l) => l.includes('listening for enrichment requests')), { timeoutMs: 20_000 });
      expect(bed.platform.connector(DEFAULT_CONNECTOR_ID)?.registrations.at(-1)?.input).toMatchObject({
        name: 'URLScan.io',
        auto: true,
      });
      const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL });
      const work = await enrichAndWait(DEFAULT_CONNECTOR_ID, url.standard_id);
      expect(work.status).toBe('complete');
      // No key: anonymous search, no API-Key header.
      expect(bed.vendor.requests.every((r) => r.headers['api-key'] === undefined)).toBe(true);
    } finally {
      stop.abort();
      expect(await exited).toBe(0);
    }
  });
});

describe('the dry run of the built connector', () => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [main, ...args], {
      env: { PATH: process.env.PATH ?? '', URLSCAN_API_KEY: KEY, URLSCAN_API_URL: bed.vendor.url },
    });

  it('node dist/main.js enrich https://example.com/login --type Url prints the bundle', async () => {
    expect(existsSync(main), 'connectors/urlscan-enrichment/dist/main.js is missing: run `pnpm build` first').toBe(
      true,
    );
    bed.vendor.route('GET /api/v1/search/', (req) =>
      req.query.get('q')?.startsWith('page.url:"https://example.com/login"')
        ? {
            body: {
              results: [{ _id: PHISH_SCAN, task: { time: '2025-03-04T09:12:45.123Z' }, page: { status: '200' } }],
            },
          }
        : undefined,
    );
    try {
      const { stdout } = await run(['enrich', 'https://example.com/login', '--type', 'Url']);
      const bundle = JSON.parse(stdout) as { objects: Array<{ type: string; value?: string }> };
      assertValidStix(bundle, 'the dry-run bundle');
      expect(bundle.objects.find((o) => o.type === 'url')?.value).toBe('https://example.com/login');
      expect(bundle.objects.some((o) => o.type === 'note')).toBe(true);
      expect(timestampFormProblems(bundle)).toEqual([]);
      expect(bed.vendor.requests.map((r) => r.path)).toEqual([
        '/api/v1/search/',
        `/api/v1/result/${PHISH_SCAN}/`,
        `/screenshots/${PHISH_SCAN}.png`,
      ]);
    } finally {
      bed.vendor.route('GET /api/v1/search/', searchRoute);
    }
  });

  it("the seed's testing mode: -t example.com -d -a is a debug dry run of a domain, live scans only", async () => {
    const { stdout, stderr } = await run(['-t', 'example.com', '-d', '-a']);
    const bundle = JSON.parse(stdout) as { objects: Array<{ type: string; value?: string; content?: string }> };
    assertValidStix(bundle, 'the dry-run bundle');
    expect(bundle.objects.find((o) => o.type === 'domain-name')?.value).toBe('example.com');
    // -a: the newest scan is of a dead page, the live one before it is used.
    expect(bundle.objects.find((o) => o.type === 'note')?.content).toContain(LIVE_SCAN);
    expect(bed.vendor.requests.map((r) => r.path)).toEqual([
      '/api/v1/search/',
      `/api/v1/result/${LIVE_SCAN}/`,
      `/screenshots/${LIVE_SCAN}.png`,
    ]);
    expect(bed.vendor.requests[0]?.query.get('q')).toBe('domain:example.com AND date:>now-1y');
    // -d: debug lines on stderr, without the key.
    expect(stderr).toMatch(/"level":"DEBUG"/);
    expect(stderr).not.toContain(KEY);
  });
});
