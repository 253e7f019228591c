/**
 * Authentication as the platform answers it, request recording, and fault injection round-trips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_REQUIRED_BODY, startTestPlatform, type TestPlatform } from '../src/index.js';
import { gql, gqlData, newConnectorId, ping, register } from './helpers.js';
import { HEALTH_CHECK, PING_CONNECTOR, WORK_ADD } from './pycti-documents.js';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({ token: 'secret-test-token' });
});

afterAll(async () => {
  await platform?.close();
});

describe('authentication', () => {
  it('answers a missing or wrong token with HTTP 200 and AUTH_REQUIRED, and nothing else', async () => {
    for (const authorization of [undefined, 'Bearer wrong', 'Basic c2VjcmV0', 'Bearer secret-test-token extra']) {
      const response = await fetch(`${platform.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ query: HEALTH_CHECK, variables: {} }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        errors: [{ message: 'You must be logged in', extensions: { code: 'AUTH_REQUIRED' } }],
      });
    }
    expect(AUTH_REQUIRED_BODY.errors[0]?.extensions.code).toBe('AUTH_REQUIRED');
    const unauthenticated = platform.requests({ authenticated: false });
    expect(unauthenticated.length).toBeGreaterThanOrEqual(4);
    expect(unauthenticated.some((r) => r.headers.hasAuthorization)).toBe(true);
    expect(JSON.stringify(platform.requests())).not.toContain('secret-test-token');
  });

  it('accepts the Bearer token with any scheme case', async () => {
    const { status, body } = await gql(platform, HEALTH_CHECK, {}, { authorization: 'bearer secret-test-token' });
    expect(status).toBe(200);
    expect(body.data).toEqual({ about: { version: '6.8.10' } });
  });
});

describe('request recording', () => {
  it('records operation, variables and the headers connectors set (absent vs empty kept apart)', async () => {
    const id = newConnectorId();
    await register(platform, id, {}, { 'opencti-draft-id': '' });
    await gql(
      platform,
      PING_CONNECTOR,
      { id, state: '{"a":1}', connectorInfo: null },
      {
        'opencti-applicant-id': 'applicant-9',
        'opencti-draft-id': 'draft-3',
        'user-agent': 'cti-connector-sdk/0.1.0 (test)',
      },
    );
    const [registration] = platform
      .requests({ rootField: 'registerConnector' })
      .filter((r) => r.variables.input && (r.variables.input as { id: string }).id === id);
    expect(registration).toMatchObject({
      operationName: 'RegisterConnector',
      operationType: 'mutation',
      rootFields: ['registerConnector'],
      headers: { userAgent: 'pycti/6.8.10', applicantId: undefined, draftId: '', contentType: 'application/json' },
      authenticated: true,
      status: 200,
      errors: [],
      faulted: false,
    });
    const pings = platform.requests((r) => r.operationName === 'PingConnector' && r.variables.id === id);
    expect(pings).toHaveLength(1);
    expect(pings[0]).toMatchObject({
      variables: { id, state: '{"a":1}', connectorInfo: null },
      headers: { applicantId: 'applicant-9', draftId: 'draft-3', userAgent: 'cti-connector-sdk/0.1.0 (test)' },
    });
  });

  it('answers a document that does not validate with HTTP 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const { status, body } = await gql(platform, 'query { about { version inventedField } }');
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(String(body.errors?.[0]?.message)).toContain('inventedField');
    const parse = await gql(platform, 'query { about { ');
    expect(parse.status).toBe(400);
    expect(parse.body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });
});

describe('fault injection', () => {
  it('answers the next matching request with an HTTP status, then recovers', async () => {
    const id = newConnectorId();
    await register(platform, id);
    const fault = platform.faults.graphql({ operation: 'pingConnector', status: 502, times: 2 });
    for (let i = 0; i < 2; i += 1) {
      const { status, body } = await gql(platform, PING_CONNECTOR, { id, state: 'null', connectorInfo: null });
      expect(status).toBe(502);
      expect(String(body.raw)).toContain('502 Bad Gateway');
    }
    expect(fault).toMatchObject({ hits: 2, remaining: 0 });
    expect((await ping(platform, id, 'null')).connector_state).toBe('null');
    const recorded = platform.requests((r) => r.rootFields.includes('pingConnector') && r.variables.id === id);
    expect(recorded.map((r) => [r.status, r.faulted])).toEqual([
      [502, true],
      [502, true],
      [200, false],
    ]);
    // The faulted pings never reached the platform: only the last one is in the connector's history.
    expect(platform.connector(id)?.pings).toHaveLength(1);
  });

  it('answers with a GraphQL error, only for the named operation', async () => {
    const fault = platform.faults.graphql({
      operation: 'workAdd',
      error: { message: 'Lock timeout', extensions: { code: 'LOCK_ERROR' } },
    });
    expect((await gql(platform, HEALTH_CHECK)).status).toBe(200);
    const id = newConnectorId();
    await register(platform, id);
    const { status, body } = await gql(platform, WORK_ADD, { connectorId: id, friendlyName: 'run' });
    expect(status).toBe(200);
    expect(body).toEqual({ errors: [{ message: 'Lock timeout', extensions: { code: 'LOCK_ERROR' } }], data: null });
    expect(fault.hits).toBe(1);
    expect(platform.worksOf(id)).toEqual([]);
  });

  it('drops the connection, and delays an answer without changing it', async () => {
    platform.faults.graphql({ operation: 'healthCheck', drop: true });
    await expect(gql(platform, HEALTH_CHECK)).rejects.toThrow();
    platform.faults.graphql({ operation: 'healthCheck', delayMs: 50 });
    expect((await gqlData(platform, HEALTH_CHECK)).about).toEqual({ version: '6.8.10' });
    expect(
      platform
        .requests('healthCheck')
        .slice(-2)
        .map((r) => [r.status, r.faulted]),
    ).toEqual([
      [0, true],
      [200, true],
    ]);
  });

  it('cancels a pending fault', async () => {
    const fault = platform.faults.graphql({ operation: 'healthCheck', status: 500, times: 5 });
    fault.cancel();
    expect((await gql(platform, HEALTH_CHECK)).status).toBe(200);
    expect(fault.hits).toBe(0);
  });

  it('stops and restarts the server on the same port (platform unreachable, then back)', async () => {
    const url = platform.url;
    await platform.stop();
    await expect(fetch(`${url}/graphql`, { method: 'POST', body: '{}' })).rejects.toThrow();
    await platform.start();
    expect(platform.url).toBe(url);
    expect((await gqlData(platform, HEALTH_CHECK)).about).toEqual({ version: '6.8.10' });
  });
});
