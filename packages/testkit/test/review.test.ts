/**
 * Review before import, the platform's side at the wire: pycti's `uploadPending` as the GraphQL multipart
 * request `requests` sends, pycti's `draftWorkspaceAdd`, and messages pushed into a draft.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform, waitUntil } from '../src/index.js';
import { bundleOf, gql, gqlData, ipv4, newConnectorId, pushMessage, RawAmqp, register } from './helpers.js';
import { DRAFT_WORKSPACE_ADD, UPLOAD_PENDING, WORK_ADD } from './pycti-documents.js';

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

/** pycti's multipart request: `operations` (the file variable null), `map`, then the file as field `0`. */
async function uploadPending(
  name: string,
  content: string,
  fields: { operations?: string; map?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append(
    'operations',
    fields.operations ??
      JSON.stringify({ query: UPLOAD_PENDING, variables: { file: null, entityId: null, file_markings: [] } }),
  );
  form.append('map', fields.map ?? JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([content], { type: 'application/json' }), name);
  const response = await fetch(`${platform.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.token}`, 'user-agent': 'pycti/7.260318.0' },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('workbench files (uploadPending)', () => {
  it('keeps the file as the platform does, a second upload of the same name replacing the first', async () => {
    const first = bundleOf(ipv4('192.0.2.1'));
    const answer = await uploadPending('review-1.json', JSON.stringify(first));
    expect(answer).toEqual({
      status: 200,
      body: { data: { uploadPending: { id: 'import/pending/review-1.json', name: 'review-1.json' } } },
    });
    const second = bundleOf(ipv4('192.0.2.2'));
    await uploadPending('review-1.json', JSON.stringify(second));
    const kept = platform.workbenchFiles().filter((f) => f.name === 'review-1.json');
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ mimeType: 'application/json', entityId: null, fileMarkings: [], bundle: second });
    expect(platform.workbenchFiles({ uploads: true }).filter((f) => f.name === 'review-1.json')).toHaveLength(2);
    expect(platform.requests('UploadPending').at(-1)?.headers.contentType).toMatch(/^multipart\/form-data/);
  });

  it('checks an uploaded bundle against STIX 2.1 like any other', async () => {
    const strict = platform;
    platform = await startTestPlatform({ stixValidation: 'record' });
    try {
      await uploadPending(
        'broken.json',
        JSON.stringify({ type: 'bundle', id: 'bundle--x', objects: [{ type: 'ipv4-addr' }] }),
      );
      expect(platform.stixViolations().filter((v) => v.source === 'workbench').length).toBeGreaterThan(0);
    } finally {
      await platform.close();
      platform = strict;
    }
  });

  it('answers a malformed multipart request or one without its file as the platform would: an error', async () => {
    expect((await uploadPending('x.json', '{}', { map: 'not json' })).status).toBe(400);
    expect((await uploadPending('x.json', '{}', { map: JSON.stringify({ 0: ['variables.nowhere'] }) })).status).toBe(
      400,
    );
    const withoutFile = await gql(platform, UPLOAD_PENDING, { file: null, entityId: null, file_markings: [] });
    expect(withoutFile.status).toBe(400);
    expect(platform.workbenchFiles().map((f) => f.name)).not.toContain('x.json');
  });
});

describe('drafts (draftWorkspaceAdd)', () => {
  it('creates a draft; what the worker receives into it stays out of the knowledge', async () => {
    const id = newConnectorId();
    await register(platform, id, { type: 'EXTERNAL_IMPORT', name: 'Reviewer' });
    const { workAdd } = await gqlData<{ workAdd: { id: string } }>(platform, WORK_ADD, {
      connectorId: id,
      friendlyName: 'run',
    });
    const { draftWorkspaceAdd } = await gqlData<{ draftWorkspaceAdd: { id: string } }>(platform, DRAFT_WORKSPACE_ADD, {
      input: { name: `${workAdd.id}.json`, entity_id: null },
    });
    expect(platform.drafts().at(-1)).toMatchObject({ id: draftWorkspaceAdd.id, name: `${workAdd.id}.json` });

    const ip = ipv4('192.0.2.9');
    await raw.publish(
      'amqp.worker.exchange',
      `push_routing_${id}`,
      pushMessage(bundleOf(ip), { work_id: workAdd.id, draft_id: draftWorkspaceAdd.id }),
    );
    await waitUntil(() => platform.draftObjects(draftWorkspaceAdd.id).length > 0, {
      timeoutMs: 10_000,
      message: 'the object received into the draft',
    });
    expect(platform.draftObjects(draftWorkspaceAdd.id).map((o) => o.object.id)).toEqual([ip.id]);
    expect(platform.knowledge(ip.id as string)).toBeUndefined();
  });
});
