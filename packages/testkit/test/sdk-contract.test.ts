/**
 * The contract between the SDK's OpenCTI client and the stand-in platform: every document the SDK can send
 * validates against the testkit's schema, and the client's calls have their effect on the platform.
 */
import { documents, OpenCtiClient } from '@cti/connector-sdk/internal';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform, TLP_MARKING_IDS, testkitSchema } from '../src/index.js';
import { bundleOf, ipv4, newConnectorId } from './helpers.js';

// Every string export is a document, so a document added to the SDK cannot skip this check.
const sdkDocuments: Array<[string, string]> = Object.entries(documents as Record<string, unknown>).flatMap(
  ([name, value]) => (typeof value === 'string' ? [[name, value] as [string, string]] : []),
);

describe('SDK documents', () => {
  it('finds the documents the SDK exports', () => {
    expect(sdkDocuments.length).toBeGreaterThanOrEqual(10);
  });

  it.each(sdkDocuments)('validates %s against the testkit schema', (_name, document) => {
    expect(validate(testkitSchema(), parse(document)).map((e) => e.message)).toEqual([]);
  });
});

describe('OpenCtiClient against the stand-in platform', () => {
  let platform: TestPlatform;
  let client: OpenCtiClient;

  beforeAll(async () => {
    platform = await startTestPlatform();
    client = new OpenCtiClient({
      url: platform.url,
      token: platform.token,
      userAgent: 'cti-connector-sdk/test (testkit contract)',
      retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
    });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it('registers, pings, reads the queue size and the entity, runs a work and pushes a bundle', async () => {
    expect(await client.health()).toEqual({ version: '6.8.10' });

    const id = newConnectorId();
    const registered = await client.registerConnector({
      id,
      name: 'SDK contract',
      type: 'INTERNAL_ENRICHMENT',
      scope: ['IPv4-Addr'],
      auto: false,
      only_contextual: false,
      playbook_compatible: false,
    });
    expect(registered.config.listen).toBe(`listen_${id}`);
    expect(platform.connector(id)?.scope).toEqual(['IPv4-Addr']);

    const pinged = await client.pingConnector(
      id,
      { last_run: 1 },
      {
        run_and_terminate: false,
        buffering: false,
        queue_threshold: 500,
        queue_messages_size: 0,
        next_run_datetime: null,
        last_run_datetime: null,
      },
    );
    expect(JSON.parse(pinged.connector_state ?? 'null')).toEqual({ last_run: 1 });

    platform.setQueueSize(id, 2_500_000);
    expect(await client.getConnectorQueueSize(id)).toEqual({ messagesNumber: 0, sizeMb: 2.5 });

    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.7', markings: ['TLP:AMBER'] });
    const entity = await client.readEntity(ip.standard_id);
    expect(entity).toMatchObject({
      id: ip.id,
      standard_id: ip.standard_id,
      entity_type: 'IPv4-Addr',
      value: '203.0.113.7',
      objectMarking: [{ standard_id: TLP_MARKING_IDS['TLP:AMBER'], definition_type: 'TLP', definition: 'TLP:AMBER' }],
    });
    expect(await client.readEntity('ipv4-addr--00000000-0000-5000-8000-000000000000')).toBeNull();

    const workId = await client.workAdd(id, 'contract run');
    await client.workToReceived(workId, 'received');
    await client.workAddExpectations(workId, 2);
    await client.stixBundlePush(id, JSON.stringify(bundleOf(ipv4('203.0.113.8'))), workId);
    await client.workReportExpectation(workId);
    await client.workPing(workId);
    await client.workToProcessed(workId, 'done');
    // Expected 2 (SDK) + 0 (one-object push on a given work adds none): the worker's report completes it.
    const work = await platform.waitForWork(workId);
    expect(work).toMatchObject({ completed_number: 2, messages: [{ message: 'received' }, { message: 'done' }] });
    expect(platform.objects({ workId })).toHaveLength(1);

    const sent = platform.requests((r) => r.headers.userAgent === 'cti-connector-sdk/test (testkit contract)');
    expect(sent.every((r) => r.authenticated && r.headers.applicantId === undefined)).toBe(true);
  });
});
