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
];
