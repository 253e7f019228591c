/**
 * SIGTERM and Ctrl-C on real connector processes whose handlers call a slow local vendor through the
 * SDK's HTTP client, as every connector does: a stop lets the call in hand finish within the grace
 * period (8 s), and past it the call is cancelled and the message goes back to the queue, the work left
 * open, not failed. Timings are bounds a loaded machine keeps: the lower ones only get longer under load,
 * the upper ones carry seconds of margin.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeRequest,
  type FakeVendor,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
} from '../../../src/index.js';
import { feedValues } from '../faults/connectors.js';
import {
  EXIT_MARGIN_MS,
  SHUTDOWN_GRACE_MS,
  type SpawnedConnector,
  sigtermPastTheGrace,
  spawnConnector,
} from '../faults/spawn.js';
import { until } from './helpers.js';

const slowEntry = fileURLToPath(new URL('./fixtures/slow-connector.ts', import.meta.url));
const feedEntry = fileURLToPath(new URL('../fixtures-faults/feed-connector.ts', import.meta.url));

let platform: TestPlatform;
let vendor: FakeVendor;
/** How long the vendor takes to answer the next lookup. */
let lookupDelayMs = 0;
const running: SpawnedConnector[] = [];

beforeAll(async () => {
  platform = await startTestPlatform();
  vendor = await startFakeVendor({
    'GET /lookup/:ip': () => ({ body: { verdict: 'benign' }, delayMs: lookupDelayMs }),
  });
});
afterEach(() => {
  for (const p of running.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  vendor.requests.length = 0;
});
afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

function start(entry: string, env: Record<string, string>, args: string[] = []): SpawnedConnector {
  const p = spawnConnector(
    entry,
    { OPENCTI_URL: platform.url, OPENCTI_TOKEN: platform.token, CONNECTOR_LOG_LEVEL: 'info', ...env },
    args,
  );
  running.push(p);
  return p;
}

async function startEnricher(connectorId: string): Promise<SpawnedConnector> {
  const p = start(slowEntry, { CONNECTOR_ID: connectorId, VENDOR_URL: vendor.url });
  await p.waitForOutput('listening for enrichment requests', 60_000);
  return p;
}

/** Waits for the vendor to receive a request for `path`. */
async function vendorRequest(path: string, from = 0): Promise<FakeRequest> {
  const find = () => vendor.requests.slice(from).find((r) => r.path === path);
  await until(() => find() !== undefined, 30_000, `the vendor to be asked for ${path}`);
  return find() as FakeRequest;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

describe('SIGTERM during an enrichment', () => {
  it('1.5 s into a 3 s vendor call: the call completes, the bundle is pushed, the work completes without error, exit 0', async () => {
    const connectorId = randomUUID();
    const proc = await startEnricher(connectorId);
    lookupDelayMs = 3_000;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.1' });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    const call = await vendorRequest('/lookup/203.0.113.1');
    await sleep(call.at + 1_500 - Date.now());

    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    expect(code).toBe(0);

    // The vendor answered; the connector did not give up on the call.
    expect(call.abandonedAt).toBeUndefined();
    expect(call.answeredAt).toBeDefined();
    const work = await platform.waitForWork(workId, { timeoutMs: 10_000 });
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join('\n')).not.toMatch(/abort/i);
    const indicator = platform.objects({ workId }).find((o) => o.object.type === 'indicator');
    expect(indicator?.object.description).toBe('benign');
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
  }, 90_000);

  it('into a call longer than the grace period: exit 0 once it is over, the call cancelled then, the work left open and the message requeued for the next process', async () => {
    const connectorId = randomUUID();
    const first = await startEnricher(connectorId);
    lookupDelayMs = 60_000;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.2' });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    const call = await vendorRequest('/lookup/203.0.113.2');

    await sigtermPastTheGrace(first, call);

    // Not lost, not failed: the work is still open with no error, the message is back on the listen queue.
    const open = platform.work(workId);
    expect(open?.status).toBe('progress');
    expect(open?.errors).toEqual([]);
    expect(open?.processed_time).toBeNull();
    expect(open?.operations.map((o) => o.op)).not.toContain('toProcessed');
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(1);

    // The next replica takes it over and finishes it.
    lookupDelayMs = 50;
    const second = await startEnricher(connectorId);
    await until(
      () => platform.work(workId)?.operations.some((o) => o.op === 'toProcessed') === true,
      30_000,
      'the second process to finish the work',
    );
    const work = await platform.waitForWork(workId, { timeoutMs: 30_000 });
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.operations.filter((o) => o.op === 'toProcessed')).toHaveLength(1);
    expect(platform.objects({ workId }).some((o) => o.object.type === 'indicator')).toBe(true);
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 120_000);

  it.each([
    ['SIGTERM', '203.0.113.4'],
    ['SIGINT', '203.0.113.5'],
  ] as const)(
    'a second signal (%s) in the grace period ends the process at once; the broker requeues the message and the next process finishes it',
    async (second, value) => {
      const connectorId = randomUUID();
      const first = await startEnricher(connectorId);
      lookupDelayMs = 60_000;
      const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value });
      const workId = await platform.askEnrichment(connectorId, ip.standard_id);
      await vendorRequest(`/lookup/${value}`);

      const sentAt = Date.now();
      first.child.kill('SIGTERM');
      await first.waitForOutput('SIGTERM received: shutting down');
      first.child.kill(second);
      // Killed by the signal, before the grace period the first one started is over.
      expect(await first.exited).toEqual({ code: null, signal: second });
      expect(Date.now() - sentAt).toBeLessThan(SHUTDOWN_GRACE_MS);
      expect(first.output.join('')).toContain(`${second} received again: exiting at once`);

      const open = platform.work(workId);
      expect(open?.status).toBe('progress');
      expect(open?.errors).toEqual([]);
      // The broker put the unacknowledged message back: the next process receives it and finishes the work.
      lookupDelayMs = 50;
      const next = await startEnricher(connectorId);
      const work = await platform.waitForWork(workId, { timeoutMs: 30_000 });
      expect(work.errors).toEqual([]);
      expect(vendor.requests.filter((r) => r.path === `/lookup/${value}`)).toHaveLength(2);
      expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
      next.child.kill('SIGTERM');
      expect((await next.exited).code).toBe(0);
    },
    120_000,
  );

  it('a playbook step in hand is answered when its call finishes within the grace period', async () => {
    const connectorId = randomUUID();
    const proc = await startEnricher(connectorId);
    lookupDelayMs = 2_000;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.3' });
    const request = await platform.askPlaybook(connectorId, ip.standard_id);
    await vendorRequest('/lookup/203.0.113.3');

    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    const step = platform.playbookSteps().find((s) => s.variables.execution_id === request.executionId);
    const objects = JSON.parse(step?.variables.bundle ?? '{"objects":[]}').objects as Array<{ type: string }>;
    expect(objects.map((o) => o.type)).toContain('indicator');
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
  }, 90_000);
});

describe('SIGTERM during a playbook step', () => {
  it('into a call longer than the grace period: the call cancelled then, the step requeued and answered once by the next process', async () => {
    const connectorId = randomUUID();
    const first = await startEnricher(connectorId);
    lookupDelayMs = 60_000;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.6' });
    const request = await platform.askPlaybook(connectorId, ip.standard_id);
    const call = await vendorRequest('/lookup/203.0.113.6');
    const answers = () => platform.playbookSteps().filter((s) => s.variables.execution_id === request.executionId);

    await sigtermPastTheGrace(first, call);
    expect(answers()).toEqual([]);
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(1);

    lookupDelayMs = 50;
    const second = await startEnricher(connectorId);
    await until(() => answers().length > 0, 30_000, 'the next process to answer the step');
    const objects = JSON.parse(answers()[0]?.variables.bundle ?? '{"objects":[]}').objects as Array<{ type: string }>;
    expect(objects.map((o) => o.type)).toContain('indicator');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(answers()).toHaveLength(1);
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
  }, 120_000);
});

describe('Ctrl-C on the enrich command line', () => {
  it('stops at once: the vendor call is cancelled, nothing is printed as a result, exit 130', async () => {
    lookupDelayMs = 60_000;
    const proc = start(slowEntry, { VENDOR_URL: vendor.url }, ['enrich', '198.51.100.7']);
    const call = await vendorRequest('/lookup/198.51.100.7');
    proc.child.kill('SIGINT');
    const { code } = await proc.exited;
    expect(code).toBe(130);
    expect(call.abandonedAt).toBeDefined();
    // "null" would say the vendor knows nothing of the value.
    expect(proc.stdout.join('')).toBe('');
    expect(proc.stderr.join('')).toMatch(/interrupted before the enrichment of 198\.51\.100\.7 finished/);
  }, 60_000);

  it('import --dry-run stops at once too, after the pages already printed: exit 130, no failure', async () => {
    const pages = await startFakeVendor({
      'GET /page/:n': (req) => {
        const page = Number(req.path.split('/').pop());
        return { body: { values: feedValues(page, 2), last: false }, delayMs: page === 1 ? 60_000 : 0 };
      },
    });
    try {
      const proc = start(feedEntry, { FEED_URL: pages.url }, ['import', '--dry-run']);
      await until(() => pages.requests.some((r) => r.path === '/page/1'), 30_000, 'page 1');
      proc.child.kill('SIGINT');
      expect((await proc.exited).code).toBe(130);
      expect(pages.requests.find((r) => r.path === '/page/1')?.abandonedAt).toBeDefined();
      expect(proc.stdout.join('').trim().split('\n')).toHaveLength(1);
      expect(proc.stderr.join('')).toMatch(/Import interrupted \(SIGINT received\) after 1 bundles/);
      expect(proc.stderr.join('')).not.toMatch(/Import failed/);
    } finally {
      await pages.close();
    }
  }, 60_000);
});

describe('SIGTERM during an import run', () => {
  /** A paged feed whose page `slowPage` takes `slowMs` to answer. */
  async function feed(slowPage: number, slowMs: number, pages = 5): Promise<FakeVendor> {
    return startFakeVendor({
      'GET /page/:n': (req) => {
        const page = Number(req.path.split('/').pop());
        return {
          body: { values: feedValues(page, 2), last: page === pages - 1 },
          delayMs: page === slowPage ? slowMs : 0,
        };
      },
    });
  }

  it('lets the page in hand finish, sends it and saves its state, then stops: the work says interrupted, exit 0', async () => {
    const connectorId = randomUUID();
    const pages = await feed(2, 3_000);
    try {
      const proc = start(feedEntry, {
        CONNECTOR_ID: connectorId,
        FEED_URL: pages.url,
        CONNECTOR_DURATION_PERIOD: 'PT1H',
      });
      const call = await until(() => pages.requests.some((r) => r.path === '/page/2'), 60_000, 'page 2').then(
        () => pages.requests.find((r) => r.path === '/page/2') as FakeRequest,
      );
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);

      expect(call.abandonedAt).toBeUndefined();
      // Page 2 was the last one asked for, and its state was saved once its bundle was confirmed.
      expect(pages.requests.map((r) => r.path)).toEqual(['/page/0', '/page/1', '/page/2']);
      expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 2 });
      const [work] = platform.worksOf(connectorId);
      expect(work?.errors).toEqual([]);
      expect(work?.messages.map((m) => m.message).join('\n')).toMatch(
        /Import interrupted \(SIGTERM received\) after 3 bundles/,
      );
      await platform.waitFor(
        () => platform.objects(connectorId).filter((o) => o.object.type === 'ipv4-addr').length === 6,
        { timeoutMs: 10_000, message: 'the three pages to reach the worker' },
      );
    } finally {
      await pages.close();
    }
  }, 90_000);

  it('cancels a page slower than the grace period without saving its state: the work says interrupted, not failed', async () => {
    const connectorId = randomUUID();
    const pages = await feed(2, 60_000);
    try {
      const proc = start(feedEntry, {
        CONNECTOR_ID: connectorId,
        FEED_URL: pages.url,
        CONNECTOR_DURATION_PERIOD: 'PT1H',
      });
      await until(() => pages.requests.some((r) => r.path === '/page/2'), 60_000, 'page 2');
      await sigtermPastTheGrace(proc, pages.requests.find((r) => r.path === '/page/2') as FakeRequest);

      expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 1 });
      const [work] = platform.worksOf(connectorId);
      expect(work?.errors).toEqual([]);
      const said = work?.messages.map((m) => m.message).join('\n') ?? '';
      expect(said).toMatch(/Import interrupted \(SIGTERM received\) after 2 bundles .*abandoned/);
      expect(said).not.toMatch(/abort|failed/i);
    } finally {
      await pages.close();
    }
  }, 90_000);

  it('exits shortly after the grace period even when the platform stops answering as the works are closed', async () => {
    const connectorId = randomUUID();
    const pages = await feed(1, 60_000);
    let hang: { cancel(): void } | undefined;
    try {
      const proc = start(feedEntry, {
        CONNECTOR_ID: connectorId,
        FEED_URL: pages.url,
        CONNECTOR_DURATION_PERIOD: 'PT1H',
      });
      await until(() => pages.requests.some((r) => r.path === '/page/1'), 60_000, 'page 1');
      // From now on the platform accepts the work updates and never answers them (GraphQL timeout: 60 s).
      hang = platform.faults.graphql({ operation: 'workEdit', delayMs: 120_000, times: 100 });
      const sentAt = Date.now();
      proc.child.kill('SIGTERM');
      const { code } = await proc.exited;
      // The forced exit, 10 s after SIGTERM (the grace period, then 2 s to close): not sooner, not much later.
      const exitedAfterMs = Date.now() - sentAt;
      expect(exitedAfterMs).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS + 2_000 - 500);
      expect(exitedAfterMs).toBeLessThan(SHUTDOWN_GRACE_MS + 2_000 + EXIT_MARGIN_MS);
      expect(code).toBe(0);
      expect(proc.output.join('')).toContain('shutdown took too long: exiting');
      expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 0 });
    } finally {
      hang?.cancel();
      await pages.close();
    }
  }, 90_000);
});
