/**
 * The worker at the wire: messages published to the push exchange like pycti publishes them, and bundles
 * pushed through stixBundlePush (platform.md c, d).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTOR_USER_ID, startTestPlatform, type TestPlatform } from '../src/index.js';
import { bundleOf, gql, gqlData, ipv4, newConnectorId, ping, pushMessage, RawAmqp, register } from './helpers.js';
import { ADD_EXPECTATIONS, STIX_BUNDLE_PUSH, WORK_ADD, WORK_TO_PROCESSED } from './pycti-documents.js';

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

async function importer(): Promise<{ id: string; workId: string }> {
  const id = newConnectorId();
  await register(platform, id, { type: 'EXTERNAL_IMPORT', name: 'Importer' });
  const data = await gqlData<{ workAdd: { id: string } }>(platform, WORK_ADD, { connectorId: id, friendlyName: 'run' });
  return { id, workId: data.workAdd.id };
}

const publishPush = (connectorId: string, body: string) =>
  raw.publish('amqp.worker.exchange', `push_routing_${connectorId}`, body);

describe('push queue worker', () => {
  it('ingests one-object messages, reports each, and the work completes after toProcessed', async () => {
    const { id, workId } = await importer();
    const first = ipv4('1.1.1.1');
    const second = ipv4('2.2.2.2');
    await gqlData(platform, ADD_EXPECTATIONS, { id: workId, expectations: 2 });
    await publishPush(id, pushMessage(bundleOf(first), { work_id: workId, applicant_id: 'user-1', draft_id: 'd1' }));
    await publishPush(id, pushMessage(bundleOf(second), { work_id: workId, action_sequence: 2 }));
    await gqlData(platform, WORK_TO_PROCESSED, { id: workId, message: 'sent 2', inError: false });

    const work = await platform.waitForWork(workId);
    expect(work.completed_number).toBe(2);
    expect(platform.objects({ workId }).map((o) => o.object)).toEqual([first, second]);
    const [ingested] = platform.objects(id);
    expect(ingested).toMatchObject({ applicantId: 'user-1', draftId: 'd1', update: false, workId });

    const messages = platform.pushMessages(id);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatchObject({
      outcome: 'ingested',
      objectCount: 1,
      queue: `push_${id}`,
      envelope: {
        bundle_type: 'QUEUE_BUNDLE',
        applicant_id: 'user-1',
        action_sequence: 1,
        entities_types: [],
        update: false,
        draft_id: 'd1',
        work_id: workId,
      },
      properties: { deliveryMode: 2, contentEncoding: 'utf-8' },
    });
    expect(messages[0]?.bundle).toMatchObject({ type: 'bundle', objects: [first] });
  });

  it('nacks an invalid body without requeue or report: the work stays in progress', async () => {
    const { id, workId } = await importer();
    await gqlData(platform, ADD_EXPECTATIONS, { id: workId, expectations: 3 });
    await publishPush(id, 'this is not json');
    await publishPush(id, JSON.stringify({ content: Buffer.from('{"broken"').toString('base64'), work_id: workId }));
    await publishPush(id, pushMessage({ type: 'bundle', id: 'bundle--x', objects: [] }, { work_id: workId }));
    await gqlData(platform, WORK_TO_PROCESSED, { id: workId, message: 'sent 3', inError: false });

    const rejected = await platform.waitFor(() => {
      const msgs = platform.pushMessages(id);
      return msgs.length === 3 ? msgs : undefined;
    });
    expect(rejected.map((m) => [m.outcome, m.reason])).toEqual([
      ['rejected', 'the message is not JSON'],
      ['rejected', 'content is not base64 of a JSON object'],
      ['rejected', 'the bundle has no objects'],
    ]);
    expect(rejected[0]?.rawBody).toBe('this is not json');
    expect(await platform.queueDepth(id, 'push')).toBe(0);
    expect(platform.work(workId)).toMatchObject({
      status: 'progress',
      tracking: { import_expected_number: 3, import_processed_number: 0 },
    });
    expect(platform.objects(id)).toEqual([]);
  });

  it('drops messages whose work was deleted (WORK_NOT_ALIVE) without ingesting them', async () => {
    const { id, workId } = await importer();
    await gqlData(platform, 'mutation D($id: ID!) { workEdit(id: $id) { delete } }', { id: workId });
    await publishPush(id, pushMessage(bundleOf(ipv4('3.3.3.3')), { work_id: workId }));
    const [record] = await platform.waitFor(() =>
      platform.pushMessages(id).length === 1 ? platform.pushMessages(id) : undefined,
    );
    expect(record).toMatchObject({ outcome: 'dropped', reason: 'WORK_NOT_ALIVE' });
    expect(platform.objects(id)).toEqual([]);
  });

  it('pauses and resumes: messages wait in the queue, then are ingested in order', async () => {
    const { id, workId } = await importer();
    await platform.worker.pause();
    expect(platform.worker.running).toBe(false);
    await publishPush(id, pushMessage(bundleOf(ipv4('4.4.4.1')), { work_id: workId }));
    await publishPush(id, pushMessage(bundleOf(ipv4('4.4.4.2')), { work_id: workId }));
    expect(await platform.queueDepth(id, 'push')).toBe(2);
    expect(platform.pushMessages(id)).toEqual([]);
    await platform.worker.resume();
    const objects = await platform.waitFor(() =>
      platform.objects(id).length === 2 ? platform.objects(id) : undefined,
    );
    expect(objects.map((o) => o.object.value)).toEqual(['4.4.4.1', '4.4.4.2']);
  });
});

describe('stixBundlePush', () => {
  it('pushes a multi-object bundle onto the work given: the worker adds n expectations and reports each', async () => {
    const { id, workId } = await importer();
    const objects = [ipv4('5.5.5.1'), ipv4('5.5.5.2'), ipv4('5.5.5.3')];
    expect(
      await gqlData(platform, STIX_BUNDLE_PUSH, {
        connectorId: id,
        bundle: JSON.stringify(bundleOf(...objects)),
        work_id: workId,
      }),
    ).toEqual({ stixBundlePush: true });
    await gqlData(platform, WORK_TO_PROCESSED, { id: workId, message: 'pushed', inError: false });
    const work = await platform.waitForWork(workId);
    expect(work).toMatchObject({ completed_number: 3, import_expected_number: 3 });
    expect(work.operations.filter((o) => o.op === 'addExpectations').map((o) => o.args.expectations)).toEqual([3]);
    const [message] = platform.pushMessages(id);
    expect(message?.envelope).toMatchObject({
      type: 'bundle',
      applicant_id: DEFAULT_CONNECTOR_USER_ID,
      work_id: workId,
      update: true,
    });
    expect(platform.objects({ workId }).map((o) => o.object)).toEqual(objects);
  });

  it('creates "<name> run @ <now>" when no work is given, with one expectation for a one-object bundle', async () => {
    const { id } = await importer();
    await gqlData(platform, STIX_BUNDLE_PUSH, {
      connectorId: id,
      bundle: JSON.stringify(bundleOf(ipv4('6.6.6.6'))),
      work_id: null,
    });
    const created = platform.worksOf(id).find((w) => w.name?.startsWith('Importer run @ '));
    expect(created).toBeDefined();
    const work = await platform.waitForWork(created?.id ?? '');
    expect(work).toMatchObject({ status: 'complete', completed_number: 1 });
  });

  it('rejects what is not a bundle with objects as UNSUPPORTED_ERROR "Invalid bundle"', async () => {
    const { id } = await importer();
    for (const bundle of ['{oops', '{"type":"bundle","objects":[]}', '{"type":"report","objects":[{}]}']) {
      const { status, body } = await gql(platform, STIX_BUNDLE_PUSH, { connectorId: id, bundle, work_id: null });
      expect(status).toBe(200);
      expect(body.errors?.[0]).toMatchObject({ message: 'Invalid bundle', name: 'UNSUPPORTED_ERROR' });
    }
    const { body } = await gql(platform, STIX_BUNDLE_PUSH, {
      connectorId: newConnectorId(),
      bundle: JSON.stringify(bundleOf(ipv4('7.7.7.7'))),
      work_id: null,
    });
    expect(body.errors?.[0]?.message).toBe('Invalid bundle');
  });
});

describe('queue limit fault', () => {
  it('makes publishers get broker nacks once a limited push queue is full, until the limit is lifted', async () => {
    const { id, workId } = await importer();
    await platform.worker.pause();
    await platform.limitQueue(id, 'push', 1);
    const body = pushMessage(bundleOf(ipv4('8.8.8.1')), { work_id: workId });
    await publishPush(id, body);
    await expect(publishPush(id, body)).rejects.toThrow();
    expect(await platform.queueDepth(id, 'push')).toBe(1);
    // The platform's re-assertion on ping keeps the limit instead of failing with 406.
    expect((await ping(platform, id, 'null')).connector_state).toBe('null');
    await expect(publishPush(id, body)).rejects.toThrow();

    await platform.unlimitQueue(id, 'push');
    await publishPush(id, body);
    await publishPush(id, body);
    expect(await platform.queueDepth(id, 'push')).toBe(2);
    await platform.worker.resume();
    await platform.waitFor(() => platform.objects(id).length === 2);
  });
});

describe('the timestamp form', () => {
  it('close() refuses a pushed bundle whose timestamps are written otherwise than …T08:15:00.000Z', async () => {
    for (const timestampForm of ['strict', 'off'] as const) {
      const own = await startTestPlatform({ timestampForm });
      try {
        const id = newConnectorId();
        await register(own, id, { type: 'EXTERNAL_IMPORT', name: 'Importer' });
        const { workAdd } = await gqlData<{ workAdd: { id: string } }>(own, WORK_ADD, {
          connectorId: id,
          friendlyName: 'run',
        });
        const late = { ...ipv4('5.5.5.5'), x_opencti_modified_at: '2024-04-18T08:15:00Z' };
        await gqlData(own, ADD_EXPECTATIONS, { id: workAdd.id, expectations: 1 });
        await raw.publish(
          'amqp.worker.exchange',
          `push_routing_${id}`,
          pushMessage(bundleOf(late), { work_id: workAdd.id }),
        );
        await gqlData(own, WORK_TO_PROCESSED, { id: workAdd.id, message: 'sent 1', inError: false });
        await own.waitForWork(workAdd.id);
        expect(own.timestampFormProblems()).toEqual([
          expect.stringMatching(
            /^push #\d+ \(connector .+\) objects\[0\]\.x_opencti_modified_at: '2024-04-18T08:15:00Z'$/,
          ),
        ]);
      } finally {
        const closing = own.close();
        if (timestampForm === 'strict')
          await expect(closing).rejects.toThrow(/x_opencti_modified_at: '2024-04-18T08:15:00Z'/);
        else await closing;
      }
    }
  });
});
