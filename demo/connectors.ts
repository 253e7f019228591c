/**
 * The five connectors as the demo runs them: the settings each needs, a fake vendor that replays the
 * connector's recorded fixtures (test/fixtures/, provenance in their README.md), and what to enrich.
 */
import { readFileSync } from 'node:fs';
import { type EntityInput, type FakeVendor, startFakeVendor } from '@cti/connector-testkit';

export interface DemoConnector {
  slug: string;
  title: string;
  kind: 'enrichment' | 'import';
  vendorName: string;
  env(vendorUrl: string): Record<string, string>;
  vendor(): Promise<FakeVendor>;
  /** Enrichers: the observables to enrich. */
  samples?: EntityInput[];
}

function fixture(slug: string, name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../connectors/${slug}/test/fixtures/${name}`, import.meta.url), 'utf8'));
}

const DEMO_KEY = 'demo-key-not-a-real-secret';

export const demoConnectors: DemoConnector[] = [
  {
    slug: 'crowdsec',
    title: 'CrowdSec',
    kind: 'enrichment',
    vendorName: 'CrowdSec CTI API',
    env: (url) => ({
      CROWDSEC_KEY: DEMO_KEY,
      CROWDSEC_API_URL: url,
      CROWDSEC_INDICATOR_CREATE_FROM: 'malicious,suspicious',
      CROWDSEC_ATTACK_PATTERN_CREATE_FROM_MITRE: 'true',
      CROWDSEC_CREATE_NOTE: 'true',
    }),
    vendor: () => {
      const smoke = fixture('crowdsec', 'smoke-ip-146.70.186.190.json') as Record<string, unknown>;
      return startFakeVendor({
        'GET /v2/smoke/:ip': (req) => {
          const ip = req.path.split('/').pop() ?? '';
          return ip === '146.70.186.190'
            ? { body: smoke }
            : { status: 404, body: fixture('crowdsec', 'smoke-404.json') };
        },
      });
    },
    samples: [
      { entity_type: 'IPv4-Addr', value: '146.70.186.190', markings: ['TLP:GREEN'] },
      { entity_type: 'IPv4-Addr', value: '192.0.2.10', markings: ['TLP:CLEAR'] },
    ],
  },
  {
    slug: 'team-cymru-scout',
    title: 'Team Cymru Scout',
    kind: 'enrichment',
    vendorName: 'Pure Signal Scout API',
    env: (url) => ({ PURE_SIGNAL_SCOUT_API_TOKEN: DEMO_KEY, PURE_SIGNAL_SCOUT_API_URL: `${url}/api/scout` }),
    vendor: () => {
      const answers: Record<string, unknown> = {
        '1.1.1.1': fixture('team-cymru-scout', 'ip-foundation.json'),
        'one.one.one.one': fixture('team-cymru-scout', 'search.json'),
      };
      return startFakeVendor({
        'GET /api/scout/ip/foundation': (req) => ({
          body: answers[req.query.get('ips') ?? ''] ?? { type: 'bundle', objects: [] },
        }),
        'GET /api/scout/search': (req) => ({
          body: answers[req.query.get('query') ?? ''] ?? { type: 'bundle', objects: [] },
        }),
      });
    },
    samples: [
      { entity_type: 'IPv4-Addr', value: '1.1.1.1', markings: ['TLP:GREEN'] },
      { entity_type: 'Domain-Name', value: 'one.one.one.one', markings: ['TLP:GREEN'] },
    ],
  },
  {
    slug: 'spycloud',
    title: 'SpyCloud',
    kind: 'import',
    vendorName: 'SpyCloud API',
    env: (url) => ({
      SPYCLOUD_API_BASE_URL: `${url}/enterprise-v2/`,
      SPYCLOUD_API_KEY: DEMO_KEY,
      SPYCLOUD_IMPORT_START_DATE: '2024-01-01T00:00:00Z',
      CONNECTOR_DURATION_PERIOD: 'PT1H',
      CONNECTOR_RUN_AND_TERMINATE: 'true',
    }),
    vendor: () => {
      const first = fixture('spycloud', 'breach-records.json') as { cursor: string };
      const last = fixture('spycloud', 'breach-records-last-page.json');
      return startFakeVendor({
        'GET /enterprise-v2/breach/data/watchlist': (req) => ({
          body: req.query.get('cursor') === first.cursor ? last : first,
        }),
        'GET /enterprise-v2/breach/catalog/:id': { body: fixture('spycloud', 'breach-catalog.json') },
      });
    },
  },
  {
    slug: 'teamt5',
    title: 'TeamT5',
    kind: 'import',
    vendorName: 'TeamT5 ThreatVision API',
    env: (url) => ({
      TEAMT5_API_BASE_URL: url,
      TEAMT5_CLIENT_ID: 'demo-client',
      TEAMT5_CLIENT_SECRET: DEMO_KEY,
      CONNECTOR_RUN_AND_TERMINATE: 'true',
    }),
    vendor: async () => {
      const reportStix = fixture('teamt5', 'report-stix.json');
      const iocStix = fixture('teamt5', 'indicator-bundle-stix.json');
      const api = await startFakeVendor();
      // The listings point their stix_url at the fake itself, as TeamT5's point at its own API.
      const relink = (items: Array<Record<string, unknown>>, kind: string, key: string) =>
        items.map((item) =>
          item.stix_url ? { ...item, stix_url: `${api.url}/api/v2/${kind}/${String(item[key])}.stix` } : item,
        );
      const reports = relink(
        (fixture('teamt5', 'reports.json') as { reports: Array<Record<string, unknown>> }).reports,
        'reports',
        'alias',
      );
      const bundles = relink(
        (fixture('teamt5', 'indicator-bundles.json') as { ioc_bundles: Array<Record<string, unknown>> }).ioc_bundles,
        'ioc_bundles',
        'id',
      );
      api.route('POST /oauth/token', { body: fixture('teamt5', 'oauth-token.json') });
      api.route('GET /api/v2/reports', (req) => ({
        body: { success: true, reports: Number(req.query.get('offset') ?? 0) === 0 ? reports : [] },
      }));
      api.route('GET /api/v2/ioc_bundles', (req) => ({
        body: { success: true, ioc_bundles: Number(req.query.get('offset') ?? 0) === 0 ? bundles : [] },
      }));
      api.route('GET /api/v2/reports/:file', { body: reportStix });
      api.route('GET /api/v2/ioc_bundles/:file', { body: iocStix });
      return api;
    },
  },
  {
    slug: 'urlscan-enrichment',
    title: 'URLScan',
    kind: 'enrichment',
    vendorName: 'urlscan.io API',
    env: (url) => ({ URLSCAN_API_KEY: DEMO_KEY, URLSCAN_API_URL: url }),
    vendor: () => {
      // The recorded search (a real answer for ayyza.com) serves every domain query; the phishing URL finds
      // the reconstructed malicious scan.
      const search = fixture('urlscan-enrichment', 'search.json') as { results: Array<{ _id: string }> };
      const phishScan = '4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71';
      return startFakeVendor({
        'GET /api/v1/search/': (req) => {
          const q = req.query.get('q') ?? '';
          if (q.includes('office365-login.example.net') || q.includes('office365\\-login.example.net')) {
            return {
              body: {
                results: [{ _id: phishScan, task: { time: '2025-03-04T09:12:45.123Z' }, page: { status: '200' } }],
                total: 1,
              },
            };
          }
          return { body: search };
        },
        'GET /api/v1/result/:uuid': (req) => {
          const uuid = req.path.split('/').filter(Boolean).pop() ?? '';
          if (uuid === phishScan) return { body: fixture('urlscan-enrichment', 'result-malicious.json') };
          return search.results.some((r) => r._id === uuid)
            ? { body: fixture('urlscan-enrichment', 'result.json') }
            : { status: 404, body: { message: 'Not found' } };
        },
      });
    },
    samples: [
      {
        entity_type: 'Url',
        value: 'https://office365-login.example.net/common/oauth2/authorize',
        markings: ['TLP:AMBER'],
      },
      { entity_type: 'Domain-Name', value: 'ayyza.com', markings: ['TLP:GREEN'] },
    ],
  },
];
