/**
 * Work lifecycle over GraphQL with the platform's completion rules (platform.md b "workEdit", f).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTOR_USER_ID, startTestPlatform, type TestPlatform } from '../src/index.js';
import { gql, gqlData, newConnectorId, register } from './helpers.js';
import {
  ADD_DRAFT_CONTEXT,
  ADD_EXPECTATIONS,
  DELETE_WORK,
  PING_WORK,
  REPORT_EXPECTATION,
  WORK_ADD,
  WORK_ALIVE,
  WORK_QUERY,
  WORK_TO_PROCESSED,
  WORK_TO_RECEIVED,
  WORKS_OF_CONNECTOR,
} from './pycti-documents.js';

let platform: TestPlatform;
let connectorId: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  connectorId = newConnectorId();
  await register(platform, connectorId, { type: 'EXTERNAL_IMPORT', name: 'Importer' });
});

afterAll(async () => {
  await platform?.close();
});

async function workAdd(name = 'run'): Promise<string> {
  const data = await gqlData<{ workAdd: { id: string } }>(platform, WORK_ADD, { connectorId, friendlyName: name });
  return data.workAdd.id;
}

const toProcessed = (id: string, message: string, inError = false) =>
  gqlData(platform, WORK_TO_PROCESSED, { id, message, inError });
const addExpectations = (id: string, expectations: number) => gqlData(platform, ADD_EXPECTATIONS, { id, expectations });
const report = (id: string, error: { error: string; source: string } | null = null) =>
  gqlData(platform, REPORT_EXPECTATION, { id, error });

interface WorkQueryResult {
  work: {
    id: string;
    name: string;
    status: string;
    user: { name: string };
    tracking: { import_expected_number: number | null; import_processed_number: number | null };
    messages: Array<{ message: string }>;
    errors: Array<{ message: string; source: string | null }>;
    completed_time: string | null;
    received_time: string | null;
  } | null;
}

describe('works', () => {
  it('creates a work already received (status progress) named as asked, for the calling user', async () => {
    const id = await workAdd('Importer run @ now');
    const data = await gqlData<WorkQueryResult>(platform, WORK_QUERY, { id });
    expect(data.work).toMatchObject({
      id,
      name: 'Importer run @ now',
      status: 'progress',
      user: { name: 'connector user' },
      tracking: { import_expected_number: 0, import_processed_number: 0 },
      messages: [],
      errors: [],
      completed_time: null,
    });
    expect(data.work?.received_time).not.toBeNull();
    expect(platform.work(id)?.user_id).toBe(DEFAULT_CONNECTOR_USER_ID);
    expect(await gqlData(platform, WORK_ALIVE, { id })).toEqual({ isWorkAlive: true });
  });

  it('toProcessed first, then the last reportExpectation completes the work', async () => {
    const id = await workAdd();
    await addExpectations(id, 2);
    await toProcessed(id, '2 bundles sent');
    expect((await gqlData<WorkQueryResult>(platform, WORK_QUERY, { id })).work?.status).toBe('progress');
    await report(id);
    await report(id, { error: 'Missing reference', source: '{"id":"x"}' });
    const done = (await gqlData<WorkQueryResult>(platform, WORK_QUERY, { id })).work;
    expect(done).toMatchObject({
      status: 'complete',
      tracking: { import_expected_number: 2, import_processed_number: 2 },
      messages: [{ message: '2 bundles sent' }],
      errors: [{ message: 'Missing reference', source: '{"id":"x"}' }],
    });
    expect(done?.completed_time).not.toBeNull();
  });

  it('reportExpectation first, then toProcessed completes the work and closes its counters', async () => {
    const id = await workAdd();
    await addExpectations(id, 1);
    await report(id);
    expect(platform.work(id)?.status).toBe('complete');
    await toProcessed(id, 'done');
    expect(platform.work(id)).toMatchObject({ status: 'complete', completed_number: 1, alive: false });
    expect(await gqlData(platform, WORK_ALIVE, { id })).toEqual({ isWorkAlive: false });
  });

  it('completes at once on toProcessed when nothing was expected (expected == 0 shortcut)', async () => {
    const id = await workAdd();
    await toProcessed(id, 'Nothing new');
    const work = (await gqlData<WorkQueryResult>(platform, WORK_QUERY, { id })).work;
    expect(work).toMatchObject({
      status: 'complete',
      tracking: { import_expected_number: 1, import_processed_number: 1 },
    });
  });

  it('keeps a work in progress while expectations are missing (the "stuck work" of the real platform)', async () => {
    const id = await workAdd();
    await addExpectations(id, 3);
    await report(id);
    await toProcessed(id, 'sent 3');
    const work = await platform.waitForWork(id, { status: 'any-processed', timeoutMs: 1000 });
    expect(work).toMatchObject({
      status: 'progress',
      tracking: { import_expected_number: 3, import_processed_number: 1 },
    });
    await expect(platform.waitForWork(id, { timeoutMs: 100 })).rejects.toThrow(
      /did not reach "complete".*status progress, 1\/3 processed.*messages: sent 3/,
    );
  });

  it('records to-received messages, in-error results, pings and draft context', async () => {
    const id = await workAdd();
    await gqlData(platform, WORK_TO_RECEIVED, { id, message: 'Connector ready to process the operation' });
    await gqlData(platform, PING_WORK, { id });
    await gqlData(platform, ADD_DRAFT_CONTEXT, { id, draftContext: 'draft-1' });
    await toProcessed(id, 'Vendor API returned 503', true);
    const work = platform.work(id);
    expect(work?.messages.map((m) => m.message)).toEqual(['Connector ready to process the operation']);
    expect(work?.errors.map((m) => m.message)).toEqual(['Vendor API returned 503']);
    expect(work?.draft_context).toBe('draft-1');
    expect(work?.operations.map((o) => o.op)).toEqual([
      'create',
      'toReceived',
      'ping',
      'addDraftContext',
      'toProcessed',
    ]);
  });

  it('refuses requests in the context of a deleted work with WORK_NOT_ALIVE', async () => {
    const id = await workAdd();
    expect(await gqlData(platform, DELETE_WORK, { workId: id })).toEqual({ workEdit: { delete: id } });
    expect(await gqlData(platform, WORK_ALIVE, { id })).toEqual({ isWorkAlive: false });
    expect(await gqlData(platform, WORK_QUERY, { id })).toEqual({ work: null });
    const { status, body } = await gql(platform, ADD_EXPECTATIONS, { id, expectations: 1 }, { 'opencti-work-id': id });
    expect(status).toBe(500);
    expect(body.errors?.[0]).toMatchObject({ name: 'WORK_NOT_ALIVE', extensions: { code: 'WORK_NOT_ALIVE' } });
    expect(platform.work(id)?.import_expected_number).toBe(0);
  });

  it('lists a connector works newest first through works(filters)', async () => {
    const other = newConnectorId();
    await register(platform, other);
    const a = await workAdd('first');
    const b = await workAdd('second');
    const filters = { mode: 'and', filters: [{ key: ['connector_id'], values: [connectorId] }], filterGroups: [] };
    const data = await gqlData<{ works: { edges: Array<{ node: { id: string; name: string } }> } }>(
      platform,
      WORKS_OF_CONNECTOR,
      { filters },
    );
    const ids = data.works.edges.map((e) => e.node.id);
    expect(ids.indexOf(b)).toBeLessThan(ids.indexOf(a));
    expect(ids.every((id) => id.startsWith(`work_${connectorId}_`))).toBe(true);
  });

  it('closes older stuck works when a newer work of the connector reports (connector manager sweep)', async () => {
    const stuck = await workAdd('stuck');
    await addExpectations(stuck, 2);
    await report(stuck);
    const newer = await workAdd('newer');
    await addExpectations(newer, 1);
    await report(newer);
    expect(platform.sweepWorks()).toContain(stuck);
    expect(platform.work(stuck)).toMatchObject({ status: 'complete', completed_number: 1 });
  });
});
