/**
 * Registration, ping, state and reset semantics (platform.md b), and the RabbitMQ topology (a), over the
 * wire: GraphQL through HTTP, queues checked on the real broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTOR_USER_ID, startTestPlatform, type TestPlatform } from '../src/index.js';
import { CONNECTOR_INFO, gql, gqlData, newConnectorId, ping, RawAmqp, register } from './helpers.js';
import { GET_CONNECTOR, HEALTH_CHECK, PING_CONNECTOR, RESET_STATE } from './pycti-documents.js';

let platform: TestPlatform;
let raw: RawAmqp;
// A clock the tests move by hand, so "updated_at did not change" means something.
let clockMs = Date.parse('2026-03-01T10:00:00.000Z');
const tick = (ms = 1000) => {
  clockMs += ms;
};

beforeAll(async () => {
  platform = await startTestPlatform({ version: '6.8.10', now: () => new Date(clockMs) });
  raw = await RawAmqp.connect();
});

afterAll(async () => {
  await platform?.close();
  await raw?.close();
});

describe('health check and registration', () => {
  it('answers pycti health check with about.version', async () => {
    expect(await gqlData(platform, HEALTH_CHECK)).toEqual({ about: { version: '6.8.10' } });
  });

  it('registers a connector and hands out config with the broker credentials and queue names', async () => {
    const id = newConnectorId();
    const registered = await register(platform, id);
    expect(registered).toEqual({
      id,
      connector_state: null,
      connector_user_id: DEFAULT_CONNECTOR_USER_ID,
      config: {
        connection: { host: '127.0.0.1', vhost: '/', use_ssl: false, port: 5672, user: 'guest', pass: 'guest' },
        listen: `listen_${id}`,
        listen_routing: `listen_routing_${id}`,
        listen_exchange: 'amqp.connector.exchange',
        push: `push_${id}`,
        push_routing: `push_routing_${id}`,
        push_exchange: 'amqp.worker.exchange',
      },
    });
    const snapshot = platform.connector(id);
    expect(snapshot).toMatchObject({
      name: 'Testkit Enrichment',
      connector_type: 'INTERNAL_ENRICHMENT',
      connector_scope: 'IPv4-Addr,Domain-Name',
      scope: ['IPv4-Addr', 'Domain-Name'],
      enrichment_resolution: 'none',
      active: true,
    });
    expect(snapshot?.registrations).toHaveLength(1);
  });

  it('declares durable classic queues bound to the platform exchanges with the platform routing keys', async () => {
    const id = newConnectorId();
    await register(platform, id);
    expect(await raw.queueExists(`listen_${id}`)).toBe(true);
    expect(await raw.queueExists(`push_${id}`)).toBe(true);
    // The broker refuses a redeclaration that differs in durability or x-queue-type (406): proof of both.
    expect(await raw.assertQueueCode(`listen_${id}`, { durable: true, arguments: { 'x-queue-type': 'classic' } })).toBe(
      'ok',
    );
    expect(await raw.assertQueueCode(`push_${id}`, { durable: false })).toBe(406);
    expect(await raw.assertQueueCode(`push_${id}`, { durable: true, arguments: { 'x-queue-type': 'quorum' } })).toBe(
      406,
    );
    // Bindings: a message published with each routing key lands in the matching queue.
    await raw.publish('amqp.connector.exchange', `listen_routing_${id}`, '{"probe":"listen"}');
    expect(JSON.parse((await raw.take(`listen_${id}`)).content.toString())).toEqual({ probe: 'listen' });
    await platform.worker.pause();
    await raw.publish('amqp.worker.exchange', `push_routing_${id}`, '{"probe":"push"}');
    expect(JSON.parse((await raw.take(`push_${id}`)).content.toString())).toEqual({ probe: 'push' });
    await platform.worker.resume();
  });

  it('re-asserts deleted queues on the next ping', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await platform.deleteQueue(id, 'listen');
    expect(await raw.queueExists(`listen_${id}`)).toBe(false);
    await ping(platform, id, null);
    expect(await raw.queueExists(`listen_${id}`)).toBe(true);
  });

  it('preserves the state on re-registration and rebinds connector_user_id to the caller', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await ping(platform, id, '{"last_run": 1700000000}');
    const again = await register(platform, id, { name: 'Renamed' }, { 'opencti-applicant-id': 'impersonated-user' });
    expect(again.connector_state).toBe('{"last_run": 1700000000}');
    expect(again.connector_user_id).toBe('impersonated-user');
    const snapshot = platform.connector(id);
    expect(snapshot?.name).toBe('Renamed');
    expect(snapshot?.registrations.map((r) => r.created)).toEqual([true, false]);
  });

  it('stores the pinged state verbatim with connector_info and echoes it back', async () => {
    const id = newConnectorId();
    await register(platform, id);
    const info = {
      ...CONNECTOR_INFO,
      buffering: true,
      queue_messages_size: 12.5,
      last_run_datetime: '2026-01-01T00:00:00Z',
    };
    const answer = await gqlData<{ pingConnector: Record<string, unknown> }>(platform, PING_CONNECTOR, {
      id,
      state: '{"cursor": "abc"}',
      connectorInfo: info,
    });
    expect(answer.pingConnector).toEqual({ id, connector_state: '{"cursor": "abc"}', connector_info: info });
    expect(platform.connector(id)?.connector_info).toEqual(info);
    // pycti sends json.dumps(None) when there is no state: stored as the string "null".
    expect((await ping(platform, id, 'null')).connector_state).toBe('null');
  });

  it('rejects a ping for an unknown connector with the platform functional error', async () => {
    const { status, body } = await gql(platform, PING_CONNECTOR, {
      id: newConnectorId(),
      state: 'null',
      connectorInfo: CONNECTOR_INFO,
    });
    expect(status).toBe(200);
    expect(body.data).toEqual({ pingConnector: null });
    expect(body.errors?.[0]).toMatchObject({
      message: 'No connector found with the specified ID',
      name: 'FUNCTIONAL_ERROR',
      extensions: { code: 'FUNCTIONAL_ERROR' },
    });
  });

  it('reports connector_queue_details: ready messages of both queues, and the size a test sets', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await platform.publishListenRaw(id, '{"x":1}');
    await platform.publishListenRaw(id, '{"x":2}');
    platform.setQueueSize(id, 750_000_000);
    const data = await gqlData<{ connector: { connector_queue_details: unknown; active: boolean } }>(
      platform,
      GET_CONNECTOR,
      { id },
    );
    expect(data.connector.connector_queue_details).toEqual({ messages_number: 2, messages_size: 750_000_000 });
    expect(data.connector.active).toBe(true);
  });
});

describe('state reset', () => {
  it('resets to "" with a flag, purges both queues, and the next ping ignores the sent state once', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await ping(platform, id, '{"last_run": 1}');
    await platform.publishListenRaw(id, '{"queued":true}');
    expect(await platform.queueDepth(id, 'listen')).toBe(1);

    const reset = await gqlData<{ resetStateConnector: unknown }>(platform, RESET_STATE, { id });
    expect(reset.resetStateConnector).toEqual({ id, connector_state: '' });
    expect(await platform.queueDepth(id, 'listen')).toBe(0);
    expect(platform.connector(id)?.connector_state_reset).toBe(true);

    const updatedBefore = platform.connector(id)?.updated_at;
    tick();
    const consumed = await ping(platform, id, '{"last_run": 1}');
    expect(consumed.connector_state).toBe('');
    const afterReset = platform.connector(id);
    expect(afterReset?.connector_state_reset).toBe(false);
    expect(afterReset?.connector_state).toBe('');
    expect(afterReset?.updated_at).toBe(updatedBefore);
    expect(afterReset?.pings.at(-1)).toMatchObject({
      consumedReset: true,
      sentState: '{"last_run": 1}',
      echoedState: '',
    });

    // pycti then nulls its local state and sends "null", which is stored again (and bumps updated_at).
    tick();
    expect((await ping(platform, id, 'null')).connector_state).toBe('null');
    expect(platform.connector(id)?.updated_at).not.toBe(updatedBefore);
  });

  it('computes liveness from updated_at: inactive after 5 minutes without a ping', async () => {
    const id = newConnectorId();
    await register(platform, id);
    tick(4 * 60_000);
    expect(platform.connector(id)?.active).toBe(true);
    tick(60_000);
    expect(platform.connector(id)?.active).toBe(false);
    await ping(platform, id, 'null');
    expect(platform.connector(id)?.active).toBe(true);
  });

  it('offers the same reset from the test side (platform.resetState)', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await ping(platform, id, '{"a":1}');
    await platform.resetState(id);
    expect((await ping(platform, id, '{"a":1}')).connector_state).toBe('');
    expect(platform.connector(id)?.resets).toHaveLength(1);
  });

  it('can echo a stale state on ping (fault: the platform re-read Elasticsearch too early)', async () => {
    const id = newConnectorId();
    await register(platform, id);
    await ping(platform, id, '{"v":1}');
    const fault = platform.faults.stalePing({ connectorId: id });
    expect((await ping(platform, id, '{"v":2}')).connector_state).toBe('{"v":1}');
    expect(fault.hits).toBe(1);
    expect(platform.connector(id)?.connector_state).toBe('{"v":2}');
    expect((await ping(platform, id, '{"v":2}')).connector_state).toBe('{"v":2}');
  });
});

describe('queue prefix', () => {
  it('prefixes exchanges, queues and routing keys like the platform queue_prefix', async () => {
    const prefixed = await startTestPlatform({ queuePrefix: 'tk' });
    try {
      const id = newConnectorId();
      const registered = await register(prefixed, id);
      expect(registered.config).toMatchObject({
        listen: `tk_listen_${id}`,
        listen_routing: `tk_listen_routing_${id}`,
        listen_exchange: 'tk_amqp.connector.exchange',
        push: `tk_push_${id}`,
        push_exchange: 'tk_amqp.worker.exchange',
      });
      expect(await raw.queueExists(`tk_push_${id}`)).toBe(true);
    } finally {
      await prefixed.close();
    }
  });
});
