import { randomUUID } from 'node:crypto';
import { OpenCtiClient } from '@cti/connector-sdk/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_USER_ID,
  type IngestedObject,
  readAsPycti,
  type StoredEntity,
  startTestPlatform,
  type TestPlatform,
} from '../../../src/index.js';
import { generatedRow, normalise, testReference } from '../../suites/generated-docs.js';
import { echoConnector } from './echo-connector.js';
import { type FakeVendor, type RunningDaemon, startDaemon, startFakeVendor, until } from './helpers.js';

const VENDOR_KEY = 'vendor-key-0123456789-SECRET';

let platform: TestPlatform;
let vendor: FakeVendor;
let daemon: RunningDaemon | null = null;

beforeAll(async () => {
  platform = await startTestPlatform();
  vendor = await startFakeVendor({
    'GET /lookup/:ip': (req) =>
      req.headers['x-api-key'] === VENDOR_KEY ? { body: { verdict: 'malicious' } } : { status: 401, body: {} },
  });
});

afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  vendor.requests.length = 0;
});

afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

function start(extraEnv: Record<string, string> = {}) {
  daemon = startDaemon(echoConnector(vendor.url), {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    ECHO_KEY: VENDOR_KEY,
    CONNECTOR_ID: randomUUID(),
    ...extraEnv,
  });
  return daemon;
}

async function registered(d: RunningDaemon) {
  await until(
    () => d.logs.some((l) => l.includes('listening for enrichment requests')),
    20_000,
    'the daemon to consume',
  );
}

/**
 * The port the daemon's metrics server took. The tests ask for port 0 (the OS picks a free one): a random
 * port could be taken, by another process or by one of this machine's own outgoing connections.
 */
function metricsPort(d: RunningDaemon): number {
  for (const line of d.logs) {
    const entry = JSON.parse(line) as { message?: string; attributes?: { port?: number } };
    if (entry.message === 'metrics and /health served' && typeof entry.attributes?.port === 'number') {
      return entry.attributes.port;
    }
  }
  throw new Error('the daemon did not say which port serves its metrics');
}

describe('enrichment daemon against the stand-in platform and the real broker', () => {
  it('registers as INTERNAL_ENRICHMENT with its scope and enriches an observable end to end', async () => {
    const d = start();
    await registered(d);
    const connector = platform.connector(d.connectorId);
    expect(connector?.registrations.at(-1)?.input).toMatchObject({
      id: d.connectorId,
      name: 'Echo',
      type: 'INTERNAL_ENRICHMENT',
      scope: ['IPv4-Addr', 'IPv6-Addr'],
      playbook_compatible: true,
    });

    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.7', markings: ['TLP:GREEN'] });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    expect((await platform.waitForWork(workId, { timeoutMs: 20_000 })).status).toBe('complete');
    // The worker completes the work once every expectation is reported, which may be before the connector's
    // toProcessed (carrying its message) lands: the message is read once the connector recorded its outcome.
    const work = await platform.waitFor(() =>
      platform.work(workId)?.operations.some((o) => o.op === 'toProcessed') ? platform.work(workId) : undefined,
    );
    expect(work.messages.map((m) => m.message)).toContain('Echo: 198.51.100.7 is malicious');
    expect(work.errors).toEqual([]);

    const objects = platform.objects({ workId }).map((o: IngestedObject) => o.object);
    const types = objects.map((o) => o.type).sort();
    expect(types).toEqual(['identity', 'indicator', 'marking-definition', 'relationship']);
    const indicator = objects.find((o) => o.type === 'indicator');
    expect(indicator?.object_marking_refs).toEqual(['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da']);
    // dependencies first: the relationship comes after the indicator it references
    const pushed = platform.pushMessages(d.connectorId).filter((m) => m.envelope?.work_id === workId);
    const sequence = pushed.map((m) =>
      ((m.bundle?.objects ?? []) as Array<{ type: string }>).map((o) => o.type).join(),
    );
    expect(sequence.indexOf('relationship')).toBeGreaterThan(sequence.indexOf('indicator'));
    expect(pushed.every((m) => m.properties.deliveryMode === 2 && m.envelope?.bundle_type === 'QUEUE_BUNDLE')).toBe(
      true,
    );
    expect(pushed.map((m) => m.envelope?.action_sequence)).toEqual([1, 2, 3, 4]);
    expect(vendor.requests).toHaveLength(1);
    expect(vendor.requests[0]?.url).toBe('/lookup/198.51.100.7');
  });

  it('reaches the platform in the protocol order for every work, several at once: received and the entity read, then expectations, then the push, then processed', async () => {
    const d = start({ CONNECTOR_PREFETCH: '4' });
    await registered(d);
    const asked: Array<{ workId: string; entityId: string }> = [];
    for (let i = 0; i < 8; i++) {
      const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: `198.51.100.${40 + i}` });
      asked.push({ workId: await platform.askEnrichment(d.connectorId, ip.standard_id), entityId: ip.standard_id });
    }
    for (const { workId } of asked) await platform.waitForWork(workId, { timeoutMs: 20_000 });

    const requests = platform.requests();
    const arrival = (operation: string, id: string) => {
      const found = requests.filter((r) => r.operationName === operation && r.variables.id === id);
      expect(found, `${operation} for ${id}`).toHaveLength(1);
      return found[0]?.seq as number;
    };
    for (const { workId, entityId } of asked) {
      const received = arrival('workToReceived', workId);
      const read = arrival('ReadStixCoreObject', entityId);
      const expectations = arrival('addExpectations', workId);
      const processed = arrival('workToProcessed', workId);
      // The received/read pair is answered before the handler's bundle is counted, and both precede processed.
      expect(Math.max(received, read)).toBeLessThan(expectations);
      expect(expectations).toBeLessThan(processed);
      const pushed = platform.pushMessages(d.connectorId).filter((m) => m.envelope?.work_id === workId);
      expect(pushed.length).toBeGreaterThan(0);
      expect(Math.min(...pushed.map((m) => m.seq))).toBeGreaterThan(expectations);
      expect(platform.work(workId)?.tracking.import_expected_number).toBe(pushed.length);
    }
  });

  it('refuses an entity above the max TLP without any request to the vendor', async () => {
    const d = start();
    await registered(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.8', markings: ['TLP:RED'] });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.errors.map((e) => e.message).join()).toMatch(/TLP:RED.*above.*TLP:AMBER/);
    expect(vendor.requests).toHaveLength(0);
    expect(platform.objects({ workId })).toHaveLength(0);
  });

  it('reports a malformed message on its work, acks it and processes the next one', async () => {
    const d = start();
    await registered(d);
    await platform.publishListenRaw(d.connectorId, '{"internal": {"work_id": null}, "event": 42}');
    await platform.publishListenRaw(d.connectorId, 'not json at all');
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.9' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.status).toBe('complete');
    expect(d.logs.filter((l) => l.includes('Malformed listen message')).length).toBe(2);
    expect(await platform.queueDepth(d.connectorId, 'listen')).toBe(0);
  });

  it('skips an entity out of scope with a clear message', async () => {
    const d = start();
    await registered(d);
    const domain = platform.addEntity({ entity_type: 'Domain-Name', value: 'example.org' });
    const workId = await platform.askEnrichment(d.connectorId, domain.standard_id);
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.messages.map((m) => m.message).join()).toMatch(/not in the connector's scope/);
    expect(vendor.requests).toHaveLength(0);
  });

  it('ends the work in error with the vendor problem when the vendor rejects the key, and never logs the key', async () => {
    const d = start({ ECHO_KEY: 'wrong-key-but-still-secret-987' });
    await registered(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.10' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.errors.map((e) => e.message).join()).toMatch(/Echo.*401/);
    const output = d.logs.join('\n');
    expect(output).not.toContain('wrong-key-but-still-secret-987');
    expect(output).not.toContain(platform.token);
    expect(JSON.stringify(platform.work(workId))).not.toContain('wrong-key-but-still-secret-987');
  });

  it('answers a playbook step with playbookStepExecution instead of the push queue', async () => {
    const d = start();
    await registered(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.11' });
    await platform.askPlaybook(d.connectorId, ip.standard_id);
    await until(() => platform.playbookSteps().length > 0, 20_000, 'the playbook answer');
    const step = platform.playbookSteps()[0];
    const bundle = JSON.parse(step?.variables.bundle as string) as { objects: Array<{ type: string }> };
    expect(bundle.objects.map((o) => o.type)).toContain('indicator');
    expect(bundle.objects.map((o) => o.type)).toContain('ipv4-addr');
    expect(platform.pushMessages(d.connectorId)).toHaveLength(0);
  });

  it('sends through stixBundlePush with CONNECTOR_QUEUE_PROTOCOL=api, with no AMQP publish of its own', async () => {
    const d = start({ CONNECTOR_QUEUE_PROTOCOL: 'api' });
    await registered(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.12' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.status).toBe('complete');
    const pushes = platform
      .requests('StixBundlePush')
      .filter((r) => (r.variables as { connectorId?: string }).connectorId === d.connectorId);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.variables).toMatchObject({ connectorId: d.connectorId, work_id: workId });
    expect(new Set(platform.objects({ workId }).map((o) => o.object.type))).toEqual(
      new Set(['identity', 'indicator', 'relationship']),
    );
  });

  it('serves Prometheus metrics and /health when CONNECTOR_EXPOSE_METRICS=true', async () => {
    const d = start({ CONNECTOR_EXPOSE_METRICS: 'true', CONNECTOR_METRICS_PORT: '0' });
    await registered(d);
    const port = metricsPort(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.13' });
    await platform.waitForWork(await platform.askEnrichment(d.connectorId, ip.standard_id), { timeoutMs: 20_000 });
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ alive: true, registered: true, consuming: true });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^bundles_sent_total 3$/m);
    expect(metrics).toMatch(/^ping_api_total [1-9]/m);
    expect(metrics).toMatch(/^enrichments_total\{outcome="processed"\} 1$/m);
    expect(metrics).toMatch(/^client_errors_total 0$/m);
  });

  it('warns, once, about a CONNECTOR_ID that is not a UUID, and runs with it', async () => {
    const named = start({ CONNECTOR_ID: `echo-enrichment-${randomUUID().slice(0, 8)}` });
    await registered(named);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.16' });
    const work = await platform.waitForWork(await platform.askEnrichment(named.connectorId, ip.standard_id), {
      timeoutMs: 20_000,
    });
    expect(work.status).toBe('complete');
    const warnings = named.logs
      .map((l) => JSON.parse(l) as { level?: string; message?: string })
      .filter((l) => /^CONNECTOR_ID "echo-enrichment-[0-9a-f]{8}" is not a UUID/.test(l.message ?? ''));
    expect(warnings.map((w) => w.level)).toEqual(['WARNING']);
    await named.stop();
    const withUuid = start();
    await registered(withUuid);
    expect(withUuid.logs.filter((l) => l.includes('is not a UUID'))).toHaveLength(0);
  });

  it('counts vendor API failures in client_errors_total, by vendor', async () => {
    const d = start({
      ECHO_KEY: 'a-key-the-vendor-refuses',
      CONNECTOR_EXPOSE_METRICS: 'true',
      CONNECTOR_METRICS_PORT: '0',
    });
    await registered(d);
    const port = metricsPort(d);
    for (const value of ['198.51.100.14', '198.51.100.15']) {
      const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value });
      const work = await platform.waitForWork(await platform.askEnrichment(d.connectorId, ip.standard_id), {
        timeoutMs: 20_000,
      });
      expect(work.errors.map((e) => e.message).join()).toContain('401');
    }
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^client_errors_total\{vendor="Echo"\} 2$/m);
    expect(metrics).toMatch(/^enrichments_total\{outcome="error"\} 2$/m);
  });
});

/**
 * Every connector of a platform usually shares the broker credentials, so any of them can publish to
 * another's listen queue. Whatever such a message says, the entity, its type and its markings come from
 * the platform's read, and the read is the connector's own.
 */
describe('a listen message cannot get past the TLP gate', () => {
  /** A work on the connector, as the platform opens one for an enrichment, for a message built by hand. */
  const openWork = (connectorId: string) =>
    new OpenCtiClient({ url: platform.url, token: platform.token, userAgent: 'tlp-gate-test' }).workAdd(
      connectorId,
      'Manual enrichment',
    );

  /** The message the platform would send for `entity`, with `changes` made by whoever forged it. */
  function forged(workId: string | null, entity: StoredEntity, changes: { internal?: object; event?: object } = {}) {
    return JSON.stringify({
      internal: {
        work_id: workId,
        applicant_id: null,
        draft_id: null,
        mode: 'manual',
        trigger: 'update',
        ...changes.internal,
      },
      event: {
        event_type: 'INTERNAL_ENRICHMENT',
        entity_id: entity.standard_id,
        entity_type: entity.entity_type,
        stix_entity: JSON.stringify(entity.stix_entity),
        ...changes.event,
      },
    });
  }

  const unmarked = (entity: StoredEntity) => {
    const { object_marking_refs: _dropped, ...stix } = entity.stix_entity;
    return stix;
  };

  it('an enrichment_entity without markings, for a TLP:RED entity, is ignored: 0 vendor requests, the work says refused', async ({
    task,
  }) => {
    const d = start();
    await registered(d);
    const red = platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.40', markings: ['TLP:RED'] });
    const workId = await openWork(d.connectorId);
    await platform.publishListenRaw(
      d.connectorId,
      forged(workId, red, {
        event: {
          stix_entity: JSON.stringify(unmarked(red)),
          enrichment_entity: {
            id: red.id,
            standard_id: red.standard_id,
            entity_type: 'IPv4-Addr',
            observable_value: '192.0.2.40',
            objectMarking: [],
          },
        },
      }),
    );
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    const error = work.errors.map((e) => e.message).join();
    expect(error).toMatch(/TLP:RED.*above.*TLP:AMBER/);
    expect(vendor.requests).toHaveLength(0);
    expect(platform.objects({ workId })).toHaveLength(0);
    const reads = platform.requests('ReadStixCoreObject').filter((r) => r.variables.id === red.standard_id);
    expect(reads.length).toBeGreaterThan(0);

    generatedRow('findings-security', '13.4').verify(
      'A listen message for a TLP:RED entity carrying its own `event.enrichment_entity` without markings was enriched: the SDK trusted the message and skipped the platform read, so the vendor was called.',
      `That message, published to the listen queue of a daemon whose max TLP is TLP:AMBER: the entity read from the ` +
        `platform (${reads.length} ReadStixCoreObject), ${vendor.requests.length} vendor requests, ` +
        `${platform.objects({ workId }).length} objects sent, the work ${work.status} with "${normalise(error)}".`,
      testReference(task),
    );
  });

  it('a stix_entity of another, unmarked entity does not stand in for the TLP:RED one', async () => {
    const d = start();
    await registered(d);
    const red = platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.41', markings: ['TLP:RED'] });
    const clear = platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.42' });
    const workId = await openWork(d.connectorId);
    await platform.publishListenRaw(
      d.connectorId,
      forged(workId, red, { event: { stix_entity: JSON.stringify(clear.stix_entity) } }),
    );
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.errors.map((e) => e.message).join()).toMatch(/TLP:RED/);
    expect(vendor.requests).toHaveLength(0);
  });

  it('an entity type in scope claimed for an entity that is not is not believed', async () => {
    const d = start();
    await registered(d);
    const domain = platform.addEntity({ entity_type: 'Domain-Name', value: 'forged-scope.example' });
    const workId = await openWork(d.connectorId);
    await platform.publishListenRaw(
      d.connectorId,
      forged(workId, domain, {
        event: { entity_type: 'IPv4-Addr', stix_entity: JSON.stringify({ ...domain.stix_entity, type: 'ipv4-addr' }) },
      }),
    );
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.messages.map((m) => m.message).join()).toMatch(/Domain-Name is not in the connector's scope/);
    expect(vendor.requests).toHaveLength(0);
  });

  /** The STIX form `stix` with every sharing it states (top level and OpenCTI's extensions) set to `organizations`. */
  function claimingSharing(stix: Record<string, unknown>, organizations: string[]) {
    const extensions = Object.fromEntries(
      Object.entries((stix.extensions ?? {}) as Record<string, Record<string, unknown>>).map(([name, extension]) => [
        name,
        { ...extension, granted_refs: organizations },
      ]),
    );
    return { ...stix, extensions, x_opencti_granted_refs: organizations };
  }

  it.each([
    ['shared with one organisation', 1],
    ['shared with none', 0],
  ])(
    'an entity %s, a message claiming more: what the enrichment sends is shared with what the platform read, no more',
    async (_case, shared) => {
      const d = start();
      await registered(d);
      const alpha = platform.addEntity({ entity_type: 'Organization', name: `Alpha ${randomUUID()}` });
      const gamma = platform.addEntity({ entity_type: 'Organization', name: `Gamma ${randomUUID()}` });
      const ip = platform.addEntity({
        entity_type: 'IPv4-Addr',
        value: `192.0.2.${46 + shared}`,
        grantedOrganizations: shared > 0 ? [alpha] : [],
      });
      const workId = await openWork(d.connectorId);
      const claimed = claimingSharing(ip.stix_entity, [alpha.standard_id, gamma.standard_id]);
      await platform.publishListenRaw(
        d.connectorId,
        forged(workId, ip, { event: { stix_entity: JSON.stringify(claimed) } }),
      );
      const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
      expect(work.errors).toEqual([]);
      expect(vendor.requests).toHaveLength(1);

      const sent = platform.objects({ workId }).map((o) => o.object);
      expect(sent.map((o) => o.type).sort()).toEqual(['identity', 'indicator', 'relationship']);
      const expected = shared > 0 ? [alpha.standard_id] : [];
      for (const object of sent) {
        expect(readAsPycti(object, false).organizations, String(object.id)).toEqual(expected);
        // What the platform holds (the author is shared by every test's results, so only gamma is looked for).
        expect(platform.knowledge(String(object.id))?.organizations, String(object.id)).not.toContain(
          gamma.standard_id,
        );
      }
      expect(platform.requests('ReadStixCoreObject').some((r) => r.variables.id === ip.standard_id)).toBe(true);
    },
  );

  it("reads the entity as the connector itself, whatever applicant the message names; the draft is the message's", async () => {
    const d = start();
    await registered(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.43' });
    const workId = await openWork(d.connectorId);
    await platform.publishListenRaw(
      d.connectorId,
      forged(workId, ip, { internal: { applicant_id: ADMIN_USER_ID, draft_id: 'draft-7' } }),
    );
    await platform.waitForWork(workId, { timeoutMs: 20_000 });
    const reads = platform.requests('ReadStixCoreObject').filter((r) => r.variables.id === ip.standard_id);
    expect(reads.map((r) => r.headers.applicantId)).toEqual([undefined]);
    expect(reads.map((r) => r.headers.draftId)).toEqual(['draft-7']);
    // The bundle still goes to the worker as the applicant, as pycti sends it.
    const pushed = platform.pushMessages(d.connectorId);
    expect(pushed.length).toBeGreaterThan(0);
    expect(pushed.every((m) => m.envelope?.applicant_id === ADMIN_USER_ID)).toBe(true);
  });

  it("a playbook bundle that leaves out the entity's TLP:RED does not lift it: 0 vendor requests, the step answered unchanged", async () => {
    const d = start();
    await registered(d);
    const red = platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.44', markings: ['TLP:RED'] });
    const bundle = { type: 'bundle', id: `bundle--${randomUUID()}`, objects: [unmarked(red)] };
    const request = await platform.askPlaybook(d.connectorId, red.standard_id, bundle);
    await until(
      () => platform.playbookSteps().some((s) => s.variables.execution_id === request.executionId),
      20_000,
      'the playbook answer',
    );
    const step = platform.playbookSteps().find((s) => s.variables.execution_id === request.executionId);
    expect(JSON.parse(step?.variables.bundle ?? '{}').objects).toEqual(bundle.objects);
    expect(vendor.requests).toHaveLength(0);
  });

  it('a TLP:RED a playbook put on the entity before this step counts too, though the platform has it unmarked', async () => {
    const d = start();
    await registered(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.45' });
    const red = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';
    const bundle = {
      type: 'bundle',
      id: `bundle--${randomUUID()}`,
      objects: [{ ...ip.stix_entity, object_marking_refs: [red] }],
    };
    const request = await platform.askPlaybook(d.connectorId, ip.standard_id, bundle);
    await until(
      () => platform.playbookSteps().some((s) => s.variables.execution_id === request.executionId),
      20_000,
      'the playbook answer',
    );
    expect(vendor.requests).toHaveLength(0);
  });
});
