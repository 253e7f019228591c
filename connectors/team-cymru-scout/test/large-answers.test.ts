/**
 * Large and hostile Scout answers through the Scout daemon as it runs in production: its own process
 * (src/main.ts), the stand-in platform in this one (so the platform keeps its own clock and closes idle
 * connections after its 5 s keep-alive timeout, whatever the connector's event loop is doing), the real
 * broker, and a fake Scout API.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { observableId } from '@cti/connector-sdk';
import {
  type FakeVendor,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  waitUntil,
} from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedConnector, spawnConnector } from '../../../packages/testkit/test/sdk/faults/spawn.js';
import { generatedRow, normalise, testReference } from '../../../packages/testkit/test/suites/generated-docs.js';

const TOKEN = 'SCOUT-TOKEN-large-answers-5d21';
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const AUTHOR = 'identity--56893999-5bf3-58e3-8d7c-58412a6603c3';
const AT = '2026-01-02T03:04:05.000Z';

const relationshipId = (chain: number, i: number) =>
  `relationship--00000000-0000-4000-8${chain}00-${String(i).padStart(12, '0')}`;

function relationship(id: string, source: string, target: string) {
  return {
    type: 'relationship',
    spec_version: '2.1',
    id,
    created: AT,
    modified: AT,
    relationship_type: 'related-to',
    source_ref: source,
    target_ref: target,
  };
}

/** An IP, its AS, and `sound` relationships each pointing at the previous one (the first at the IP). */
function answerAbout(ip: string, sound: number, extra: unknown[] = []) {
  const ipId = observableId('ipv4-addr', { value: ip });
  const as = observableId('autonomous-system', { number: 64500 });
  const chain = Array.from({ length: sound }, (_, i) =>
    relationship(relationshipId(1, i), i === 0 ? ipId : relationshipId(1, i - 1), as),
  );
  return {
    type: 'bundle',
    id: `bundle--${randomUUID()}`,
    objects: [
      { type: 'ipv4-addr', spec_version: '2.1', id: ipId, value: ip },
      { type: 'autonomous-system', spec_version: '2.1', id: as, number: 64500, name: 'AS64500' },
      ...chain,
      ...extra,
    ],
  };
}

/** `length` relationships each pointing at the previous one, the first at an object Scout did not send. */
function danglingChain(length: number, target: string) {
  return Array.from({ length }, (_, i) =>
    relationship(
      relationshipId(2, i),
      i === 0 ? 'indicator--99999999-9999-4999-8999-999999999999' : relationshipId(2, i - 1),
      target,
    ),
  );
}

let platform: TestPlatform;
let vendor: FakeVendor;
const answers = new Map<string, unknown>();
const processes: SpawnedConnector[] = [];

beforeAll(async () => {
  // The answers chain relationships to relationships (deliberately deep), which STIX 2.1 does not allow:
  // the platform records those violations instead of failing the suite on them.
  platform = await startTestPlatform({ stixValidation: 'record' });
  vendor = await startFakeVendor({
    'GET /api/scout/ip/foundation': (req) => {
      const answer = answers.get(req.query.get('ips') ?? '') ?? { objects: [] };
      // Text is sent as it is: what JSON.stringify cannot write (too deep) is written by the test.
      return typeof answer === 'string'
        ? { body: answer, headers: { 'content-type': 'application/json' } }
        : { body: answer };
    },
  });
});
afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
  vendor.requests.length = 0;
});
afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

async function startScout(): Promise<{ process: SpawnedConnector; connectorId: string; metricsUrl: string }> {
  const connectorId = randomUUID();
  const process = spawnConnector(MAIN, {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LOG_LEVEL: 'info',
    CONNECTOR_EXPOSE_METRICS: 'true',
    CONNECTOR_METRICS_PORT: '0',
    PURE_SIGNAL_SCOUT_API_URL: `${vendor.url}/api/scout`,
    PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN,
    PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '50',
    PURE_SIGNAL_SCOUT_MAX_RETRIES: '0',
  });
  processes.push(process);
  await process.waitForOutput('listening for enrichment requests', 60_000);
  const port = /"port":(\d+)[^\n]*metrics and \/health served/.exec(process.stdout.join(''))?.[1];
  expect(port).toBeDefined();
  return { process, connectorId, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

const pushedFor = (connectorId: string, workId: string) =>
  platform.pushMessages(connectorId).filter((m) => m.envelope?.work_id === workId);

describe('Scout answers the SDK must not choke on', () => {
  it('5,000 relationships pointing at relationships (4,000 of them hanging from a missing object): one vendor call, the sound chain ingested, no stall', async ({
    task,
  }) => {
    const ip = '198.51.100.77';
    const hanging = 4_000;
    const answer = answerAbout(ip, 1_000, danglingChain(hanging, observableId('ipv4-addr', { value: ip })));
    answers.set(ip, answer);
    const { process, connectorId, metricsUrl } = await startScout();
    const entity = platform.addEntity({ entity_type: 'IPv4-Addr', value: ip });
    const workId = await platform.askEnrichment(connectorId, entity.standard_id);
    const work = await platform.waitForWork(workId, { timeoutMs: 90_000 });

    expect(work.errors).toEqual([]);
    expect(vendor.requests).toHaveLength(1);
    // The IP, its AS, the 1,000 sound relationships and the author; the hanging chain cleaned away whole.
    const ingested = platform.objects({ workId }).map((o) => o.object);
    expect(ingested).toHaveLength(1_003);
    expect(new Set(ingested.map((o) => o.id))).toEqual(
      new Set([...answer.objects.slice(0, 1_002).map((o) => (o as { id: string }).id), AUTHOR]),
    );
    const kept = /kept 1002 of 5002 objects/.exec(work.messages.map((m) => m.message).join('\n'))?.[0];
    expect(kept).toBeDefined();
    // The event loop was never held near the platform's keep-alive timeout (5 s) or the AMQP heartbeat
    // (10 s): the connections stayed up and nothing had to be retried.
    const lagBoundS = 4;
    const lag = await metric(metricsUrl, 'nodejs_eventloop_lag_max_seconds');
    expect(lag).toBeLessThan(lagBoundS);
    const output = process.output.join('');
    const troubles = output.match(/Reconnected to RabbitMQ|RabbitMQ connection closed|could not record the outcome/g);
    expect(troubles).toBeNull();

    generatedRow('findings', '13.3').verify(
      'A ~1 MB Scout answer whose relationships point at relationships (a chain of 4,000): the reference cleanup took 7.9 s (worse than quadratic), the pooled platform socket died meanwhile, addExpectations failed with ECONNRESET and was not retried, and the message was requeued for ever: 11 vendor calls in 300 s, the work never ended, heartbeats missed.',
      `An answer of ${answer.objects.length} objects, ${hanging} relationships chained from a missing object: ` +
        `${vendor.requests.length} vendor call, ` +
        `the work ${work.status} with ${work.errors.length} errors ("${kept}"), ${ingested.length} objects ingested, ` +
        `the event loop's longest stall under ${lagBoundS} s (the platform closes idle sockets after 5 s), ` +
        `${troubles?.length ?? 0} broker reconnections or unrecorded outcomes.`,
      testReference(task),
    );
  }, 150_000);

  it('an object nested 100,000 levels deep: the bundle is refused whole, nothing pushed, the error names the object; the next enrichment works', async ({
    task,
  }) => {
    const ip = '198.51.100.78';
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const indicator = {
      type: 'indicator',
      spec_version: '2.1',
      id: 'indicator--4f6b9d4c-7d7a-4b4e-9d43-6a9b3c2d1e0f',
      created: AT,
      modified: AT,
      pattern: `[ipv4-addr:value = '${ip}']`,
      pattern_type: 'stix',
      valid_from: AT,
      x_scout_details: 'DEEP',
    };
    answers.set(ip, JSON.stringify(answerAbout(ip, 20, [indicator])).replace('"DEEP"', deep));
    const { process, connectorId } = await startScout();
    const entity = platform.addEntity({ entity_type: 'IPv4-Addr', value: ip });
    const workId = await platform.askEnrichment(connectorId, entity.standard_id);
    const work = await platform.waitForWork(workId, { status: 'any-processed', timeoutMs: 60_000 });

    const error = work.errors.map((e) => e.message).join('\n');
    expect(error).toMatch(
      /The bundle cannot be sent, nothing of it was: indicator--4f6b9d4c-7d7a-4b4e-9d43-6a9b3c2d1e0f: x_scout_details\.a\.a\.a… \(100 levels\) is nested more than 100 levels deep/,
    );
    const pushed = pushedFor(connectorId, workId);
    expect(pushed).toEqual([]);
    const expectations = work.operations.filter((o) => o.op === 'addExpectations');
    expect(expectations).toEqual([]);
    // Refused at once: the vendor was asked once, the message acked.
    expect(vendor.requests).toHaveLength(1);
    const refusedCalls = vendor.requests.length;

    const next = '198.51.100.79';
    answers.set(next, answerAbout(next, 3));
    const nextEntity = platform.addEntity({ entity_type: 'IPv4-Addr', value: next });
    const nextWork = await platform.waitForWork(await platform.askEnrichment(connectorId, nextEntity.standard_id), {
      timeoutMs: 60_000,
    });
    expect(nextWork.errors).toEqual([]);
    expect(process.child.exitCode).toBeNull();
    await waitUntil(() => vendor.requests.length === 2, { timeoutMs: 5_000, message: 'the second vendor call' });

    generatedRow('findings', '13.9').verify(
      "A vendor object nested 100,000 levels deep failed at publish (RangeError) after the bundle's other objects had been pushed: a partial bundle.",
      `The Scout daemon given that answer: the work ${work.status}, its error "${normalise(error)}"; ${pushed.length} ` +
        `messages pushed, ${expectations.length} addExpectations, ${refusedCalls} vendor call (not retried); the next ` +
        `enrichment ${nextWork.status} with ${nextWork.errors.length} errors, the daemon still running.`,
      testReference(task),
    );
  }, 150_000);
});
