/**
 * A message whose outcome keeps failing while the platform answers everything else (a poison message)
 * against a platform outage: the daemon against the stand-in platform, the real broker and a fake vendor
 * that counts its requests. The first is processed twice, then reported on its work and dropped; the
 * second keeps its message until the platform is back.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { echoConnector } from './echo-connector.js';
import { type FakeVendor, type RunningDaemon, startDaemon, startFakeVendor, until } from './helpers.js';

let platform: TestPlatform;
let vendor: FakeVendor;
let daemon: RunningDaemon | null = null;
/** Runs when the vendor receives a request (before it answers). */
let onVendorCall: (() => Promise<void>) | null = null;

beforeAll(async () => {
  platform = await startTestPlatform();
  vendor = await startFakeVendor({
    'GET /lookup/:ip': async () => {
      await onVendorCall?.();
      return { body: { verdict: 'malicious' } };
    },
  });
});
afterEach(async () => {
  onVendorCall = null;
  platform.faults.clear();
  await platform.start();
  if (daemon) expect(await daemon.stop()).toBe(0);
  daemon = null;
  vendor.requests.length = 0;
});
afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

async function start(): Promise<RunningDaemon> {
  daemon = startDaemon(echoConnector(vendor.url), {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    ECHO_KEY: 'echo-key-0123456789',
    CONNECTOR_ID: randomUUID(),
    CONNECTOR_LOG_LEVEL: 'info',
  });
  await daemon.waitForLog('listening for enrichment requests', 60_000);
  return daemon;
}

const callsFor = (ip: string) => vendor.requests.filter((r) => r.path === `/lookup/${ip}`).length;

describe('a message that keeps failing, and a platform outage', () => {
  it('the platform answers but this message can never be recorded: two vendor calls, an error on its work, dropped', async () => {
    const d = await start();
    // Every addExpectations connection is dropped after the request was read; every other call is answered.
    const fault = platform.faults.graphql({
      operation: 'addExpectations',
      drop: true,
      times: Number.POSITIVE_INFINITY,
    });
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.61' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    await platform.waitFor(() => platform.work(workId)?.operations.some((o) => o.op === 'toProcessed'), {
      timeoutMs: 60_000,
      message: 'the work to be reported',
    });
    const work = platform.work(workId);
    expect(work?.errors.map((e) => e.message).join('\n')).toMatch(/addExpectations failed/);
    expect(callsFor('198.51.100.61')).toBe(2);
    expect(fault.hits).toBe(2);
    // Dropped: nothing left in the listen queue, and no third attempt comes.
    await until(() => d.logs.some((l) => l.includes('giving up')), 10_000, 'the give-up log');
    expect(await platform.queueDepth(d.connectorId, 'listen')).toBe(0);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(callsFor('198.51.100.61')).toBe(2);

    // The daemon goes on: once the platform records expectations again, the next message completes.
    fault.cancel();
    const next = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.62' });
    const done = await platform.waitForWork(await platform.askEnrichment(d.connectorId, next.standard_id), {
      timeoutMs: 30_000,
    });
    expect(done.errors).toEqual([]);
    expect(callsFor('198.51.100.62')).toBe(1);
  }, 120_000);

  it('the platform goes down right after the vendor call: the message is kept through the redeliveries and completes once it is back', async () => {
    const d = await start();
    let stopped = false;
    onVendorCall = async () => {
      if (stopped) return;
      stopped = true;
      await platform.stop();
    };
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.63' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    // Down long enough for the message to come back redelivered and fail again more than once.
    await until(
      () => d.logs.filter((l) => l.includes('could not record the outcome')).length >= 2,
      60_000,
      'two failed deliveries',
    );
    await platform.start();
    // Complete once the worker has every expectation, which may come just before the connector's toProcessed.
    await platform.waitFor(() => platform.work(workId)?.operations.some((o) => o.op === 'toProcessed'), {
      timeoutMs: 60_000,
      message: 'the work to be processed',
    });
    const work = await platform.waitForWork(workId, { timeoutMs: 60_000 });
    expect(work.errors).toEqual([]);
    expect(work.operations.filter((o) => o.op === 'toProcessed')).toHaveLength(1);
    expect(d.logs.some((l) => l.includes('giving up'))).toBe(false);
    // The vendor was asked again only by the delivery that finally went through.
    expect(callsFor('198.51.100.63')).toBe(2);
    expect(
      platform
        .objects({ workId })
        .map((o) => o.object.type)
        .sort(),
    ).toEqual(['identity', 'indicator', 'relationship']);
  }, 150_000);
});
