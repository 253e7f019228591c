/**
 * The five connectors as the cross-connector suites drive them: each one's definition, the settings it
 * needs against a fake vendor, the secrets it holds, what a healthy vendor answers (from the connector's
 * own recorded fixtures), and for enrichers an observable that reaches the vendor.
 *
 * The testkit depends on no connector: the suites import them by relative path.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConnectorDefinition } from '@cti/connector-sdk';
import crowdsec from '../../../../connectors/crowdsec/src/index.js';
import spycloud from '../../../../connectors/spycloud/src/index.js';
import scout from '../../../../connectors/team-cymru-scout/src/index.js';
import teamt5 from '../../../../connectors/teamt5/src/index.js';
import urlscan from '../../../../connectors/urlscan-enrichment/src/index.js';
import type { FakeReply, FakeRequest } from '../../src/index.js';

const connectorsDir = new URL('../../../../connectors/', import.meta.url);
const fixture = (slug: string, name: string): unknown =>
  JSON.parse(readFileSync(new URL(`${slug}/test/fixtures/${name}`, connectorsDir), 'utf8'));

/*
 * The secret values carry the characters that each encoding changes (`+`, `/`, `=`, `&` for percent-encoding,
 * `"` and `\` for JSON), so that a secret leaked URL-encoded or JSON-escaped is told apart from its raw form.
 */

/** What the fake vendor of a case keeps between requests (issued OAuth tokens...). */
export interface VendorState {
  /** Values the vendor handed out that are secrets too (OAuth access tokens). */
  issuedSecrets: string[];
}

export interface ConnectorCase {
  slug: string;
  kind: 'enrichment' | 'import';
  /** The vendor as the connector's errors name it. */
  vendor: string;
  definition: ConnectorDefinition;
  /** src/main.ts, for spawned runs. */
  main: string;
  /** Secret settings and their recognisable values. */
  secrets: Record<string, string>;
  /** Settings against the fake vendor at `vendorUrl`: secrets included, short timeouts and few retries. */
  env(vendorUrl: string): Record<string, string>;
  /** What a healthy vendor answers; undefined falls through to 404. */
  answer(req: FakeRequest, vendorUrl: string, state: VendorState): FakeReply | undefined;
  /** Whether a vendor fault applies to this request (TeamT5 keeps its token endpoint up: see the suite). */
  faultable(req: FakeRequest): boolean;
  /** Enrichers: the max-TLP setting and an observable that makes the connector call the vendor. */
  maxTlpVariable?: string;
  observable?: { entity_type: string; value: string };
  /** Enrichers: another observable of the same kind, for "the next request". */
  nextObservable?: { entity_type: string; value: string };
}

const main = (slug: string) => fileURLToPath(new URL(`${slug}/src/main.ts`, connectorsDir));
const header = (req: FakeRequest, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

// --- CrowdSec -----------------------------------------------------------------------------------------

const CROWDSEC_KEY = 'CROWDSEC-KEY+secret/suite=5b1e9d';
const smoke = fixture('crowdsec', 'smoke-ip-146.70.186.190.json') as Record<string, unknown>;

const crowdsecCase: ConnectorCase = {
  slug: 'crowdsec',
  kind: 'enrichment',
  vendor: 'CrowdSec',
  definition: crowdsec as ConnectorDefinition,
  main: main('crowdsec'),
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
    if (!match) return undefined;
    return { body: { ...smoke, ip: match[1] } };
  },
  faultable: () => true,
  maxTlpVariable: 'CROWDSEC_MAX_TLP',
  observable: { entity_type: 'IPv4-Addr', value: '146.70.186.190' },
  nextObservable: { entity_type: 'IPv4-Addr', value: '146.70.186.191' },
};

// --- Team Cymru Scout ---------------------------------------------------------------------------------

const SCOUT_TOKEN = 'SCOUT-TOKEN+secret/suite=8c2f4a';
const ipFoundation = fixture('team-cymru-scout', 'ip-foundation.json');

const scoutCase: ConnectorCase = {
  slug: 'team-cymru-scout',
  kind: 'enrichment',
  vendor: 'Team Cymru Scout',
  definition: scout as ConnectorDefinition,
  main: main('team-cymru-scout'),
  secrets: { PURE_SIGNAL_SCOUT_API_TOKEN: SCOUT_TOKEN },
  env: (url) => ({
    PURE_SIGNAL_SCOUT_API_URL: `${url}/api/scout`,
    PURE_SIGNAL_SCOUT_API_TOKEN: SCOUT_TOKEN,
    PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '50',
    PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS: '1',
    PURE_SIGNAL_SCOUT_MAX_RETRIES: '2',
  }),
  answer(req) {
    if (header(req, 'authorization') !== `Bearer ${SCOUT_TOKEN}`)
      return { status: 401, body: { message: 'Unauthorized' } };
    if (req.path === '/api/scout/ip/foundation') {
      // The recorded answer is about 1.1.1.1; Scout knows nothing of other addresses (204).
      return req.query.get('ips') === '1.1.1.1' ? { body: ipFoundation } : { status: 204 };
    }
    if (req.path === '/api/scout/search') return { status: 204 };
    return undefined;
  },
  faultable: () => true,
  maxTlpVariable: 'PURE_SIGNAL_SCOUT_MAX_TLP',
  observable: { entity_type: 'IPv4-Addr', value: '1.1.1.1' },
  nextObservable: { entity_type: 'IPv4-Addr', value: '1.0.0.1' },
};

// --- URLScan ------------------------------------------------------------------------------------------

const URLSCAN_KEY = 'URLSCAN-KEY+secret/suite=3e7a90';
const urlscanSearch = fixture('urlscan-enrichment', 'search.json');
const urlscanResult = fixture('urlscan-enrichment', 'result.json');

const urlscanCase: ConnectorCase = {
  slug: 'urlscan-enrichment',
  kind: 'enrichment',
  vendor: 'urlscan.io',
  definition: urlscan as ConnectorDefinition,
  main: main('urlscan-enrichment'),
  secrets: { URLSCAN_API_KEY: URLSCAN_KEY },
  env: (url) => ({
    URLSCAN_API_URL: url,
    URLSCAN_API_KEY: URLSCAN_KEY,
    URLSCAN_TIMEOUT_SECONDS: '1',
    URLSCAN_MAX_WAIT_SECONDS: '2',
    URLSCAN_RATE_LIMIT_PER_HOUR: '10000',
  }),
  answer(req) {
    if (header(req, 'api-key') !== URLSCAN_KEY) return { status: 401, body: { message: 'Invalid API key' } };
    if (req.path === '/api/v1/search/' || req.path === '/api/v1/search') {
      // The recorded search is about ayyza.com; nothing is known of other values.
      return (req.query.get('q') ?? '').includes('ayyza')
        ? { body: urlscanSearch }
        : { body: { results: [], total: 0, has_more: false } };
    }
    if (req.path.startsWith('/api/v1/result/')) return { body: urlscanResult };
    return undefined;
  },
  faultable: () => true,
  maxTlpVariable: 'URLSCAN_MAX_TLP',
  observable: { entity_type: 'Domain-Name', value: 'ayyza.com' },
  nextObservable: { entity_type: 'Domain-Name', value: 'next.example.org' },
};

// --- SpyCloud -----------------------------------------------------------------------------------------

const SPYCLOUD_KEY = 'SPYCLOUD-KEY+secret/suite=71d0c3';
const breachPage = fixture('spycloud', 'breach-records.json') as { cursor: string };
const breachLastPage = fixture('spycloud', 'breach-records-last-page.json');
const breachCatalog = fixture('spycloud', 'breach-catalog.json');

const spycloudCase: ConnectorCase = {
  slug: 'spycloud',
  kind: 'import',
  vendor: 'SpyCloud',
  definition: spycloud as ConnectorDefinition,
  main: main('spycloud'),
  secrets: { SPYCLOUD_API_KEY: SPYCLOUD_KEY },
  env: (url) => ({
    SPYCLOUD_API_BASE_URL: `${url}/enterprise-v2/`,
    SPYCLOUD_API_KEY: SPYCLOUD_KEY,
    SPYCLOUD_TIMEOUT_SECONDS: '1',
  }),
  answer(req) {
    if (header(req, 'x-api-key') !== SPYCLOUD_KEY) return { status: 403, body: { message: 'Forbidden' } };
    if (req.path === '/enterprise-v2/breach/data/watchlist') {
      return { body: req.query.get('cursor') === breachPage.cursor ? breachLastPage : breachPage };
    }
    if (req.path.startsWith('/enterprise-v2/breach/catalog/')) return { body: breachCatalog };
    return undefined;
  },
  faultable: () => true,
};

// --- TeamT5 -------------------------------------------------------------------------------------------

const TEAMT5_CLIENT_ID = 'teamt5-client-id+secret/suite=19';
const TEAMT5_CLIENT_SECRET = 'TEAMT5-CLIENT-SECRET+"secret\\suite"/4f6b2e&scope=x';
const teamt5Reports = (fixture('teamt5', 'reports.json') as { reports: Array<Record<string, unknown>> }).reports;
const teamt5Bundles = (fixture('teamt5', 'indicator-bundles.json') as { ioc_bundles: Array<Record<string, unknown>> })
  .ioc_bundles;
const reportStix = fixture('teamt5', 'report-stix.json');
/** TeamT5's recorded report STIX bundle (served by a foreign host in the token suite). */
export const teamt5ReportStix = reportStix;
const iocStix = fixture('teamt5', 'indicator-bundle-stix.json');

function listing(req: FakeRequest, key: string, items: Array<Record<string, unknown>>, dateKey: string): FakeReply {
  const from = Number(req.query.get('date[from]') ?? '0');
  const offset = Number(req.query.get('offset') ?? '0');
  const visible = items.filter((i) => Number(i[dateKey]) >= from);
  return { body: { success: true, [key]: visible.slice(offset, offset + 10) } };
}

const teamt5Case: ConnectorCase = {
  slug: 'teamt5',
  kind: 'import',
  vendor: 'TeamT5',
  definition: teamt5 as ConnectorDefinition,
  main: main('teamt5'),
  secrets: { TEAMT5_CLIENT_ID, TEAMT5_CLIENT_SECRET },
  env: (url) => ({
    TEAMT5_API_BASE_URL: url,
    TEAMT5_CLIENT_ID,
    TEAMT5_CLIENT_SECRET,
    TEAMT5_TIMEOUT_SECONDS: '1',
  }),
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
    // Only the items whose STIX lives on the API host, pointed at this server.
    if (req.path === '/api/v2/reports') {
      const reports = teamt5Reports
        .filter((r) => r.stix_url)
        .map((r) => ({ ...r, stix_url: `${url}/api/v2/reports/${r.alias}.stix` }));
      return listing(req, 'reports', reports, 'date');
    }
    if (req.path === '/api/v2/ioc_bundles') {
      const bundles = teamt5Bundles
        .filter((b) => b.id === 20931)
        .map((b) => ({ ...b, stix_url: `${url}/api/v2/ioc_bundles/${b.id}.stix` }));
      return listing(req, 'ioc_bundles', bundles, 'created_at');
    }
    if (req.path.startsWith('/api/v2/reports/')) return { body: reportStix };
    if (req.path.startsWith('/api/v2/ioc_bundles/')) return { body: iocStix };
    return undefined;
  },
  // The token is asked for at start-up (as upstream): the suites fault the API, not the token endpoint.
  faultable: (req) => !(req.method === 'POST' && req.path === '/oauth/token'),
};

export const CASES: readonly ConnectorCase[] = [crowdsecCase, scoutCase, urlscanCase, spycloudCase, teamt5Case];
export const ENRICHERS = CASES.filter((c) => c.kind === 'enrichment');
export const IMPORTERS = CASES.filter((c) => c.kind === 'import');
