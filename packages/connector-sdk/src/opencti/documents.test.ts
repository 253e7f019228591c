import { readFileSync } from 'node:fs';
import {
  buildSchema,
  type DocumentNode,
  type GraphQLSchema,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
} from 'graphql';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenCtiClient } from './client.js';
import { defaultConnectorInfo } from './connector-info.js';
import * as documents from './documents.js';

// The platform schema, copied into reference/ (see reference/README.md).
const SCHEMA_URL = new URL('../../../../reference/opencti-merged.graphql', import.meta.url);

let schema: GraphQLSchema;

beforeAll(() => {
  schema = buildSchema(readFileSync(SCHEMA_URL, 'utf8'));
});

function operationOf(doc: DocumentNode): OperationDefinitionNode {
  const operations = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  expect(operations).toHaveLength(1);
  return operations[0]!;
}

const moduleExports: [string, unknown][] = Object.entries(documents);
const exported = moduleExports.filter((entry): entry is [string, string] => typeof entry[1] === 'string');

describe('GraphQL documents', () => {
  it('exports every document as a string constant', () => {
    // Guards the iteration below: a refactor that stops exporting strings must not turn it into a no-op.
    expect(exported.length).toBe(moduleExports.length);
    expect(exported.length).toBeGreaterThanOrEqual(13);
  });

  it.each(exported)('%s is a named operation valid against the platform schema', (_name, text) => {
    const doc = parse(text);
    const operation = operationOf(doc);
    expect(operation.name?.value).toMatch(/^[A-Za-z]+$/);
    expect(validate(schema, doc).map((e) => e.message)).toEqual([]);
  });

  it('the schema check is live: a wrong field and a wrong variable type are reported', () => {
    const wrongField = parse('query healthCheck { about { versionz } }');
    expect(validate(schema, wrongField).length).toBeGreaterThan(0);
    const wrongType = parse('mutation workPing($id: String!) { workEdit(id: $id) { ping } }');
    expect(validate(schema, wrongType).length).toBeGreaterThan(0);
  });
});

/**
 * Runs every public method against an intercepted endpoint, then checks each request's variables
 * against the variable definitions of the document it was sent with, as the platform's executor would
 * coerce them (a number where a String is expected, a missing Boolean!, an unknown input field: all
 * errors here).
 */
describe('variables sent by the client', () => {
  const BASE = 'http://opencti.test';
  const sent: { query: string; variables: Record<string, unknown>; operationName: string }[] = [];
  /** Files of multipart requests: name, type, content and the variable paths the map gives them. */
  const uploads: { name: string; type: string; text: string; paths: string[]; contentType: string }[] = [];

  const answers: Record<string, unknown> = {
    healthCheck: { about: { version: '6.8.10' } },
    // What a platform of the reference schema declares: no version nor slug, so neither is sent.
    RegisterConnectorInputFields: {
      registerConnectorInput: { inputFields: ['id', 'name', 'type', 'auto_update'].map((name) => ({ name })) },
    },
    RegisterConnector: {
      registerConnector: {
        id: 'c1',
        connector_state: null,
        connector_user_id: 'u1',
        config: {
          connection: { host: 'rabbit', vhost: '/', use_ssl: false, port: 5672, user: 'guest', pass: 'mq-pass-1' },
          listen: 'listen_c1',
          listen_routing: 'listen_routing_c1',
          listen_exchange: 'amqp.connector.exchange',
          push: 'push_c1',
          push_routing: 'push_routing_c1',
          push_exchange: 'amqp.worker.exchange',
        },
      },
    },
    PingConnector: { pingConnector: { id: 'c1', connector_state: '{"a":1}', connector_info: null } },
    GetConnector: {
      connector: { id: 'c1', connector_queue_details: { messages_number: 2, messages_size: 3_000_000 } },
    },
    workAdd: { workAdd: { id: 'w1' } },
    workToReceived: { workEdit: { toReceived: 'w1' } },
    workToProcessed: { workEdit: { toProcessed: 'w1' } },
    addExpectations: { workEdit: { addExpectations: 'w1' } },
    reportExpectation: { workEdit: { reportExpectation: 'w1' } },
    pingWork: { workEdit: { ping: 'w1' } },
    WorkStatus: { work: { id: 'w1', status: 'complete', processed_time: '2026-11-24T10:00:00.000Z' } },
    StixBundlePush: { stixBundlePush: true },
    PlaybookStepExecution: { playbookStepExecution: true },
    UploadPending: { uploadPending: { id: 'import/pending/w1.json', name: 'w1.json' } },
    draftWorkspaceAdd: { draftWorkspaceAdd: { id: 'draft-1' } },
    addDraftContext: { workEdit: { addDraftContext: 'w1' } },
    ReadStixCoreObject: {
      stixCoreObject: { id: 'e1', standard_id: 'ipv4-addr--1', entity_type: 'IPv4-Addr', parent_types: [] },
    },
  };

  beforeAll(async () => {
    nock.disableNetConnect();
    nock(BASE)
      .persist()
      .post('/graphql')
      // nock 15 hands the reply function the fetch Request.
      .reply(200, async (req: Request) => {
        const contentType = req.headers.get('content-type') ?? '';
        let request: { query: string; variables: Record<string, unknown>; operationName: string };
        if (contentType.startsWith('multipart/form-data')) {
          // The GraphQL multipart request spec: the server puts each file where the map says before executing.
          const form = await req.formData();
          request = JSON.parse(String(form.get('operations')));
          const map = JSON.parse(String(form.get('map'))) as Record<string, string[]>;
          for (const [field, paths] of Object.entries(map)) {
            const file = form.get(field) as File;
            uploads.push({ name: file.name, type: file.type, text: await file.text(), paths, contentType });
            for (const path of paths) request.variables[path.replace(/^variables\./, '')] = `<upload ${field}>`;
          }
          request.operationName ??= describeOperation(request.query);
        } else {
          // The body is {query, variables}, as pycti's: the operation is the document's, as OpenCTI reads it.
          const body = (await req.json()) as { query: string; variables: Record<string, unknown> };
          request = { ...body, operationName: describeOperation(body.query) };
        }
        sent.push(request);
        return { data: answers[request.operationName] ?? null };
      });

    const client = new OpenCtiClient({ url: BASE, token: 'documents-test-token', userAgent: 'test' });
    await client.health();
    await client.registerConnector({
      id: 'c1',
      name: 'Test connector',
      type: 'INTERNAL_ENRICHMENT',
      scope: ['IPv4-Addr'],
      auto: false,
      only_contextual: false,
      playbook_compatible: true,
      auto_update: true,
      enrichment_resolution: 'none',
      listen_callback_uri: null,
      version: '0.1.0',
      slug: 'test-connector',
    });
    await client.pingConnector('c1', { a: 1 }, defaultConnectorInfo());
    await client.pingConnector('c1', null, {
      ...defaultConnectorInfo(),
      run_and_terminate: true,
      queue_threshold: 12.5,
      last_run_datetime: '2026-11-24T10:00:00Z',
      next_run_datetime: '2026-11-24T11:00:00Z',
    });
    await client.getConnectorQueueSize('c1');
    await client.workAdd('c1', 'run @ now');
    await client.workToReceived('w1', 'Connector ready to process the operation');
    await client.workToProcessed('w1', 'done', false);
    await client.workToProcessed('w1', 'failed', true);
    await client.workAddExpectations('w1', 3);
    await client.workReportExpectation('w1');
    await client.workReportExpectation('w1', { error: 'boom', source: 'ipv4-addr--1' });
    await client.workPing('w1');
    expect(await client.workStatus('w1')).toEqual({ status: 'complete', processedTime: '2026-11-24T10:00:00.000Z' });
    await client.readEntity('e1', { applicantId: 'u2', draftId: 'd1' });
    await client.stixBundlePush('c1', '{"type":"bundle","id":"bundle--1","objects":[{}]}', null);
    await client.stixBundlePush('c1', '{"type":"bundle","id":"bundle--2","objects":[{}]}', 'w1');
    await client.playbookStepExecution({
      execution_id: 'x1',
      event_id: 'ev1',
      execution_start: '2026-11-24T10:00:00+00:00',
      data_instance_id: 'ipv4-addr--1',
      playbook_id: 'p1',
      previous_step_id: 's0',
      step_id: 's1',
      previous_bundle: '{}',
      bundle: '{}',
    });
    await client.uploadPending(
      { name: 'w1.json', content: '{"type":"bundle","objects":[{"value":"é"}]}', mimeType: 'application/json' },
      { entityId: null, fileMarkings: [] },
    );
    expect(await client.draftWorkspaceAdd('w1.json', null)).toBe('draft-1');
    await client.workAddDraftContext('w1', 'draft-1');
    client.close();
  });

  afterEach(() => {
    expect(nock.pendingMocks()).toEqual([]);
  });

  afterAll(() => {
    expect(nock.isDone()).toBe(true);
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('sends every exported document at least once', () => {
    const sentQueries = new Set(sent.map((r) => r.query));
    for (const [name, text] of exported) expect(sentQueries.has(text), `${name} was never sent`).toBe(true);
  });

  it('every request coerces without error against its variable definitions', () => {
    expect(sent).toHaveLength(22);
    for (const request of sent) {
      const operation = operationOf(parse(request.query));
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
      expect(coerced.errors?.map((e) => `${request.operationName}: ${e.message}`) ?? []).toEqual([]);
    }
  });

  it('uploads a workbench file as a GraphQL multipart request: the map names the file variable', () => {
    expect(uploads).toEqual([
      {
        name: 'w1.json',
        type: 'application/json',
        text: '{"type":"bundle","objects":[{"value":"é"}]}',
        paths: ['variables.file'],
        contentType: expect.stringMatching(/^multipart\/form-data; boundary=/),
      },
    ]);
    const upload = sent.find((r) => r.operationName === 'UploadPending');
    expect(upload?.variables).toEqual({ file: '<upload 0>', entityId: null, file_markings: [] });
    expect(sent.find((r) => r.operationName === 'draftWorkspaceAdd')?.variables).toEqual({
      input: { name: 'w1.json', entity_id: null },
    });
  });

  it('sends the state as a String and connectorInfo with its required Boolean!/Float! fields', () => {
    const pings = sent.filter((r) => r.operationName === 'PingConnector');
    expect(pings.map((p) => p.variables.state)).toEqual(['{"a":1}', 'null']);
    expect(pings[1]!.variables.connectorInfo).toEqual({
      run_and_terminate: true,
      buffering: false,
      queue_threshold: 12.5,
      queue_messages_size: 0,
      next_run_datetime: '2026-11-24T11:00:00Z',
      last_run_datetime: '2026-11-24T10:00:00Z',
    });
  });

  it('sends the optional registration fields to a 6.8.10 platform', () => {
    const registration = sent.find((r) => r.operationName === 'RegisterConnector');
    expect(registration?.variables.input).toEqual({
      id: 'c1',
      name: 'Test connector',
      type: 'INTERNAL_ENRICHMENT',
      scope: ['IPv4-Addr'],
      auto: false,
      only_contextual: false,
      playbook_compatible: true,
      auto_update: true,
      enrichment_resolution: 'none',
      listen_callback_uri: null,
    });
  });

  it('would catch a variable of the wrong type', () => {
    const operation = operationOf(parse(documents.PING_CONNECTOR));
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], {
      id: 'c1',
      state: { a: 1 },
      connectorInfo: { run_and_terminate: 'no', buffering: false, queue_threshold: 1 },
    });
    expect(coerced.errors?.length ?? 0).toBeGreaterThanOrEqual(2);
  });
});

function describeOperation(query: string): string {
  return /^\s*(?:query|mutation)\s+([A-Za-z]+)/.exec(query)?.[1] ?? '';
}
