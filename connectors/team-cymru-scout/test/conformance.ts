/**
 * How the cross-connector suites and the demo drive Team Cymru Scout: a fake Scout API replaying the
 * recorded answers (test/fixtures, provenance in their README), its token, and an address to enrich.
 */
import { readFileSync } from 'node:fs';
import { defineConformance, type FakeRequest } from '@cti/connector-testkit';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const header = (req: FakeRequest, name: string) => [req.headers[name]].flat().join(',');

const SCOUT_TOKEN = 'SCOUT-TOKEN+secret/suite=8c2f4a';
const ipFoundation = fixture('ip-foundation.json');

export default defineConformance({
  vendor: 'Team Cymru Scout',
  secrets: { PURE_SIGNAL_SCOUT_API_TOKEN: SCOUT_TOKEN },
  env: (url) => ({
    PURE_SIGNAL_SCOUT_API_URL: `${url}/api/scout`,
    PURE_SIGNAL_SCOUT_API_TOKEN: SCOUT_TOKEN,
    PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '50',
    PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS: '1',
    PURE_SIGNAL_SCOUT_MAX_RETRIES: '2',
  }),
  answer(req) {
    if (header(req, 'authorization') !== `Bearer ${SCOUT_TOKEN}`) {
      return { status: 401, body: { message: 'Unauthorized' } };
    }
    if (req.path === '/api/scout/ip/foundation') {
      // The recorded answer is about 1.1.1.1; Scout knows nothing of other addresses (204).
      return req.query.get('ips') === '1.1.1.1' ? { body: ipFoundation } : { status: 204 };
    }
    if (req.path === '/api/scout/search') return { status: 204 };
    return undefined;
  },
  maxTlpVariable: 'PURE_SIGNAL_SCOUT_MAX_TLP',
  observable: { entity_type: 'IPv4-Addr', value: '1.1.1.1' },
  nextObservable: { entity_type: 'IPv4-Addr', value: '1.0.0.1' },
  endState: {
    // Team Cymru (organization), the author of Scout's bundle.
    author: 'identity--56893999-5bf3-58e3-8d7c-58412a6603c3',
    // Upstream's pass-through: the IP is re-sent from the vendor's bundle, authored, nothing added.
    observable: { labels: [], references: [], createdBy: 'author' },
    createdMarkings: 'none',
  },
  demo: {
    vendorName: 'Pure Signal Scout API',
    // The recorded domain search too.
    answer: (req) =>
      req.path === '/api/scout/search' && req.query.get('query') === 'one.one.one.one'
        ? { body: fixture('search.json') }
        : undefined,
    samples: [
      { entity_type: 'IPv4-Addr', value: '1.1.1.1', markings: ['TLP:GREEN'] },
      { entity_type: 'Domain-Name', value: 'one.one.one.one', markings: ['TLP:GREEN'] },
    ],
  },
});
