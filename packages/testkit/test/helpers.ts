/** Test helpers: a minimal GraphQL client (fetch), raw AMQP access, and pycti-shaped inputs. */
import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { TestPlatform } from '../src/index.js';
import { PING_CONNECTOR, REGISTER_CONNECTOR } from './pycti-documents.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface GraphqlResponse {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: Array<Record<string, unknown>> } & Record<string, unknown>;
}

/** POSTs a document like pycti does (`{query, variables}`, Bearer token, pycti's User-Agent). */
export async function gql(
  platform: TestPlatform,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphqlResponse> {
  const response = await fetch(`${platform.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'pycti/6.8.10',
      authorization: `Bearer ${platform.token}`,
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphqlResponse['body'];
  try {
    body = JSON.parse(text) as GraphqlResponse['body'];
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body };
}

/** The data of a successful response; fails the test with the errors otherwise. */
export async function gqlData<T = Record<string, unknown>>(
  platform: TestPlatform,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<T> {
  const { status, body } = await gql(platform, query, variables, headers);
  if (status !== 200 || body.errors !== undefined || body.data == null) {
    throw new Error(`GraphQL failed (HTTP ${status}): ${JSON.stringify(body)}`);
  }
  return body.data as T;
}

export const newConnectorId = (): string => randomUUID();

/** pycti's registration input (`OpenCTIConnector.to_input()`), all keys present. */
export function registrationInput(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: 'Testkit Enrichment',
    type: 'INTERNAL_ENRICHMENT',
    scope: ['IPv4-Addr', 'Domain-Name'],
    auto: false,
    auto_update: false,
    enrichment_resolution: 'none',
    only_contextual: false,
    playbook_compatible: false,
    listen_callback_uri: null,
    ...overrides,
  };
}

export const CONNECTOR_INFO = {
  run_and_terminate: false,
  buffering: false,
  queue_threshold: 500.0,
  queue_messages_size: 0.0,
  next_run_datetime: null,
  last_run_datetime: null,
};

export interface Registered {
  id: string;
  connector_state: string | null;
  connector_user_id: string;
  config: {
    connection: { host: string; vhost: string; use_ssl: boolean; port: number; user: string; pass: string };
    listen: string;
    listen_routing: string;
    listen_exchange: string;
    push: string;
    push_routing: string;
    push_exchange: string;
  };
}

export async function register(
  platform: TestPlatform,
  id: string,
  overrides: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Registered> {
  const data = await gqlData<{ registerConnector: Registered }>(
    platform,
    REGISTER_CONNECTOR,
    { input: registrationInput(id, overrides) },
    headers,
  );
  return data.registerConnector;
}

export async function ping(
  platform: TestPlatform,
  id: string,
  state: string | null,
): Promise<{ id: string; connector_state: string | null; connector_info: unknown }> {
  const data = await gqlData<{
    pingConnector: { id: string; connector_state: string | null; connector_info: unknown };
  }>(platform, PING_CONNECTOR, { id, state, connectorInfo: CONNECTOR_INFO });
  return data.pingConnector;
}

/** A separate broker connection, as a connector (or a test) would have. */
export class RawAmqp {
  readonly #model: ChannelModel;

  private constructor(model: ChannelModel) {
    this.#model = model;
  }

  static async connect(): Promise<RawAmqp> {
    const model = await amqp.connect(AMQP_URL);
    model.on('error', () => {});
    return new RawAmqp(model);
  }

  /** Takes the next message of a queue, waiting for it (basic.consume, manual ack, ack after receipt). */
  async take(queue: string, timeoutMs = 5_000): Promise<ConsumeMessage> {
    const channel = await this.#model.createChannel();
    channel.on('error', () => {});
    try {
      await channel.prefetch(1);
      return await new Promise<ConsumeMessage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message on ${queue} within ${timeoutMs} ms`)), timeoutMs);
        void channel
          .consume(queue, (msg) => {
            if (msg === null) return;
            clearTimeout(timer);
            channel.ack(msg);
            resolve(msg);
          })
          .catch((err: unknown) => {
            clearTimeout(timer);
            reject(err);
          });
      });
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Publishes like pycti's `_send_bundle`: persistent, utf-8 content encoding, confirmed. */
  async publish(exchange: string, routingKey: string, body: string | Buffer): Promise<void> {
    const channel = await this.#model.createConfirmChannel();
    try {
      await new Promise<void>((resolve, reject) => {
        channel.publish(
          exchange,
          routingKey,
          typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
          { deliveryMode: 2, contentEncoding: 'utf-8' },
          (err: unknown) => (err ? reject(err) : resolve()),
        );
      });
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Whether a queue exists (checkQueue on a throwaway channel). */
  async queueExists(queue: string): Promise<boolean> {
    const channel = await this.#model.createChannel();
    channel.on('error', () => {});
    try {
      await channel.checkQueue(queue);
      return true;
    } catch {
      return false;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Asserts a queue with given options; resolves with the broker's error code when it refuses. */
  async assertQueueCode(queue: string, options: amqp.Options.AssertQueue): Promise<number | 'ok'> {
    const channel = await this.#model.createChannel();
    let code: number | 'ok' = 'ok';
    channel.on('error', (err: { code?: number }) => {
      code = err.code ?? -1;
    });
    try {
      await channel.assertQueue(queue, options);
    } catch (err) {
      code = (err as { code?: number }).code ?? -1;
    } finally {
      await channel.close().catch(() => {});
    }
    return code;
  }

  async close(): Promise<void> {
    await this.#model.close().catch(() => {});
  }
}

/** pycti's push message (`_send_bundle`) around one bundle. */
export function pushMessage(bundle: unknown, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    bundle_type: 'QUEUE_BUNDLE',
    applicant_id: 'applicant-1',
    action_sequence: 1,
    entities_types: [],
    content: Buffer.from(JSON.stringify(bundle), 'utf8').toString('base64'),
    update: false,
    draft_id: null,
    no_split: false,
    ...fields,
  });
}

export function bundleOf(...objects: Array<Record<string, unknown>>): Record<string, unknown> {
  return { type: 'bundle', id: `bundle--${randomUUID()}`, spec_version: '2.1', objects };
}

export function ipv4(value: string): Record<string, unknown> {
  return { type: 'ipv4-addr', id: `ipv4-addr--${randomUUID()}`, spec_version: '2.1', value };
}
