/**
 * The platform's end state through the worker: push messages published as pycti publishes them, each object
 * read the way pycti's importer reads it and merged onto what the platform already holds. A field written
 * where the importer does not look is lost here as it is on a real platform.
 */
import { buildAuthor, updateObservable } from '@cti/connector-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OCTI_SCO_EXTENSION,
  STIX_EXT_OCTI,
  StixViolationError,
  startTestPlatform,
  type TestPlatform,
  TLP_MARKING_IDS,
} from '../src/index.js';
import { bundleOf, gql, gqlData, newConnectorId, pushMessage, RawAmqp, register } from './helpers.js';
import { PLAYBOOK_STEP_EXECUTION, WORK_ADD, WORK_TO_PROCESSED } from './pycti-documents.js';

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

/** Sends each object as its own message (as pycti's splitter does) in one work and waits for the work. */
async function send(...objects: Array<Record<string, unknown>>): Promise<string> {
  const id = newConnectorId();
  await register(platform, id, { type: 'EXTERNAL_IMPORT', name: 'Importer' });
  const data = await gqlData<{ workAdd: { id: string } }>(platform, WORK_ADD, { connectorId: id, friendlyName: 'run' });
  const workId = data.workAdd.id;
  for (const object of objects) {
    await raw.publish('amqp.worker.exchange', `push_routing_${id}`, pushMessage(bundleOf(object), { work_id: workId }));
  }
  await gqlData(platform, WORK_TO_PROCESSED, { id: workId, message: 'sent', inError: false });
  await platform.waitForWork(workId);
  return id;
}

const author = buildAuthor('Knowledge Test Vendor', 'A vendor');

describe('an enriched observable re-sent to the platform', () => {
  it('loses a label written only to x_opencti_labels when the platform copy keeps its labels in the extension', async () => {
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.10', labels: ['existing'] });
    expect(ip.stix_entity.extensions).toMatchObject({ [OCTI_SCO_EXTENSION]: { labels: ['existing'] } });
    await send({ ...ip.stix_entity, x_opencti_labels: ['existing', 'vendor:malicious'] });
    expect(platform.knowledge(ip.standard_id)?.labels).toEqual(['existing']);
    expect(platform.entity(ip.id)?.objectLabel.map((l) => l.value)).toEqual(['existing']);
  });

  it('keeps labels, references, author and score written with updateObservable, and the next read shows them', async () => {
    const ip = platform.addEntity({
      entity_type: 'IPv4-Addr',
      value: '203.0.113.11',
      labels: ['existing'],
      score: 20,
      markings: ['TLP:GREEN'],
      externalReferences: [{ source_name: 'earlier', url: 'https://earlier.example/1' }],
    });
    const updated = updateObservable(ip.stix_entity, {
      addLabels: ['vendor:malicious'],
      addExternalReferences: [{ source_name: 'vendor', url: 'https://vendor.example/ip/203.0.113.11' }],
      score: 80,
    });
    await send(author, { ...updated, x_opencti_created_by_ref: author.id });

    const held = platform.knowledge(ip.standard_id);
    expect(held).toMatchObject({
      labels: ['existing', 'vendor:malicious'],
      createdBy: author.id,
      markings: [TLP_MARKING_IDS['TLP:GREEN']],
      score: 80,
      imports: 1,
    });
    expect(held?.externalReferences.map((r) => r.url)).toEqual([
      'https://earlier.example/1',
      'https://vendor.example/ip/203.0.113.11',
    ]);
    // The stored copy follows: what the next enrichment message carries.
    const again = platform.entity(ip.id);
    expect(again?.createdBy?.standard_id).toBe(author.id);
    expect(again?.createdBy?.attributes.name).toBe('Knowledge Test Vendor');
    expect(again?.stix_entity.extensions).toMatchObject({
      [OCTI_SCO_EXTENSION]: { labels: ['existing', 'vendor:malicious'], score: 80, created_by_ref: author.id },
    });
  });

  it('adds markings and organisations without removing any, and takes the author from created_by_ref first', async () => {
    const org = platform.addEntity({ entity_type: 'Organization', name: 'Org Alpha' });
    const ip = platform.addEntity({
      entity_type: 'IPv4-Addr',
      value: '203.0.113.12',
      markings: ['TLP:GREEN'],
      grantedOrganizations: [org],
    });
    expect(ip.stix_entity.extensions).toMatchObject({ [STIX_EXT_OCTI]: { granted_refs: [org.standard_id] } });
    const beta = buildAuthor('Org Beta');
    await send(author, beta, {
      ...ip.stix_entity,
      object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER']],
      x_opencti_granted_refs: [beta.id],
      created_by_ref: beta.id,
      x_opencti_created_by_ref: author.id,
    });
    expect(platform.knowledge(ip.standard_id)).toMatchObject({
      markings: [TLP_MARKING_IDS['TLP:GREEN'], TLP_MARKING_IDS['TLP:AMBER']],
      organizations: [org.standard_id, beta.id],
      createdBy: beta.id,
    });
  });

  it('records a new object once per import, with what it was sent with', async () => {
    const indicator = {
      type: 'indicator',
      spec_version: '2.1',
      id: 'indicator--0b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8',
      created: '2026-01-01T00:00:00.000Z',
      modified: '2026-01-01T00:00:00.000Z',
      pattern: "[ipv4-addr:value = '203.0.113.13']",
      pattern_type: 'stix',
      valid_from: '2026-01-01T00:00:00.000Z',
      created_by_ref: author.id,
      labels: ['vendor:malicious'],
      object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER']],
      x_opencti_score: 70,
    };
    await send(author, indicator);
    await send(indicator);
    expect(platform.knowledge(indicator.id)).toEqual({
      id: indicator.id,
      type: 'indicator',
      createdBy: author.id,
      markings: [TLP_MARKING_IDS['TLP:AMBER']],
      labels: ['vendor:malicious'],
      externalReferences: [],
      organizations: [],
      score: 70,
      description: null,
      files: [],
      imports: 2,
    });
  });
});

describe('the STIX 2.1 check of what connectors send', () => {
  it('records every violation of an ingested object and of a playbook answer; close() throws in strict mode', async () => {
    const strict = await startTestPlatform();
    const local = await RawAmqp.connect();
    try {
      const id = newConnectorId();
      await register(strict, id, { type: 'EXTERNAL_IMPORT', name: 'Careless' });
      const data = await gqlData<{ workAdd: { id: string } }>(strict, WORK_ADD, {
        connectorId: id,
        friendlyName: 'run',
      });
      const undated = { type: 'identity', spec_version: '2.1', id: author.id, name: 'Knowledge Test Vendor' };
      await local.publish(
        'amqp.worker.exchange',
        `push_routing_${id}`,
        pushMessage(bundleOf(undated), { work_id: data.workAdd.id }),
      );
      await gqlData(strict, WORK_TO_PROCESSED, { id: data.workAdd.id, message: 'sent', inError: false });
      await strict.waitForWork(data.workAdd.id);
      const bad = { type: 'bundle', id: 'bundle--x', objects: [{ type: 'note', id: 'note--1' }] };
      await gql(strict, PLAYBOOK_STEP_EXECUTION, {
        execution_id: 'e',
        event_id: 'v',
        execution_start: '2026-01-01T00:00:00+00:00',
        data_instance_id: 'd',
        playbook_id: 'p',
        previous_step_id: 'ps',
        step_id: 's',
        previous_bundle: '{}',
        bundle: JSON.stringify(bad),
      });
      const violations = strict.stixViolations();
      expect(violations.filter((v) => v.source === 'push')).toEqual([
        expect.objectContaining({
          connectorId: id,
          workId: data.workAdd.id,
          message: `${author.id}: missing required property 'created'`,
        }),
        expect.objectContaining({ message: `${author.id}: missing required property 'modified'` }),
      ]);
      expect(violations.filter((v) => v.source === 'playbook').map((v) => v.message)).toContain(
        "note--1: missing required property 'content'",
      );
    } finally {
      await local.close();
      await expect(strict.close()).rejects.toThrow(StixViolationError);
    }
  });

  it("only records them with stixValidation: 'record'", async () => {
    const lenient = await startTestPlatform({ stixValidation: 'record' });
    lenient.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.14' });
    await expect(lenient.close()).resolves.toBeUndefined();
  });
});
