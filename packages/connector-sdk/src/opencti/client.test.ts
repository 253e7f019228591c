import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, PlatformError } from '../errors/index.js';
import { createLogger } from '../log/logger.js';
import { redactString } from '../log/redact.js';
import { OpenCtiClient, type OpenCtiClientOptions, type OpenCtiLogger } from './client.js';
import { defaultConnectorInfo } from './connector-info.js';
import * as documents from './documents.js';
import { MAX_ERROR_MESSAGE_CHARS, TOKEN_REJECTED_MESSAGE } from './failure.js';

// ---------------------------------------------------------------------------------------------------
// A local stand-in answering POST /graphql as scripted by each test, recording what it received.
// ---------------------------------------------------------------------------------------------------

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The operation's name, read from the document as OpenCTI does (the body carries none, as pycti's). */
  operationName: string;
  /** The body's own keys. */
  keys: string[];
  query: string;
  variables: Record<string, unknown>;
}

type Reply =
  | { status?: number; json?: unknown; text?: string; contentType?: string }
  /** Never answer (timeouts). */
  | 'hang'
  /** Destroy the socket after reading the request (connection reset after delivery). */
  | 'destroy';

type Handler = (req: Received, index: number) => Reply;

interface FakePlatform {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

const servers: FakePlatform[] = [];

async function startFakePlatform(handler: Handler, port = 0): Promise<FakePlatform> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      // A multipart upload is not JSON: its operation is recorded empty, the headers tell what it was.
      const body = (raw.startsWith('{') || raw === '' ? JSON.parse(raw || '{}') : {}) as Partial<Received>;
      const record: Received = {
        path: req.url ?? '',
        headers: req.headers,
        operationName: /^\s*(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(body.query ?? '')?.[1] ?? '',
        keys: Object.keys(body),
        query: body.query ?? '',
        variables: body.variables ?? {},
      };
      received.push(record);
      const reply = handler(record, received.length - 1);
      if (reply === 'hang') return;
      if (reply === 'destroy') {
        req.socket.destroy();
        return;
      }
      const text = reply.text ?? JSON.stringify(reply.json ?? null);
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  const fake: FakePlatform = {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(fake);
  return fake;
}

/** A port on which nothing listens (connection refused). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const clients: OpenCtiClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const TOKEN = 'tok-3f9c2a7e-SECRET-5b1d';

interface LogLine {
  level: string;
  attributes: object;
  message: string;
}

function capturingLogger(onWarn?: (line: LogLine) => void): OpenCtiLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const push = (level: string) => (attributes: object, message: string) => {
    const line = { level, attributes, message };
    lines.push(line);
    if (level === 'warn') onWarn?.(line);
  };
  return { lines, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

function makeClient(url: string, options: Partial<OpenCtiClientOptions> = {}): OpenCtiClient {
  const client = new OpenCtiClient({
    url,
    token: TOKEN,
    userAgent: 'cti-connector-sdk/0.1.0 (test)',
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 4 },
    ...options,
  });
  clients.push(client);
  return client;
}

const data = (value: unknown): Reply => ({ json: { data: value } });
const graphqlError = (message: string, code?: string, status = 200): Reply => ({
  status,
  json: { errors: [{ message, ...(code ? { extensions: { code } } : {}) }], data: null },
});

const REGISTERED = {
  id: 'c1',
  connector_state: '{"last_run":"2026-01-01"}',
  connector_user_id: 'user-1',
  config: {
    connection: { host: 'rabbit', vhost: '/', use_ssl: false, port: 5672, user: 'opencti', pass: 'mq-password-77' },
    listen: 'listen_c1',
    listen_routing: 'listen_routing_c1',
    listen_exchange: 'amqp.connector.exchange',
    push: 'push_c1',
    push_routing: 'push_routing_c1',
    push_exchange: 'amqp.worker.exchange',
  },
};

/** Answers every document with a plausible result; the platform version is configurable. */
function platformAnswers(version = '6.8.10'): Handler {
  return (req) => {
    switch (req.operationName) {
      case 'healthCheck':
        return data({ about: { version } });
      case 'RegisterConnector':
        return data({ registerConnector: REGISTERED });
      case 'PingConnector':
        return data({ pingConnector: { id: 'c1', connector_state: '', connector_info: null } });
      case 'GetConnector':
        return data({
          connector: { id: 'c1', connector_queue_details: { messages_number: 7, messages_size: 2_500_000 } },
        });
      case 'workAdd':
        return data({ workAdd: { id: 'work_c1_2026' } });
      case 'workToReceived':
        return data({ workEdit: { toReceived: 'w' } });
      case 'workToProcessed':
        return data({ workEdit: { toProcessed: 'w' } });
      case 'addExpectations':
        return data({ workEdit: { addExpectations: 'w' } });
      case 'reportExpectation':
        return data({ workEdit: { reportExpectation: 'w' } });
      case 'pingWork':
        return data({ workEdit: { ping: 'w' } });
      case 'StixBundlePush':
        return data({ stixBundlePush: true });
      case 'PlaybookStepExecution':
        return data({ playbookStepExecution: true });
      case 'ReadStixCoreObject':
        return data({
          stixCoreObject:
            req.variables.id === 'missing'
              ? null
              : {
                  id: 'e1',
                  standard_id: 'ipv4-addr--1',
                  entity_type: 'IPv4-Addr',
                  parent_types: ['Stix-Cyber-Observable'],
                  observable_value: '1.2.3.4',
                  value: '1.2.3.4',
                  objectMarking: [],
                  objectLabel: [],
                  externalReferences: { edges: [] },
                },
        });
      default:
        return graphqlError(`unexpected operation ${req.operationName}`);
    }
  };
}

async function rejection(promise: Promise<unknown>): Promise<PlatformError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PlatformError);
    return err as PlatformError;
  }
  throw new Error('expected a rejection');
}

// ---------------------------------------------------------------------------------------------------

describe('requests', () => {
  it('POSTs to <url>/graphql with the Bearer token, user agent and custom headers, nothing else', async () => {
    const platform = await startFakePlatform(platformAnswers());
    const client = makeClient(`${platform.url}/`, { customHeaders: { 'X-Proxy-Key': 'proxy-1' } });

    await expect(client.health()).resolves.toEqual({ version: '6.8.10' });

    const [req] = platform.received;
    expect(req?.path).toBe('/graphql');
    expect(req?.operationName).toBe('healthCheck');
    expect(req?.query).toBe(documents.HEALTH_CHECK);
    // pycti's body: the document and its variables only (no operationName, which would cost a parse per call).
    expect(req?.keys).toEqual(['query', 'variables']);
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers['user-agent']).toBe('cti-connector-sdk/0.1.0 (test)');
    expect(req?.headers['x-proxy-key']).toBe('proxy-1');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['opencti-applicant-id']).toBeUndefined();
    expect(req?.headers['opencti-draft-id']).toBeUndefined();
  });

  it('lets a custom header replace a base header of the same name, whatever its case, rather than add to it', async () => {
    const platform = await startFakePlatform(platformAnswers());
    const client = makeClient(platform.url, {
      customHeaders: { ACCEPT: 'application/graphql-response+json', 'user-agent': 'proxy-approved/1' },
    });
    await client.health();
    const [req] = platform.received;
    expect(req?.headers.accept).toBe('application/graphql-response+json');
    expect(req?.headers['user-agent']).toBe('proxy-approved/1');
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('fails a call whose applicant id no header can carry at once, naming the header, never as unreachable', async () => {
    const platform = await startFakePlatform(platformAnswers());
    const logger = capturingLogger();
    const client = makeClient(platform.url, { logger });
    const err = await rejection(client.readEntity('e1', { applicantId: 'user-1\r\nx-injected: 1' }));
    expect(err.message).toMatch(/^OpenCTI ReadStixCoreObject failed: .*opencti-applicant-id/);
    expect(err.message).not.toContain('x-injected');
    expect(err.retryable).toBe(false);
    expect(platform.received).toHaveLength(0);
    expect(logger.lines).toEqual([]);
  });

  it('sends the applicant and draft headers only on the call that asks for them, never on work calls', async () => {
    const platform = await startFakePlatform(platformAnswers());
    const client = makeClient(platform.url);

    await client.readEntity('e1', { applicantId: 'user-applicant', draftId: 'draft-9' });
    await client.workToReceived('w1', 'Connector ready to process the operation');
    await client.readEntity('e1');
    await client.readEntity('e1', { applicantId: null, draftId: '' });
    await client.workToProcessed('w1', 'done');
    await client.workAddExpectations('w1', 2);
    await client.workReportExpectation('w1');
    await client.workPing('w1');

    const headers = platform.received.map((r) => [
      r.operationName,
      r.headers['opencti-applicant-id'] ?? null,
      r.headers['opencti-draft-id'] ?? null,
    ]);
    expect(headers).toEqual([
      ['ReadStixCoreObject', 'user-applicant', 'draft-9'],
      ['workToReceived', null, null],
      ['ReadStixCoreObject', null, null],
      ['ReadStixCoreObject', null, null],
      ['workToProcessed', null, null],
      ['addExpectations', null, null],
      ['reportExpectation', null, null],
      ['pingWork', null, null],
    ]);
  });

  it('sends each method with its document and variables', async () => {
    const platform = await startFakePlatform(platformAnswers());
    const client = makeClient(platform.url, { platformVersion: '6.8.10' });

    const registered = await client.registerConnector({
      id: 'c1',
      name: 'CrowdSec',
      type: 'INTERNAL_ENRICHMENT',
      scope: ['IPv4-Addr'],
      auto: true,
      only_contextual: false,
      playbook_compatible: true,
    });
    const ping = await client.pingConnector('c1', { last_run: '2026-01-01' }, defaultConnectorInfo());
    const queue = await client.getConnectorQueueSize('c1');
    const workId = await client.workAdd('c1', 'CrowdSec run @ 2026-01-01');
    await client.workToReceived(workId, 'received');
    await client.workToProcessed(workId, 'failed', true);
    await client.workAddExpectations(workId, 4);
    await client.workReportExpectation(workId, { error: 'Missing reference', source: 'ipv4-addr--1' });
    await client.workPing(workId);
    await client.stixBundlePush('c1', '{"type":"bundle"}', workId);
    await client.playbookStepExecution({
      execution_id: 'x',
      event_id: 'e',
      execution_start: '2026-01-01T00:00:00+00:00',
      data_instance_id: 'ipv4-addr--1',
      playbook_id: 'p',
      previous_step_id: 's0',
      step_id: 's1',
      previous_bundle: '{"a":1}',
      bundle: '{"b":2}',
    });

    expect(registered).toEqual(REGISTERED);
    expect(ping).toEqual({ id: 'c1', connector_state: '', connector_info: null });
    expect(queue).toEqual({ messagesNumber: 7, sizeMb: 2.5 });
    expect(workId).toBe('work_c1_2026');
    expect(platform.received.map((r) => [r.operationName, r.variables])).toEqual([
      [
        'RegisterConnector',
        {
          input: {
            id: 'c1',
            name: 'CrowdSec',
            type: 'INTERNAL_ENRICHMENT',
            scope: ['IPv4-Addr'],
            auto: true,
            only_contextual: false,
            playbook_compatible: true,
            auto_update: false,
            enrichment_resolution: 'none',
            listen_callback_uri: null,
          },
        },
      ],
      ['PingConnector', { id: 'c1', state: '{"last_run":"2026-01-01"}', connectorInfo: defaultConnectorInfo() }],
      ['GetConnector', { id: 'c1' }],
      ['workAdd', { connectorId: 'c1', friendlyName: 'CrowdSec run @ 2026-01-01' }],
      ['workToReceived', { id: 'work_c1_2026', message: 'received' }],
      ['workToProcessed', { id: 'work_c1_2026', message: 'failed', inError: true }],
      ['addExpectations', { id: 'work_c1_2026', expectations: 4 }],
      ['reportExpectation', { id: 'work_c1_2026', error: { error: 'Missing reference', source: 'ipv4-addr--1' } }],
      ['pingWork', { id: 'work_c1_2026' }],
      ['StixBundlePush', { connectorId: 'c1', bundle: '{"type":"bundle"}', work_id: 'work_c1_2026' }],
      [
        'PlaybookStepExecution',
        {
          execution_id: 'x',
          event_id: 'e',
          execution_start: '2026-01-01T00:00:00+00:00',
          data_instance_id: 'ipv4-addr--1',
          playbook_id: 'p',
          previous_step_id: 's0',
          step_id: 's1',
          previous_bundle: '{"a":1}',
          bundle: '{"b":2}',
        },
      ],
    ]);
    const sentDocuments = new Map(platform.received.map((r) => [r.operationName, r.query]));
    expect(sentDocuments.get('RegisterConnector')).toBe(documents.REGISTER_CONNECTOR);
    expect(sentDocuments.get('PingConnector')).toBe(documents.PING_CONNECTOR);
    expect(sentDocuments.get('reportExpectation')).toBe(documents.WORK_REPORT_EXPECTATION);
  });

  it('reads the platform version before registering, and leaves out fields an older platform rejects', async () => {
    const platform = await startFakePlatform(platformAnswers('6.8.8'));
    const logger = capturingLogger();
    const client = makeClient(platform.url, { logger });

    await client.registerConnector({
      id: 'c1',
      name: 'CrowdSec',
      type: 'INTERNAL_ENRICHMENT',
      scope: ['IPv4-Addr'],
      auto: false,
      only_contextual: false,
      playbook_compatible: false,
      auto_update: true,
    });

    expect(platform.received.map((r) => r.operationName)).toEqual(['healthCheck', 'RegisterConnector']);
    const input = platform.received[1]?.variables.input as Record<string, unknown>;
    expect(Object.keys(input).sort()).toEqual(
      ['auto', 'id', 'listen_callback_uri', 'name', 'only_contextual', 'playbook_compatible', 'scope', 'type'].sort(),
    );
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'OpenCTI 6.8.8 does not support auto_update: it is not sent',
    ]);
    expect(client.knownVersion).toBe('6.8.8');
  });

  it('masks the RabbitMQ password handed out at registration wherever it would be printed', async () => {
    const pass = 'mq-password-only-in-this-test';
    const platform = await startFakePlatform(() =>
      data({
        registerConnector: {
          ...REGISTERED,
          config: { ...REGISTERED.config, connection: { ...REGISTERED.config.connection, pass } },
        },
      }),
    );
    const client = makeClient(platform.url, { platformVersion: '6.8.10' });
    expect(redactString(`amqp password ${pass}`)).toContain(pass);
    await client.registerConnector({
      id: 'c1',
      name: 'CrowdSec',
      type: 'INTERNAL_ENRICHMENT',
      scope: [],
      auto: false,
      only_contextual: false,
      playbook_compatible: false,
    });
    expect(redactString(`amqp password ${pass}`)).not.toContain(pass);
  });

  it('maps the entity read, and returns null for an entity the platform does not return', async () => {
    const platform = await startFakePlatform(platformAnswers());
    const client = makeClient(platform.url);
    const entity = await client.readEntity('e1');
    expect(entity).toMatchObject({ id: 'e1', standard_id: 'ipv4-addr--1', entity_type: 'IPv4-Addr', value: '1.2.3.4' });
    expect(await client.readEntity('missing')).toBeNull();
    expect(platform.received.map((r) => r.variables)).toEqual([{ id: 'e1' }, { id: 'missing' }]);
  });

  it('passes any document through request() and returns its data', async () => {
    const platform = await startFakePlatform(() => data({ connectors: [{ id: 'a' }] }));
    const client = makeClient(platform.url);
    const result = await client.request<{ connectors: { id: string }[] }>(
      'query Connectors { connectors { id } }',
      {},
      { applicantId: 'u9' },
    );
    expect(result).toEqual({ connectors: [{ id: 'a' }] });
    expect(platform.received[0]?.headers['opencti-applicant-id']).toBe('u9');
  });

  it('fails on answers that do not have the expected shape', async () => {
    const platform = await startFakePlatform((req) =>
      req.operationName === 'StixBundlePush'
        ? data({ stixBundlePush: false })
        : req.operationName === 'GetConnector'
          ? data({ connector: null })
          : data({ registerConnector: { id: 'c1', config: null } }),
    );
    const client = makeClient(platform.url, { platformVersion: '6.8.10' });
    expect((await rejection(client.stixBundlePush('c1', '{}', null))).message).toMatch(/did not accept the bundle/);
    expect((await rejection(client.getConnectorQueueSize('c1'))).message).toBe(
      'OpenCTI has no connector c1 (GetConnector answered null)',
    );
    const registration = await rejection(
      client.registerConnector({
        id: 'c1',
        name: 'x1',
        type: 'STREAM',
        scope: [],
        auto: false,
        only_contextual: false,
        playbook_compatible: false,
      }),
    );
    expect(registration.message).toMatch(/^OpenCTI RegisterConnector returned an unexpected answer \(config:/);
  });
});

describe('error mapping', () => {
  it('carries the GraphQL error message and code, not retryable', async () => {
    const platform = await startFakePlatform(() =>
      graphqlError('No connector found with the specified ID', 'FUNCTIONAL_ERROR'),
    );
    const client = makeClient(platform.url);
    const err = await rejection(client.pingConnector('nope', null, defaultConnectorInfo()));
    expect(err.message).toBe(
      'OpenCTI PingConnector failed: No connector found with the specified ID (FUNCTIONAL_ERROR)',
    );
    expect(err).toMatchObject({ operation: 'PingConnector', retryable: false, auth: false, status: undefined });
    expect(platform.received).toHaveLength(1);
  });

  it('cuts a huge GraphQL error message after masking it: no head of a secret at the cut', async () => {
    // After the 30 characters of 'OpenCTI PingConnector failed: ', the token straddles the cut: cutting
    // before masking would leave its first 10 characters in the message.
    const huge = `${'x'.repeat(MAX_ERROR_MESSAGE_CHARS - 40)}${TOKEN}${'y'.repeat(1_000_000)}`;
    const platform = await startFakePlatform(() => graphqlError(huge, 'FUNCTIONAL_ERROR'));
    const client = makeClient(platform.url);
    const err = await rejection(client.pingConnector('nope', null, defaultConnectorInfo()));
    expect(err.message.length).toBeLessThan(MAX_ERROR_MESSAGE_CHARS + 100);
    expect(err.message).toMatch(/… \(\d+ more characters\)$/);
    expect(err.message).not.toContain(TOKEN.slice(0, 6));
    expect(err.retryable).toBe(false);
  });

  it('reads the code from a top-level name, as older platforms send it', async () => {
    const platform = await startFakePlatform(() => ({
      json: {
        errors: [{ name: 'LOCK_ERROR', message: 'Execution timeout, too many concurrent call on the same entities' }],
      },
    }));
    const client = makeClient(platform.url, { retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } });
    const err = await rejection(client.workToProcessed('w', 'done'));
    expect(err.message).toContain('(LOCK_ERROR)');
    expect(err.retryable).toBe(true);
  });

  it('treats AUTH_REQUIRED on HTTP 200 as a rejected token, without retrying', async () => {
    const platform = await startFakePlatform(() => graphqlError('You must be logged in', 'AUTH_REQUIRED'));
    const client = makeClient(platform.url);
    const err = await rejection(client.workToProcessed('w', 'done'));
    expect(err.message).toBe(`${TOKEN_REJECTED_MESSAGE}: You must be logged in`);
    expect(err).toMatchObject({ auth: true, retryable: false });
    expect(platform.received).toHaveLength(1);
  });

  it.each([401, 403])('treats HTTP %i as a rejected token', async (status) => {
    const platform = await startFakePlatform(() => ({ status, text: 'Unauthorized', contentType: 'text/plain' }));
    const client = makeClient(platform.url);
    const err = await rejection(client.workPing('w'));
    expect(err.message.startsWith(TOKEN_REJECTED_MESSAGE)).toBe(true);
    expect(err).toMatchObject({ auth: true, retryable: false, status });
    expect(platform.received).toHaveLength(1);
  });

  it('tells a missing capability from a rejected token', async () => {
    const platform = await startFakePlatform(() => graphqlError('You are not allowed to do this.', 'FORBIDDEN_ACCESS'));
    const client = makeClient(platform.url);
    const err = await rejection(client.getConnectorQueueSize('c1'));
    expect(err.message).toBe(
      "OpenCTI refused GetConnector: the connector's user lacks a capability it needs (FORBIDDEN_ACCESS: You are not allowed to do this.)",
    );
    expect(err.auth).toBe(true);
  });

  it('maps HTTP 500 to a retryable error after the allowed attempts', async () => {
    const platform = await startFakePlatform(() => ({
      status: 500,
      text: 'Internal Server Error',
      contentType: 'text/plain',
    }));
    const logger = capturingLogger();
    const client = makeClient(platform.url, { logger });
    const err = await rejection(client.workToProcessed('w', 'done'));
    expect(err.message).toBe(`OpenCTI workToProcessed failed: HTTP 500 from ${platform.url}/graphql`);
    expect(err).toMatchObject({ retryable: true, status: 500, auth: false });
    expect(platform.received).toHaveLength(3);
    expect(logger.lines.map((l) => l.message)).toEqual([
      expect.stringMatching(/^OpenCTI workToProcessed failed \(HTTP 500\), attempt 1 of 3, retrying in /),
      expect.stringMatching(/^OpenCTI workToProcessed failed \(HTTP 500\), attempt 2 of 3, retrying in /),
    ]);
  });

  it('maps a refused connection to a retryable "not reachable" error', async () => {
    const port = await closedPort();
    const client = makeClient(`http://127.0.0.1:${port}`, { retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } });
    const err = await rejection(client.health());
    expect(err.message).toBe(
      `OpenCTI healthCheck failed: OpenCTI not reachable at http://127.0.0.1:${port}/graphql (ECONNREFUSED)`,
    );
    expect(err.retryable).toBe(true);
  });

  it('maps a request without answer to a retryable timeout', async () => {
    const platform = await startFakePlatform(() => 'hang');
    const client = makeClient(platform.url, { timeoutMs: 50, retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } });
    const err = await rejection(client.workPing('w'));
    expect(err.message).toBe(`OpenCTI pingWork failed: no answer from ${platform.url}/graphql within 0.05s`);
    expect(err.retryable).toBe(true);
  });

  it('explains a registration field the platform does not know', async () => {
    const platform = await startFakePlatform((req) =>
      req.operationName === 'healthCheck'
        ? data({ about: { version: '6.8.10' } })
        : graphqlError(
            'Variable "$input" got invalid value { id: "c1" }; Field "auto_update" is not defined by type "RegisterConnectorInput".',
            'BAD_USER_INPUT',
            400,
          ),
    );
    const client = makeClient(platform.url);
    const err = await rejection(
      client.registerConnector({
        id: 'c1',
        name: 'x1',
        type: 'EXTERNAL_IMPORT',
        scope: [],
        auto: false,
        only_contextual: false,
        playbook_compatible: false,
      }),
    );
    expect(err.message).toContain(
      'the platform rejected field auto_update of RegisterConnectorInput: the platform is older than this SDK expects',
    );
    expect(err).toMatchObject({ retryable: false, status: 400, operation: 'RegisterConnector' });
  });

  it('reads a single GraphQL error object as a list of one, as some servers send it', async () => {
    const platform = await startFakePlatform(() => ({
      json: { errors: { message: 'Entity not found', extensions: { code: 'NOT_FOUND' } }, data: null },
    }));
    const err = await rejection(makeClient(platform.url).workPing('w'));
    expect(err.message).toBe('OpenCTI pingWork failed: Entity not found (NOT_FOUND)');
    expect(err.retryable).toBe(false);
  });

  it('keeps the GraphQL error of a 4xx or 5xx answer, and only its status when the body is not GraphQL', async () => {
    const bad = await startFakePlatform(() => graphqlError('Variable "$id" got invalid value', 'BAD_USER_INPUT', 400));
    const refused = await rejection(makeClient(bad.url).workPing('w'));
    expect(refused.message).toBe('OpenCTI pingWork failed: Variable "$id" got invalid value (BAD_USER_INPUT)');
    expect(refused).toMatchObject({ status: 400, retryable: false });
    expect(String(refused.cause)).toBe('Error: BAD_USER_INPUT: Variable "$id" got invalid value');

    const once = { retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } };
    const crashed = await startFakePlatform(() => graphqlError('Elasticsearch is down', 'DATABASE_ERROR', 500));
    const down = await rejection(makeClient(crashed.url, once).workPing('w'));
    expect(down.message).toBe(`OpenCTI pingWork failed: HTTP 500 from ${crashed.url}/graphql: Elasticsearch is down`);
    expect(down).toMatchObject({ status: 500, retryable: true });

    const html = await startFakePlatform(() => ({
      status: 502,
      text: '<html>Bad Gateway</html>',
      contentType: 'text/html',
    }));
    const gateway = await rejection(makeClient(html.url, once).workPing('w'));
    expect(gateway.message).toBe(`OpenCTI pingWork failed: HTTP 502 from ${html.url}/graphql`);
    expect(gateway).toMatchObject({ status: 502, retryable: true });
  });

  it('says the URL is wrong for a 2xx answer that is JSON but no GraphQL result, or empty', async () => {
    for (const reply of [{ json: { data: null } }, { json: ['not', 'a', 'result'] }, { text: '' }] satisfies Reply[]) {
      const platform = await startFakePlatform(() => reply);
      const err = await rejection(makeClient(platform.url).health());
      expect(err.message).toMatch(/did not answer with GraphQL JSON \(check OPENCTI_URL points at the platform\)$/);
      expect(err.retryable).toBe(false);
      expect(platform.received).toHaveLength(1);
    }
  });

  it('says when the URL does not point at the platform', async () => {
    const html = await startFakePlatform(() => ({ text: '<html>login</html>', contentType: 'text/html' }));
    const err = await rejection(makeClient(html.url).health());
    expect(err.message).toMatch(/did not answer with GraphQL JSON \(check OPENCTI_URL points at the platform\)$/);
    const missing = await startFakePlatform(() => ({ status: 404, text: 'Not Found', contentType: 'text/plain' }));
    const notFound = await rejection(makeClient(missing.url).health());
    expect(notFound.message).toContain('HTTP 404');
    expect(notFound.message).toContain('check OPENCTI_URL');
    expect(notFound.retryable).toBe(false);
  });
});

describe('retry policy', () => {
  it('retries an idempotent call after a proxy 502 and succeeds', async () => {
    const platform = await startFakePlatform((req, i) =>
      i === 0 ? { status: 502, text: 'Bad Gateway', contentType: 'text/html' } : platformAnswers()(req, i),
    );
    const logger = capturingLogger();
    const client = makeClient(platform.url, { logger });
    await client.workToProcessed('w1', 'done');
    expect(platform.received.map((r) => r.operationName)).toEqual(['workToProcessed', 'workToProcessed']);
    expect(logger.lines).toHaveLength(1);
  });

  it('retries a read after the connection was reset mid-request', async () => {
    const platform = await startFakePlatform((req, i) => (i === 0 ? 'destroy' : platformAnswers()(req, i)));
    const client = makeClient(platform.url);
    await expect(client.readEntity('e1')).resolves.toMatchObject({ id: 'e1' });
    expect(platform.received).toHaveLength(2);
  });

  it('retries workAdd after a 503 (the platform never saw it) but not after a 500', async () => {
    const unavailable = await startFakePlatform((req, i) =>
      i === 0 ? { status: 503, text: 'Service Unavailable', contentType: 'text/plain' } : platformAnswers()(req, i),
    );
    await expect(makeClient(unavailable.url).workAdd('c1', 'run')).resolves.toBe('work_c1_2026');
    expect(unavailable.received).toHaveLength(2);

    const failing = await startFakePlatform((req, i) =>
      i === 0 ? { status: 500, text: 'boom', contentType: 'text/plain' } : platformAnswers()(req, i),
    );
    const err = await rejection(makeClient(failing.url).workAdd('c1', 'run'));
    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect(failing.received).toHaveLength(1);
  });

  it('maps the failures of a multipart upload as any call: a GraphQL error is final, a proxy 503 is retried', async () => {
    const file = { name: 'w1.json', content: '{"type":"bundle"}', mimeType: 'application/json' };
    const refusing = await startFakePlatform(() => graphqlError('File upload is not allowed', 'FORBIDDEN_ACCESS'));
    const err = await rejection(makeClient(refusing.url).uploadPending(file, { entityId: null, fileMarkings: [] }));
    expect(err.message).toMatch(/^OpenCTI refused UploadPending: .*File upload is not allowed/);
    expect(err).toMatchObject({ operation: 'UploadPending', retryable: false });
    expect(refusing.received).toHaveLength(1);
    expect(refusing.received[0]?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(refusing.received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);

    const unavailable = await startFakePlatform((_req, i) =>
      i === 0
        ? { status: 503, text: 'Service Unavailable', contentType: 'text/plain' }
        : { json: { data: { uploadPending: { id: 'import/pending/w1.json', name: 'w1.json' } } } },
    );
    await expect(
      makeClient(unavailable.url).uploadPending(file, { entityId: null, fileMarkings: [] }),
    ).resolves.toEqual({ id: 'import/pending/w1.json', name: 'w1.json' });
    expect(unavailable.received).toHaveLength(2);

    const html = await startFakePlatform(() => ({ text: '<html>login</html>', contentType: 'text/html' }));
    const wrongUrl = await rejection(makeClient(html.url).uploadPending(file, { entityId: null, fileMarkings: [] }));
    expect(wrongUrl.message).toMatch(/did not answer with GraphQL JSON/);
  });

  it('does not repeat a counter whose request may have arrived (timeout, reset, gateway timeout)', async () => {
    const hanging = await startFakePlatform(() => 'hang');
    await rejection(makeClient(hanging.url, { timeoutMs: 50 }).workAddExpectations('w', 2));
    expect(hanging.received).toHaveLength(1);

    const reset = await startFakePlatform(() => 'destroy');
    await rejection(makeClient(reset.url).workReportExpectation('w'));
    expect(reset.received).toHaveLength(1);

    const gateway = await startFakePlatform(() => ({
      status: 504,
      text: 'Gateway Timeout',
      contentType: 'text/plain',
    }));
    await rejection(makeClient(gateway.url).stixBundlePush('c1', '{}', null));
    expect(gateway.received).toHaveLength(1);
  });

  it('retries a counter while the connection is refused, up to the attempt limit', async () => {
    const port = await closedPort();
    const logger = capturingLogger();
    const err = await rejection(makeClient(`http://127.0.0.1:${port}`, { logger }).workAddExpectations('w', 2));
    expect(err.message).toContain('(ECONNREFUSED)');
    expect(logger.lines.map((l) => (l.attributes as { attempt: number }).attempt)).toEqual([1, 2]);
  });

  it('does not retry a ping that may have consumed a state reset', async () => {
    const platform = await startFakePlatform(() => ({ status: 500, text: 'boom', contentType: 'text/plain' }));
    await rejection(makeClient(platform.url).pingConnector('c1', { a: 1 }, defaultConnectorInfo()));
    expect(platform.received).toHaveLength(1);
  });

  it('request(): retries queries, mutations only when unsent, nothing with retry:false', async () => {
    const platform = await startFakePlatform(() => ({ status: 500, text: 'boom', contentType: 'text/plain' }));
    const client = makeClient(platform.url);
    await rejection(client.request('query Q { about { version } }'));
    expect(platform.received).toHaveLength(3);
    await rejection(client.request('mutation M($id: ID!) { workEdit(id: $id) { ping } }', { id: 'w' }));
    expect(platform.received).toHaveLength(4);
    await rejection(client.request('query Q { about { version } }', {}, { retry: false }));
    expect(platform.received).toHaveLength(5);
    await rejection(client.request('mutation M { x }', {}, { retry: 'transient' }));
    expect(platform.received).toHaveLength(8);
  });

  it('stops retrying when the caller cancels', async () => {
    const platform = await startFakePlatform(() => ({ status: 500, text: 'boom', contentType: 'text/plain' }));
    const controller = new AbortController();
    const client = makeClient(platform.url, {
      retry: { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      logger: capturingLogger(() => controller.abort()),
    });
    const err = await rejection(client.request('query Q { about { version } }', {}, { signal: controller.signal }));
    expect(err.message).toBe('OpenCTI Q was cancelled');
    expect(platform.received).toHaveLength(1);
  });
});

describe('waitUntilReachable', () => {
  it('waits while the platform refuses connections, then returns its version', async () => {
    const port = await closedPort();
    let starting: Promise<FakePlatform> | undefined;
    const logger = capturingLogger((line) => {
      // The platform comes up after the second failed attempt.
      if ((line.attributes as { attempt: number }).attempt === 2)
        starting = startFakePlatform(platformAnswers('6.8.10'), port);
    });
    const client = makeClient(`http://127.0.0.1:${port}`, { logger });

    const result = await client.waitUntilReachable({ deadlineMs: 30_000, baseDelayMs: 20, maxDelayMs: 50 });

    expect(result).toEqual({ version: '6.8.10' });
    expect(client.knownVersion).toBe('6.8.10');
    expect((await starting)?.received.map((r) => r.operationName)).toEqual(['healthCheck']);
    expect(logger.lines.length).toBeGreaterThanOrEqual(2);
    for (const [i, line] of logger.lines.entries()) {
      expect(line.level).toBe('warn');
      expect(line.message).toMatch(
        new RegExp(
          `^OpenCTI not reachable at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\), attempt ${i + 1}, next in [0-9.]+s$`,
        ),
      );
    }
  });

  it('keeps waiting through proxy errors while the platform starts', async () => {
    const platform = await startFakePlatform((req, i) =>
      i < 2 ? { status: 503, text: 'starting', contentType: 'text/plain' } : platformAnswers('7.260318.0')(req, i),
    );
    const logger = capturingLogger();
    const client = makeClient(platform.url, { logger });
    await expect(client.waitUntilReachable({ deadlineMs: 30_000, baseDelayMs: 5 })).resolves.toEqual({
      version: '7.260318.0',
    });
    expect(logger.lines.map((l) => l.message.replace(/next in .*$/, ''))).toEqual([
      `OpenCTI not reachable at ${platform.url} (HTTP 503), attempt 1, `,
      `OpenCTI not reachable at ${platform.url} (HTTP 503), attempt 2, `,
    ]);
  });

  it('gives up at the deadline with the last reason', async () => {
    const port = await closedPort();
    const client = makeClient(`http://127.0.0.1:${port}`);
    const err = await rejection(client.waitUntilReachable({ deadlineMs: 100, baseDelayMs: 10, maxDelayMs: 20 }));
    expect(err.message).toMatch(
      new RegExp(
        `^OpenCTI not reachable at http://127\\.0\\.0\\.1:${port} after \\d+ attempts? in 0\\.10s \\(ECONNREFUSED\\)$`,
      ),
    );
    expect(err.retryable).toBe(true);
  });

  it.each([
    ['You must be logged in', 'AUTH_REQUIRED'],
    ['You are not allowed to use API Access Tokens', 'FORBIDDEN_ACCESS'],
  ])('fails at once when the token is rejected (%s)', async (message, code) => {
    const platform = await startFakePlatform(() => graphqlError(message, code));
    const logger = capturingLogger();
    const client = makeClient(platform.url, { logger });
    const err = await rejection(client.waitUntilReachable({ deadlineMs: 30_000, baseDelayMs: 5 }));
    expect(err.message).toBe(`${TOKEN_REJECTED_MESSAGE}: ${message}`);
    expect(err.auth).toBe(true);
    expect(platform.received).toHaveLength(1);
    expect(logger.lines).toEqual([]);
  });

  it('stops when its signal aborts', async () => {
    const port = await closedPort();
    const controller = new AbortController();
    const client = makeClient(`http://127.0.0.1:${port}`, { logger: capturingLogger(() => controller.abort()) });
    const err = await rejection(
      client.waitUntilReachable({ deadlineMs: 60_000, baseDelayMs: 60_000, signal: controller.signal }),
    );
    expect(err.message).toBe('OpenCTI healthCheck was cancelled');
  });
});

describe('secrets', () => {
  it('never prints the token, even when the platform echoes it back', async () => {
    // A hostile or buggy platform/proxy quoting the Authorization header in its errors.
    const platform = await startFakePlatform((req, i) => {
      const echo = `header was ${String(req.headers.authorization)} and token ${TOKEN}`;
      if (i % 3 === 0) return graphqlError(echo, 'UNKNOWN_ERROR');
      if (i % 3 === 1) return { status: 500, json: { errors: [{ message: echo }] } };
      return graphqlError(`Cant impersonate applicant ${TOKEN}`, 'AUTH_REQUIRED');
    });
    const output: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        output.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ name: 'test', level: 'debug', destination: sink });
    const client = makeClient(platform.url, { logger });

    const errors: PlatformError[] = [];
    for (const call of [
      () => client.workToProcessed('w', 'x'),
      () => client.health(),
      () => client.readEntity('e1', { applicantId: 'u' }),
      () => client.pingConnector('c1', null, defaultConnectorInfo()),
    ]) {
      errors.push(await rejection(call()));
    }
    for (const err of errors) logger.error({ err, error: err.toJSON(), cause: err.cause }, err.message);

    const printed = [
      ...errors.flatMap((e) => [e.message, e.stack ?? '', JSON.stringify(e.toJSON()), String(e.cause)]),
      ...output,
    ].join('\n');
    expect(output.length).toBeGreaterThanOrEqual(errors.length);
    expect(platform.received.length).toBeGreaterThanOrEqual(4);
    expect(printed).not.toContain(TOKEN);
    expect(printed).toContain('[REDACTED]');
  });
});

describe('configuration', () => {
  it('rejects an unusable URL, an empty token and an invalid custom header with the variable at fault', () => {
    const variableOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues[0]?.variable;
      }
      return undefined;
    };
    expect(variableOf(() => new OpenCtiClient({ url: 'opencti:8080', token: TOKEN, userAgent: 'x' }))).toBe(
      'OPENCTI_URL',
    );
    expect(variableOf(() => new OpenCtiClient({ url: 'ftp://opencti', token: TOKEN, userAgent: 'x' }))).toBe(
      'OPENCTI_URL',
    );
    expect(variableOf(() => new OpenCtiClient({ url: 'http://opencti', token: ' ', userAgent: 'x' }))).toBe(
      'OPENCTI_TOKEN',
    );
    expect(
      variableOf(
        () =>
          new OpenCtiClient({
            url: 'http://opencti',
            token: TOKEN,
            userAgent: 'x',
            customHeaders: { 'Bad Header': 'v' },
          }),
      ),
    ).toBe('OPENCTI_CUSTOM_HEADERS');
    const invalid: Array<Record<string, string>> = [
      { '': 'v' },
      { 'X-Key': 'line\nbreak' },
      { 'X-Key': 'not latin1 \u2713' },
      // Headers that frame the request or say what its body is: the client writes those itself.
      { 'Content-Length': '5' },
      { 'transfer-encoding': 'chunked' },
      { 'Content-Type': 'text/plain' },
    ];
    for (const customHeaders of invalid) {
      expect(
        variableOf(() => new OpenCtiClient({ url: 'http://opencti', token: TOKEN, userAgent: 'x', customHeaders })),
        JSON.stringify(customHeaders),
      ).toBe('OPENCTI_CUSTOM_HEADERS');
    }
    expect(variableOf(() => new OpenCtiClient({ url: 'http://opencti', token: 'tok\nen', userAgent: 'x' }))).toBe(
      'OPENCTI_TOKEN',
    );
    expect(
      variableOf(
        () => new OpenCtiClient({ url: 'https://opencti', token: TOKEN, userAgent: 'x', sslVerify: '/no/such/ca.pem' }),
      ),
    ).toBe('OPENCTI_SSL_VERIFY');
  });

  it('warns once that TLS is not verified for an https URL with OPENCTI_SSL_VERIFY=false', () => {
    const logger = capturingLogger();
    clients.push(new OpenCtiClient({ url: 'https://opencti.example', token: TOKEN, userAgent: 'x', logger }));
    clients.push(new OpenCtiClient({ url: 'http://opencti.example', token: TOKEN, userAgent: 'x', logger }));
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'The TLS certificate of https://opencti.example is not verified (OPENCTI_SSL_VERIFY is false)'],
    ]);
  });
});
