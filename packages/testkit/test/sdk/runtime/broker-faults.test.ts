import { randomUUID } from 'node:crypto';
import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  buildRelationship,
  defineEnrichment,
  env,
} from '@cti/connector-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { closeBrokerConnections, startDaemon, until } from './helpers.js';

const ENRICHMENTS = 40;
/** Enrichments that complete before the test cuts the connections; the others wait for the cut. */
const BEFORE_CUT = 8;
let cut: Promise<void> = Promise.resolve();
let releaseAfterCut: () => void = () => undefined;

/**
 * An enrichment that takes a little time (as a vendor call does) and answers two objects plus author. Past
 * the first BEFORE_CUT, each also waits until the connections were cut: the cut lands mid-stream however
 * slow the broker's tooling or the machine is (a fixed delay only made that likely).
 */
const slowEcho = defineEnrichment({
  name: 'SlowEcho',
  slug: 'slow-echo',
  scope: ['IPv4-Addr'],
  config: { DELAY_MS: env.int({ default: 20 }) },
  maxTlp: () => 'TLP:RED',
  setup: () => null,
  async enrich(entity, { config, now }) {
    await new Promise((r) => setTimeout(r, config.DELAY_MS));
    if (Number(entity.value?.split('.').at(-1)) >= BEFORE_CUT) await cut;
    const author = buildAuthor('Slow Echo');
    const ctx = { author, now: now().toISOString() };
    const indicator = buildIndicator({ pattern: `[ipv4-addr:value = '${entity.value}']` }, ctx);
    const rel = buildRelationship(
      { relationship_type: 'based-on', source_ref: indicator.id, target_ref: entity.id },
      ctx,
    );
    return { bundle: assembleBundle({ objects: [indicator, rel], author, external: [entity.id] }) };
  },
});

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
});

describe('broker failures', () => {
  it('loses nothing when the broker closes the connector connections mid-stream', async () => {
    const name = `SlowEcho-${randomUUID().slice(0, 8)}`;
    const d = startDaemon(slowEcho, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_NAME: name,
      CONNECTOR_LOG_LEVEL: 'info',
      DELAY_MS: '50',
    });
    cut = new Promise((resolve) => {
      releaseAfterCut = resolve;
    });
    try {
      await until(() => d.logs.some((l) => l.includes('listening for enrichment requests')), 20_000, 'consuming');
      const works: string[] = [];
      for (let i = 0; i < ENRICHMENTS; i++) {
        const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: `192.0.2.${i}` });
        works.push(await platform.askEnrichment(d.connectorId, ip.standard_id));
      }
      await until(
        () => works.filter((w) => platform.work(w)?.status === 'complete').length >= BEFORE_CUT,
        60_000,
        'the works before the cut',
      );
      expect(await closeBrokerConnections(name)).toBe(2); // listen and push
      const unfinished = works.filter((w) => platform.work(w)?.status !== 'complete');
      expect(unfinished.length, 'works still to process when the connections were cut').toBe(ENRICHMENTS - BEFORE_CUT);
      releaseAfterCut();
      for (const w of works) await platform.waitForWork(w, { timeoutMs: 60_000 });
      for (const w of works) {
        const work = platform.work(w);
        expect(work?.status).toBe('complete');
        expect(work?.errors).toEqual([]);
        const types = new Set(platform.objects({ workId: w }).map((o) => o.object.type));
        expect(types).toEqual(new Set(['identity', 'indicator', 'relationship']));
      }
      expect(d.logs.some((l) => /reconnect/i.test(l))).toBe(true);
      expect(await platform.queueDepth(d.connectorId, 'listen')).toBe(0);
    } finally {
      releaseAfterCut();
      expect(await d.stop()).toBe(0);
    }
    // The listen consumer logs through the daemon's logger: it subscribed once, then again after the cut.
    // Read once stopped: the logger may still hold the latest lines in its buffer before.
    expect(d.logs.filter((l) => l.includes('Consuming the listen queue')).length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
