/**
 * Connector processes killed with SIGKILL (no handler runs, nothing is flushed): an enrichment in flight
 * goes to another consumer of the same queue; an importer resumes from its last confirmed state.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeRequest,
  type FakeVendor,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  waitUntil,
} from '../../../src/index.js';
import { generatedSection } from '../../suites/generated-docs.js';
import { feedValues } from './connectors.js';
import { type SpawnedConnector, spawnConnector } from './spawn.js';

const echoEntry = fileURLToPath(new URL('../fixtures-faults/echo-connector.ts', import.meta.url));
const feedEntry = fileURLToPath(new URL('../fixtures-faults/feed-connector.ts', import.meta.url));

const doc = generatedSection('process');
let platform: TestPlatform;
const running: SpawnedConnector[] = [];

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await platform?.close();
});

function spawnTracked(entry: string, env: Record<string, string>) {
  const p = spawnConnector(entry, {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_LOG_LEVEL: 'info',
    ...env,
  });
  running.push(p);
  return p;
}

describe('SIGKILL', () => {
  it('an enrichment in flight when its process is killed is processed by another consumer of the queue', async () => {
    const connectorId = randomUUID();
    const first = spawnTracked(echoEntry, { CONNECTOR_ID: connectorId, DELAY_MS: '60000' });
    await first.waitForOutput('listening for enrichment requests', 60_000);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.200' });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    await waitUntil(() => platform.work(workId)?.status === 'progress', {
      timeoutMs: 30_000,
      message: 'the first process to receive the message',
    });

    const second = spawnTracked(echoEntry, { CONNECTOR_ID: connectorId, DELAY_MS: '0' });
    await second.waitForOutput('listening for enrichment requests', 60_000);
    expect(platform.work(workId)?.operations.filter((o) => o.op === 'toProcessed')).toHaveLength(0);

    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await platform.waitFor(() => platform.work(workId)?.operations.some((o) => o.op === 'toProcessed'), {
      timeoutMs: 30_000,
      message: 'the second process to process the message',
    });
    const work = await platform.waitForWork(workId, { timeoutMs: 30_000 });
    expect(work.errors).toEqual([]);
    expect(work.operations.filter((o) => o.op === 'toProcessed')).toHaveLength(1);
    expect(work.messages.map((m) => m.message)).toContain('echo 198.51.100.200');
    expect(new Set(platform.objects({ workId }).map((o) => o.object.type))).toEqual(
      new Set(['identity', 'indicator', 'relationship']),
    );
    await second.waitForOutput('echo 198.51.100.200', 10_000);
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    doc.record(
      'SIGKILL of a process in the middle of a 60 s enrichment, while a second process consumes the same listen queue',
      'The broker redelivered the unacked message to the second process, which processed it: the work completed once (one toProcessed), without error, with its objects. The second process then stopped with exit 0 on SIGTERM.',
    );
  }, 120_000);

  it('an importer killed mid-run resumes from the last confirmed page, with no object sent twice', async () => {
    const connectorId = randomUUID();
    const PAGES = 6;
    const PER_PAGE = 3;
    const HELD_PAGE = 3;
    let holding = true;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const feed: FakeVendor = await startFakeVendor({
      'GET /page/:n': async (req: FakeRequest) => {
        const page = Number(req.path.split('/').pop());
        // The first process is killed while it waits for this page: everything before it is confirmed.
        if (page === HELD_PAGE && holding) await held;
        return { body: { values: feedValues(page, PER_PAGE), last: page === PAGES - 1 } };
      },
    });
    try {
      const env = { CONNECTOR_ID: connectorId, FEED_URL: feed.url, CONNECTOR_DURATION_PERIOD: 'PT1H' };
      const first = spawnTracked(feedEntry, env);
      await waitUntil(() => feed.requests.some((r) => r.path === `/page/${HELD_PAGE}`), {
        timeoutMs: 60_000,
        message: `the first process to ask for page ${HELD_PAGE}`,
      });
      await waitUntil(() => platform.connector(connectorId)?.connector_state === JSON.stringify({ last_page: 2 }), {
        timeoutMs: 30_000,
        message: 'the state of page 2 to be saved',
      });
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      holding = false;
      release();
      const requestsBefore = feed.requests.length;

      const second = spawnTracked(feedEntry, env);
      await second.waitForOutput('next run scheduled', 60_000);
      const asked = feed.requests.slice(requestsBefore).map((r) => r.path);
      expect(asked).toEqual(['/page/3', '/page/4', '/page/5']);
      expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 5 });

      // Every observable of every page reached the worker exactly once.
      await platform.waitFor(
        () => platform.objects(connectorId).filter((o) => o.object.type === 'ipv4-addr').length >= PAGES * PER_PAGE,
        { timeoutMs: 30_000, message: 'every observable' },
      );
      const ingested = platform
        .objects(connectorId)
        .map((o) => o.object)
        .filter((o) => o.type === 'ipv4-addr');
      const expected = Array.from({ length: PAGES }, (_, p) => feedValues(p, PER_PAGE)).flat();
      expect(ingested.map((o) => o.value).sort()).toEqual([...expected].sort());
      expect(new Set(ingested.map((o) => o.id)).size).toBe(ingested.length);

      const works = platform.worksOf(connectorId);
      expect(works).toHaveLength(2);
      // Neither work is left "in progress" for ever, nor in error: the killed run had confirmed its pages.
      expect(works.map((w) => w.status)).toEqual(['complete', 'complete']);
      expect(works.flatMap((w) => w.errors)).toEqual([]);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
      doc.record(
        `SIGKILL of an importer while it waits for page ${HELD_PAGE} of ${PAGES} (pages 0-${HELD_PAGE - 1} confirmed, state saved), then a new process`,
        `The new process read the saved state and asked only for pages ${asked.map((p) => p.replace('/page/', '')).join(', ')}; all ${PAGES * PER_PAGE} observables reached the worker exactly once (no id sent twice). The killed run's work was left "${works[0]?.status}", the new run's work "${works[1]?.status}".`,
      );
    } finally {
      release();
      await feed.close();
    }
  }, 120_000);

  it('docs/reliability.md lists what this suite observed', ({ task }) => {
    doc.verify(task);
  });
});
