import { randomUUID } from 'node:crypto';
import {
  assembleBundle,
  buildAuthor,
  buildObservable,
  defineImport,
  env,
  type StixBundle,
  TLP_MARKING_IDS,
  z,
} from '@cti/connector-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { type FakeVendor, type RunningDaemon, startDaemon, startFakeVendor, until } from './helpers.js';

/**
 * An importer over a fake feed of numbered IPs: each page is one bundle, the state remembers the last
 * page confirmed. FEED_FAIL_AT makes a page fail, as a vendor outage would.
 */
function feedConnector(pages: number, calls: Array<{ from: number }>) {
  return defineImport({
    name: 'Feed',
    slug: 'feed',
    config: { FEED_FAIL_AT: env.int({ default: -1 }) },
    state: z.object({ last_page: z.number() }),
    setup: () => null,
    async *run({ state, config }) {
      const from = state ? state.last_page + 1 : 0;
      calls.push({ from });
      const author = buildAuthor('Feed Org');
      for (let page = from; page < pages; page++) {
        if (page === config.FEED_FAIL_AT) throw new Error(`feed page ${page} failed`);
        const objects = [0, 1].map((i) =>
          buildObservable(
            'ipv4-addr',
            { value: `10.0.${page}.${i}` },
            { author, markings: [TLP_MARKING_IDS['TLP:AMBER']] },
          ),
        );
        const bundle: StixBundle = assembleBundle({ objects, author });
        yield { bundle, state: { last_page: page } };
      }
    },
  });
}

/**
 * An importer of a vendor's STIX feed over HTTP: each page's objects, as the vendor sends them, are one
 * bundle (as TeamT5's report downloads are); the state remembers the last page handed over.
 */
const stixFeedConnector = defineImport({
  name: 'StixFeed',
  slug: 'stix-feed',
  config: { STIX_FEED_URL: env.url() },
  state: z.object({ last_page: z.number() }),
  setup: ({ config, http }) => http({ vendor: 'StixFeed', baseURL: config.STIX_FEED_URL, retry: { maxAttempts: 1 } }),
  async *run({ client, state }) {
    const author = buildAuthor('Stix Feed Org');
    for (let page = state ? state.last_page + 1 : 0; ; page++) {
      const res = await client.get<{ objects: StixBundle['objects']; last: boolean }>(`/page/${page}`);
      yield { bundle: assembleBundle({ objects: res.data.objects, author }), state: { last_page: page } };
      if (res.data.last) return;
    }
  },
});

let platform: TestPlatform;
let daemon: RunningDaemon | null = null;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
});
afterAll(async () => {
  await platform?.close();
});

function baseEnv(connectorId: string, extra: Record<string, string> = {}) {
  return {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_DURATION_PERIOD: 'PT1H',
    ...extra,
  };
}

describe('import daemon against the stand-in platform and the real broker', () => {
  it('runs at start-up, pushes every bundle in a work, saves the state, and a second run goes on from it', async () => {
    const connectorId = randomUUID();
    const calls: Array<{ from: number }> = [];
    daemon = startDaemon(feedConnector(3, calls), baseEnv(connectorId));
    await until(() => daemon?.logs.some((l) => l.includes('next run scheduled')) ?? false, 20_000, 'the first run');
    const works = platform.worksOf(connectorId);
    expect(works).toHaveLength(1);
    const work = await platform.waitForWork(works[0]?.id as string, { timeoutMs: 20_000 });
    expect(work.status).toBe('complete');
    expect(work.name).toMatch(/^Feed run @ /);
    const values = platform
      .objects(connectorId)
      .map((o) => o.object)
      .filter((o) => o.type === 'ipv4-addr')
      .map((o) => o.value);
    expect(new Set(values)).toEqual(new Set(['10.0.0.0', '10.0.0.1', '10.0.1.0', '10.0.1.1', '10.0.2.0', '10.0.2.1']));
    expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 2 });
    expect(platform.connector(connectorId)?.registrations.at(-1)?.input.type).toBe('EXTERNAL_IMPORT');
    await daemon.stop();

    // A restart reads the saved state: the handler is asked only for newer pages.
    daemon = startDaemon(feedConnector(4, calls), baseEnv(connectorId));
    await until(() => daemon?.logs.some((l) => l.includes('next run scheduled')) ?? false, 20_000, 'the second run');
    expect(calls.at(-1)).toEqual({ from: 3 });
    expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 3 });
  });

  it('keeps the last confirmed state when a run fails, and marks the work in error', async () => {
    const connectorId = randomUUID();
    const calls: Array<{ from: number }> = [];
    daemon = startDaemon(feedConnector(5, calls), baseEnv(connectorId, { FEED_FAIL_AT: '2' }));
    await until(() => daemon?.logs.some((l) => l.includes('next run scheduled')) ?? false, 20_000, 'the run');
    const work = await platform.waitForWork(platform.worksOf(connectorId)[0]?.id as string, {
      status: 'any-processed',
      timeoutMs: 20_000,
    });
    expect(work.errors.map((e) => e.message).join()).toMatch(/feed page 2 failed/);
    expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 1 });
  });

  it('with CONNECTOR_RUN_AND_TERMINATE=true runs once and exits 0', async () => {
    const connectorId = randomUUID();
    const calls: Array<{ from: number }> = [];
    daemon = startDaemon(feedConnector(1, calls), baseEnv(connectorId, { CONNECTOR_RUN_AND_TERMINATE: 'true' }));
    expect(await daemon.exited).toBe(0);
    expect(calls).toHaveLength(1);
    const info = platform.connector(connectorId)?.pings.at(-1)?.sentInfo;
    expect(info?.run_and_terminate).toBe(true);
    expect(info?.last_run_datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('skips a run while the push queue is above CONNECTOR_QUEUE_THRESHOLD and says so in the ping', async () => {
    const connectorId = randomUUID();
    const calls: Array<{ from: number }> = [];
    platform.setQueueSize(connectorId, 5_000_000);
    daemon = startDaemon(
      feedConnector(1, calls),
      baseEnv(connectorId, { CONNECTOR_QUEUE_THRESHOLD: '2', CONNECTOR_RUN_AND_TERMINATE: 'true' }),
    );
    expect(await daemon.exited).toBe(0);
    expect(calls).toHaveLength(0);
    const info = platform.connector(connectorId)?.pings.at(-1)?.sentInfo;
    expect(info).toMatchObject({ buffering: true, queue_threshold: 2, queue_messages_size: 5 });
  });

  it('starts a new run from the first-run settings at once when the state is reset from the UI', async () => {
    const connectorId = randomUUID();
    const calls: Array<{ from: number }> = [];
    daemon = startDaemon(feedConnector(2, calls), baseEnv(connectorId), { pingIntervalMs: 200 });
    await until(() => daemon?.logs.some((l) => l.includes('next run scheduled')) ?? false, 20_000, 'the first run');
    expect(calls).toEqual([{ from: 0 }]);
    await platform.resetState(connectorId);
    // The reset is seen at the next ping (every 200 ms here, 40 s by default): the run starts again at once.
    await until(() => calls.length >= 2, 20_000, 'a new run after the reset');
    expect(calls[1]).toEqual({ from: 0 });
    await until(
      () => JSON.parse(platform.connector(connectorId)?.connector_state || 'null')?.last_page === 1,
      20_000,
      'the new run to save its state',
    );
  });

  it("refuses a page's bundle holding an object nested 100,000 levels deep whole, reports it on the work, and imports the other pages", async () => {
    const connectorId = randomUUID();
    const author = buildAuthor('Stix Feed Org');
    const page = (n: number) =>
      [0, 1, 2].map((i) => buildObservable('ipv4-addr', { value: `10.7.${n}.${i}` }, { author }) as object);
    const deepId = 'indicator--0f6b9d4c-7d7a-4b4e-9d43-6a9b3c2d1e0f';
    const deepIndicator = JSON.stringify({
      type: 'indicator',
      spec_version: '2.1',
      id: deepId,
      created: '2026-01-02T03:04:05.000Z',
      modified: '2026-01-02T03:04:05.000Z',
      pattern: "[ipv4-addr:value = '10.7.1.9']",
      pattern_type: 'stix',
      valid_from: '2026-01-02T03:04:05.000Z',
      x_feed_context: 'DEEP',
    }).replace('"DEEP"', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`);
    const json = { 'content-type': 'application/json' };
    const vendor: FakeVendor = await startFakeVendor({
      'GET /page/0': { body: { objects: page(0), last: false } },
      // The deep object between sound ones: on main, the ones split before it were pushed, then the run died.
      'GET /page/1': {
        body: `{"objects":[${JSON.stringify(page(1)).slice(1, -1)},${deepIndicator}],"last":false}`,
        headers: json,
      },
      'GET /page/2': { body: { objects: page(2), last: true } },
    });
    try {
      daemon = startDaemon(
        stixFeedConnector,
        baseEnv(connectorId, { STIX_FEED_URL: vendor.url, CONNECTOR_RUN_AND_TERMINATE: 'true' }),
      );
      expect(await daemon.exited).toBe(0);
      const works = platform.worksOf(connectorId);
      expect(works).toHaveLength(1);
      const work = await platform.waitForWork(works[0]?.id as string, { status: 'any-processed', timeoutMs: 20_000 });
      expect(work.errors.map((e) => e.message)).toEqual([
        `The bundle cannot be sent, nothing of it was: ${deepId}: x_feed_context.a.a.a… (100 levels) is nested more than 100 levels deep (or refers to itself)`,
      ]);
      const values = platform
        .objects(connectorId)
        .map((o) => o.object)
        .filter((o) => o.type === 'ipv4-addr')
        .map((o) => o.value);
      // Pages 0 and 2 whole; nothing of page 1, whose bundle was refused before its first message.
      expect(new Set(values)).toEqual(
        new Set(['10.7.0.0', '10.7.0.1', '10.7.0.2', '10.7.2.0', '10.7.2.1', '10.7.2.2']),
      );
      expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 2 });
      expect(vendor.requests.map((r) => r.path)).toEqual(['/page/0', '/page/1', '/page/2']);
    } finally {
      await vendor.close();
    }
  });
});
