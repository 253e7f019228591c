/**
 * Scaling out: replicas of the Scout enricher on one listen queue (RabbitMQ's competing consumers), the
 * vendor's 1 request/s shared by all of them through Redis (CONNECTOR_RATE_LIMIT_REDIS_URL), as the quota
 * belongs to the account, not to a process. Redis: REDIS_URL or redis://127.0.0.1:6379.
 */
import { randomUUID } from 'node:crypto';
import {
  type FakeVendor,
  type RunningConnector,
  startConnector,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  waitUntil,
} from '@cti/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import scout from '../src/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = 'scale-out-token-0123456789';

/** Requests observed in the shared-budget test, and how late one may reach the vendor after its slot. */
const OBSERVED = 25;
const LATE_MS = 3_000;

let platform: TestPlatform;
let vendor: FakeVendor;

beforeAll(async () => {
  platform = await startTestPlatform();
  // Every IP answers an empty bundle: the vendor's side of the test is the request count.
  vendor = await startFakeVendor({ 'GET /ip/foundation': { body: { type: 'bundle', objects: [] } } });
});
afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

function replicas(connectorId: string, env: Record<string, string>): RunningConnector[] {
  return [0, 1, 2].map(() =>
    startConnector(scout, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_ID: connectorId,
      CONNECTOR_LOG_LEVEL: 'info',
      PURE_SIGNAL_SCOUT_API_URL: vendor.url,
      PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN,
      PURE_SIGNAL_SCOUT_MAX_RETRIES: '0',
      CONNECTOR_RATE_LIMIT_REDIS_URL: REDIS_URL,
      ...env,
    }),
  );
}

async function ask(connectorId: string, count: number, prefix: string): Promise<string[]> {
  const works: string[] = [];
  for (let i = 0; i < count; i++) {
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: `${prefix}.${(i >> 8) & 255}.${i & 255}` });
    works.push(await platform.askEnrichment(connectorId, ip.standard_id));
  }
  return works;
}

describe('three Scout replicas on one queue', () => {
  it('share 1 request/s through Redis: no two requests closer than the shared budget allows', async () => {
    const connectorId = randomUUID();
    const running = replicas(connectorId, { PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '1' });
    try {
      await Promise.all(running.map((r) => r.waitForLog('listening for enrichment requests', 60_000)));
      vendor.requests.length = 0;
      await ask(connectorId, 60, '10.31');
      // Counted, not timed: however slowly a loaded machine gets there.
      await waitUntil(() => vendor.requests.length >= OBSERVED, { timeoutMs: 150_000 });
      const times = vendor.requests
        .slice(0, OBSERVED)
        .map((r) => r.at)
        .sort((a, b) => a - b);
      // Each request is sent once Redis reserved its slot, slots 1 s apart; a request may reach the vendor
      // late (LATE_MS, a busy event loop), never early. So any k + 1 consecutive arrivals span at least
      // k s - LATE_MS. Three replicas each keeping its own 1/s would send three times as fast.
      for (let i = 0; i < times.length; i++) {
        for (let j = i + 1; j < times.length; j++) {
          const span = (times[j] as number) - (times[i] as number);
          expect(span, `arrivals ${i} to ${j}`).toBeGreaterThanOrEqual((j - i) * 1_000 - LATE_MS);
        }
      }
      // All three replicas took part: each logged enrichments of its own.
      const busy = running.filter((r) => r.logs.some((l) => l.includes('no intelligence found for 10.31.')));
      expect(busy.length).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all(running.map((r) => r.stop()));
    }
  }, 240_000);

  it('process 500 enrichments between them, every one to the end', async () => {
    const connectorId = randomUUID();
    const running = replicas(connectorId, { PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '100' });
    try {
      await Promise.all(running.map((r) => r.waitForLog('listening for enrichment requests', 60_000)));
      const works = await ask(connectorId, 500, '10.32');
      for (const w of works) {
        const work = await platform.waitForWork(w, { timeoutMs: 120_000 });
        expect(work.status).toBe('complete');
        expect(work.errors).toEqual([]);
      }
      const perReplica = () =>
        running.map((r) => r.logs.filter((l) => l.includes('no intelligence found for 10.32.')).length);
      // The outcome is logged right after the work is marked processed.
      await waitUntil(() => perReplica().reduce((a, b) => a + b, 0) >= 500, { timeoutMs: 10_000 });
      expect(perReplica().reduce((a, b) => a + b, 0)).toBe(500);
      expect(perReplica().every((n) => n > 0)).toBe(true);
    } finally {
      await Promise.all(running.map((r) => r.stop()));
    }
  }, 180_000);
});
