/**
 * The SpyCloud daemon as users run it: against the stand-in platform, the real broker and a fake SpyCloud
 * API on 127.0.0.1 that serves the recorded pages (filtered by `since` and `severity`, as SpyCloud does),
 * checks the key and records every request.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { assertValidStix, connectorTestbed, type FakeRequest, timestampFormProblems } from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import spycloud from '../src/index.js';

const KEY = 'SPYCLOUD-KEY-must-never-be-logged-42';
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const firstPage = fixture('breach-records.json');
const lastPage = fixture('breach-records-last-page.json');
const catalog = fixture('breach-catalog.json');
const CURSOR: string = firstPage.cursor;
type Rec = { spycloud_publish_date: string; severity: number; document_id: string };

/** Records SpyCloud has published since the fixtures were recorded (served on the first page). */
let newerRecords: Rec[] = [];
/** When set, the second page fails (503) however often it is asked for. */
let secondPageDown = false;

function watchlist(req: FakeRequest) {
  if (req.headers['x-api-key'] !== KEY) return { status: 403, body: { message: 'Forbidden' } };
  const since = req.query.get('since') ?? '';
  const severities = req.query.getAll('severity').map(Number);
  const keep = (r: Rec) =>
    r.spycloud_publish_date.slice(0, 10) >= since && (severities.length === 0 || severities.includes(r.severity));
  const cursor = req.query.get('cursor');
  if (!cursor) {
    return { body: { ...firstPage, results: [...newerRecords, ...firstPage.results].filter(keep) } };
  }
  if (cursor === CURSOR) {
    if (secondPageDown) return { status: 503, body: 'unavailable', headers: { 'retry-after': '0' } };
    return { body: { ...lastPage, results: lastPage.results.filter(keep) } };
  }
  return { status: 400, body: { message: 'bad cursor' } };
}

const bed = connectorTestbed({
  definition: spycloud,
  routes: {
    'GET /enterprise-v2/breach/data/watchlist': watchlist,
    'GET /enterprise-v2/breach/catalog/:id': (req) =>
      req.headers['x-api-key'] === KEY ? { body: catalog } : { status: 403, body: { message: 'Forbidden' } },
  },
  env: (vendor) => ({
    CONNECTOR_DURATION_PERIOD: 'PT1H',
    SPYCLOUD_API_BASE_URL: `${vendor.url}/enterprise-v2/`,
    SPYCLOUD_API_KEY: KEY,
  }),
  // Each test waits for the part of the run it looks at.
  readyLog: null,
});
beforeAll(() => bed.setup());
beforeEach(() => {
  newerRecords = [];
  secondPageDown = false;
});
afterEach(() => bed.reset());
afterAll(() => bed.close());
const start = (connectorId: string, env: Record<string, string> = {}) =>
  bed.start({ CONNECTOR_ID: connectorId, ...env });

const watchlistRequests = () => bed.vendor.requests.filter((r) => r.path.endsWith('/breach/data/watchlist'));
const state = (connectorId: string) => JSON.parse(bed.platform.connector(connectorId)?.connector_state || 'null');
const idsOf = (connectorId: string, workId?: string) =>
  new Set(bed.platform.objects(workId ? { workId } : connectorId).map((o) => o.object.id as string));

describe('SpyCloud connector end to end', () => {
  it('imports in one work, saves the state on the platform, and a second run only asks for newer data', async () => {
    const connectorId = randomUUID();
    const d = await start(connectorId);
    await d.waitForLog('next run scheduled', 30_000);
    expect(bed.platform.connector(connectorId)?.registrations.at(-1)?.input).toMatchObject({
      type: 'EXTERNAL_IMPORT',
      name: 'SpyCloud',
      scope: ['spycloud'],
    });
    const works = bed.platform.worksOf(connectorId);
    expect(works).toHaveLength(1);
    const work = await bed.platform.waitForWork(works[0]?.id as string, { timeoutMs: 30_000 });
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join()).toMatch(/Imported 2 bundles/);

    const objects = bed.platform.objects(connectorId).map((o) => o.object);
    const incidents = objects.filter((o) => o.type === 'incident');
    expect(new Set(incidents.map((o) => o.id)).size).toBe(14); // 15 records, two of them merged
    expect(incidents.every((o) => o.source === 'Telegram Combo Cloudxurl')).toBe(true);
    expect(new Set(objects.map((o) => o.type))).toEqual(
      new Set([
        'identity',
        'marking-definition',
        'incident',
        'email-addr',
        'url',
        'domain-name',
        'user-account',
        'ipv4-addr',
        'file',
        'directory',
        'user-agent',
        'relationship',
      ]),
    );
    expect(state(connectorId)).toEqual({ last_import_date: '2024-12-04T00:00:00+00:00' });
    expect(watchlistRequests().map((r) => Object.fromEntries(r.query))).toEqual([
      { since: '1970-01-01' },
      { since: '1970-01-01', cursor: CURSOR },
    ]);
    const catalogRequests = bed.vendor.requests.filter((r) => r.path.includes('/breach/catalog/'));
    expect(catalogRequests).toHaveLength(7); // one per breach, cached for the others
    const firstIds = idsOf(connectorId);
    await d.stop();

    // The next run (a restart here) goes on from the saved date; SpyCloud re-sends that day's records.
    bed.vendor.requests.length = 0;
    const again = await start(connectorId);
    await again.waitForLog('next run scheduled', 30_000);
    // Both pages are asked for from the saved day on (the fake, like SpyCloud, filters on it).
    expect(watchlistRequests().map((r) => r.query.get('since'))).toEqual(['2024-12-04', '2024-12-04']);
    const second = bed.platform.worksOf(connectorId).at(-1);
    expect(second?.id).not.toBe(works[0]?.id);
    await bed.platform.waitForWork(second?.id as string, { timeoutMs: 30_000 });
    const secondIds = idsOf(connectorId, second?.id);
    expect(secondIds.size).toBeGreaterThan(0);
    expect([...secondIds].filter((id) => !firstIds.has(id))).toEqual([]);
    expect(state(connectorId)).toEqual({ last_import_date: '2024-12-04T00:00:00+00:00' });
    expect([...d.logs, ...again.logs].join('\n')).not.toContain(KEY);
  });

  it('with CONNECTOR_RUN_AND_TERMINATE=true exits 0 after one run; a failing page then keeps the old state', async () => {
    const connectorId = randomUUID();
    const first = await start(connectorId, { CONNECTOR_RUN_AND_TERMINATE: 'true' });
    expect(await first.exited).toBe(0);
    expect(bed.platform.worksOf(connectorId)).toHaveLength(1);
    expect(state(connectorId)).toEqual({ last_import_date: '2024-12-04T00:00:00+00:00' });

    newerRecords = [
      { ...firstPage.results[0], document_id: 'newer-0001', spycloud_publish_date: '2024-12-10T00:00:00Z' },
    ];
    secondPageDown = true;
    const second = await start(connectorId, { CONNECTOR_RUN_AND_TERMINATE: 'true' });
    expect(await second.exited).toBe(1);
    const failed = bed.platform.worksOf(connectorId).at(-1);
    const work = await bed.platform.waitForWork(failed?.id as string, { status: 'any-processed', timeoutMs: 30_000 });
    expect(work.errors.map((e) => e.message).join()).toMatch(/Import failed .*SpyCloud API answered 503/);
    // The first page was imported, but the state does not move past the page that failed.
    expect(state(connectorId)).toEqual({ last_import_date: '2024-12-04T00:00:00+00:00' });
    const cursorRequests = watchlistRequests().filter((r) => r.query.get('cursor') === CURSOR);
    expect(cursorRequests.length).toBeGreaterThan(1); // retried before giving up
  });

  it('runs one pass per watchlist type in one work, with the severities, and saves one date per type', async () => {
    const connectorId = randomUUID();
    const d = await start(connectorId, {
      CONNECTOR_RUN_AND_TERMINATE: 'true',
      SPYCLOUD_WATCHLIST_TYPES: 'email,domain',
      SPYCLOUD_SEVERITY_LEVELS: '20,25',
      SPYCLOUD_IMPORT_START_DATE: '2024-11-01T00:00:00Z',
    });
    expect(await d.exited).toBe(0);
    expect(bed.platform.worksOf(connectorId)).toHaveLength(1);
    const firstPages = watchlistRequests().filter((r) => !r.query.get('cursor'));
    expect(
      firstPages.map((r) => [r.query.get('watchlist_type'), r.query.getAll('severity'), r.query.get('since')]),
    ).toEqual([
      ['email', ['20', '25'], '2024-11-01'],
      ['domain', ['20', '25'], '2024-11-01'],
    ]);
    expect(state(connectorId)).toEqual({
      email_last_import_date: '2024-12-04T00:00:00+00:00',
      domain_last_import_date: '2024-12-04T00:00:00+00:00',
    });
    const incidents = bed.platform.objects(connectorId).filter((o) => o.object.type === 'incident');
    expect(new Set(incidents.map((o) => o.object.severity))).toEqual(new Set(['high', 'critical']));
  });

  it('fails a rejected key with the allow-list hint and never logs the key, even at debug level', async () => {
    const connectorId = randomUUID();
    const wrongKey = 'WRONG-spycloud-key-never-logged-7';
    const d = await start(connectorId, { CONNECTOR_RUN_AND_TERMINATE: 'true', SPYCLOUD_API_KEY: wrongKey });
    expect(await d.exited).toBe(1);
    const work = bed.platform.worksOf(connectorId).at(-1);
    expect(work?.errors.map((e) => e.message).join()).toMatch(
      /SpyCloud refused .*check SPYCLOUD_API_KEY.*IP allow-list/,
    );
    expect(bed.vendor.requests[0]?.headers['x-api-key']).toBe(wrongKey);
    expect(d.logs.some((l) => l.includes('"level":"DEBUG"'))).toBe(true);
    expect(d.logs.join('\n')).not.toContain(wrongKey);
    expect(JSON.stringify(bed.platform.worksOf(connectorId))).not.toContain(wrongKey);
    expect(state(connectorId)).toBeNull();
  });

  it('CONNECTOR_DURATION_PERIOD=P1M imports once, announces the next run a month ahead, and waits', async () => {
    const connectorId = randomUUID();
    const d = await start(connectorId, { CONNECTOR_DURATION_PERIOD: 'P1M' });
    await d.waitForLog('next run scheduled', 30_000);
    const scheduledAt = Date.now();
    // Node's setTimeout fires at once past 24.8 days: this daemon used to run hundreds of times in this wait.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(watchlistRequests()).toHaveLength(2);
    expect(bed.platform.worksOf(connectorId)).toHaveLength(1);
    const nextRun = Date.parse(String(bed.platform.connector(connectorId)?.pings.at(-1)?.sentInfo?.next_run_datetime));
    expect(Math.abs(nextRun - (scheduledAt + 30 * 86_400_000))).toBeLessThan(60_000);
    expect(await d.stop()).toBe(0);
  });

  it.each([
    ['SPYCLOUD_IMPORT_START_DATE', 'P100000Y', /SPYCLOUD_IMPORT_START_DATE: .*longer than the 100 years/],
    ['SPYCLOUD_IMPORT_START_DATE', '-P30D', /SPYCLOUD_IMPORT_START_DATE: .*cannot be negative/],
    ['SPYCLOUD_IMPORT_START_DATE', '9999-12-31T23:00:00-05:00', /SPYCLOUD_IMPORT_START_DATE: expected an ISO-8601/],
    ['CONNECTOR_DURATION_PERIOD', 'P1000000Y', /CONNECTOR_DURATION_PERIOD: .*longer than the 100 years/],
  ])(
    '%s=%s stops at start-up with exit 1 naming the setting, before any SpyCloud request',
    async (name, value, why) => {
      const connectorId = randomUUID();
      const d = await start(connectorId, { [name]: value });
      expect(await d.exited).toBe(1);
      expect(d.logs.join('\n')).toMatch(why);
      expect(bed.vendor.requests).toHaveLength(0);
      expect(bed.platform.connector(connectorId)).toBeUndefined();
    },
  );
});

describe('the dry run of the built connector', () => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

  it('node dist/main.js import --dry-run prints each bundle as one NDJSON line', async () => {
    expect(existsSync(main), 'connectors/spycloud/dist/main.js is missing: run `pnpm build` first').toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [main, 'import', '--dry-run'], {
      env: {
        PATH: process.env.PATH ?? '',
        SPYCLOUD_API_BASE_URL: `${bed.vendor.url}/enterprise-v2`,
        SPYCLOUD_API_KEY: KEY,
        // No CONNECTOR_DURATION_PERIOD: a dry run is one run, the schedule is not needed.
        CONNECTOR_LOG_LEVEL: 'debug',
      },
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const bundles = lines.map((l) => JSON.parse(l) as { type: string; objects: Array<{ type: string }> });
    for (const bundle of bundles) assertValidStix(bundle, 'a dry-run bundle');
    expect(bundles.map((b) => b.type)).toEqual(['bundle', 'bundle']);
    expect(timestampFormProblems(bundles)).toEqual([]);
    expect(bundles.map((b) => b.objects.filter((o) => o.type === 'incident').length)).toEqual([11, 3]);
    expect(watchlistRequests()).toHaveLength(2);
  });
});
