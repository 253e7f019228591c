/**
 * How the cross-connector suites and the demo drive TeamT5: a fake ThreatVision API with its OAuth token
 * endpoint, listing the recorded reports and indicator bundles (test/fixtures, provenance in their README)
 * with their STIX on the API host, and the client credentials.
 */
import { readFileSync } from 'node:fs';
import { defineConformance, type FakeReply, type FakeRequest, TLP_MARKING_IDS } from '@cti/connector-testkit';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const header = (req: FakeRequest, name: string) => [req.headers[name]].flat().join(',');

const TEAMT5_CLIENT_ID = 'teamt5-client-id+secret/suite=19';
const TEAMT5_CLIENT_SECRET = 'TEAMT5-CLIENT-SECRET+"secret\\suite"/4f6b2e&scope=x';
type Item = Record<string, unknown>;
const reports = (fixture('reports.json') as { reports: Item[] }).reports;
const bundles = (fixture('indicator-bundles.json') as { ioc_bundles: Item[] }).ioc_bundles;
const reportStix = fixture('report-stix.json');
const iocStix = fixture('indicator-bundle-stix.json');

/** The items whose STIX lives on the API host, their stix_url pointed at the fake itself. */
const relink = (url: string, items: Item[], kind: string, key: string) =>
  items.filter((i) => i.stix_url).map((i) => ({ ...i, stix_url: `${url}/api/v2/${kind}/${String(i[key])}.stix` }));

function listing(req: FakeRequest, key: string, items: Item[], dateKey: string): FakeReply {
  const from = Number(req.query.get('date[from]') ?? '0');
  const offset = Number(req.query.get('offset') ?? '0');
  const visible = items.filter((i) => Number(i[dateKey]) >= from);
  return { body: { success: true, [key]: visible.slice(offset, offset + 10) } };
}

function stix(req: FakeRequest): FakeReply | undefined {
  if (req.path.startsWith('/api/v2/reports/')) return { body: reportStix };
  if (req.path.startsWith('/api/v2/ioc_bundles/')) return { body: iocStix };
  return undefined;
}

export default defineConformance({
  vendor: 'TeamT5',
  secrets: { TEAMT5_CLIENT_ID, TEAMT5_CLIENT_SECRET },
  env: (url) => ({ TEAMT5_API_BASE_URL: url, TEAMT5_CLIENT_ID, TEAMT5_CLIENT_SECRET, TEAMT5_TIMEOUT_SECONDS: '1' }),
  answer(req, url, state) {
    if (req.method === 'POST' && req.path === '/oauth/token') {
      const form = new URLSearchParams(req.body);
      if (form.get('client_id') !== TEAMT5_CLIENT_ID || form.get('client_secret') !== TEAMT5_CLIENT_SECRET) {
        return { status: 401, body: { error: 'invalid_client' } };
      }
      const token = `eyJhbGciOiJSUzI1NiJ9.secret-suite-token-${state.issuedSecrets.length + 1}.sig`;
      state.issuedSecrets.push(token);
      return { body: { access_token: token, token_type: 'Bearer', expires_in: 3600 } };
    }
    if (header(req, 'authorization') !== `Bearer ${state.issuedSecrets.at(-1)}`) {
      return { status: 401, body: { success: false, message: 'Unauthorized' } };
    }
    if (req.path === '/api/v2/reports')
      return listing(req, 'reports', relink(url, reports, 'reports', 'alias'), 'date');
    if (req.path === '/api/v2/ioc_bundles') {
      const one = bundles.filter((b) => b.id === 20931);
      return listing(req, 'ioc_bundles', relink(url, one, 'ioc_bundles', 'id'), 'created_at');
    }
    return stix(req);
  },
  // The token is asked for at start-up (as upstream): the suites fault the API, not the token endpoint.
  faultable: (req) => !(req.method === 'POST' && req.path === '/oauth/token'),
  // The default CONNECTOR_NAME's author, and TEAMT5_TLP_LEVEL's default on everything.
  endState: { author: 'identity--0a1850d4-e18e-54ab-b110-34dabc56152d', marking: TLP_MARKING_IDS['TLP:CLEAR'] },
  invalidCombinations: [
    {
      label: '`TEAMT5_CLIENT_ID` without `TEAMT5_CLIENT_SECRET` (nor `TEAMT5_API_KEY`)',
      variable: 'TEAMT5_CLIENT_SECRET',
      set: {},
      unset: ['TEAMT5_CLIENT_SECRET'],
    },
    {
      label: 'no credential at all',
      variable: 'TEAMT5_CLIENT_ID',
      set: {},
      unset: ['TEAMT5_CLIENT_ID', 'TEAMT5_CLIENT_SECRET'],
    },
    {
      label: '`TEAMT5_OAUTH_TOKEN_URL` over http:// while the API is https://',
      variable: 'TEAMT5_OAUTH_TOKEN_URL',
      set: {
        TEAMT5_API_BASE_URL: 'https://api.threatvision.invalid',
        TEAMT5_OAUTH_TOKEN_URL: 'http://127.0.0.1:9/oauth/token',
      },
    },
  ],
  demo: {
    vendorName: 'TeamT5 ThreatVision API',
    // Every recorded item, whatever the date asked for, and the recorded token.
    answer(req, url) {
      if (req.method === 'POST' && req.path === '/oauth/token') return { body: fixture('oauth-token.json') };
      const first = Number(req.query.get('offset') ?? 0) === 0;
      const all = (items: Item[], kind: string, key: string) =>
        items.map((i) => (i.stix_url ? { ...i, stix_url: `${url}/api/v2/${kind}/${String(i[key])}.stix` } : i));
      if (req.path === '/api/v2/reports') {
        return { body: { success: true, reports: first ? all(reports, 'reports', 'alias') : [] } };
      }
      if (req.path === '/api/v2/ioc_bundles') {
        return { body: { success: true, ioc_bundles: first ? all(bundles, 'ioc_bundles', 'id') : [] } };
      }
      return stix(req);
    },
  },
});
