/**
 * How the cross-connector suites and the demo drive CrowdSec: a fake CTI API replaying the recorded smoke
 * answer (test/fixtures, provenance in their README), its key, and an address to enrich.
 */
import { readFileSync } from 'node:fs';
import { defineConformance, type FakeRequest } from '@cti/connector-testkit';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const header = (req: FakeRequest, name: string) => [req.headers[name]].flat().join(',');

const CROWDSEC_KEY = 'CROWDSEC-KEY+secret/suite=5b1e9d';
const smoke = fixture('smoke-ip-146.70.186.190.json') as Record<string, unknown>;

export default defineConformance({
  vendor: 'CrowdSec',
  secrets: { CROWDSEC_KEY },
  env: (url) => ({
    CROWDSEC_KEY,
    CROWDSEC_API_URL: url,
    CROWDSEC_QUOTA_BACKOFF_SECONDS: '0',
    CROWDSEC_TIMEOUT_SECONDS: '1',
  }),
  answer(req) {
    if (header(req, 'x-api-key') !== CROWDSEC_KEY) return { status: 403, body: { message: 'Forbidden' } };
    const match = /^\/v2\/smoke\/(.+)$/.exec(req.path);
    return match ? { body: { ...smoke, ip: match[1] } } : undefined;
  },
  maxTlpVariable: 'CROWDSEC_MAX_TLP',
  observable: { entity_type: 'IPv4-Addr', value: '146.70.186.190' },
  nextObservable: { entity_type: 'IPv4-Addr', value: '146.70.186.191' },
  endState: {
    // CrowdSec (organization), as upstream names it.
    author: 'identity--5f18c204-0a7f-5061-a146-d29561d9c8aa',
    // Upstream adds the labels through the API and the reference in the bundle; the IP keeps its author.
    observable: {
      labels: { including: ['crowdsecurity/http-probing', 'HTTP Probing'] },
      references: { including: ['https://app.crowdsec.net/cti/146.70.186.190'] },
      createdBy: null,
      description: /Last CrowdSec enrichment: /,
    },
  },
  // Free text, as upstream: the author's name and description, and the label colours.
  freeTextSettings: [
    'CROWDSEC_NAME',
    'CROWDSEC_DESCRIPTION',
    ...['SCENARIO', 'CVE', 'MITRE', 'BEHAVIOR'].map((l) => `CROWDSEC_LABELS_${l}_COLOR`),
    ...['MALICIOUS', 'SUSPICIOUS', 'SAFE', 'KNOWN'].map((r) => `CROWDSEC_LABELS_REPUTATION_${r}_COLOR`),
  ],
  demo: {
    vendorName: 'CrowdSec CTI API',
    env: () => ({
      CROWDSEC_INDICATOR_CREATE_FROM: 'malicious,suspicious',
      CROWDSEC_ATTACK_PATTERN_CREATE_FROM_MITRE: 'true',
      CROWDSEC_CREATE_NOTE: 'true',
    }),
    // The recorded address, and one CrowdSec does not know (its recorded 404).
    answer: (req) =>
      req.path === '/v2/smoke/192.0.2.10' ? { status: 404, body: fixture('smoke-404.json') } : undefined,
    samples: [
      { entity_type: 'IPv4-Addr', value: '146.70.186.190', markings: ['TLP:GREEN'] },
      { entity_type: 'IPv4-Addr', value: '192.0.2.10', markings: ['TLP:CLEAR'] },
    ],
  },
});
