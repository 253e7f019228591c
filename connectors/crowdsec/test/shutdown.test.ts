/**
 * `docker stop` of the CrowdSec daemon in the middle of an enrichment: the process started as its image
 * starts it (main.ts), a real SIGTERM, the real broker, the stand-in platform and a fake CrowdSec CTI API
 * that answers slowly. A stop loses nothing: the lookup in hand finishes within the grace period (8 s), or
 * is cancelled then and its message goes back to the queue for the next replica, the work left open.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type FakeRequest,
  type FakeVendor,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  waitUntil,
} from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cancelledWhen,
  type SpawnedConnector,
  sigtermPastTheGrace,
  spawnConnector,
} from '../../../packages/testkit/test/sdk/faults/spawn.js';
import { generatedRow, testReference } from '../../../packages/testkit/test/suites/generated-docs.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const smoke = JSON.parse(readFileSync(new URL('./fixtures/smoke-ip-146.70.186.190.json', import.meta.url), 'utf8'));
const KEY = 'CROWDSEC-KEY-shutdown-test-0042';

let platform: TestPlatform;
let cti: FakeVendor;
let smokeDelayMs = 0;
const running: SpawnedConnector[] = [];
/** What each test observed, for docs/reliability.md's row on the finding. */
const observed: { inGrace?: string; pastGrace?: string } = {};

beforeAll(async () => {
  platform = await startTestPlatform();
  cti = await startFakeVendor({ 'GET /v2/smoke/:ip': () => ({ body: smoke, delayMs: smokeDelayMs }) });
});
afterEach(() => {
  for (const p of running.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  cti.requests.length = 0;
});
afterAll(async () => {
  await cti?.close();
  await platform?.close();
});

async function startCrowdsec(connectorId: string): Promise<SpawnedConnector> {
  const p = spawnConnector(main, {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LOG_LEVEL: 'info',
    CROWDSEC_KEY: KEY,
    CROWDSEC_API_URL: cti.url,
  });
  running.push(p);
  await p.waitForOutput('listening for enrichment requests', 60_000);
  return p;
}

async function smokeRequest(): Promise<FakeRequest> {
  await waitUntil(() => cti.requests.length > 0, { timeoutMs: 30_000, message: 'the CrowdSec lookup' });
  return cti.requests[0] as FakeRequest;
}

describe('CrowdSec daemon on SIGTERM', () => {
  it('1.5 s into a 3 s lookup: the lookup completes and its objects reach the platform, the work completes without error, exit 0', async () => {
    const connectorId = randomUUID();
    const proc = await startCrowdsec(connectorId);
    smokeDelayMs = 3_000;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '146.70.186.190', markings: ['TLP:GREEN'] });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    const lookup = await smokeRequest();
    const sigtermAfterMs = 1_500;
    await new Promise((r) => setTimeout(r, Math.max(0, lookup.at + sigtermAfterMs - Date.now())));

    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    expect(code).toBe(0);
    expect(lookup.abandonedAt).toBeUndefined();
    const work = await platform.waitForWork(workId, { timeoutMs: 10_000 });
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join('\n')).toMatch(/146\.70\.186\.190 is malicious/);
    const sightings = platform.objects({ workId }).filter((o) => o.object.type === 'sighting').length;
    expect(sightings).toBeGreaterThan(0);
    const depth = await platform.queueDepth(connectorId, 'listen');
    expect(depth).toBe(0);
    expect(proc.output.join('')).not.toContain(KEY);
    observed.inGrace =
      `SIGTERM ${sigtermAfterMs / 1000} s into a ${smokeDelayMs / 1000} s lookup: the lookup ` +
      `${lookup.answeredAt === undefined ? 'was not answered' : 'answered'}, exit ${code}, the work ${work.status} ` +
      `with ${work.errors.length} errors and its sightings ingested, ${depth} messages left on the listen queue`;
  }, 90_000);

  it('into a lookup longer than the grace period: cancelled at its end, the work left open, the message requeued and finished by the next replica', async () => {
    const connectorId = randomUUID();
    const first = await startCrowdsec(connectorId);
    smokeDelayMs = 60_000;
    const lookupMs = smokeDelayMs;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '146.70.186.190', markings: ['TLP:GREEN'] });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    const lookup = await smokeRequest();

    const stop = await sigtermPastTheGrace(first, lookup);
    const open = platform.work(workId);
    expect(open?.status).toBe('progress');
    expect(open?.errors).toEqual([]);
    const requeued = await platform.queueDepth(connectorId, 'listen');
    expect(requeued).toBe(1);

    smokeDelayMs = 0;
    const second = await startCrowdsec(connectorId);
    await waitUntil(() => platform.work(workId)?.operations.some((o) => o.op === 'toProcessed') === true, {
      timeoutMs: 30_000,
      message: 'the next replica to finish the work',
    });
    const work = await platform.waitForWork(workId, { timeoutMs: 30_000 });
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(cti.requests).toHaveLength(2);
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    observed.pastGrace =
      `SIGTERM into a ${lookupMs / 1000} s lookup: the lookup cancelled ${cancelledWhen(stop.cancelledAfterMs)}, ` +
      `exit ${stop.code}, the work left open (status ${open?.status}) with ${open?.errors.length} errors, ${requeued} message back ` +
      `on the listen queue; the next replica completed the work (${work.errors.length} errors, ` +
      `${cti.requests.length} lookups in all)`;
  }, 120_000);

  it('docs/reliability.md row 13.1 says what these tests observed', ({ task }) => {
    generatedRow('findings', '13.1').verifyAfter(
      task,
      'SIGTERM 1.5 s into a 3 s CrowdSec lookup: exit 0 in ~30 ms, the work recorded `AbortError: This operation was aborted` and the message was acked: the enrichment was lost.',
      `${observed.inGrace}. ${observed.pastGrace}.`,
      testReference(task, 'block'),
    );
  });
});
