/**
 * `autoEnrichment`: the platform enriches on creation as OpenCTI does with CONNECTOR_AUTO. An observable or
 * Indicator the worker imports that the platform did not hold is stored (author, TLP markings) and each
 * registered auto enrichment connector whose scope has its type gets an enrichment message (mode auto,
 * trigger create); an element it already held, a type out of scope, a connector without auto get nothing.
 */
import { buildAuthor, buildObservable, observableId } from '@cti/connector-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform, TLP_MARKING_IDS } from '../src/index.js';
import { bundleOf, gqlData, newConnectorId, pushMessage, RawAmqp, register } from './helpers.js';
import { WORK_ADD, WORK_TO_PROCESSED } from './pycti-documents.js';

let platform: TestPlatform;
let raw: RawAmqp;

beforeAll(async () => {
  platform = await startTestPlatform({ autoEnrichment: true });
  raw = await RawAmqp.connect();
});

afterAll(async () => {
  await platform?.close();
  await raw?.close();
});

describe('autoEnrichment', () => {
  it('asks each auto connector in scope to enrich what an import created, and nothing else', async () => {
    const auto = newConnectorId();
    const manual = newConnectorId();
    await register(platform, auto, { name: 'Auto', auto: true, scope: ['IPv4-Addr', 'Indicator'] });
    await register(platform, manual, { name: 'Manual', auto: false, scope: ['IPv4-Addr'] });
    const importer = newConnectorId();
    await register(platform, importer, { type: 'EXTERNAL_IMPORT', name: 'Importer' });

    const existing = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.1' });
    const author = buildAuthor('Feed');
    const ctx = { author, markings: [TLP_MARKING_IDS['TLP:AMBER']] };
    const created = buildObservable('ipv4-addr', { value: '198.51.100.2' }, ctx);
    const outOfScope = buildObservable('domain-name', { value: 'feed.example' }, ctx);

    const { workAdd } = await gqlData<{ workAdd: { id: string } }>(platform, WORK_ADD, {
      connectorId: importer,
      friendlyName: 'run',
    });
    for (const object of [author, existing.stix_entity, created, outOfScope]) {
      await raw.publish(
        'amqp.worker.exchange',
        `push_routing_${importer}`,
        pushMessage(bundleOf(object), { work_id: workAdd.id }),
      );
    }
    await gqlData(platform, WORK_TO_PROCESSED, { id: workAdd.id, message: 'sent', inError: false });
    await platform.waitForWork(workAdd.id);
    await platform.waitFor(() => (platform.listenMessages(auto).length > 0 ? true : undefined));

    expect(platform.autoEnrichments.map((a) => [a.connectorId, a.entityId, a.entityType])).toEqual([
      [auto, created.id, 'IPv4-Addr'],
    ]);
    const stored = platform.entity(created.id);
    expect(stored?.createdBy?.attributes.name).toBe('Feed');
    expect(stored?.objectMarking.map((m) => m.standard_id)).toEqual([TLP_MARKING_IDS['TLP:AMBER']]);
    const [message] = platform.listenMessages(auto);
    expect(JSON.parse(message?.body ?? '{}')).toMatchObject({
      internal: { mode: 'auto', trigger: 'create' },
      event: { entity_id: observableId('ipv4-addr', { value: '198.51.100.2' }), entity_type: 'IPv4-Addr' },
    });
    expect(platform.listenMessages(manual)).toEqual([]);
  });
});
