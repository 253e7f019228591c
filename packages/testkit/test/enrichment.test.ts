/**
 * Listen messages exactly as the platform builds them (platform.md b.1, b.2, b.3), read off the listen queue
 * with a raw amqplib consumer, and the entity read an enrichment connector performs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_USER_ID,
  AUTOMATION_MANAGER_USER_ID,
  startTestPlatform,
  type TestPlatform,
  TLP_MARKING_IDS,
} from '../src/index.js';
import { gql, gqlData, newConnectorId, RawAmqp, register } from './helpers.js';
import { ASK_ENRICHMENT, PLAYBOOK_STEP_EXECUTION, READ_ENTITY } from './pycti-documents.js';

let platform: TestPlatform;
let raw: RawAmqp;

beforeAll(async () => {
  platform = await startTestPlatform();
  raw = await RawAmqp.connect();
});

afterAll(async () => {
  await platform?.close();
  await raw?.close();
});

async function takeJson(queue: string): Promise<Record<string, unknown>> {
  const msg = await raw.take(queue);
  expect(msg.properties.deliveryMode).toBe(2);
  return JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>;
}

describe('manual enrichment', () => {
  it('creates a waiting "Manual enrichment" work, then publishes the exact message to the listen queue', async () => {
    const id = newConnectorId();
    await register(platform, id);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '1.2.3.4', markings: ['TLP:AMBER'] });

    const workId = await platform.askEnrichment(id, ip.id);

    const work = platform.work(workId);
    expect(work).toMatchObject({
      name: 'Manual enrichment',
      status: 'wait',
      event_source_id: ip.standard_id,
      event_type: 'INTERNAL_ENRICHMENT',
      user_id: ADMIN_USER_ID,
      alive: true,
      received_time: null,
    });
    expect(workId).toMatch(new RegExp(`^work_${id}_\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$`));

    const message = await takeJson(`listen_${id}`);
    expect(message).toEqual({
      internal: { work_id: workId, applicant_id: null, draft_id: null, mode: 'manual', trigger: 'update' },
      event: {
        event_type: 'INTERNAL_ENRICHMENT',
        entity_id: ip.standard_id,
        entity_type: 'IPv4-Addr',
        stix_entity: JSON.stringify(ip.stix_entity),
        stix_objects: null,
      },
    });
    const stixEntity = JSON.parse((message.event as { stix_entity: string }).stix_entity) as Record<string, unknown>;
    expect(stixEntity).toMatchObject({
      type: 'ipv4-addr',
      id: ip.standard_id,
      spec_version: '2.1',
      value: '1.2.3.4',
      object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER']],
    });
  });

  it('names auto-enrichment works "Enrichment (<standard_id>)", with draft and stix_objects when asked', async () => {
    const id = newConnectorId();
    await register(platform, id);
    const domain = platform.addEntity({ entity_type: 'Domain-Name', value: 'example.com' });
    const workId = await platform.askEnrichment(id, domain.standard_id, {
      mode: 'auto',
      draftId: 'draft-7',
      applicantId: 'creator-user',
      stixObjects: [domain.stix_entity],
    });
    expect(platform.work(workId)).toMatchObject({
      name: `Enrichment (${domain.standard_id}) in draft draft-7`,
      draft_context: 'draft-7',
    });
    const message = await takeJson(`listen_${id}`);
    expect(message.internal).toEqual({
      work_id: workId,
      applicant_id: 'creator-user',
      draft_id: 'draft-7',
      mode: 'auto',
      trigger: 'create',
    });
    const stixObjects = JSON.parse((message.event as { stix_objects: string }).stix_objects) as Record<string, unknown>;
    expect(stixObjects).toMatchObject({ type: 'bundle', objects: [domain.stix_entity] });
  });

  it('answers stixCoreObjectEdit.askEnrichment over GraphQL like the UI button', async () => {
    const id = newConnectorId();
    await register(platform, id);
    const url = platform.addEntity({ entity_type: 'Url', value: 'https://example.com/x' });
    const data = await gqlData<{ stixCoreObjectEdit: { askEnrichment: Record<string, unknown> } }>(
      platform,
      ASK_ENRICHMENT,
      { id: url.id, connectorId: id },
    );
    const work = data.stixCoreObjectEdit.askEnrichment;
    expect(work).toMatchObject({ name: 'Manual enrichment', status: 'wait', event_source_id: url.standard_id });
    const message = await takeJson(`listen_${id}`);
    expect((message.internal as { work_id: string }).work_id).toBe(work.id);
    expect(platform.listenMessages(id).map((m) => m.kind)).toEqual(['enrichment']);
  });

  it('refuses to enrich an unknown entity or for an unknown connector', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await expect(platform.askEnrichment(id, 'ipv4-addr--unknown')).rejects.toThrow(/addEntity/);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '9.9.9.9' });
    await expect(platform.askEnrichment(newConnectorId(), ip.id)).rejects.toThrow(/not registered/);
    const { body } = await gql(platform, ASK_ENRICHMENT, { id: ip.id, connectorId: newConnectorId() });
    expect(body.errors?.[0]?.message).toBe('No connector found with the specified ID');
  });

  it('publishes raw bodies untouched for malformed-message tests', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await platform.publishListenRaw(id, 'not json {');
    expect((await raw.take(`listen_${id}`)).content.toString()).toBe('not json {');
  });
});

describe('entity read', () => {
  it('answers the enrichment read with markings, author, labels, external references and the value', async () => {
    const ip = platform.addEntity({
      entity_type: 'IPv4-Addr',
      value: '5.6.7.8',
      markings: ['TLP:GREEN', { definition_type: 'PAP', definition: 'PAP:CLEAR' }],
      labels: ['scanner'],
      score: 42,
      description: 'seen scanning',
      createdBy: { entity_type: 'Organization', name: 'ACME' },
      externalReferences: [{ source_name: 'vendor', url: 'https://vendor.example/5.6.7.8', external_id: 'X-1' }],
    });
    const data = await gqlData<{ stixCoreObject: Record<string, unknown> }>(platform, READ_ENTITY, {
      id: ip.standard_id,
    });
    expect(data.stixCoreObject).toEqual({
      id: ip.id,
      standard_id: ip.standard_id,
      entity_type: 'IPv4-Addr',
      parent_types: ['Basic-Object', 'Stix-Object', 'Stix-Core-Object', 'Stix-Cyber-Observable'],
      objectMarking: [
        {
          id: ip.objectMarking[0]?.id,
          standard_id: TLP_MARKING_IDS['TLP:GREEN'],
          entity_type: 'Marking-Definition',
          definition_type: 'TLP',
          definition: 'TLP:GREEN',
          x_opencti_order: 2,
        },
        expect.objectContaining({ definition_type: 'PAP', definition: 'PAP:CLEAR' }),
      ],
      createdBy: { id: ip.createdBy?.id, standard_id: ip.createdBy?.standard_id, name: 'ACME' },
      objectLabel: [{ value: 'scanner' }],
      externalReferences: {
        edges: [{ node: { source_name: 'vendor', url: 'https://vendor.example/5.6.7.8', external_id: 'X-1' } }],
      },
      observable_value: '5.6.7.8',
      x_opencti_description: 'seen scanning',
      x_opencti_score: 42,
      value: '5.6.7.8',
    });
  });

  it('reads domain objects through their own fragments and returns null for unknown ids', async () => {
    const indicator = platform.addEntity({
      entity_type: 'Indicator',
      name: 'bad ip',
      pattern: "[ipv4-addr:value = '6.6.6.6']",
      pattern_type: 'stix',
    });
    const data = await gqlData<{ stixCoreObject: Record<string, unknown> }>(platform, READ_ENTITY, {
      id: indicator.id,
    });
    expect(data.stixCoreObject).toMatchObject({
      entity_type: 'Indicator',
      name: 'bad ip',
      pattern: "[ipv4-addr:value = '6.6.6.6']",
      pattern_type: 'stix',
      createdBy: null,
      objectMarking: [],
    });
    expect(await gqlData(platform, READ_ENTITY, { id: 'ipv4-addr--00000000-0000-5000-8000-000000000000' })).toEqual({
      stixCoreObject: null,
    });
  });
});

describe('playbook step', () => {
  it('publishes the playbook message without a work, and records the playbookStepExecution answer', async () => {
    const id = newConnectorId();
    await register(platform, id, { playbook_compatible: true });
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '10.0.0.1' });
    const worksBefore = platform.worksOf(id).length;

    const request = await platform.askPlaybook(id, ip.id);

    expect(platform.worksOf(id)).toHaveLength(worksBefore);
    const message = await takeJson(`listen_${id}`);
    expect(message).toEqual({
      internal: {
        work_id: null,
        playbook: {
          event_id: request.eventId,
          execution_id: request.executionId,
          playbook_id: request.playbookId,
          data_instance_id: ip.standard_id,
          step_id: request.stepId,
          previous_step_id: request.previousStepId,
        },
        applicant_id: AUTOMATION_MANAGER_USER_ID,
        trigger: 'create',
        mode: 'auto',
      },
      event: {
        entity_id: ip.standard_id,
        bundle: { type: 'bundle', id: expect.stringMatching(/^bundle--/), objects: [ip.stix_entity] },
      },
    });

    const note = {
      type: 'note',
      spec_version: '2.1',
      id: 'note--0b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8',
      created: '2026-01-01T00:00:00.000Z',
      modified: '2026-01-01T00:00:00.000Z',
      content: 'seen',
      object_refs: [ip.standard_id],
    };
    const answered = {
      type: 'bundle',
      id: 'bundle--5d6e7f80-91a2-4b3c-8d4e-5f60718293a4',
      objects: [ip.stix_entity, note],
    };
    const previous = JSON.stringify((message.event as { bundle: unknown }).bundle);
    await gqlData(platform, PLAYBOOK_STEP_EXECUTION, {
      execution_id: request.executionId,
      event_id: request.eventId,
      execution_start: '2026-01-01T00:00:00+00:00',
      data_instance_id: request.dataInstanceId,
      playbook_id: request.playbookId,
      previous_step_id: request.previousStepId,
      step_id: request.stepId,
      previous_bundle: previous,
      bundle: JSON.stringify(answered),
    });
    const steps = platform.playbookSteps().filter((s) => s.variables.execution_id === request.executionId);
    expect(steps).toHaveLength(1);
    expect(steps[0]?.bundle).toEqual(answered);
    expect(steps[0]?.previousBundle).toEqual(JSON.parse(previous));
  });
});
