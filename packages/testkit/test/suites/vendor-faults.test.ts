/**
 * Every connector against a vendor that fails in every way a vendor fails: rate limits with and without
 * Retry-After, 5xx bursts and outages, timeouts, truncated JSON, JSON of the wrong shape, an HTML page
 * with status 200, an answer larger than the connector accepts. Asserted for every connector and every fault, before its row is recorded: the vendor
 * did serve the fault; the work is closed once, with an error that names the vendor and the problem (a
 * burst the retries absorb must end well, its objects delivered); no secret in the works or the logs, in
 * any encoding; the daemon still runs; the next request, once the vendor is healthy again, is processed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform, type WorkSnapshot } from '../../src/index.js';
import { CASES, type ConnectorCase, caseOf } from './cases.js';
import { generatedSection, normalise } from './generated-docs.js';
import {
  type CaseDaemon,
  type CaseVendor,
  enrichOnce,
  expectNoSecrets,
  type Fault,
  LISTEN_PROTOCOLS,
  type ListenProtocol,
  runTracker,
  secretsOf,
  startCaseDaemon,
  startCaseVendor,
} from './harness.js';

interface VendorFault {
  name: string;
  fault: Fault;
  /** What the error must say besides the vendor's name; null when the retries absorb the fault. */
  problem: RegExp | null;
}

const HTML = '<!doctype html><html><head><title>Maintenance</title></head><body><h1>Back soon</h1></body></html>';
const MiB = 1024 * 1024;
/** 40 MiB of JSON, over every connector's cap (the largest is 32 MiB); built once, when first served. */
let huge: string | undefined;
const hugeAnswer = () => {
  huge ??= `{"data":"${'x'.repeat(40 * MiB - 12)}"}`;
  return huge;
};

const FAULTS: readonly VendorFault[] = [
  {
    name: 'HTTP 429 without Retry-After, every time',
    fault: () => ({ status: 429, body: { message: 'Too Many Requests' } }),
    problem: /429|quota|rate limit/i,
  },
  {
    name: 'HTTP 429 with Retry-After: 1, every time',
    fault: () => ({ status: 429, headers: { 'retry-after': '1' }, body: { message: 'Too Many Requests' } }),
    problem: /429|quota|rate limit/i,
  },
  {
    name: 'A burst: HTTP 503 twice, then healthy',
    fault: (_req, hit) => (hit <= 2 ? { status: 503, body: 'Service Unavailable' } : undefined),
    problem: null,
  },
  {
    name: 'HTTP 500 on every request',
    fault: () => ({ status: 500, body: 'Internal Server Error' }),
    problem: /500/,
  },
  {
    name: 'No answer within the timeout (answers after 3 s; timeout 1 s)',
    fault: () => ({ delayMs: 3_000, body: {} }),
    problem: /in time|time ?out|timed out/i,
  },
  {
    name: 'Truncated JSON (`{"results": [{"_id": "4f1d`)',
    fault: () => ({ body: '{"results": [{"_id": "4f1d', headers: { 'content-type': 'application/json' } }),
    problem: /JSON|unusable|truncated/i,
  },
  {
    name: 'Valid JSON of the wrong shape (`[{"unexpected": "shape"}]`)',
    fault: () => ({ body: [{ unexpected: 'shape' }] }),
    problem: /expected|shape|invalid|unexpected/i,
  },
  {
    name: 'HTTP 200 with an HTML maintenance page',
    fault: () => ({ body: HTML, headers: { 'content-type': 'text/html; charset=utf-8' } }),
    problem: /HTML|text\/html|not JSON/i,
  },
  {
    name: 'HTTP 200 with 40 MiB of JSON (announced by Content-Length), more than the connector accepts',
    fault: () => ({
      body: hugeAnswer(),
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(hugeAnswer())) },
    }),
    problem: /with a body larger than the \d+ MiB accepted \(Content-Length 40(\.0)? MiB\)/,
  },
];

const doc = generatedSection('vendor');
const rows = new Map<string, string[]>();
let platform: TestPlatform;
/**
 * The HTTP listen protocol's runs on a platform of their own: both runs of a connector enrich the same values
 * at the same time, and CrowdSec skips an IP the other run enriched moments before.
 */
let apiPlatform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
  apiPlatform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
  await apiPlatform?.close();
});

/** The first error any of the works got. */
const firstError = (works: WorkSnapshot[]) => works.flatMap((w) => w.errors.map((e) => e.message))[0] ?? '';
/** What happened to a request (enrichers) or a run (importers): its first error, else its messages. */
const summary = (works: WorkSnapshot[], runMessage?: string) => {
  const error = firstError(works);
  if (error !== '') return `processed, in error: "${normalise(error)}"`;
  const said = works
    .flatMap((w) => w.messages.map((m) => m.message))
    .filter((m) => m !== 'Connector ready to process the operation');
  return `processed without error: "${normalise(said.length > 0 ? said.join(' | ') : (runMessage ?? ''))}"`;
};

/** One fault against one connector: a fresh daemon, the faulty request, then a healthy one. */
async function tryFault(
  c: ConnectorCase,
  f: VendorFault,
  protocol: ListenProtocol,
): Promise<{ error: string; next: string }> {
  const platform = platformOf(protocol);
  const vendor = await startCaseVendor(c);
  let daemon: CaseDaemon | null = null;
  try {
    vendor.setFault(f.fault);
    if (c.kind === 'enrichment') {
      daemon = startCaseDaemon(c, platform, vendor, {}, protocol);
      await daemon.d.waitForLog('listening for enrichment requests', 60_000);
      const work = await enrichOnce(platform, daemon.d.connectorId, c.observable ?? { entity_type: '', value: '' });
      const faulted = vendor.faulted;
      vendor.setFault(null);
      const next = await enrichOnce(platform, daemon.d.connectorId, c.nextObservable ?? { entity_type: '', value: '' });
      expect(daemon.exitCode(), 'the daemon is still running').toBeNull();
      return check({ c, f, vendor, daemon, faulted, platform }, [work], [next]);
    }
    daemon = startCaseDaemon(c, platform, vendor, { CONNECTOR_DURATION_PERIOD: 'PT2S' });
    const nextRun = runTracker(platform, daemon.d);
    const first = await nextRun();
    const faulted = vendor.faulted;
    vendor.setFault(null);
    const second = await nextRun();
    expect(daemon.exitCode(), 'the daemon is still running').toBeNull();
    return check({ c, f, vendor, daemon, faulted, platform }, first.works, second.works, second.message);
  } finally {
    if (daemon) expect(await daemon.d.stop()).toBe(0);
    await vendor.close();
  }
}

interface Tried {
  c: ConnectorCase;
  f: VendorFault;
  vendor: CaseVendor;
  daemon: CaseDaemon;
  /** Requests the fault answered before the vendor was healed. */
  faulted: number;
  platform: TestPlatform;
}

const platformOf = (protocol: ListenProtocol) => (protocol === 'API' ? apiPlatform : platform);

const toProcessedCalls = (w: WorkSnapshot) => w.operations.filter((o) => o.op === 'toProcessed').length;

function check(
  { c, f, vendor, daemon, faulted, platform }: Tried,
  faulty: WorkSnapshot[],
  next: WorkSnapshot[],
  nextRun?: string,
) {
  const where = `${c.slug}, "${f.name}"`;
  // A fault the vendor never served proves nothing: a burst is served exactly twice, the others at least once.
  if (f.problem === null) expect(faulted, `${where}: faulty answers served`).toBe(2);
  else expect(faulted, `${where}: faulty answers served`).toBeGreaterThan(0);
  expect(faulty.length, `${where}: works of the faulty request`).toBeGreaterThan(0);
  for (const w of [...faulty, ...next]) expect(toProcessedCalls(w), `${where}: ${w.id} closed once`).toBe(1);
  const error = firstError(faulty);
  if (f.problem === null) {
    expect(error, `${where}: the retries absorb it`).toBe('');
    const objects = faulty.flatMap((w) => platform.objects({ workId: w.id }));
    expect(objects.length, `${where}: the objects of the absorbed request reached the platform`).toBeGreaterThan(0);
  } else {
    expect(error, `${where}: the work names the vendor`).toMatch(new RegExp(c.vendor.replace('.', '\\.'), 'i'));
    expect(error, `${where}: the work names the problem`).toMatch(f.problem);
  }
  const nextError = firstError(next);
  // After a rate limit, a connector may refuse to call the vendor until the wait is over: that is an error
  // about the quota, decided without a request; anything else must succeed.
  if (nextError !== '') expect(nextError, `${where}: the next request`).toMatch(/quota|429|rate/i);
  if (nextError !== '')
    expect(f.problem?.source, `${where}: only a rate limit may fail the next request`).toMatch(/429/);
  expectNoSecrets(
    { works: JSON.stringify(platform.worksOf(daemon.d.connectorId)), logs: daemon.d.logs.join('\n') },
    secretsOf(c, vendor, platform.token),
    `${where}: secrets in the works or the logs`,
  );
  return {
    error: error === '' ? `none: ${summary(faulty)}` : `"${normalise(error)}"`,
    next: summary(next, nextRun),
  };
}

describe('vendor faults', () => {
  // Enrichers on both listen protocols (the table shows the listen queue's; the callback's must be the same).
  const runs = CASES.flatMap((c, ci) =>
    (c.kind === 'enrichment' ? LISTEN_PROTOCOLS : (['AMQP'] as const)).map((protocol) => ({ c, ci, protocol })),
  );
  for (const { c, ci, protocol } of runs) {
    const on = c.kind === 'enrichment' ? `, listen protocol ${protocol}` : '';
    it.concurrent(`${c.slug}: every fault ends in a clear error on the work, and the daemon goes on${on}`, async () => {
      for (const [fi, f] of FAULTS.entries()) {
        const outcome = await tryFault(c, f, protocol);
        rows.set(`${protocol}-${ci}-${fi}`, [c.slug, f.name, outcome.error, outcome.next]);
      }
    }, 600_000);
  }

  const teamt5 = caseOf('teamt5');
  if (teamt5) {
    it('teamt5: the OAuth token endpoint answering 503 at start-up stops the connector with a clear error', async () => {
      const c: ConnectorCase = { ...teamt5, faultable: (req) => req.method === 'POST' && req.path === '/oauth/token' };
      const vendor = await startCaseVendor(c);
      try {
        vendor.setFault(() => ({ status: 503, body: 'Service Unavailable' }));
        const daemon = startCaseDaemon(c, platform, vendor);
        const code = await daemon.d.exited;
        const fatal = daemon.d.logs
          .map((l) => {
            try {
              return JSON.parse(l) as { level?: string; message?: string };
            } catch {
              return {};
            }
          })
          .find((l) => l.level === 'CRITICAL');
        // As upstream, the first token is asked for at start-up: an outage of the token endpoint then stops
        // the connector (the orchestrator restarts it); it does not wait for the endpoint like for OpenCTI.
        expect(code).toBe(1);
        expect(fatal?.message).toMatch(/TeamT5/);
        expect(fatal?.message).toMatch(/503/);
        expect(vendor.faulted, 'token requests answered 503').toBeGreaterThan(0);
        expect(platform.worksOf(daemon.d.connectorId), 'works opened').toEqual([]);
        expectNoSecrets({ logs: daemon.d.logs.join('\n') }, secretsOf(c, vendor, platform.token));
        rows.set('teamt5-token-503', [
          'teamt5',
          'The OAuth token endpoint answers HTTP 503 at start-up (the token is asked for before the first run)',
          `no work (the connector did not start); logged at CRITICAL: "${normalise(fatal?.message ?? '')}"`,
          `none: the connector exited ${code} at start-up (as upstream); the orchestrator's restart is the retry`,
        ]);
      } finally {
        await vendor.close();
      }
    }, 120_000);
  }

  const urlscan = caseOf('urlscan-enrichment');
  if (urlscan) {
    // A 429 that persists after waiting for the reset urlscan announced is reported as such: an admin
    // must not be told to raise URLSCAN_MAX_WAIT_SECONDS when the reset was within it.
    it('urlscan: a 429 that persists after its Retry-After is not reported as a reset beyond URLSCAN_MAX_WAIT_SECONDS', async () => {
      const vendor = await startCaseVendor(urlscan);
      let daemon: CaseDaemon | null = null;
      try {
        vendor.setFault(() => ({
          status: 429,
          headers: { 'retry-after': '1' },
          body: { message: 'Too Many Requests' },
        }));
        daemon = startCaseDaemon(urlscan, platform, vendor);
        await daemon.d.waitForLog('listening for enrichment requests', 60_000);
        const work = await enrichOnce(
          platform,
          daemon.d.connectorId,
          urlscan.observable ?? { entity_type: '', value: '' },
        );
        const error = firstError([work]);
        rows.set('urlscan-429-wording', [
          urlscan.slug,
          'HTTP 429 with Retry-After: 1, every time, URLSCAN_MAX_WAIT_SECONDS=2: is the error accurate?',
          `"${normalise(error)}"`,
          /more than URLSCAN_MAX_WAIT_SECONDS/.test(error)
            ? 'BUG: the reset is 1 s away, within URLSCAN_MAX_WAIT_SECONDS; the real cause (still 429 after waiting once) is not said'
            : 'accurate',
        ]);
        expect(error).toMatch(/urlscan/);
        expect(error).not.toMatch(/more than URLSCAN_MAX_WAIT_SECONDS/);
        expect(error).toMatch(/still refused after waiting once/);
        // Waited once for the announced reset, then asked again: two requests, not a loop.
        expect(vendor.faulted).toBe(2);
        expect(daemon.exitCode()).toBeNull();
        expectNoSecrets(
          { works: JSON.stringify(work), logs: daemon.d.logs.join('\n') },
          secretsOf(urlscan, vendor, platform.token),
        );
      } finally {
        if (daemon) await daemon.d.stop();
        await vendor.close();
      }
    }, 120_000);
  }

  it('docs/reliability.md lists what this suite observed', ({ task }) => {
    for (const [ci, c] of CASES.entries()) {
      for (const fi of FAULTS.keys()) {
        const row = rows.get(`AMQP-${ci}-${fi}`);
        if (row) doc.record(...row);
        if (c.kind === 'enrichment') {
          expect(rows.get(`API-${ci}-${fi}`), `${c.slug}, fault ${fi}, HTTP listen protocol`).toEqual(row);
        }
      }
    }
    for (const key of ['teamt5-token-503', 'urlscan-429-wording']) {
      const row = rows.get(key);
      if (row) doc.record(...row);
    }
    doc.verify(task);
  });
});
