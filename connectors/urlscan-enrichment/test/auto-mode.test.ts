/**
 * Auto mode cannot loop. The stand-in platform emulates CONNECTOR_AUTO (autoEnrichment): every observable or
 * Indicator the worker imports that it did not hold is created and handed to each auto connector whose scope
 * has its type. With every scope this connector takes, each type it creates comes back to it once, in auto
 * mode, and is left alone; what a user created is still enriched in auto mode.
 */
import { readFileSync } from 'node:fs';
import { connectorTestbed, type FakeRequest, waitUntil } from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import urlscan from '../src/index.js';

const KEY = 'URLSCAN-KEY-auto-mode-4b2e';
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const PHISH_URL = 'https://office365-login.example.net/common/oauth2/authorize';
const PHISH_SCAN = '4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71';
const LIVE_SCAN = '105d1aac-ccc0-4393-b421-da95bd4faafd';
const ALL_SCOPES = 'Domain-Name,Hostname,IPv4-Addr,IPv6-Addr,Url,Indicator';

function searchRoute(req: FakeRequest) {
  const q = req.query.get('q') ?? '';
  const hit = (id: string) => ({ _id: id, task: { time: '2025-03-04T09:12:45.123Z' }, page: { status: '200' } });
  if (q.includes('office365')) return { body: { results: [hit(PHISH_SCAN)], total: 1 } };
  if (q.includes('example.com')) return { body: { results: [hit(LIVE_SCAN)], total: 1 } };
  if (q.startsWith('ip:"192.0.2.200"')) return { body: fixture('search-ip.json') };
  return { body: { results: [], total: 0 } };
}

const bed = connectorTestbed({
  definition: urlscan,
  routes: {
    'GET /api/v1/search/': searchRoute,
    'GET /api/v1/result/:uuid': (req) => {
      const uuid = req.path.split('/').filter(Boolean).pop();
      if (uuid === PHISH_SCAN) return { body: fixture('result-malicious.json') };
      if (uuid === LIVE_SCAN) return { body: fixture('result.json') };
      return { status: 404, body: { message: 'Not found' } };
    },
    'GET /screenshots/:file': { status: 404, body: { message: 'Not found' } },
  },
  env: (vendor) => ({ URLSCAN_API_KEY: KEY, URLSCAN_API_URL: vendor.url }),
  platform: { autoEnrichment: true },
});
beforeAll(() => bed.setup());
afterEach(() => bed.reset());
afterAll(() => bed.close());

/** Waits until the work is complete and its outcome reported. */
async function processed(workId: string) {
  await bed.platform.waitForWork(workId, { timeoutMs: 30_000 });
  await waitUntil(() => Boolean(bed.platform.work(workId)?.processed_time), { timeoutMs: 30_000 });
  const work = bed.platform.work(workId);
  if (work === undefined) throw new Error(`work ${workId} is gone`);
  return work;
}

/**
 * Waits until every auto enrichment the platform asked of `connectorId` has run, and no new one comes.
 * (Connectors of earlier tests stay registered, as on a real platform: their requests wait in their queues.)
 */
async function settled(connectorId: string): Promise<void> {
  const mine = () => bed.platform.autoEnrichments.filter((a) => a.connectorId === connectorId);
  let seen = -1;
  while (seen !== mine().length) {
    seen = mine().length;
    await waitUntil(() => mine().every((a) => a.workId !== null), { timeoutMs: 30_000 });
    for (const asked of mine()) await processed(asked.workId as string);
  }
}

describe('auto mode with every scope', () => {
  it('leaves alone, in auto mode, each type this connector just created, so nothing loops', async () => {
    const d = await bed.start({ CONNECTOR_SCOPE: ALL_SCOPES, CONNECTOR_AUTO: 'true' });
    // A user's Url: its malicious scan creates a Domain-Name, a Hostname, IPv4 and IPv6 addresses, an Indicator.
    const url = bed.platform.addEntity({ entity_type: 'Url', value: PHISH_URL, markings: ['TLP:GREEN'] });
    await processed(await bed.platform.askEnrichment(d.connectorId, url.standard_id));
    // A user's Indicator of another URL: that Url is created.
    const indicator = bed.platform.addEntity({
      entity_type: 'Indicator',
      name: 'example.com',
      pattern: "[url:value = 'https://example.com/']",
      pattern_type: 'stix',
    });
    await processed(await bed.platform.askEnrichment(d.connectorId, indicator.standard_id));
    // A user's address: the domains of the pages that contacted it are created.
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.200' });
    await processed(await bed.platform.askEnrichment(d.connectorId, ip.standard_id));
    const requestsByUsers = bed.vendor.requests.length;

    await settled(d.connectorId);
    const asked = bed.platform.autoEnrichments.filter((a) => a.connectorId === d.connectorId);
    expect(new Set(asked.map((a) => a.entityType))).toEqual(
      new Set(['Domain-Name', 'Hostname', 'IPv4-Addr', 'IPv6-Addr', 'Url', 'Indicator']),
    );
    for (const a of asked) {
      const work = bed.platform.work(a.workId as string);
      expect(work?.errors, a.entityType).toEqual([]);
      expect(work?.messages.map((m) => m.message).join(), a.entityType).toMatch(
        /Not enriched in auto mode: .* was created by this connector \(author URLScan\.io\)/,
      );
      expect(bed.platform.objects({ workId: a.workId as string }), a.entityType).toEqual([]);
    }
    // Not one request to urlscan.io for them, and nothing new was created: the chain stopped at once.
    expect(bed.vendor.requests).toHaveLength(requestsByUsers);
    expect(bed.platform.autoEnrichments.filter((a) => a.connectorId === d.connectorId)).toHaveLength(asked.length);
  });

  it('still enriches in auto mode what someone else created', async () => {
    const d = await bed.start({ CONNECTOR_SCOPE: ALL_SCOPES });
    const domain = bed.platform.addEntity({ entity_type: 'Domain-Name', value: 'example.com', createdBy: 'Analysts' });
    const work = await processed(await bed.platform.askEnrichment(d.connectorId, domain.standard_id, { mode: 'auto' }));
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join()).toMatch(/urlscan\.io: example\.com is not malicious/);
    expect(bed.vendor.requests.map((r) => r.path)).toContain(`/api/v1/result/${LIVE_SCAN}/`);
    await settled(d.connectorId);
  });

  it('enriches by hand what it created, whatever the mode says for others', async () => {
    const d = await bed.start({ CONNECTOR_SCOPE: ALL_SCOPES });
    // Created by this connector in the first test: a user's "Enrich" still runs.
    const hostname = bed.platform.entity('hostname--d985152d-de04-5b7f-9ccd-1940aae185f9');
    expect(hostname?.createdBy?.attributes.name).toBe('URLScan.io');
    const work = await processed(await bed.platform.askEnrichment(d.connectorId, hostname?.standard_id as string));
    expect(work.messages.map((m) => m.message).join()).not.toContain('Not enriched in auto mode');
    expect(bed.vendor.requests.length).toBeGreaterThan(0);
    await settled(d.connectorId);
  });
});
