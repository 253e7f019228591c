/**
 * The TeamT5 daemon as users run it: against the stand-in platform, the real broker, a fake TeamT5 API on
 * 127.0.0.1 that serves the fixtures (OAuth token, listings filtered by date[from], STIX bundles) and
 * records every request, and a second host standing for a foreign stix_url.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  assertValidStix,
  type FakeRequest,
  type FakeVendor,
  type RunningConnector,
  startConnector,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  timestampFormProblems,
} from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import teamt5 from '../src/index.js';

const CLIENT_ID = 'teamt5-client-id-it-0042';
const CLIENT_SECRET = 'TEAMT5-CLIENT-SECRET-must-never-be-logged-42';
/** A wrong secret the token endpoint echoes back, form-encoded, in its error (as some OAuth servers do). */
const ECHOED_SECRET = 'Wr0ng+secret/with=chars&"q"é';
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const reportStix = fixture('report-stix.json');
const iocStix = fixture('indicator-bundle-stix.json');
const FLASH_REPORT = 'report--78b3b84f-1676-570d-bc2d-500520c49a1a'; // pycti's id, computed in Python
const AUTHOR = 'identity--0a1850d4-e18e-54ab-b110-34dabc56152d';
const REPORTS_WORK = 'Creating Reports from TeamT5';
/** A download whose relationship points at a malware the bundle does not hold. */
const danglingObjects = [
  ...reportStix.objects.slice(2, 4),
  {
    type: 'relationship',
    spec_version: '2.1',
    id: 'relationship--6fe8c22f-07f6-58a8-9dd9-06730599124d',
    relationship_type: 'uses',
    source_ref: 'threat-actor--5d18a8e1-2fd4-55c8-bf46-356ce30f1963',
    target_ref: 'malware--ffffffff-ffff-5fff-bfff-ffffffffffff',
  },
];
const IOC_WORK = 'Creating Indicator Bundles from TeamT5';

let platform: TestPlatform;
let api: FakeVendor;
let cdn: FakeVendor;
let daemon: RunningConnector | null = null;

/** The fake TeamT5: tokens it issued, the one it accepts, and items that are broken. */
const vendor = {
  issued: [] as string[],
  revokeNextListing: false,
  invalidStix: new Set<string>(),
  missing: new Set<string>(),
};

const currentToken = () => vendor.issued.at(-1);
const authorized = (req: FakeRequest) =>
  currentToken() !== undefined && req.headers.authorization === `Bearer ${currentToken()}`;
const unauthorized = { status: 401, body: { success: false, message: 'Unauthorized' } };

function listing(key: string, items: Array<Record<string, unknown>>, dateKey: string) {
  return (req: FakeRequest) => {
    if (!authorized(req)) return unauthorized;
    if (vendor.revokeNextListing) {
      vendor.revokeNextListing = false;
      vendor.issued.push('revoked'); // the token in use is no longer accepted
      return unauthorized;
    }
    const from = Number(req.query.get('date[from]') ?? 'NaN');
    const offset = Number(req.query.get('offset') ?? 'NaN');
    const visible = items.filter((i) => Number(i[dateKey]) >= from);
    return { body: { success: true, [key]: visible.slice(offset, offset + 10) } };
  };
}

beforeAll(async () => {
  platform = await startTestPlatform();
  cdn = await startFakeVendor({ 'GET /bundles/:file': { body: iocStix } });
  api = await startFakeVendor();
  const reports = fixture('reports.json').reports.map((r: Record<string, unknown>) =>
    r.stix_url ? { ...r, stix_url: `${api.url}/api/v2/reports/${r.alias}.stix` } : r,
  );
  const bundles = fixture('indicator-bundles.json').ioc_bundles.map((b: Record<string, unknown>) =>
    b.id === 20931
      ? { ...b, stix_url: `${api.url}/api/v2/ioc_bundles/20931.stix` }
      : b.id === 20917
        ? { ...b, stix_url: `${cdn.url}/bundles/20917.stix` }
        : b,
  );
  api.route('POST /oauth/token', (req) => {
    const form = new URLSearchParams(req.body);
    if (form.get('client_secret') === ECHOED_SECRET) {
      return { status: 400, body: { error: 'invalid_client', error_description: `rejected form: ${req.body}` } };
    }
    const valid =
      form.get('grant_type') === 'client_credentials' &&
      form.get('client_id') === CLIENT_ID &&
      form.get('client_secret') === CLIENT_SECRET &&
      req.headers.authorization === undefined;
    if (!valid) return { status: 401, body: { error: 'invalid_client' } };
    const token = `eyJhbGciOiJSUzI1NiJ9.it-token-${vendor.issued.length + 1}-${Date.now()}.sig`;
    vendor.issued.push(token);
    return { body: { access_token: token, token_type: 'Bearer', expires_in: 3600 } };
  });
  api.route('GET /api/v2/reports', listing('reports', reports, 'date'));
  api.route('GET /api/v2/ioc_bundles', listing('ioc_bundles', bundles, 'created_at'));
  api.route('GET /api/v2/reports/:file', (req) => {
    if (!authorized(req)) return unauthorized;
    const alias =
      req.path
        .split('/')
        .pop()
        ?.replace(/\.stix$/, '') ?? '';
    if (vendor.invalidStix.has(alias)) return { body: { ...reportStix, objects: danglingObjects } };
    return { body: reportStix };
  });
  api.route('GET /api/v2/ioc_bundles/:file', (req) => {
    if (!authorized(req)) return unauthorized;
    const id =
      req.path
        .split('/')
        .pop()
        ?.replace(/\.stix$/, '') ?? '';
    if (vendor.missing.has(id)) return { status: 404, body: { success: false, message: 'Not found' } };
    return { body: iocStix };
  });
});
beforeEach(() => {
  vendor.issued.length = 0;
  vendor.revokeNextListing = false;
  vendor.invalidStix.clear();
  vendor.missing.clear();
  api.requests.length = 0;
  cdn.requests.length = 0;
});
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
});
afterAll(async () => {
  await api?.close();
  await cdn?.close();
  await platform?.close();
});

function start(env: Record<string, string> = {}) {
  daemon = startConnector(teamt5, {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    TEAMT5_API_BASE_URL: api.url,
    TEAMT5_CLIENT_ID: CLIENT_ID,
    TEAMT5_CLIENT_SECRET: CLIENT_SECRET,
    ...env,
  });
  return daemon;
}

const savedState = (connectorId: string) => JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null');
const stixDownloads = () =>
  [...api.requests, ...cdn.requests].filter((r) => r.path.endsWith('.stix')).map((r) => r.path);
const listingsFrom = () =>
  api.requests.filter((r) => !r.path.endsWith('.stix') && r.method === 'GET').map((r) => r.query.get('date[from]'));

describe('TeamT5 connector end to end', () => {
  it('imports both streams in their works and saves the state; a second run from it imports nothing new', async () => {
    const before = Math.floor(Date.now() / 1000);
    const d = start();
    await d.waitForLog('next run scheduled', 30_000);
    expect(platform.connector(d.connectorId)?.registrations.at(-1)?.input).toMatchObject({
      type: 'EXTERNAL_IMPORT',
      name: 'TeamT5 External Import Connector',
    });

    const works = platform.worksOf(d.connectorId);
    expect(works.map((w) => w.name).sort()).toEqual([IOC_WORK, REPORTS_WORK]);
    for (const w of works) {
      const work = await platform.waitForWork(w.id, { timeoutMs: 30_000 });
      expect(work.status).toBe('complete');
      expect(work.errors).toEqual([]);
    }
    const reportsWork = works.find((w) => w.name === REPORTS_WORK)?.id as string;
    const reports = platform.objects({ workId: reportsWork }).filter((o) => o.object.type === 'report');
    expect(reports.map((o) => o.object.name).sort()).toEqual([
      'Campaign Tracking Report: Operation Example',
      'Flash Report: Phishing campaign delivering a backdoor via fake software updates',
      'Monthly Report - March 2025',
      'Vulnerability Insights Report: Exploitation of edge devices',
    ]);
    const flash = reports.find((o) => o.object.id === FLASH_REPORT)?.object;
    expect(flash).toMatchObject({ created_by_ref: AUTHOR, report_types: ['Flash Report'] });
    const iocWork = works.find((w) => w.name === IOC_WORK)?.id as string;
    const indicators = platform.objects({ workId: iocWork }).filter((o) => o.object.type === 'indicator');
    expect(new Set(indicators.map((o) => o.object.id)).size).toBe(3);

    // Four report bundles (three through the alias URL), two indicator bundles (the third has no stix_url).
    expect(stixDownloads().sort()).toEqual([
      '/api/v2/ioc_bundles/20931.stix',
      '/api/v2/reports/ctr-2025-007.stix',
      '/api/v2/reports/flash-2025-0412.stix',
      '/api/v2/reports/monthly-2025-03.stix',
      '/api/v2/reports/vir-2025-002.stix',
      '/bundles/20917.stix',
    ]);
    // The token went to TeamT5's API only: the foreign stix_url was fetched without it.
    expect(cdn.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(api.requests.filter((r) => r.method === 'GET').every(authorized)).toBe(true);
    expect(listingsFrom()).toEqual(['0', '0', '0', '0']);

    const state = savedState(d.connectorId);
    expect(Object.keys(state)).toEqual(['last_run']);
    expect(state.last_run).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const lastRun = Date.parse(state.last_run) / 1000;
    expect(lastRun).toBeGreaterThanOrEqual(before);
    await d.stop();

    // The next run (run-and-terminate, as a cron job would) lists from the saved start and finds nothing.
    api.requests.length = 0;
    cdn.requests.length = 0;
    const objectsBefore = platform.objects(d.connectorId).length;
    const again = start({ CONNECTOR_ID: d.connectorId, CONNECTOR_RUN_AND_TERMINATE: 'true' });
    expect(await again.exited).toBe(0);
    expect(listingsFrom()).toEqual([String(lastRun), String(lastRun)]);
    expect(stixDownloads()).toEqual([]);
    expect(platform.objects(d.connectorId)).toHaveLength(objectsBefore);
    expect(platform.worksOf(d.connectorId)).toHaveLength(2);
    expect(Date.parse(savedState(d.connectorId).last_run) / 1000).toBeGreaterThanOrEqual(lastRun);
  });

  it('reports a broken item on its work, imports the rest, and does not freeze the cursor', async () => {
    vendor.invalidStix.add('ctr-2025-007');
    vendor.missing.add('20931');
    const d = start({ CONNECTOR_RUN_AND_TERMINATE: 'true' });
    expect(await d.exited).toBe(0);
    const works = platform.worksOf(d.connectorId);
    const reportsWork = await platform.waitForWork(works.find((w) => w.name === REPORTS_WORK)?.id as string, {
      timeoutMs: 30_000,
    });
    expect(reportsWork.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^TeamT5 report ctr-2025-007: The STIX bundle is invalid: .*dangling reference to malware--ffffffff/,
      ),
    ]);
    expect(platform.objects({ workId: reportsWork.id }).filter((o) => o.object.type === 'report')).toHaveLength(3);
    const iocWork = await platform.waitForWork(works.find((w) => w.name === IOC_WORK)?.id as string, {
      timeoutMs: 30_000,
    });
    expect(iocWork.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^TeamT5 indicator bundle 20931: TeamT5 API answered 404 Not Found for GET/),
    ]);
    const lastRun = savedState(d.connectorId).last_run;
    expect(lastRun).toMatch(/\+00:00$/);

    // The next run lists from the new cursor: the broken items are not fetched again and again.
    api.requests.length = 0;
    cdn.requests.length = 0;
    const again = start({ CONNECTOR_ID: d.connectorId, CONNECTOR_RUN_AND_TERMINATE: 'true' });
    expect(await again.exited).toBe(0);
    expect(listingsFrom()).toEqual(Array(2).fill(String(Date.parse(lastRun) / 1000)));
    expect(stixDownloads()).toEqual([]);
  });

  it('renews a revoked token, and never logs the client secret nor any token, even at debug level', async () => {
    vendor.revokeNextListing = true;
    const d = start({ CONNECTOR_LOG_LEVEL: 'debug', CONNECTOR_RUN_AND_TERMINATE: 'true' });
    expect(await d.exited).toBe(0);
    expect(vendor.issued.filter((t) => t !== 'revoked')).toHaveLength(2); // start-up, then after the 401
    expect(platform.objects(d.connectorId).filter((o) => o.object.type === 'report')).toHaveLength(4);
    const logs = d.logs.join('\n');
    expect(logs).toMatch(/"level":"DEBUG"/);
    expect(logs).toMatch(/asking once for a new OAuth token/);
    const everything = `${logs}\n${JSON.stringify(platform.worksOf(d.connectorId))}\n${platform.connector(d.connectorId)?.connector_state}`;
    for (const secret of [CLIENT_SECRET, CLIENT_ID, ...vendor.issued.filter((t) => t !== 'revoked')]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('stops at start-up with a clear error when TeamT5 refuses the client credentials', async () => {
    const d = start({ TEAMT5_CLIENT_SECRET: 'wrong-secret-value' });
    expect(await d.exited).toBe(1);
    expect(d.logs.join('\n')).toMatch(
      /TeamT5 refused the OAuth client credentials \(HTTP 401 from POST .*check TEAMT5_CLIENT_ID and TEAMT5_CLIENT_SECRET/,
    );
    expect(d.logs.join('\n')).not.toContain('wrong-secret-value');
  });

  it('never prints a client secret the token endpoint echoes back, in any encoding', async () => {
    const d = start({ TEAMT5_CLIENT_SECRET: ECHOED_SECRET, CONNECTOR_LOG_LEVEL: 'debug' });
    expect(await d.exited).toBe(1);
    const logs = d.logs.join('\n');
    expect(logs).toMatch(/"level":"CRITICAL".*TeamT5 refused the OAuth client credentials \(HTTP 400/);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const forms = [
      ECHOED_SECRET,
      encodeURIComponent(ECHOED_SECRET),
      new URLSearchParams({ s: ECHOED_SECRET }).toString().slice(2),
      JSON.stringify(ECHOED_SECRET).slice(1, -1),
      b64(ECHOED_SECRET),
      b64(`${CLIENT_ID}:${ECHOED_SECRET}`),
    ];
    for (const form of forms) expect(logs).not.toContain(form);
    expect(logs).toContain('client_secret=[REDACTED]');
  });

  it('warns that TEAMT5_API_KEY is deprecated, and refuses to start without credentials', async () => {
    vendor.issued.push('static-api-key-0001');
    const d = start({
      TEAMT5_CLIENT_ID: '',
      TEAMT5_CLIENT_SECRET: ' ',
      TEAMT5_API_KEY: 'static-api-key-0001',
      CONNECTOR_RUN_AND_TERMINATE: 'true',
    });
    expect(await d.exited).toBe(0);
    expect(d.logs.join('\n')).toMatch(/TEAMT5_API_KEY is deprecated/);
    expect(api.requests.some((r) => r.path === '/oauth/token')).toBe(false);

    const none = start({ TEAMT5_CLIENT_ID: '', TEAMT5_CLIENT_SECRET: '' });
    expect(await none.exited).toBe(1);
    expect(none.logs.join('\n')).toMatch(/TEAMT5_CLIENT_ID: TeamT5 credentials are required/);
  });
});

describe('the dry run of the built connector', () => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

  it('node dist/main.js import --dry-run prints the bundles as NDJSON', async () => {
    expect(existsSync(main), 'connectors/teamt5/dist/main.js is missing: run `pnpm build` first').toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [main, 'import', '--dry-run'], {
      env: {
        PATH: process.env.PATH ?? '',
        TEAMT5_API_BASE_URL: api.url,
        TEAMT5_CLIENT_ID: CLIENT_ID,
        TEAMT5_CLIENT_SECRET: CLIENT_SECRET,
        CONNECTOR_LOG_LEVEL: 'debug',
      },
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    const bundles = lines.map((l) => JSON.parse(l) as { type: string; objects: Array<{ type: string; id: string }> });
    for (const bundle of bundles) assertValidStix(bundle, 'a dry-run bundle');
    expect(bundles.every((b) => b.type === 'bundle')).toBe(true);
    expect(timestampFormProblems(bundles)).toEqual([]);
    expect(bundles.slice(0, 4).map((b) => b.objects.filter((o) => o.type === 'report').length)).toEqual([1, 1, 1, 1]);
    expect(bundles[0]?.objects.some((o) => o.id === FLASH_REPORT)).toBe(true);
    expect(bundles.slice(4).every((b) => b.objects.some((o) => o.type === 'indicator'))).toBe(true);
  });
});
